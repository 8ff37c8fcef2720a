// Type declarations for phiseal/stream (js/stream.js): encrypted recordings and files (docs/FORMAT.md §8).
import type { AuthorKey, Certificate, CertifiedRecipient, PrivateKey, PublicKey, Provider, Trust } from './index.js';

export declare const StreamSegmentSize: { readonly DEFAULT: 65536; readonly MIN: 1024; readonly MAX: 16777216 };

export interface EncryptStreamOptions {
  /** PublicKeys; with `trust`, {certificate} entries certified for "encrypt". */
  recipients: PublicKey[] | CertifiedRecipient[];
  trust?: Trust;
  /** Signs the header and, at the end, the whole stream. */
  author: AuthorKey;
  segmentSize?: number;
  provider?: Provider;
}

export interface DecryptStreamOptions {
  privateKey: PrivateKey;
  /** The author keys you trust (UNTRUSTED_AUTHOR otherwise); with `trust`, their certificates (purpose "sign"). */
  authors: (PublicKey | AuthorKey)[] | Certificate[];
  trust?: Trust;
  provider?: Provider;
}

/** Encrypts a byte stream to recipients, signed by `author`; segments are authenticated one by one. */
export declare function encryptStream(readable: ReadableStream<Uint8Array> | Blob, options: EncryptStreamOptions): ReadableStream<Uint8Array>;
/**
 * Decrypts a stream by one of `authors`. Errors: UNTRUSTED_AUTHOR, NOT_RECIPIENT, INVALID_SIGNATURE
 * (the trailer, checked before the final segment is released), DECRYPT_FAILED on tampering or truncation.
 * Discard what was received from a stream that errors.
 */
export declare function decryptStream(readable: ReadableStream<Uint8Array> | Blob, options: DecryptStreamOptions): ReadableStream<Uint8Array>;
export declare function encryptBlob(blob: Blob, options: EncryptStreamOptions): Promise<Blob>;
export declare function decryptBlob(blob: Blob, options: DecryptStreamOptions & { type?: string }): Promise<Blob>;
