// Type declarations for phiseal/fhir/attachments (js/fhir-attachments.js): large FHIR attachments as encrypted streams (docs/FHIR.md).
import type { AuthorKey, Certificate, CertifiedRecipient, PrivateKey, PublicKey, Provider, Trust } from './index.js';

/** The extension that replaces a detached `data`: ref, sha384 (of the encrypted stream), size (decoded bytes). */
export declare const SEALED_DATA_EXTENSION: 'https://phiseal.dev/fhir/StructureDefinition/sealed-data';
/** Decoded bytes above which `data` is detached by default (64 KiB). */
export declare const DEFAULT_ATTACHMENT_THRESHOLD: 65536;

export interface DetachOptions {
  /** The record's recipients, as for sealRecord: each stream goes to those who receive `group`. */
  recipients: (PublicKey | { publicKey: PublicKey; groups?: string[] })[] | CertifiedRecipient[];
  /** The group whose recipients get the streams (default 'clinical'), or a function of the data's pointer. */
  group?: string | ((pointer: string) => string);
  trust?: Trust;
  /** Signs each stream (use the record's author). */
  author: AuthorKey;
  /** Keeps an encrypted stream; resolves to its reference (URL or id). */
  store: (blob: Blob, info: { pointer: string; contentType?: string }) => Promise<string>;
  /** Decoded bytes above which `data` is detached (default 65536). */
  threshold?: number;
  provider?: Provider;
}

export interface AttachOptions {
  /** The schema the record was opened with (its `unsigned` members are skipped: the signature does not cover them). */
  schema: { unsigned?: readonly string[]; [member: string]: unknown };
  privateKey: PrivateKey;
  /** The author keys you trust for the streams. */
  authors: (PublicKey | AuthorKey)[] | Certificate[];
  trust?: Trust;
  /** Resolves a reference that `store` returned to the stream's bytes. */
  load: (ref: string) => Promise<Blob | ArrayBuffer | Uint8Array>;
  provider?: Provider;
}

/** Moves large `Attachment.data` and `Binary.data` into encrypted streams; returns the copy to seal and the pointers moved. */
export declare function detachAttachments<T extends object>(resource: T, options: DetachOptions): Promise<{ resource: T; detached: string[] }>;
/** Puts detached data back after openRecord; CONTEXT_MISMATCH for a stream other than the one the record names. */
export declare function attachAttachments<T extends object>(resource: T, options: AttachOptions): Promise<T>;
