// Internal helpers shared by the phiseal modules: wasm initialisation and
// argument checks. Not part of the public API.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';

/**
 * The wasm module's exports once init() has loaded it (null before). Two
 * builds exist: pkg/ with every capability and pkg/fields/ with keys, HPKE
 * and field encryption only. Every entry point other than 'phiseal/fields'
 * asks for the full build when it is imported (useFullBuild), so the lean
 * one is loaded only by apps that import nothing else.
 */
export let wasm = null;

/** RFC 9180 KDF ids accepted by the HPKE functions. */
export const Kdf = Object.freeze({ HKDF_SHA256: 0x0001, HKDF_SHA384: 0x0002, HKDF_SHA512: 0x0003 });
/** RFC 9180 AEAD ids accepted by the HPKE functions. */
export const Aead = Object.freeze({ AES_128_GCM: 0x0001, AES_256_GCM: 0x0002, EXPORT_ONLY: 0xffff });

let ready = null;
let full = false;
let loaded = null; // 'full' | 'fields'

/** Called at import time by every entry point that needs more than field encryption. */
export function useFullBuild() {
  full = true;
}

/** True when `value` is an instance of the wasm class `name` (false before init). */
export function isA(value, name) {
  return wasm !== null && wasm[name] !== undefined && value instanceof wasm[name];
}

/**
 * Throws UNSUPPORTED when the loaded wasm build lacks a capability (an app
 * that imported only 'phiseal/fields' and then another entry dynamically,
 * after init).
 * @param {'audit' | 'media'} capability
 */
export function requireCapability(capability) {
  requireInit();
  const probe = capability === 'audit' ? 'AuditLog' : 'SframeSender';
  if (wasm[probe] === undefined) {
    throw new PhisealError(
      `the loaded phiseal build has no ${capability} support: import the entry point that needs it (e.g. 'phiseal' or 'phiseal/${capability}') before init() runs`,
      ErrorCode.UNSUPPORTED,
    );
  }
}

const isNode = typeof process !== 'undefined' && process.versions != null && process.versions.node != null;

/**
 * Loads the wasm module. Called automatically by every async function; call
 * it yourself before the synchronous ones (key import, deriveKeyPair).
 * @param {RequestInfo | URL | Response | BufferSource | WebAssembly.Module} [moduleOrPath]
 */
export function init(moduleOrPath) {
  if (ready === null) {
    ready = (async () => {
      const build = full ? 'full' : 'fields';
      // Two literal import() calls, so bundlers see (and split) both builds.
      const glue = build === 'full' ? await import('../pkg/phiseal.js') : await import('../pkg/fields/phiseal.js');
      let input = moduleOrPath;
      if (input === undefined && isNode) {
        // getBuiltinModule (Node >= 20.16), not import('node:fs'): bundlers
        // for browsers must not see a Node built-in in this file.
        if (typeof process.getBuiltinModule !== 'function') {
          throw new PhisealError(
            'this Node.js is older than 20.16: pass the wasm bytes to init(bytes) (pkg/phiseal_bg.wasm, or pkg/fields/ for phiseal/fields)',
            ErrorCode.UNSUPPORTED,
          );
        }
        const { readFile } = process.getBuiltinModule('node:fs/promises');
        const file = build === 'full' ? '../pkg/phiseal_bg.wasm' : '../pkg/fields/phiseal_bg.wasm';
        input = await readFile(new URL(file, import.meta.url));
      }
      await glue.default(input === undefined ? undefined : { module_or_path: input });
      glue.setErrorClass(PhisealError);
      wasm = glue;
      loaded = build;
      for (const f of onReady.splice(0)) f(glue);
      prefillWhenIdle(glue);
    })();
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

/**
 * How many single-use HPKE ephemeral keys a page makes in idle time after
 * init() (issue #23): the common interactive case, one form sealed now and
 * then, then costs one ECDH instead of a key generation plus an ECDH. They
 * are non-extractable WebCrypto keys, each used once; the pool refills
 * itself after each seal (up to 16) and prepareEphemeralKeys(n) prepares
 * more before a burst. Pages only (a window with WebCrypto): workers and
 * Node have no idle time to borrow.
 */
const IDLE_EPHEMERAL_KEYS = 4;

function prefillWhenIdle(glue) {
  const g = globalThis;
  if (isNode || typeof g.document === 'undefined' || typeof g.crypto?.subtle?.generateKey !== 'function') return;
  if (typeof glue.prepareEphemeralKeys !== 'function') return;
  const run = () => {
    glue.prepareEphemeralKeys(IDLE_EPHEMERAL_KEYS).catch(() => {}); // a later seal generates inline and reports errors
  };
  if (typeof g.requestIdleCallback === 'function') g.requestIdleCallback(run, { timeout: 2000 });
  else setTimeout(run, 0);
}

/** Which build init() loaded: 'full', 'fields', or null before init. */
export function loadedBuild() {
  return loaded;
}

const onReady = [];

/** Runs `f(wasm)` once the module is loaded (now, if it is). */
export function whenReady(f) {
  if (wasm !== null) f(wasm);
  else onReady.push(f);
}

/**
 * Stands in for a wasm class until init() has loaded it (or for good, when
 * the loaded build lacks it): `instanceof` is false, and any static method
 * throws NOT_INITIALIZED (before init) or UNSUPPORTED (missing capability),
 * never a TypeError.
 * @param {string} name
 * @param {'audit' | 'media'} [capability]
 */
export function placeholderClass(name, capability) {
  const fail = () => (capability ? requireCapability(capability) : requireInit());
  const stub = function () {
    fail();
  };
  Object.defineProperty(stub, 'name', { value: name });
  Object.defineProperty(stub, Symbol.hasInstance, { value: () => false });
  return new Proxy(stub, {
    get(target, prop) {
      if (prop in target) return target[prop];
      return () => {
        fail();
        throw new PhisealError(`${name}.${String(prop)} is not available`, ErrorCode.UNSUPPORTED);
      };
    },
  });
}

export function requireInit() {
  if (wasm === null) {
    throw new PhisealError('phiseal is not initialized: await init() first', ErrorCode.NOT_INITIALIZED);
  }
}

export function bytes(value, name, { optional = false } = {}) {
  if (value === undefined || value === null) {
    if (optional) return undefined;
    throw invalidArgument(`${name} is required (Uint8Array)`);
  }
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  throw invalidArgument(`${name} must be a Uint8Array`);
}

export function options(value, name) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`${name} must be an object`);
  return value;
}

