// Type declarations for phiseal's npm surface (js/index.js).

/** Stable error codes carried by {@link PhisealError}. */
export declare const ErrorCode: {
  readonly INVALID_KEY: 'INVALID_KEY';
  readonly DECRYPT_FAILED: 'DECRYPT_FAILED';
  readonly UNSUPPORTED: 'UNSUPPORTED';
  readonly MALFORMED_INPUT: 'MALFORMED_INPUT';
  readonly INVALID_ARGUMENT: 'INVALID_ARGUMENT';
  readonly MISUSE: 'MISUSE';
  readonly INVALID_SIGNATURE: 'INVALID_SIGNATURE';
  readonly NOT_RECIPIENT: 'NOT_RECIPIENT';
  readonly UNTRUSTED_AUTHOR: 'UNTRUSTED_AUTHOR';
  readonly CONTEXT_MISMATCH: 'CONTEXT_MISMATCH';
  readonly STALE_VERSION: 'STALE_VERSION';
  readonly UNTRUSTED_KEY: 'UNTRUSTED_KEY';
  readonly KEY_EXPIRED: 'KEY_EXPIRED';
  readonly KEY_REVOKED: 'KEY_REVOKED';
  readonly WRONG_PURPOSE: 'WRONG_PURPOSE';
  readonly ACCESS_DENIED: 'ACCESS_DENIED';
  readonly RNG_FAILED: 'RNG_FAILED';
  readonly PLATFORM: 'PLATFORM';
  readonly NOT_INITIALIZED: 'NOT_INITIALIZED';
};
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Every failure phiseal reports. `DECRYPT_FAILED` never says which check failed. */
export declare class PhisealError extends Error {
  constructor(message: string, code: ErrorCode);
  readonly name: 'PhisealError';
  readonly code: ErrorCode;
}

/** RFC 9180 KDF ids. */
export declare const Kdf: { readonly HKDF_SHA256: 0x0001; readonly HKDF_SHA384: 0x0002; readonly HKDF_SHA512: 0x0003 };
export type Kdf = (typeof Kdf)[keyof typeof Kdf];
/** RFC 9180 AEAD ids. */
export declare const Aead: { readonly AES_128_GCM: 0x0001; readonly AES_256_GCM: 0x0002; readonly EXPORT_ONLY: 0xffff };
export type Aead = (typeof Aead)[keyof typeof Aead];
/** RFC 9180 KEM id of DHKEM(P-384, HKDF-SHA384). */
export declare const KEM_P384_HKDF_SHA384: 0x0011;

/** Where a private key lives and Diffie-Hellman runs. */
export type Provider = 'auto' | 'webcrypto' | 'wasm';

/** A P-384 JSON Web Key (RFC 7518 §6.2). */
export interface P384Jwk {
  kty: 'EC';
  crv: 'P-384';
  x: string;
  y: string;
  d?: string;
  kid?: string;
  [member: string]: unknown;
}

/** A validated P-384 public key. */
export declare class PublicKey {
  /** Nominal: only phiseal makes these (a look-alike object is refused by the type checker). */
  private readonly __phiseal: 'PublicKey';
  private constructor();
  /** RFC 7638 JWK thumbprint (SHA-256, base64url). */
  readonly kid: string;
  toJwk(): P384Jwk;
  /** DER SubjectPublicKeyInfo. */
  toSpki(): Uint8Array<ArrayBuffer>;
  /** PEM `PUBLIC KEY`. */
  toSpkiPem(): string;
  /** SEC1 point: 97 bytes uncompressed, 49 compressed. */
  toSec1(compressed?: boolean): Uint8Array<ArrayBuffer>;
  equals(other: PublicKey): boolean;
  /** Releases the wasm memory. */
  free(): void;
}

/** A P-384 private key: a WebCrypto CryptoKey or RustCrypto key in wasm memory. */
export declare class PrivateKey {
  /** Nominal: only phiseal makes these (a look-alike object is refused by the type checker). */
  private readonly __phiseal: 'PrivateKey';
  private constructor();
  readonly publicKey: PublicKey;
  readonly kid: string;
  readonly extractable: boolean;
  readonly provider: 'webcrypto' | 'wasm';
  /** The WebCrypto key (store it in IndexedDB), or undefined for a wasm key. */
  cryptoKey(): CryptoKey | undefined;
  /** Rejects with MISUSE when the key is not extractable. */
  exportJwk(): Promise<P384Jwk>;
  exportPkcs8(): Promise<Uint8Array<ArrayBuffer>>;
  exportPkcs8Pem(): Promise<string>;
  /** Releases the wasm memory (a wasm key's scalar is zeroized). */
  free(): void;
}

/**
 * An ECDSA P-384 author key: it signs the records, index keys and streams
 * you seal; readers trust its `publicKey`. In browsers a WebCrypto
 * CryptoKey, non-extractable unless asked.
 */
export declare class AuthorKey {
  /** Nominal: only phiseal makes these (a look-alike object is refused by the type checker). */
  private readonly __phiseal: 'AuthorKey';
  private constructor();
  /** What readers pass in `authors`. */
  readonly publicKey: PublicKey;
  readonly kid: string;
  readonly extractable: boolean;
  readonly provider: 'webcrypto' | 'wasm';
  /** The WebCrypto key (store it in IndexedDB, or use KeyStore), or undefined for a wasm key. */
  cryptoKey(): CryptoKey | undefined;
  /** Rejects with MISUSE when the key is not extractable. */
  exportPkcs8(): Promise<Uint8Array<ArrayBuffer>>;
  free(): void;
}

