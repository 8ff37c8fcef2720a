// phiseal: protect patient data (PHI) in the browser.
//
// This file is the idiomatic JavaScript surface over the wasm module in
// ../pkg (built by `make build`). It checks argument types (so that a wrong
// type is a PhisealError, never silently converted bytes), fills defaults,
// and returns Promises where WebCrypto makes the platform asynchronous.
// All cryptographic decisions are made in Rust.

import wasmInit, * as wasm from '../pkg/phiseal.js';
import { ErrorCode, PhisealError, invalidArgument } from './errors.js';

export { ErrorCode, PhisealError };

/** RFC 9180 KDF ids accepted by the HPKE functions. */
export const Kdf = Object.freeze({ HKDF_SHA256: 0x0001, HKDF_SHA384: 0x0002, HKDF_SHA512: 0x0003 });
/** RFC 9180 AEAD ids accepted by the HPKE functions. */
export const Aead = Object.freeze({ AES_128_GCM: 0x0001, AES_256_GCM: 0x0002, EXPORT_ONLY: 0xffff });
/** RFC 9180 KEM id of the one KEM phiseal implements: DHKEM(P-384, HKDF-SHA384). */
export const KEM_P384_HKDF_SHA384 = 0x0011;

/** The wasm classes, re-exported (constructed only through the functions below). */
export const PublicKey = wasm.PublicKey;
export const PrivateKey = wasm.PrivateKey;

let ready = null;
let initialized = false;

const isNode = typeof process !== 'undefined' && process.versions != null && process.versions.node != null;

/**
 * Loads the wasm module. Called automatically by every async function; call
 * it yourself before the synchronous ones (key import, deriveKeyPair).
 * @param {RequestInfo | URL | Response | BufferSource | WebAssembly.Module} [moduleOrPath]
 */
export function init(moduleOrPath) {
  if (ready === null) {
    ready = (async () => {
      let input = moduleOrPath;
      if (input === undefined && isNode) {
        const { readFile } = await import('node:fs/promises');
        input = await readFile(new URL('../pkg/phiseal_bg.wasm', import.meta.url));
      }
      await wasmInit(input === undefined ? undefined : { module_or_path: input });
      wasm.setErrorClass(PhisealError);
      initialized = true;
    })();
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

function requireInit() {
  if (!initialized) {
    throw new PhisealError('phiseal is not initialized: await init() first', ErrorCode.NOT_INITIALIZED);
  }
}

function bytes(value, name, { optional = false } = {}) {
  if (value === undefined || value === null) {
    if (optional) return undefined;
    throw invalidArgument(`${name} is required (Uint8Array)`);
  }
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw invalidArgument(`${name} must be a Uint8Array`);
}

function options(value, name) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`${name} must be an object`);
  return value;
}

function publicKeyArg(value, name) {
  if (value instanceof wasm.PublicKey) return value;
  throw invalidArgument(`${name} must be a phiseal PublicKey (see importPublicKey)`);
}

function privateKeyArg(value, name) {
  if (value instanceof wasm.PrivateKey) return value;
  throw invalidArgument(`${name} must be a phiseal PrivateKey (see generateKeyPair, importPrivateKey)`);
}

function providerArg(value) {
  const provider = value ?? 'auto';
  if (provider !== 'auto' && provider !== 'webcrypto' && provider !== 'wasm') {
    throw invalidArgument('provider must be "auto", "webcrypto" or "wasm"');
  }
  return provider;
}

function suiteArgs(opts) {
  const kdf = opts.kdf ?? Kdf.HKDF_SHA384;
  const aead = opts.aead ?? Aead.AES_256_GCM;
  if (!Object.values(Kdf).includes(kdf)) throw invalidArgument('kdf must be one of Kdf');
  if (!Object.values(Aead).includes(aead)) throw invalidArgument('aead must be one of Aead');
  return [kdf, aead];
}

function pskArgs(opts) {
  return [bytes(opts.psk, 'psk', { optional: true }), bytes(opts.pskId, 'pskId', { optional: true })];
}

function extractableArg(value) {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalidArgument('extractable must be a boolean');
  return value;
}

/**
 * Generates a P-384 key pair. In browsers the private key is a WebCrypto
 * CryptoKey, non-extractable unless `extractable: true`.
 * @param {{extractable?: boolean, provider?: 'auto'|'webcrypto'|'wasm'}} [opts]
 */
export async function generateKeyPair(opts) {
  const o = options(opts, 'options');
  const provider = providerArg(o.provider);
  const extractable = extractableArg(o.extractable);
  await init();
  const privateKey = await wasm.PrivateKey.generate(provider, extractable);
  return { privateKey, publicKey: privateKey.publicKey };
}

/**
 * Imports a private key: a JWK object, a PKCS#8 PEM string or PKCS#8 DER bytes.
 * @param {object | string | Uint8Array} key
 * @param {{extractable?: boolean, provider?: 'auto'|'webcrypto'|'wasm'}} [opts]
 */