export function publicKeyArg(value, name) {
  if (isA(value, 'PublicKey')) return value;
  throw invalidArgument(`${name} must be a phiseal PublicKey (see importPublicKey)`);
}

/**
 * The PublicKey of one recipient entry (`r` itself, or `r.publicKey`),
 * refusing a private key and a raw JWK with the fix in the message.
 */
export function recipientKeyArg(r, what) {
  if (isA(r, 'PrivateKey')) throw invalidArgument('recipients take public keys: pass privateKey.publicKey, never the private key');
  if (isA(r, 'AuthorKey') || isA(r?.publicKey, 'AuthorKey')) {
    throw invalidArgument("recipients take HPKE public keys (generateKeyPair().publicKey); an AuthorKey only signs, and its key can decrypt nothing");
  }
  const key = isA(r, 'PublicKey') ? r : r?.publicKey;
  if (isA(key, 'PublicKey')) return key;
  if (r?.kty !== undefined || r?.publicKey?.kty !== undefined) {
    throw invalidArgument('each recipient must be a PublicKey: import the JWK first with importPublicKey(jwk)');
  }
  throw invalidArgument(`each recipient must be ${what}`);
}

/** The author keys an opener trusts: PublicKeys (or AuthorKeys), as the JSON the wasm side reads. */
/** PublicKeys as the JSON text of their JWKs (what the wasm side reads); anything else is refused. */
export function keysJson(keys, what) {
  if (!Array.isArray(keys) || keys.some((k) => !isA(k, 'PublicKey'))) throw invalidArgument(`${what} must be an array of PublicKeys`);
  return JSON.stringify(keys.map((k) => k.toJwk()));
}

export function authorsArg(value, certified = null) {
  if (certified !== null && Array.isArray(value) && value.length === 0) {
    // Every author certificate was refused: the first refusal says why.
    throw [...certified.refused.values()][0] ?? certified.unreadable ?? new PhisealError('no trusted author certificate', ErrorCode.UNTRUSTED_KEY);
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw invalidArgument('authors is required: a non-empty array of the PublicKeys whose signatures you trust (authorKey.publicKey)');
  }
  return value.map((k) => {
    if (isA(k, 'AuthorKey')) return { jwk: k.publicKey.toJwk() };
    if (isA(k, 'PublicKey')) return { jwk: k.toJwk() };
    throw invalidArgument('each trusted author must be a PublicKey (authorKey.publicKey)');
  });
}

export function privateKeyArg(value, name) {
  if (isA(value, 'PrivateKey')) return value;
  throw invalidArgument(`${name} must be a phiseal PrivateKey (see generateKeyPair, importPrivateKey)`);
}