/** Generates an author key (non-extractable WebCrypto ECDSA P-384 in browsers). */
export declare function generateAuthorKey(options?: KeyOptions): Promise<AuthorKey>;
/** Imports an author key: PKCS#8 DER or PEM, or a WebCrypto ECDSA P-384 private CryptoKey with its `publicKey`. */
export declare function importAuthorKey(
  key: Uint8Array | string | CryptoKey,
  options?: KeyOptions & { publicKey?: PublicKey },
): Promise<AuthorKey>;

export interface KeyOptions {
  /**
   * Default false: a WebCrypto private key can never be exported. A `'wasm'`
   * key lives in wasm memory and is always extractable (`extractable` reads true).
   */
  extractable?: boolean;
  /** Default 'auto': WebCrypto where present, else wasm. */
  provider?: Provider;
}

export interface SuiteOptions {
  /** Default Kdf.HKDF_SHA384. */
  kdf?: Kdf;
  /** Default Aead.AES_256_GCM. */
  aead?: Aead;
}

export interface SenderOptions extends SuiteOptions {
  info?: Uint8Array;
  /** PSK (at least 32 bytes) and its id, together: modes psk / auth_psk. */
  psk?: Uint8Array;
  pskId?: Uint8Array;
  /** The sender's key: modes auth / auth_psk. */
  senderKey?: PrivateKey;
  provider?: Provider;
}

export interface RecipientOptions extends SuiteOptions {
  info?: Uint8Array;
  psk?: Uint8Array;
  pskId?: Uint8Array;
  /** The sender's public key: modes auth / auth_psk. */
  senderPublicKey?: PublicKey;
}

export declare class SenderContext {
  /** Nominal: only phiseal makes these (a look-alike object is refused by the type checker). */
  private readonly __phiseal: 'SenderContext';
  private constructor();
  readonly seq: number;
  seal(plaintext: Uint8Array, aad?: Uint8Array): Uint8Array<ArrayBuffer>;
  export(exporterContext: Uint8Array, length: number): Uint8Array<ArrayBuffer>;
  free(): void;
}

