// phiseal's idiomatic JavaScript API (keys, HPKE, fields, audit, key
// lifecycle), re-exported by the entry points index.js ('phiseal', every
// capability) and fields-entry.js ('phiseal/fields', the lean wasm build).
//
// This file is the idiomatic JavaScript surface over the wasm module in
// ../pkg (built by `make build`). It checks argument types (so that a wrong
// type is a PhisealError, never silently converted bytes), fills defaults,
// and returns Promises where WebCrypto makes the platform asynchronous.
// All cryptographic decisions are made in Rust.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import {
  bytes,
  checkAuthorPair,
  extractableArg,
  init,
  loadedBuild,
  options,
  privateKeyArg,
  providerArg,
  pskArgs,
  publicKeyArg,
  requireInit,
  suiteArgs,
  wasm,
  whenReady,
  placeholderClass,
  Aead,
  Kdf,
} from './internal.js';

export { ErrorCode, PhisealError, init };

/**
 * Generates up to `count` (default 16, at most 256) single-use HPKE
 * ephemeral keys ahead of time, as non-extractable WebCrypto keys, so that
 * the next seals (hpkeSeal, sealRecord, wrapBaseKey, encryptStream) cost one
 * ECDH instead of a key generation plus an ECDH. Each key is used once and
 * never leaves wasm's pool; the pool also refills itself in the background
 * after each WebCrypto seal. Call it in idle time (e.g. requestIdleCallback)
 * before a burst. Resolves to the number of keys ready (0 without WebCrypto).
 * @param {number} [count]
 * @returns {Promise<number>}
 */
export async function prepareEphemeralKeys(count = 16) {
  requireInit();
  if (!Number.isInteger(count) || count < 0 || count > 256) throw invalidArgument('count must be an integer from 0 to 256');
  return wasm.prepareEphemeralKeys(count);
}

/** What the loaded wasm build and this runtime offer (see index.d.ts). Call init() first. */
export function capabilities() {
  requireInit();
  const g = globalThis;
  let frameTransform = null;
  if (typeof g.RTCRtpScriptTransform === 'function') frameTransform = 'scriptTransform';
  else if (typeof g.RTCRtpSender === 'function' && typeof g.RTCRtpSender.prototype.createEncodedStreams === 'function') {
    frameTransform = 'encodedStreams';
  }
  return {
    build: loadedBuild(),
    fields: true,
    audit: wasm.AuditLog !== undefined,
    media: wasm.SframeSender !== undefined,
    webCrypto: typeof g.crypto?.subtle?.deriveBits === 'function',
    frameTransform,
  };
}
export * from './fields.js';
export * from './audit.js';
export { DirectoryClient, KeyDirectory, Trust, issueCertificate, issueRevocations, monitorDirectory } from './trust.js';
// Not unlockKey: it is internal (it would hand out a SessionKey's key past its checks).
export { AccessAlert, DEFAULT_TTL_MS, Grant, GrantedKey, SessionKey, breakGlass } from './lifecycle.js';
export { KeyStore } from './keystore.js';

export { Aead, Kdf };
/** RFC 9180 KEM id of the one KEM phiseal implements: DHKEM(P-384, HKDF-SHA384). */
export const KEM_P384_HKDF_SHA384 = 0x0011;

/** The wasm classes, re-exported once init() has run (constructed only through the functions below). */
export let PublicKey = placeholderClass('PublicKey');
export let PrivateKey = placeholderClass('PrivateKey');
export let IndexKey = placeholderClass('IndexKey');
export let AuthorKey = placeholderClass('AuthorKey');
whenReady((w) => {
  PublicKey = w.PublicKey;
  PrivateKey = w.PrivateKey;
  IndexKey = w.IndexKey;
  AuthorKey = w.AuthorKey;
});

/**
 * Generates an ECDSA P-384 author key: it signs the records, index keys and
 * streams you seal, and readers trust its `publicKey`. In browsers it is a
 * WebCrypto CryptoKey, non-extractable unless `extractable: true` (keep it
 * across reloads with KeyStore.put / getAuthorKey).
 * @param {{extractable?: boolean, provider?: 'auto'|'webcrypto'|'wasm'}} [opts]
 */
export async function generateAuthorKey(opts) {
  requireInit();
  const o = options(opts, 'options');
  return wasm.AuthorKey.generate(providerArg(o.provider), extractableArg(o.extractable));
}

/**
 * Imports an author key from PKCS#8 (DER bytes or a PEM string), or wraps an
 * existing WebCrypto ECDSA P-384 private CryptoKey with its public key.
 * @param {Uint8Array | string | CryptoKey} key
 * @param {{publicKey?: PublicKey, extractable?: boolean, provider?: 'auto'|'webcrypto'|'wasm'}} [opts]
 */