export function providerArg(value) {
  const provider = value ?? 'auto';
  if (provider !== 'auto' && provider !== 'webcrypto' && provider !== 'wasm') {
    throw invalidArgument('provider must be "auto", "webcrypto" or "wasm"');
  }
  return provider;
}

export function suiteArgs(opts) {
  const kdf = opts.kdf ?? Kdf.HKDF_SHA384;
  const aead = opts.aead ?? Aead.AES_256_GCM;
  if (!Object.values(Kdf).includes(kdf)) throw invalidArgument('kdf must be one of Kdf');
  if (!Object.values(Aead).includes(aead)) throw invalidArgument('aead must be one of Aead');
  return [kdf, aead];
}

export function pskArgs(opts) {
  return [bytes(opts.psk, 'psk', { optional: true }), bytes(opts.pskId, 'pskId', { optional: true })];
}

export function extractableArg(value) {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalidArgument('extractable must be a boolean');
  return value;
}


// ---------------------------------------------------------------- shared by fields, audit, keystore

/** Promise of an IndexedDB request's result. */
export function idbRequest(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** Promise of an IndexedDB transaction's completion. */
export function idbDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error('transaction aborted'));
  });
}

const schemas = new WeakMap();

/** The wasm Schema for a schema object, compiled once per object. */
export function schemaArg(schema) {
  if (schema === null || typeof schema !== 'object') throw invalidArgument('schema must be a schema object {id, version, fields}');
  requireInit();
  let compiled = schemas.get(schema);
  if (!compiled) {
    try {
      compiled = new wasm.Schema(JSON.stringify(schema));
    } catch (e) {
      throw schemaFieldError(schema, e);
    }
    schemas.set(schema, compiled);
  }
  return compiled;
}

/**
 * The error of a schema that did not compile, naming the field at fault:
 * each field is compiled alone to find the first one the core refuses
 * (the core's messages are static text; schema paths are not PHI).
 */
function schemaFieldError(schema, error) {
  if (!(error instanceof PhisealError) || schema.fields === null || typeof schema.fields !== 'object') return error;
  for (const [path, spec] of Object.entries(schema.fields)) {
    try {
      new wasm.Schema(JSON.stringify({ id: 'check', version: 0, fields: { [path]: spec } })).free();
    } catch (e) {
      if (e instanceof PhisealError) return new PhisealError(`schema field ${JSON.stringify(path)}: ${e.message}`, e.code);
    }
  }
  return error;
}

/**
 * Whether `cryptoKey` (ECDSA P-384, sign) is the private half of `publicKey`:
 * one signature over a random probe, verified with the public key. Refuses a
 * mismatched pair (a planted or mislabelled key would sign as someone else).
 */
/**
 * Checks that an ECDH P-384 CryptoKey is the private key of `publicKey`: one
 * Diffie-Hellman with a fresh ephemeral key, computed from both sides
 * (INVALID_KEY otherwise). A store entry whose public JWK was swapped, or a
 * planted pair under another key's id, fails here.
 */
export async function checkHpkePair(cryptoKey, publicKey, what) {
  const alg = { name: 'ECDH', namedCurve: 'P-384' };
  let ok = false;
  try {
    const eph = await crypto.subtle.generateKey(alg, false, ['deriveBits']);
    const pub = await crypto.subtle.importKey('raw', publicKey.toSec1(false), alg, false, []);
    const a = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: eph.publicKey }, cryptoKey, 384));
    const b = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: pub }, eph.privateKey, 384));
    let diff = a.length ^ b.length;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    ok = diff === 0;
    a.fill(0);
    b.fill(0);
  } catch {
    ok = false;
  }
  if (!ok) throw new PhisealError(`${what}: the CryptoKey is not the private key of this public key`, ErrorCode.INVALID_KEY);
}

export async function checkAuthorPair(cryptoKey, publicKey, what) {
  const probe = crypto.getRandomValues(new Uint8Array(32));
  const alg = { name: 'ECDSA', hash: 'SHA-384' };
  const pub = await crypto.subtle.importKey('raw', publicKey.toSec1(false), { name: 'ECDSA', namedCurve: 'P-384' }, false, ['verify']);
  let ok = false;
  try {
    ok = await crypto.subtle.verify(alg, pub, await crypto.subtle.sign(alg, cryptoKey, probe), probe);
  } catch {
    ok = false;
  }
  if (!ok) throw new PhisealError(`${what}: the CryptoKey is not the private key of this public key`, ErrorCode.INVALID_KEY);
}