export declare class RecipientContext {
  /** Nominal: only phiseal makes these (a look-alike object is refused by the type checker). */
  private readonly __phiseal: 'RecipientContext';
  private constructor();
  readonly seq: number;
  /** Throws DECRYPT_FAILED on any authentication failure; seq does not advance. */
  open(ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array<ArrayBuffer>;
  export(exporterContext: Uint8Array, length: number): Uint8Array<ArrayBuffer>;
  free(): void;
}

/**
 * Loads the wasm module. The one rule: `await init()` once, before anything
 * else of 'phiseal', 'phiseal/fields', 'phiseal/media' or 'phiseal/stream';
 * every function, synchronous or not, throws (or rejects with)
 * NOT_INITIALIZED before it. Calling it again is free.
 */
export declare function init(moduleOrPath?: RequestInfo | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;
/**
 * Generates up to `count` (default 16, at most 256) single-use HPKE ephemeral
 * keys ahead of time (non-extractable WebCrypto keys, each used once), so the
 * next seals cost one ECDH. Resolves to the number ready (0 without WebCrypto).
 */
export declare function prepareEphemeralKeys(count?: number): Promise<number>;
/** What the loaded wasm build and this runtime offer. */
export declare function capabilities(): {
  /** 'full' (pkg/) or 'fields' (pkg/fields/, loaded when only 'phiseal/fields' was imported). */
  build: 'full' | 'fields';
  fields: true;
  audit: boolean;
  /** SFrame and encrypted streams in wasm (the media worker always loads the full build). */
  media: boolean;
  /** WebCrypto ECDH P-384 and AES-GCM, used for non-extractable keys and bulk AES. */
  webCrypto: boolean;
  /** RTCRtpScriptTransform or createEncodedStreams (media E2EE on WebRTC). */
  frameTransform: 'scriptTransform' | 'encodedStreams' | null;
};
export declare function generateKeyPair(options?: KeyOptions): Promise<{ privateKey: PrivateKey; publicKey: PublicKey }>;
/** A JWK object, a PKCS#8 PEM string or PKCS#8 DER bytes. */
export declare function importPrivateKey(key: P384Jwk | string | Uint8Array, options?: KeyOptions): Promise<PrivateKey>;
/** A JWK object, an SPKI PEM string, SPKI DER or a SEC1 point. */
export declare function importPublicKey(key: P384Jwk | string | Uint8Array): PublicKey;
/** Wraps a WebCrypto ECDH P-384 private CryptoKey (e.g. one kept in IndexedDB; KeyStore does this for you). */
export declare function fromCryptoKey(cryptoKey: CryptoKey, publicKey: PublicKey): PrivateKey;
/** RFC 9180 DeriveKeyPair (ikm of at least 48 bytes). */
export declare function deriveKeyPair(ikm: Uint8Array): PrivateKey;
export declare function hpkeSeal(
  recipientPublicKey: PublicKey,
  plaintext: Uint8Array,
  options?: SenderOptions & { aad?: Uint8Array },
): Promise<{ enc: Uint8Array<ArrayBuffer>; ciphertext: Uint8Array<ArrayBuffer> }>;
export declare function hpkeOpen(
  privateKey: PrivateKey,
  enc: Uint8Array,
  ciphertext: Uint8Array,
  options?: RecipientOptions & { aad?: Uint8Array },
): Promise<Uint8Array<ArrayBuffer>>;
export declare function hpkeSetupSender(
  recipientPublicKey: PublicKey,
  options?: SenderOptions,
): Promise<{ enc: Uint8Array<ArrayBuffer>; context: SenderContext }>;
export declare function hpkeSetupRecipient(
  privateKey: PrivateKey,
  enc: Uint8Array,
  options?: RecipientOptions,
): Promise<RecipientContext>;

// ---------------------------------------------------------------- field encryption (docs/FORMAT.md §5)

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** How one PHI field is sealed. */
export type FieldSpec =
  | true
  | 'random'
  | 'deterministic'
  | 'blindIndex'
  | { mode?: 'random' | 'deterministic' | 'blindIndex'; bits?: number; group?: string };

/** Names the PHI fields of a record: paths like `patient.ssn`, `diagnoses[].code`. */
export interface Schema {
  id: string;
  version: number;
  /** Paths from the record (required unless `resources` is given). */
  fields?: Record<string, FieldSpec>;
  /**
   * Field sets by FHIR `resourceType` (or `'*'` for every other type), applied
   * wherever such a resource appears: paths from the resource, choice keys
   * (`value[x]`) and descendant rules (`'**.identifier'`); docs/FORMAT.md §5.11.
   * Search such a field by its qualified path: `'[Patient]identifier[].value'`.
   */
  resources?: Record<string, Record<string, FieldSpec>>;
  /** Top-level members left out of the record signature (the server may change them undetected). */
  unsigned?: string[];
}

/**
 * Returns `schema` unchanged, typed with its literal modes, so that a schema
 * written as an object literal type-checks where a Schema is expected
 * (`const schema = defineSchema({...})`; `{...} satisfies Schema` works too).
 * Throws INVALID_ARGUMENT when it is not `{id, version, fields}`.
 */
export declare function defineSchema<const S extends Schema>(schema: S): S;

/** A JSON object: what sealRecord returns and openRecord takes. */
export type JsonObject = { [key: string]: Json };

/** A tenant index key (deterministic and blind-index fields). */
export declare class IndexKey {
  /** Nominal: only phiseal makes these (a look-alike object is refused by the type checker). */
  private readonly __phiseal: 'IndexKey';
  private constructor();
  /** Random 16-byte id, base64url. */
  readonly id: string;
  free(): void;
}

/** A public key, or one with the access groups it may open (all groups when omitted). A PrivateKey is refused. */
export type Recipient = PublicKey | { publicKey: PublicKey; groups?: string[]; /** (a PrivateKey is not a recipient) */ kid?: never };

/** Clear key/values a record is bound to (patient id, table, tenant): signed, compared exactly on open. */
export type EncryptionContext = Record<string, string>;

/** An opened version, from the authenticated header: its number, digest and the digest it links to (null for version 1). */
export interface VersionSeen {
  version: number;
  digest: string;
  previous: string | null;
}

/** The highest version seen per record (rollback and fork protection); VersionStore and MemoryVersionStore implement it. */
export interface VersionTracker {
  /**
   * Stores `seen` (atomically) if it is newer than what is stored and, when it
   * is the very next version, links to the stored digest; resolves to what was
   * stored before. openRecord refuses with STALE_VERSION whatever does not follow.
   */
  advance(key: string, seen: VersionSeen): Promise<{ version: number; digest: string } | undefined>;
}

/** Rollback protection in IndexedDB (survives reloads; shared by an origin's tabs). */
export declare class VersionStore implements VersionTracker {
  private constructor();
  static open(options?: { name?: string }): Promise<VersionStore>;
  advance(key: string, seen: VersionSeen): Promise<{ version: number; digest: string } | undefined>;
  get(key: string): Promise<{ version: number; digest: string } | undefined>;
  close(): void;
}

/** Rollback protection in memory (tests, services, one page's lifetime). */
export declare class MemoryVersionStore implements VersionTracker {
  advance(key: string, seen: VersionSeen): Promise<{ version: number; digest: string } | undefined>;
  get(key: string): Promise<{ version: number; digest: string } | undefined>;
}

/** A certificate (compact JWS, docs/TRUST.md), or a chain: the leaf, then its issuers up to (not including) a pinned root. */
export type Certificate = string | string[];
/** With `trust`: a recipient by certificate, certified for "encrypt" and each of its groups (every schema group when omitted). */
export interface CertifiedRecipient {
  certificate: Certificate;
  groups?: string[];
}
/** Who a certificate says a key belongs to. */
export interface CertifiedIdentity {
  kid: string;
  subject: string;
  name: string;
  role: string;
  groups: string[];
}
/** A key that verified against a Trust. */
export interface CertifiedKey extends CertifiedIdentity {
  publicKey: PublicKey;
  purposes: Purpose[];
  /** Milliseconds. */
  notBefore: number;
  notAfter: number;
  serial: string;
  root: string;
  issuers: string[];
}
export type Purpose = 'encrypt' | 'sign' | 'media' | 'certify';
/**
 * Pinned organisation roots and their revocation lists (docs/TRUST.md). Refusals: UNTRUSTED_KEY (no chain to a
 * root), INVALID_SIGNATURE, KEY_EXPIRED (expired, not yet valid, or no current revocation list), KEY_REVOKED,
 * WRONG_PURPOSE, ACCESS_DENIED (groups), MALFORMED_INPUT / UNSUPPORTED (shape, unknown members).
 */
export declare class Trust {
  constructor(options: {
    roots: PublicKey[];
    revocations?: string | string[];
    /** Default true. */ requireRevocations?: boolean;
    /** Milliseconds; default Date.now. */ clock?: () => number;
    /** Only certificates returned by this client's verified lookups are accepted (UNTRUSTED_KEY otherwise), each certified for the subject looked up (CONTEXT_MISMATCH otherwise). */
    directory?: DirectoryClient;
  });
  /** UNTRUSTED_KEY, INVALID_SIGNATURE, KEY_EXPIRED (not current), STALE_VERSION (older than the one held). */
  addRevocations(list: string): void;
  /**
   * Verifies a certificate (chain: leaf first) for `purpose` and every group in `groups`. Rejects with
   * UNTRUSTED_KEY, INVALID_SIGNATURE, KEY_EXPIRED, KEY_REVOKED, WRONG_PURPOSE, ACCESS_DENIED, CONTEXT_MISMATCH
   * (with a directory: certified for another subject than the lookup's), MALFORMED_INPUT or UNSUPPORTED. The
   * signatures are checked by the provider (WebCrypto ECDSA in browsers), every rule in Rust.
   */
  certify(certificate: Certificate, options: { purpose: Purpose; groups?: string[] }): Promise<CertifiedKey>;
}
/** What a KeyDirectory lookup returns (send it as JSON). docs/TRUST.md §6. */
export interface DirectoryLookup {
  subject: string;
  certificate: string;
  index: number;
  /** Signed checkpoint note. */
  checkpoint: string;
  /** Base64 hashes. */
  inclusion: string[];
  consistency: string[];
}
/** The browser side of the transparent directory (full build). */
export declare class DirectoryClient {
  constructor(options: { origin: string; keys: PublicKey[]; /** The note kept before. */ kept?: string });
  /**
   * Resolves to the certificate and keeps the lookup's checkpoint; rejects with CONTEXT_MISMATCH, UNTRUSTED_KEY,
   * INVALID_SIGNATURE, STALE_VERSION (rollback, fork) or MALFORMED_INPUT. Lookups of one client verify in order.
   */
  verify(subject: string, lookup: DirectoryLookup | string): Promise<string>;
  readonly keptNote: string | undefined;
  readonly keptSize: number | undefined;
  /** STALE_VERSION for a split view. */
  compare(otherNote: string, proof: string[]): void;
}
/** The publishing side of the directory (full build). */
export declare class KeyDirectory {
  constructor(options: { origin: string; signingKey: SigningKey });
  publish(subject: string, certificate: string): number;
  checkpoint(timeMs?: number): string;
  lookup(subject: string, options?: { keptSize?: number; timeMs?: number }): DirectoryLookup;
  entries(): [string, string][];
  consistency(oldSize: number, newSize: number): string[];
}
/** The subject's monitor: the certificates published for `subject` since `from` in a log that makes the signed tree. */
export declare function monitorDirectory(options: {
  origin: string;
  keys: PublicKey[];
  checkpoint: string;
  entries: [string, string][];
  subject: string;
  from?: number;
}): { index: number; certificate: string }[];
/** Issues a certificate (full build): times in milliseconds or Dates. */
export declare function issueCertificate(
  claims: { subject: string; name: string; role: string; groups?: string[]; purposes: Purpose[]; notBefore: number | Date; notAfter: number | Date; publicKey: PublicKey },
  issuer: SigningKey,
  options?: { issuedAt?: number | Date },
): string;
/** Issues a revocation list naming certificate serials, current from `issuedAt` to `expires` (full build). */
export declare function issueRevocations(serials: string[], issuer: SigningKey, options: { issuedAt?: number | Date; expires: number | Date }): string;

export interface SealRecordOptions {
  schema: Schema;
  recordId: string;
  /** PublicKeys or {publicKey, groups}; with `trust`, CertifiedRecipients only (UNTRUSTED_KEY for a bare key). */
  recipients: Recipient[] | CertifiedRecipient[];
  /** Refuse recipients whose certificates do not verify for "encrypt" and their groups. */
  trust?: Trust;
  /** Signs the record; readers list its `publicKey` in `authors`. */
  author: AuthorKey;
  /** Bound to the record; openers must pass the same (default {}). */
  context?: EncryptionContext;
  /** For an update: the header of the opened version it replaces (version + 1, linked to its digest). */
  previous?: { version: number; digest: string };
  /** Required when the schema has deterministic or blind-index fields (an IndexKeyset seals with its primary). */
  indexKey?: IndexKey | IndexKeyset;
  /** Default now. */
  created?: Date | number;
  provider?: Provider;
}

/** What an opener expects; anything else is refused with a typed error. */
export interface Expectation {
  /** The id you asked for (CONTEXT_MISMATCH for a record sealed under another). */
  recordId: string;
  /** The exact context it was sealed with (CONTEXT_MISMATCH otherwise; default {}). */
  context?: EncryptionContext;
  /** The author keys you trust (UNTRUSTED_AUTHOR otherwise; INVALID_SIGNATURE for a bad signature); with `trust`, their certificates. */
  authors: (PublicKey | AuthorKey)[] | Certificate[];
  /** Authors must be certified for "sign"; a record by an author whose certificate was refused gets that refusal. */
  trust?: Trust;
  /** The lowest version accepted (STALE_VERSION below it). */
  minVersion?: number;
}

export interface OpenRecordOptions extends Expectation {
  schema: Schema;
  privateKey: PrivateKey | Keyset | SessionKey | GrantedKey;
  indexKey?: IndexKey | IndexKeyset;
  /** Refuses versions older than (or forks of) the newest already opened: STALE_VERSION. */
  versions?: VersionTracker;
}

/** A field left sealed: `path` is a JSON Pointer, `reason` the missing group or "indexKey". */
export interface LockedField {
  path: string;
  reason: string;
}

export interface RewrapOptions extends Expectation {
  schema: Schema;
  /** Signs the new version. */
  author: AuthorKey;
  /** Refuses to rewrap a version older than one already seen (STALE_VERSION), and records the new one. */
  versions?: VersionTracker;
  /** Must be a recipient of every group. */
  privateKey: PrivateKey | Keyset;
  recipients: Recipient[];
  /** For re-keying: the new creation time (default now). */
  now?: Date | number;
  provider?: Provider;
}

export interface RecordHeader {
  recordId: string;
  schemaId: string;
  schemaVersion: number;
  /** 1 for a new record; every update, rewrap and re-key raises it. */
  version: number;
  /** The previous version's digest (base64url), null for version 1. */
  previous: string | null;
  epoch: number;
  created: number;
  context: EncryptionContext;
  /** The author's kid. */
  author: string;
  indexKeyId: string | null;
  groups: { group: string; recipients: string[] }[];
}

/** The header of an opened record: authenticated, with this version's digest. */
export interface OpenedHeader extends RecordHeader {
  /** What the next version links to (pass the header as `previous`). */
  digest: string;
}

/** An opened record: the fields, what stayed locked, the authenticated header and the verified author. */
export interface OpenedRecord<T> {
  record: T;
  locked: LockedField[];
  header: OpenedHeader;
  /** With `trust`, the certified identity of the author. */
  author: { kid: string } | CertifiedIdentity;
}

export declare function generateIndexKey(): Promise<IndexKey>;
/** Seals the index key to recipients, signed by `author` (a `phk2.` string). */
export declare function sealIndexKey(
  indexKey: IndexKey,
  recipients: Recipient[] | CertifiedRecipient[],
  /** With `trust`, `groups` (required): the groups whose deterministic fields the key serves; every recipient must be certified for all of them. */
  options: { author: AuthorKey; provider?: Provider; trust?: Trust; groups?: string[] },
): Promise<string>;
/** Opens a sealed index key signed by one of `authors`; with `id`, a key of another id (an older generation) is refused with CONTEXT_MISMATCH. */
export declare function openIndexKey(sealed: string, privateKey: PrivateKey, options: { authors: (PublicKey | AuthorKey)[] | Certificate[]; id?: string; trust?: Trust }): Promise<IndexKey>;
/**
 * Seals the PHI fields of `record` (any object of JSON values: an interface
 * of your form model works). Values JSON cannot hold (undefined, Date, NaN,
 * class instances, cycles) are refused with INVALID_ARGUMENT naming the
 * member, never silently changed.
 */
export declare function sealRecord(record: object, options: SealRecordOptions): Promise<JsonObject>;
/**
 * Opens a sealed record. `T` is the shape you expect back (default: JSON);
 * fields left sealed (see `locked`) are still their sealed strings.
 */
export declare function openRecord<T extends object = JsonObject>(
  sealed: JsonObject,
  options: OpenRecordOptions,
): Promise<OpenedRecord<T>>;
export declare function sealRecords(
  items: { record: object; recordId: string; context?: EncryptionContext; previous?: { version: number; digest: string } }[],
  options: Omit<SealRecordOptions, 'recordId' | 'previous'>,
): Promise<{ [key: string]: Json }[]>;
/** Opens many records, each checked against its own `recordId` (and `context`, default the options'). */
export declare function openRecords<T extends object = JsonObject>(
  items: { sealed: JsonObject; recordId: string; context?: EncryptionContext }[],
  options: Omit<OpenRecordOptions, 'recordId'>,
): Promise<OpenedRecord<T>[]>;
export declare function rewrapRecord(sealed: { [key: string]: Json }, options: RewrapOptions): Promise<{ [key: string]: Json }>;
export declare function rekeyRecord(sealed: { [key: string]: Json }, options: RewrapOptions): Promise<{ [key: string]: Json }>;
export declare function addRecipient(
  sealed: { [key: string]: Json },
  options: Omit<RewrapOptions, 'recipients'> & { directory: PublicKey[]; recipient: Recipient },
): Promise<{ [key: string]: Json }>;
export declare function removeRecipient(
  sealed: { [key: string]: Json },
  options: Omit<RewrapOptions, 'recipients'> & { directory: PublicKey[]; recipient: PublicKey | string },
): Promise<{ [key: string]: Json }>;
/** NOT_RECIPIENT unless the organisation's recovery key is a recipient of every group of the record (FORMAT §9.4; header only, no key). */
export declare function checkRecoverable(sealed: { [key: string]: Json }, recoveryKey: PublicKey): void;
/** The header as stored, with its digest: unauthenticated (use it for routing; openRecord authenticates). */
export declare function inspectRecord(sealed: { [key: string]: Json }): OpenedHeader;
export declare function needsRotation(sealed: { [key: string]: Json }, options?: { maxAgeDays?: number; now?: Date | number }): boolean;
export declare function rotationReport(
  sealed: { [key: string]: Json }[],
  options?: { maxAgeDays?: number; now?: Date | number },
): { total: number; due: number[] };
export declare function verifyAllPhiEncrypted(record: object, schema: Schema): string[];
export declare function redact(record: object, schema: Schema): JsonObject;
export declare function searchToken(value: Json, options: { schema: Schema; path: string; indexKey: IndexKey }): string;

// ---------------------------------------------------------------- keysets and rotation

declare class BaseKeyset<K> {
  /** Adds an enabled key; primary if first or `primary: true`. */
  add(key: K, options?: { primary?: boolean }): this;
  promote(id: string): this;
  /** The primary cannot be disabled. */
  disable(id: string): this;
  enable(id: string): this;
  remove(id: string): this;
  readonly primary: K;
  /** Enabled keys, primary first. */
  enabled(): K[];
  find(id: string): K | undefined;
  list(): { id: string; status: 'primary' | 'enabled' | 'disabled' }[];
}
/** Private keys of one principal across rotations (ids are kids). Accepted wherever `privateKey` opens a record. */
export declare class Keyset extends BaseKeyset<PrivateKey> {
  constructor(keys?: PrivateKey[]);
  readonly primaryPublicKey: PublicKey;
}
/** Tenant index keys across rotations. Accepted wherever `indexKey` is. */
export declare class IndexKeyset extends BaseKeyset<IndexKey> {
  constructor(keys?: IndexKey[]);
}
/** Tokens of `value` under every enabled index key, primary first. */
export declare function searchTokens(value: Json, options: { schema: Schema; path: string; indexKeys: IndexKeyset }): string[];
/** Resumable move of sealed records to the primary index key (and fresh data keys). */
export declare function reencryptRecords(
  records: { [key: string]: Json }[],
  options: {
    schema: Schema;
    privateKey: PrivateKey | Keyset;
    indexKeys: IndexKeyset;
    directory: PublicKey[];
    /** Signs the re-encrypted versions. */
    author: AuthorKey;
    /** Authors whose records may be re-encrypted (each record is verified first). */
    authors: (PublicKey | AuthorKey)[];
    /** Refuses (STALE_VERSION) to re-sign a version older than, or forked from, one already seen; records the new versions. */
    versions?: VersionTracker;
    start?: number;
    limit?: number;
    save?: (index: number, sealed: { [key: string]: Json }) => void | Promise<void>;
    onProgress?: (progress: { done: number; total: number }) => void;
    provider?: Provider;
  },
): Promise<{ reencrypted: number; skipped: number; next: number; total: number; done: boolean }>;

// ---------------------------------------------------------------- audit log and key lifecycle

export interface AuditEntryInput {
  actor: { id: string; role?: string };
  action: string;
  patientId?: string;
  resource?: string;
  fieldPath?: string;
  outcome?: 'success' | 'failure' | 'denied';
  client?: { ip?: string; device?: string };
  reason?: string;
}
export interface AuditEntry extends Required<Pick<AuditEntryInput, 'actor' | 'action'>> {
  log: string;
  seq: number;
  time: number;
  outcome: string;
  prevHash: string;
  hash: string;
  patientId?: string;
  resource?: string;
  fieldPath?: string;
  client: { ip?: string; device?: string };
  reason?: string;
}
/** Stable codes of `VerifyReport.problem.code` (docs/FORMAT.md §6.7). */
export type AuditProblemCode =
  | 'MALFORMED' | 'OTHER_LOG' | 'SEQUENCE_BACK' | 'SEQUENCE_GAP' | 'BROKEN_LINK' | 'MODIFIED'
  | 'UNTRUSTED_KEY' | 'TRUNCATED' | 'BAD_CHECKPOINT' | 'BAD_COSIGNATURE' | 'EMPTY' | 'UNSIGNED'
  | 'NOT_WITNESSED' | 'ROLLED_BACK' | 'FORKED';
export interface VerifyReport {
  valid: boolean;
  /** Valid and checked against trusted keys (false for a chain-only check with no keys). */
  authenticated: boolean;
  entries: number;
  /** Checkpoints whose signature verified (0 without trusted keys). */
  checkpoints: number;
  /** Entries covered by the last checkpoint that counts (signed, cosigned as required, or the kept one). */
  lastCheckpointSeq: number;
  /** Entries after it: not authenticated. */
  unsignedTail: number;
  /** Root hash (base64) of the tree of the verified entries. */
  root: string;
  /** That checkpoint's signed note: keep it and pass it as `since` next time. */
  checkpoint: string | null;
  /** Required-witness cosignatures on that checkpoint. */
  witnessed: number;
  problem: null | { line: number; seq: number | null; code: AuditProblemCode; reason: string };
}
/** What verifyLog checks a log against. */
export interface VerifyLogOptions {
  /** The writers' checkpoint keys, pinned by the verifier (never taken from the log's server). */
  trusted: PublicKey[];
  /** The checkpoint note a previous verification returned (`report.checkpoint`): the log must extend it. */
  since?: string | null;
  /** Witness keys and how many of them must cosign (default: all of them). */
  witnesses?: { keys: PublicKey[]; required?: number };
}
/** Access-alert thresholds (defaults: 10 patients in 5 minutes, 08-18 UTC, more than 3 failures in 15 minutes). */
export interface AlertRules {
  distinctPatients?: number;
  distinctPatientsByRole?: { [role: string]: number };
  patientsWindowMs?: number;
  /** Working hours [from, to) in local time at utcOffsetMinutes; from > to spans midnight. */
  hours?: [number, number];
  hoursByRole?: { [role: string]: [number, number] };
  utcOffsetMinutes?: number;
  maxFailures?: number;
  failuresWindowMs?: number;
}
export interface AccessAlertResult {
  kind: 'distinct-patients' | 'off-hours' | 'failed-attempts';
  actorId: string;
  role: string;
  /** Sequence numbers and 1-based log line numbers of the entries the alert rests on. */
  seqs: number[];
  lines: number[];
  time: number;
  /** false when some of them are in the unsigned tail. */
  authenticated: boolean;
}
/** Body of a checkpoint note. */
export interface CheckpointBody {
  origin: string;
  size: number;
  /** base64 root hash. */
  root: string;
  time: number;
}
/** ECDSA P-384 key that signs checkpoints. */
export declare class SigningKey {
  /** Nominal: only phiseal makes these (a look-alike object is refused by the type checker). */
  private readonly __phiseal: 'SigningKey';
  private constructor();
  static generate(): SigningKey;
  static fromJwk(jwk: P384Jwk): SigningKey;
  readonly publicKey: PublicKey;
  free(): void;
}
export interface AuditLogOptions {
  logId?: string;
  signingKey?: SigningKey;
  /** Default 100. */
  checkpointEvery?: number;
  /** Unix ms; injectable for tests. */
  clock?: () => number;
}
export declare class AuditLog {
  /** `resume.tree`: the `treeState` kept with seq and head (without it, checkpoint() throws MISUSE). */
  constructor(options?: AuditLogOptions & { resume?: { seq: number; head: string; tree?: string } });
  append(entry: AuditEntryInput, check?: { record: { [key: string]: Json }; schema: Schema }): { entry: AuditEntry; lines: string[] };
  checkpoint(): string;
  /**
   * Signs a checkpoint with an AuthorKey (in browsers a non-extractable WebCrypto key); resolves to its line.
   * Verifiers trust `authorKey.publicKey`. No entry may be appended until it resolves (MISUSE).
   */
  checkpointWith(authorKey: AuthorKey): Promise<string>;
  toJsonl(): string;
  readonly logId: string;
  readonly seq: number;
  readonly head: string;
  /** Tree state to keep with seq and head for `resume`. */
  readonly treeState: string | undefined;
  /** Root hash (base64) of the tree of every entry. */
  readonly root: string | undefined;
}
/** Verifies a log; the array form is `{trusted}`. */
export declare function verifyLog(jsonl: string, trusted: PublicKey[] | VerifyLogOptions): VerifyReport;
/** Verifies the log, then runs the access alerts; throws INVALID_SIGNATURE unless it verified against trusted keys. */
export declare function accessAlerts(jsonl: string, options: VerifyLogOptions & { rules?: AlertRules }): { report: VerifyReport; alerts: AccessAlertResult[] };
/** The body of a checkpoint note (MALFORMED_INPUT if it is not one). */
export declare function parseCheckpoint(note: string): CheckpointBody;
/** The JSON line that stores a (cosigned) checkpoint note in a log. */
export declare function checkpointLine(note: string): string;
/** The Merkle tree (RFC 9162, SHA-256) of a log's entries. Proofs are arrays of base64 hashes. */
export declare class AuditTree {
  private constructor();
  static fromLog(jsonl: string): AuditTree;
  readonly size: number;
  root(size?: number): string;
  inclusionProof(seq: number, size?: number): string[];
  consistencyProof(oldSize: number, newSize?: number): string[];
}
/** Throws INVALID_SIGNATURE unless the entry line is in the tree. */
export declare function verifyInclusion(entryLine: string, tree: { size: number; root: string }, proof: string[]): true;
/** Throws INVALID_SIGNATURE unless `newer` extends `older`. */
export declare function verifyConsistency(older: { size: number; root: string }, newer: { size: number; root: string }, proof: string[]): true;
/** A witness: cosigns only checkpoints its log keys signed that extend what it cosigned before (else STALE_VERSION). */
export declare class Witness {
  constructor(options: { name: string; signingKey: SigningKey; logKeys: PublicKey[] });
  /** The signature line to append to the note; `time` in POSIX seconds (default now). */
  cosign(note: string, proof?: string[], time?: number): string;
  last(origin: string): { size: number; root: string } | null;
  remember(origin: string, state: { size: number; root: string }): void;
  readonly name: string;
  readonly publicKey: PublicKey;
}
/** Durable (IndexedDB) audit queue; one chain per name. */
export declare class AuditQueue {
  private constructor();
  /** `signingKey` may also be an AuthorKey: checkpoints are then signed by a non-extractable WebCrypto key in browsers. */
  static open(options?: Omit<AuditLogOptions, 'signingKey'> & { name?: string; signingKey?: SigningKey | AuthorKey }): Promise<AuditQueue>;
  append(entry: AuditEntryInput, check?: { record: { [key: string]: Json }; schema: Schema }): Promise<AuditEntry>;
  checkpoint(): Promise<object>;
  pending(): Promise<string[]>;
  flush(sink: (lines: string[]) => void | Promise<void>): Promise<number>;
  readonly logId: string;
  readonly seq: number;
  close(): void;
}
export declare const DEFAULT_TTL_MS: number;
/** A private key that expires (KEY_EXPIRED); accepted wherever a key opens records. */
export declare class SessionKey {
  /** Nominal: only phiseal makes these (a look-alike object is refused by the type checker). */
  private readonly __phiseal: 'SessionKey';
  constructor(privateKey: PrivateKey, options?: { ttlMs?: number; clock?: () => number; purpose?: string });
  readonly expiresAt: number;
  readonly expired: boolean;
  readonly kid: string;
  renew(ttlMs?: number): this;
}
/** Audits durably, then unlocks the emergency key for ttlMs (default 15 minutes). */
export declare function breakGlass(options: {
  /** An AuditQueue, or a sink that declares `durable: true` and resolves append() only once the entry is stored. */
  audit: AuditQueue | { durable: true; append(entry: AuditEntryInput): Promise<unknown> };
  actor: { id: string; role?: string };
  patientId: string;
  reason: string;
  emergencyKey: PrivateKey;
  ttlMs?: number;
  clock?: () => number;
}): Promise<SessionKey>;
/** Access conditions: roles, organization, working hours [from, to) in a UTC offset, lifetime. */
export declare class Grant {
  constructor(options?: { roles?: string[]; organization?: string; hours?: [number, number]; utcOffsetMinutes?: number; ttlMs?: number; clock?: () => number });
  readonly expiresAt: number;
  /** Throws ACCESS_DENIED or KEY_EXPIRED. */
  check(context: { role?: string; organization?: string }): void;
}
/** A key usable while its grant holds; refusals are audited. Accepted wherever a key opens records. */
export declare class GrantedKey {
  /** Nominal: only phiseal makes these (a look-alike object is refused by the type checker). */
  private readonly __phiseal: 'GrantedKey';
  constructor(privateKey: PrivateKey, grant: Grant, context: { actorId?: string; role?: string; organization?: string }, options?: { audit?: { append(e: AuditEntryInput): unknown } });
  readonly kid: string;
}
/** Raises onAlert when an actor touches `distinctPatients` patients within `windowMs`. */
export declare class AccessAlert {
  constructor(options?: { distinctPatients?: number; windowMs?: number; perRole?: Record<string, number>; onAlert?: (alert: { actorId: string; role: string; patients: number; since: number; at: number }) => void });
  observe(entry: { actor: { id: string; role?: string }; patientId?: string; time: number }): object | null;
  toJSON(): object;
}
/**
 * Keys in IndexedDB, with metadata: HPKE private keys, AuthorKeys, audit
 * SigningKeys, tenant IndexKeys and SessionKeys, so that none is lost on a
 * reload. Each kind is loaded by its own getter (the wrong one says MISUSE).
 * Every entry is authenticated (HMAC-SHA-256 under a key of the store) and
 * pair-checked when loaded: a tampered, planted or copied entry is
 * INVALID_KEY. No getter hands out an extractable key. A store can be locked
 * with passkeys (WebAuthn PRF) and a passphrase fallback (docs/SECURITY.md,
 * "Key custody in the browser").
 */
export declare class KeyStore {
  private constructor();
  /** Opens (or creates) a store; with `unlock`, unlocks its lock too (see unlock). */
  static open(options?: { name?: string; unlock?: { passkey: true; timeoutMs?: number } | { passphrase: string } }): Promise<KeyStore>;
  /** Resolves to the id to load it by: the kid (PrivateKey, AuthorKey, SigningKey's public key), `session:<kid>` (SessionKey) or IndexKey.id. */
  put(
    key: PrivateKey | AuthorKey | SigningKey | IndexKey | SessionKey,
    meta?: { purpose?: string; expires?: number; epoch?: number; passphrase?: string; created?: number },
  ): Promise<string>;
  /** A new HPKE key pair made and stored by the store; in a locked store (or with a passphrase) kept wrapped, usable only while unlocked. */
  generateKeyPair(
    meta?: { purpose?: string; expires?: number; epoch?: number; passphrase?: string; created?: number; provider?: Provider },
  ): Promise<{ kid: string; privateKey: PrivateKey; publicKey: PublicKey }>;
  /** A new AuthorKey made and stored by the store, like generateKeyPair. */
  generateAuthorKey(
    meta?: { purpose?: string; expires?: number; epoch?: number; passphrase?: string; created?: number; provider?: Provider },
  ): Promise<AuthorKey>;
  /** Metadata of every entry (not authenticated; `legacy`: written by older phiseal, refused until migrate()). */
  list(): Promise<
    {
      kid: string;
      kind: 'hpke' | 'author' | 'signing' | 'index' | 'session';
      created: number;
      expires: number | null;
      purpose: string;
      epoch: number;
      /** 'webcrypto-non-extractable', 'A256GCM' (the store's own key), 'passphrase', 'lock' (the lock's key) or 'phk2-to-store'. */
      protection: string;
      legacy?: true;
    }[]
  >;
  /** An HPKE private key, as a non-extractable WebCrypto key where WebCrypto exists. */
  get(kid: string, options?: { passphrase?: string; now?: number; provider?: Provider }): Promise<PrivateKey>;
  /** An author key, as a non-extractable WebCrypto key where WebCrypto exists. */
  getAuthorKey(kid: string, options?: { passphrase?: string; now?: number; provider?: Provider }): Promise<AuthorKey>;
  /** A SigningKey (its bytes live in wasm memory). */
  getSigningKey(kid: string, options?: { passphrase?: string; now?: number }): Promise<SigningKey>;
  getIndexKey(id: string, options?: { now?: number }): Promise<IndexKey>;
  /** The stored session key, expiring when it did (KEY_EXPIRED after). */
  getSessionKey(id: string, options?: { passphrase?: string; now?: number; provider?: Provider; clock?: () => number }): Promise<SessionKey>;
  due(options?: { maxAgeDays?: number; now?: number }): Promise<string[]>;
  /** A new key pair with the same purpose and epoch + 1 (generateKeyPair); the key handed back is never extractable. */
  rotate(kid: string, options?: { expires?: number; passphrase?: string; provider?: Provider }): Promise<{ privateKey: PrivateKey; publicKey: PublicKey }>;
  delete(kid: string): Promise<void>;
  /** Authenticates, once, the entries older phiseal wrote without a MAC (accepting what the store holds now). */
  migrate(): Promise<{ migrated: string[]; refused: { kid: string; reason: string }[] }>;
  /** False while a locked store has not been unlocked. */
  readonly unlocked: boolean;
  /** The ways the store's lock opens ([] for a store without a lock). */
  unlockMethods(): Promise<('passkey' | 'passphrase')[]>;
  /** ACCESS_DENIED (no passkey assertion), UNSUPPORTED (no WebAuthn PRF), DECRYPT_FAILED (a passkey or passphrase of another lock), MISUSE (no lock). */
  unlock(how: { passkey: true; timeoutMs?: number } | { passphrase: string }): Promise<void>;
  /** Enrolls a passkey (WebAuthn PRF) that unlocks the store; the first enrollment locks the store. `refused`: entries left out, failing their check. */
  enrollPasskey(options: {
    userName: string;
    rpId?: string;
    rpName?: string;
    userDisplayName?: string;
    userId?: Uint8Array;
    timeoutMs?: number;
    /** On a locked store: the passkey or passphrase that unlocks it now (MISUSE without). */
    current?: { passkey: true; timeoutMs?: number } | { passphrase: string };
  }): Promise<{ credentialId: Uint8Array; refused: string[] }>;
  /** Adds a passphrase (at least 12 characters) that unlocks the store, the fallback without passkeys; the first enrollment locks the store; a locked store needs `current`. */
  enrollPassphrase(passphrase: string, options?: { current?: { passkey: true; timeoutMs?: number } | { passphrase: string } }): Promise<{ refused: string[] }>;
  /** Forgets the unlocked lock's keys. */
  lock(): void;
  close(): void;
}
export {}; // only what is marked `export` above is public (BaseKeyset is not)