export async function importAuthorKey(key, opts) {
  requireInit();
  const o = options(opts, 'options');
  if (typeof CryptoKey !== 'undefined' && key instanceof CryptoKey) {
    const author = wasm.AuthorKey.fromCryptoKey(key, publicKeyArg(o.publicKey, 'publicKey'));
    await checkAuthorPair(key, o.publicKey, 'importAuthorKey');
    return author;
  }
  const provider = providerArg(o.provider);
  const extractable = extractableArg(o.extractable);
  if (typeof key === 'string') {
    notJsonText(key, 'importAuthorKey');
    return wasm.AuthorKey.importPkcs8(pemBody(key), provider, extractable);
  }
  if (key instanceof Uint8Array || key instanceof ArrayBuffer) return wasm.AuthorKey.importPkcs8(bytes(key, 'key'), provider, extractable);
  throw invalidArgument('key must be PKCS#8 bytes, a PEM string or an ECDSA P-384 CryptoKey');
}

/** The DER bytes of a PEM `PRIVATE KEY` (INVALID_ARGUMENT for anything else). */
function pemBody(pem) {
  const m = /^-----BEGIN PRIVATE KEY-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END PRIVATE KEY-----\s*$/.exec(pem.trim());
  if (!m) throw invalidArgument('key must be a PEM "PRIVATE KEY"');
  const bin = atob(m[1].replace(/\s+/g, ''));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/**
 * Generates a P-384 key pair. In browsers the private key is a WebCrypto
 * CryptoKey, non-extractable unless `extractable: true`.
 * @param {{extractable?: boolean, provider?: 'auto'|'webcrypto'|'wasm'}} [opts]
 */
export async function generateKeyPair(opts) {
  requireInit();
  const o = options(opts, 'options');
  const provider = providerArg(o.provider);
  const extractable = extractableArg(o.extractable);
  const privateKey = await wasm.PrivateKey.generate(provider, extractable);
  return { privateKey, publicKey: privateKey.publicKey };
}

/**
 * Imports a private key: a JWK object, a PKCS#8 PEM string or PKCS#8 DER bytes.
 * @param {object | string | Uint8Array} key
 * @param {{extractable?: boolean, provider?: 'auto'|'webcrypto'|'wasm'}} [opts]
 */
export async function importPrivateKey(key, opts) {
  requireInit();
  const o = options(opts, 'options');
  const provider = providerArg(o.provider);
  const extractable = extractableArg(o.extractable);
  if (typeof key === 'string') {
    notJsonText(key, 'importPrivateKey');
    return wasm.PrivateKey.importPkcs8Pem(key, provider, extractable);
  }
  if (key instanceof Uint8Array || key instanceof ArrayBuffer) {
    return wasm.PrivateKey.importPkcs8(bytes(key, 'key'), provider, extractable);
  }
  if (key !== null && typeof key === 'object') return wasm.PrivateKey.importJwk(key, provider, extractable);
  throw invalidArgument('key must be a JWK object, a PEM string or PKCS#8 bytes');
}

/**
 * Imports a public key: a JWK object, an SPKI PEM string, SPKI DER bytes or
 * a SEC1 point (compressed or uncompressed). Synchronous: call init() first.
 * @param {object | string | Uint8Array} key
 */
export function importPublicKey(key) {
  requireInit();
  if (typeof key === 'string') {
    notJsonText(key, 'importPublicKey');
    return wasm.PublicKey.fromSpkiPem(key);
  }
  if (key instanceof Uint8Array || key instanceof ArrayBuffer) {
    const b = bytes(key, 'key');
    return b[0] === 0x30 ? wasm.PublicKey.fromSpki(b) : wasm.PublicKey.fromSec1(b);
  }
  if (key !== null && typeof key === 'object') return wasm.PublicKey.fromJwk(key);
  throw invalidArgument('key must be a JWK object, a PEM string, SPKI DER or a SEC1 point');
}

/** A string that holds JSON (a JWK passed through JSON.stringify) is not a PEM: say so. */
function notJsonText(key, fn) {
  if (key.trimStart().startsWith('{')) {
    throw invalidArgument(`key is JSON text, not a PEM string: pass the JWK object, ${fn}(JSON.parse(text))`);
  }
}

/**
 * Wraps an existing WebCrypto ECDH P-384 private CryptoKey (e.g. one kept in
 * IndexedDB) with its public key.
 * @param {CryptoKey} cryptoKey
 * @param {PublicKey} publicKey
 */
export function fromCryptoKey(cryptoKey, publicKey) {
  requireInit();
  if (typeof CryptoKey === 'undefined' || !(cryptoKey instanceof CryptoKey)) {
    throw invalidArgument('cryptoKey must be a CryptoKey');
  }
  return wasm.PrivateKey.fromCryptoKey(cryptoKey, publicKeyArg(publicKey, 'publicKey'));
}

/**
 * RFC 9180 DeriveKeyPair: a deterministic key pair from at least 48 bytes of
 * input keying material. Synchronous: call init() first.
 * @param {Uint8Array} ikm
 */
export function deriveKeyPair(ikm) {
  requireInit();
  return wasm.PrivateKey.deriveKeyPair(bytes(ikm, 'ikm'));
}

/**
 * HPKE single-shot seal to `recipientPublicKey`.
 * @returns {Promise<{enc: Uint8Array, ciphertext: Uint8Array}>}
 */
export async function hpkeSeal(recipientPublicKey, plaintext, opts) {
  requireInit();
  const o = options(opts, 'options');
  const pk = publicKeyArg(recipientPublicKey, 'recipientPublicKey');
  const pt = bytes(plaintext, 'plaintext');
  const info = bytes(o.info, 'info', { optional: true }) ?? new Uint8Array(0);
  const aad = bytes(o.aad, 'aad', { optional: true }) ?? new Uint8Array(0);
  const [psk, pskId] = pskArgs(o);
  const sender = o.senderKey === undefined ? undefined : privateKeyArg(o.senderKey, 'senderKey');
  const [kdf, aead] = suiteArgs(o);
  const provider = providerArg(o.provider);
  return wasm.hpkeSeal(pk, pt, info, aad, psk, pskId, sender?.clone(), kdf, aead, provider);
}

/**
 * HPKE single-shot open with `privateKey`.
 * @returns {Promise<Uint8Array>}
 */
export async function hpkeOpen(privateKey, enc, ciphertext, opts) {
  requireInit();
  const o = options(opts, 'options');
  const sk = privateKeyArg(privateKey, 'privateKey');
  const encBytes = bytes(enc, 'enc');
  const ct = bytes(ciphertext, 'ciphertext');
  const info = bytes(o.info, 'info', { optional: true }) ?? new Uint8Array(0);
  const aad = bytes(o.aad, 'aad', { optional: true }) ?? new Uint8Array(0);
  const [psk, pskId] = pskArgs(o);
  const sender = o.senderPublicKey === undefined ? undefined : publicKeyArg(o.senderPublicKey, 'senderPublicKey');
  const [kdf, aead] = suiteArgs(o);
  return wasm.hpkeOpen(sk, encBytes, ct, info, aad, psk, pskId, sender?.clone(), kdf, aead);
}

/**
 * HPKE sender context for several messages (and secret export).
 * @returns {Promise<{enc: Uint8Array, context: SenderContext}>}
 */
export async function hpkeSetupSender(recipientPublicKey, opts) {
  requireInit();
  const o = options(opts, 'options');
  const pk = publicKeyArg(recipientPublicKey, 'recipientPublicKey');
  const info = bytes(o.info, 'info', { optional: true }) ?? new Uint8Array(0);
  const [psk, pskId] = pskArgs(o);
  const sender = o.senderKey === undefined ? undefined : privateKeyArg(o.senderKey, 'senderKey');
  const [kdf, aead] = suiteArgs(o);
  const provider = providerArg(o.provider);
  const { enc, context } = await wasm.hpkeSetupSender(pk, info, psk, pskId, sender?.clone(), kdf, aead, provider);
  return { enc, context: new SenderContext(context) };
}

/**
 * HPKE recipient context for several messages (and secret export).
 * @returns {Promise<RecipientContext>}
 */
export async function hpkeSetupRecipient(privateKey, enc, opts) {
  requireInit();
  const o = options(opts, 'options');
  const sk = privateKeyArg(privateKey, 'privateKey');
  const encBytes = bytes(enc, 'enc');
  const info = bytes(o.info, 'info', { optional: true }) ?? new Uint8Array(0);
  const [psk, pskId] = pskArgs(o);
  const sender = o.senderPublicKey === undefined ? undefined : publicKeyArg(o.senderPublicKey, 'senderPublicKey');
  const [kdf, aead] = suiteArgs(o);
  return new RecipientContext(await wasm.hpkeSetupRecipient(sk, encBytes, info, psk, pskId, sender?.clone(), kdf, aead));
}

function lengthArg(value) {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffff) throw invalidArgument('length must be an integer from 0 to 65535');
  return value;
}

/** Export, sequence number and release, shared by both context kinds. */
class Context {
  /** @internal */
  constructor(ctx) {
    this.ctx = ctx;
  }
  /** RFC 9180 secret export. */
  export(exporterContext, length) {
    return this.ctx.export(bytes(exporterContext, 'exporterContext'), lengthArg(length));
  }
  /** Sequence number of the next message. */
  get seq() {
    return this.ctx.seq;
  }
  /** Releases the context's wasm memory (its secrets are zeroized). */
  free() {
    this.ctx.free();
  }
}

/** An HPKE sender context: seals messages in order, exports secrets. */
export class SenderContext extends Context {
  /** Seals the next message. */
  seal(plaintext, aad) {
    const pt = bytes(plaintext, 'plaintext');
    return this.ctx.seal(bytes(aad, 'aad', { optional: true }) ?? new Uint8Array(0), pt);
  }
}

/** An HPKE recipient context: opens messages in order, exports secrets. */
export class RecipientContext extends Context {
  /** Opens the next message; on failure nothing advances. */
  open(ciphertext, aad) {
    const ct = bytes(ciphertext, 'ciphertext');
    return this.ctx.open(bytes(aad, 'aad', { optional: true }) ?? new Uint8Array(0), ct);
  }
}