export async function importPrivateKey(key, opts) {
  const o = options(opts, 'options');
  const provider = providerArg(o.provider);
  const extractable = extractableArg(o.extractable);
  await init();
  if (typeof key === 'string') return wasm.PrivateKey.importPkcs8Pem(key, provider, extractable);
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
  if (typeof key === 'string') return wasm.PublicKey.fromSpkiPem(key);
  if (key instanceof Uint8Array || key instanceof ArrayBuffer) {
    const b = bytes(key, 'key');
    return b[0] === 0x30 ? wasm.PublicKey.fromSpki(b) : wasm.PublicKey.fromSec1(b);
  }
  if (key !== null && typeof key === 'object') return wasm.PublicKey.fromJwk(key);
  throw invalidArgument('key must be a JWK object, a PEM string, SPKI DER or a SEC1 point');
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
  const o = options(opts, 'options');
  const pk = publicKeyArg(recipientPublicKey, 'recipientPublicKey');
  const pt = bytes(plaintext, 'plaintext');
  const info = bytes(o.info, 'info', { optional: true }) ?? new Uint8Array(0);
  const aad = bytes(o.aad, 'aad', { optional: true }) ?? new Uint8Array(0);
  const [psk, pskId] = pskArgs(o);
  const sender = o.senderKey === undefined ? undefined : privateKeyArg(o.senderKey, 'senderKey');
  const [kdf, aead] = suiteArgs(o);
  const provider = providerArg(o.provider);
  await init();
  return wasm.hpkeSeal(pk, pt, info, aad, psk, pskId, sender?.clone(), kdf, aead, provider);
}

/**
 * HPKE single-shot open with `privateKey`.
 * @returns {Promise<Uint8Array>}
 */
export async function hpkeOpen(privateKey, enc, ciphertext, opts) {
  const o = options(opts, 'options');
  const sk = privateKeyArg(privateKey, 'privateKey');
  const encBytes = bytes(enc, 'enc');
  const ct = bytes(ciphertext, 'ciphertext');
  const info = bytes(o.info, 'info', { optional: true }) ?? new Uint8Array(0);
  const aad = bytes(o.aad, 'aad', { optional: true }) ?? new Uint8Array(0);
  const [psk, pskId] = pskArgs(o);
  const sender = o.senderPublicKey === undefined ? undefined : publicKeyArg(o.senderPublicKey, 'senderPublicKey');
  const [kdf, aead] = suiteArgs(o);
  await init();
  return wasm.hpkeOpen(sk, encBytes, ct, info, aad, psk, pskId, sender?.clone(), kdf, aead);
}

/**
 * HPKE sender context for several messages (and secret export).
 * @returns {Promise<{enc: Uint8Array, context: SenderContext}>}
 */
export async function hpkeSetupSender(recipientPublicKey, opts) {
  const o = options(opts, 'options');
  const pk = publicKeyArg(recipientPublicKey, 'recipientPublicKey');
  const info = bytes(o.info, 'info', { optional: true }) ?? new Uint8Array(0);
  const [psk, pskId] = pskArgs(o);
  const sender = o.senderKey === undefined ? undefined : privateKeyArg(o.senderKey, 'senderKey');
  const [kdf, aead] = suiteArgs(o);
  const provider = providerArg(o.provider);
  await init();
  const { enc, context } = await wasm.hpkeSetupSender(pk, info, psk, pskId, sender?.clone(), kdf, aead, provider, undefined);
  return { enc, context: new SenderContext(context) };
}

/**
 * HPKE recipient context for several messages (and secret export).
 * @returns {Promise<RecipientContext>}
 */
export async function hpkeSetupRecipient(privateKey, enc, opts) {
  const o = options(opts, 'options');
  const sk = privateKeyArg(privateKey, 'privateKey');
  const encBytes = bytes(enc, 'enc');
  const info = bytes(o.info, 'info', { optional: true }) ?? new Uint8Array(0);
  const [psk, pskId] = pskArgs(o);
  const sender = o.senderPublicKey === undefined ? undefined : publicKeyArg(o.senderPublicKey, 'senderPublicKey');
  const [kdf, aead] = suiteArgs(o);
  await init();
  return new RecipientContext(await wasm.hpkeSetupRecipient(sk, encBytes, info, psk, pskId, sender?.clone(), kdf, aead));
}

function lengthArg(value) {
  if (!Number.isSafeInteger(value) || value < 0 || value > 0xffff) throw invalidArgument('length must be an integer from 0 to 65535');
  return value;
}

/** An HPKE sender context: seals messages in order, exports secrets. */
export class SenderContext {
  #ctx;
  /** @internal */
  constructor(ctx) {
    this.#ctx = ctx;
  }
  /** Seals the next message. */
  seal(plaintext, aad) {
    const pt = bytes(plaintext, 'plaintext');
    return this.#ctx.seal(bytes(aad, 'aad', { optional: true }) ?? new Uint8Array(0), pt);
  }
  /** RFC 9180 secret export. */
  export(exporterContext, length) {
    return this.#ctx.export(bytes(exporterContext, 'exporterContext'), lengthArg(length));
  }
  /** Sequence number of the next message. */
  get seq() {
    return this.#ctx.seq;
  }
  /** Releases the context's wasm memory (its secrets are zeroized). */
  free() {
    this.#ctx.free();
  }
}

/** An HPKE recipient context: opens messages in order, exports secrets. */
export class RecipientContext {
  #ctx;
  /** @internal */
  constructor(ctx) {
    this.#ctx = ctx;
  }
  /** Opens the next message; on failure nothing advances. */
  open(ciphertext, aad) {
    const ct = bytes(ciphertext, 'ciphertext');
    return this.#ctx.open(bytes(aad, 'aad', { optional: true }) ?? new Uint8Array(0), ct);
  }
  /** RFC 9180 secret export. */
  export(exporterContext, length) {
    return this.#ctx.export(bytes(exporterContext, 'exporterContext'), lengthArg(length));
  }
  /** Sequence number of the next message. */
  get seq() {
    return this.#ctx.seq;
  }
  /** Releases the context's wasm memory (its secrets are zeroized). */
  free() {
    this.#ctx.free();
  }
}
