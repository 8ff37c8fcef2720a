// Type declarations for phiseal/stream (js/stream.js): encrypted recordings and files (docs/FORMAT.md §8).
import type { PrivateKey, PublicKey, Provider } from './index.js';

export declare const StreamSegmentSize: { readonly DEFAULT: 65536; readonly MIN: 1024; readonly MAX: 16777216 };

/** Encrypts a byte stream to recipients; segments are authenticated one by one. */
export declare function encryptStream(
  readable: ReadableStream<Uint8Array> | Blob,
  options: { recipients: PublicKey[]; segmentSize?: number; provider?: Provider },
): ReadableStream<Uint8Array>;
/** Decrypts; errors with DECRYPT_FAILED on tampering or truncation, NOT_RECIPIENT for a foreign key. */
export declare function decryptStream(
  readable: ReadableStream<Uint8Array> | Blob,
  options: { privateKey: PrivateKey; provider?: Provider },
): ReadableStream<Uint8Array>;
export declare function encryptBlob(blob: Blob, options: { recipients: PublicKey[]; segmentSize?: number; provider?: Provider }): Promise<Blob>;
export declare function decryptBlob(blob: Blob, options: { privateKey: PrivateKey; type?: string; provider?: Provider }): Promise<Blob>;
