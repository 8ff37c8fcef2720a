// A key store in IndexedDB (docs/SECURITY.md, "Key custody in the browser").
//
// Entries (format 2). Each entry in the `keys` object store carries `v: 2`
// and `mac`, an HMAC-SHA-256 under a non-extractable key of the store over a
// canonical encoding of the store name and everything the entry says: kid,
// kind, metadata, public JWK and wrapped form (`entryBytes` below). A key is
// kept in one of these forms:
//   - `webcrypto-non-extractable`: the CryptoKey itself (IndexedDB keeps it
//     non-extractable). The MAC cannot cover a CryptoKey, so every load also
//     runs one test Diffie-Hellman (HPKE keys) or one test signature (author
//     keys) against the authenticated public JWK.
//   - `A256GCM`: PKCS#8 wrapped with `crypto.subtle.wrapKey` (AES-256-GCM,
//     additional data naming store, kind and kid) under the store's key
//     (`by: 'store'`), the store lock's key (`by: 'lock'`) or a key derived
//     from a passphrase with PBKDF2-SHA-256 (`by: 'passphrase'`). Loading
//     unwraps it with `unwrapKey` into a non-extractable key, then runs the
//     same pair check.
//   - `phk2-to-store` (IndexKeys): sealed with HPKE to the store's own P-384
//     key and signed by the store's own author key (FORMAT.md §5).
//
// The store's keys. A store without a lock keeps its MAC key and wrapping key
// (AES-256-GCM, usages wrapKey/unwrapKey only) as non-extractable CryptoKeys
// in its `meta` object store: any same-origin script can use them as phiseal
// does (SECURITY.md says what that means). A locked store keeps them only
// wrapped, in `meta.lock`, once per way to unlock it ("slots": a passkey's
// WebAuthn PRF output through HKDF-SHA-256, or a passphrase through PBKDF2),
// and holds the unwrapped, non-extractable copies in this object's private
// fields while it is unlocked.
//
// Entries written by phiseal before format 2 carry no MAC: every getter
// refuses them (MISUSE) until the app calls `migrate()` once.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { checkAuthorPair, checkHpkePair, idbDone as done, idbRequest as request, isA, requireInit, options, privateKeyArg, wasm } from './internal.js';
import { SessionKey, unlockKey } from './lifecycle.js';

const PBKDF2_ITERATIONS = 600_000;
/** Bounds on a stored PBKDF2 iteration count: fewer is weak, more is a denial of service. */
const PBKDF2_MIN = 100_000;
const PBKDF2_MAX = 10_000_000;
const ENTRY_VERSION = 2;
const LOCK_VERSION = 1;
const PASSKEY_TIMEOUT_MS = 120_000;

const te = new TextEncoder();

/**
 * WebCrypto and WebAuthn as they were when phiseal loaded: a script that later
 * replaces `crypto.subtle.sign` or `navigator.credentials.get` does not see the
 * store's keys or a passkey's PRF output go by. (A script that ran before
 * phiseal loaded can replace anything; SECURITY.md.)
 */
function pin(target, names) {
  const out = {};
  for (const n of names) if (target && typeof target[n] === 'function') out[n] = target[n].bind(target);
  return out;
}
const subtle = pin(globalThis.crypto?.subtle, ['deriveKey', 'exportKey', 'generateKey', 'importKey', 'sign', 'unwrapKey', 'verify', 'wrapKey']);
const webauthn = pin(globalThis.navigator?.credentials, ['create', 'get']);
const random = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

const ECDH = { name: 'ECDH', namedCurve: 'P-384' };
const ECDSA = { name: 'ECDSA', namedCurve: 'P-384' };
/**
 * A P-384 key pair made with the pinned WebCrypto (not whatever
 * `crypto.subtle.generateKey` is now: a script that hooked it after phiseal
 * loaded would see an extractable pair go by), as a wasm PrivateKey or
 * AuthorKey around the CryptoKey. `extractable` only so that the store can
 * wrap it (with the pinned wrapKey); its bytes never reach JavaScript.
 */
async function pinnedKeyPair(kind, extractable) {
  if (!subtle.generateKey || !subtle.exportKey) throw new PhisealError('the KeyStore needs WebCrypto', ErrorCode.UNSUPPORTED);
  const author = kind === 'author';
  const pair = await subtle.generateKey(author ? ECDSA : ECDH, extractable, author ? ['sign', 'verify'] : ['deriveBits']);
  const { kty, crv, x, y } = await subtle.exportKey('jwk', pair.publicKey);
  const publicKey = wasm.PublicKey.fromJwk({ kty, crv, x, y });
  return author ? wasm.AuthorKey.fromCryptoKey(pair.privateKey, publicKey) : wasm.PrivateKey.fromCryptoKey(pair.privateKey, publicKey);
}

/**
 * Keys the store hands out are non-extractable WebCrypto keys. A wasm key
 * would ignore that (its scalar sits in wasm memory and exportPkcs8 works),
 * so `provider: 'wasm'` is refused rather than honoured (review finding).
 */
function noWasm(o) {
  if (o.provider === 'wasm') {
    throw new PhisealError(
      "the KeyStore hands out non-extractable WebCrypto keys only: provider 'wasm' would put the key's bytes in wasm memory, where page script can read and export them",
      ErrorCode.MISUSE,
    );
  }
}

/** The WebCrypto form of each kind's private key. */
const FORMS = {
  hpke: { alg: ECDH, usages: ['deriveBits'] },
  session: { alg: ECDH, usages: ['deriveBits'] },
  author: { alg: ECDSA, usages: ['sign'] },
  signing: { alg: ECDSA, usages: ['sign'] },
};
const AES_KW = { name: 'AES-GCM', length: 256 };
const HMAC = { name: 'HMAC', hash: 'SHA-256', length: 256 };
const GETTERS = { hpke: 'get', signing: 'getSigningKey', author: 'getAuthorKey', index: 'getIndexKey', session: 'getSessionKey' };

const tampered = (what) => new PhisealError(`${what} (tampered store, or an entry from another store)`, ErrorCode.INVALID_KEY);

// ---------------------------------------------------------------- canonical encoding

/** A JSON object's text with its members sorted (a public JWK: strings only). */
function sortedJson(value) {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw tampered('a stored public key is not a JWK');
  return JSON.stringify(Object.keys(value).sort().map((k) => [k, value[k]]));
}

/**
 * Each part as a type byte, a 32-bit big-endian length and its bytes
 * (null, UTF-8 text, a number's decimal text, raw bytes): no two different
 * entries encode alike. A part of any other type is a tampered entry.
 */
function encodeParts(parts) {
  const bodies = parts.map((p) => {
    if (p === null || p === undefined) return [0, new Uint8Array(0)];
    if (typeof p === 'string') return [1, te.encode(p)];
    if (typeof p === 'number' && Number.isFinite(p)) return [2, te.encode(String(p))];
    if (p instanceof Uint8Array) return [3, p];
    throw tampered('a stored entry has a member of the wrong type');
  });
  const out = new Uint8Array(bodies.reduce((n, [, b]) => n + 5 + b.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const [tag, body] of bodies) {
    out[at] = tag;
    view.setUint32(at + 1, body.length);
    out.set(body, at + 5);
    at += 5 + body.length;
  }
  return out;
}

/** What an entry's MAC covers: the store's name and every member of the entry but the CryptoKey and the MAC. */
function entryBytes(storeName, r) {
  const w = r.wrapped ?? {};
  const kdf = w.kdf ?? {};
  return encodeParts([
    'phiseal-keystore-entry-v2', storeName, r.kid, r.kind, r.created, r.expires, r.purpose, r.epoch, sortedJson(r.publicJwk),
    w.alg, w.by, kdf.name, kdf.iterations, kdf.salt, w.aad, w.iv, w.ct, w.sealed,
  ]);
}

/** Additional data of an entry's AES-GCM wrap (format 1 passphrase entries keep theirs). */
function wrapAad(storeName, r) {
  return te.encode(r.wrapped.aad === 'v1' ? `phiseal-keystore-v1:${r.kid}` : `phiseal-keystore-v2:${storeName}:${r.kind}:${r.kid}`);
}

const b64u = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const sameBytes = (a, b) => a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && a.every((x, i) => x === b[i]);

// ---------------------------------------------------------------- key derivation

async function passphraseKek(passphrase, salt, iterations) {
  if (!Number.isSafeInteger(iterations) || iterations < PBKDF2_MIN || iterations > PBKDF2_MAX || !(salt instanceof Uint8Array)) {
    throw tampered('stored passphrase parameters are out of range');
  }
  const base = await subtle.importKey('raw', te.encode(passphrase), 'PBKDF2', false, ['deriveKey']);
  return subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, AES_KW, false, ['wrapKey', 'unwrapKey']);
}

/** The slot key of a passkey: HKDF-SHA-256 of its PRF output (zeroed here), salted with the slot's PRF input. */
async function passkeyKek(prfOutput, prfSalt, storeName) {
  const ikm = new Uint8Array(prfOutput);
  try {
    const base = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveKey']);
    const info = te.encode(`phiseal-keystore-lock-v1 passkey ${storeName}`);
    return await subtle.deriveKey({ name: 'HKDF', hash: 'SHA-256', salt: prfSalt, info }, base, AES_KW, false, ['wrapKey', 'unwrapKey']);
  } finally {
    ikm.fill(0);
    if (prfOutput instanceof ArrayBuffer) new Uint8Array(prfOutput).fill(0);
  }
}

/** Checks a stored CryptoKey is what `put` stores: a non-extractable P-384 private key of the kind's algorithm. */
function storedCryptoKey(key, kind, kid) {
  const ok = typeof CryptoKey !== 'undefined' && key instanceof CryptoKey && key.type === 'private' && key.extractable === false
    && key.algorithm?.name === FORMS[kind].alg.name && key.algorithm?.namedCurve === 'P-384';
  if (!ok) throw tampered(`the stored key ${kid} is not a non-extractable P-384 ${FORMS[kind].alg.name} key`);
  return key;
}

// ---------------------------------------------------------------- WebAuthn

function requireWebAuthn() {
  if (typeof PublicKeyCredential === 'undefined' || !webauthn.get || !webauthn.create) {
    throw new PhisealError('this browser has no WebAuthn: unlock the store with its passphrase', ErrorCode.UNSUPPORTED);
  }
}

/** navigator.credentials[op], with its errors as PhisealErrors and a hard time limit. */
async function callWebAuthn(op, publicKey, timeoutMs) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    return await webauthn[op]({ publicKey: { ...publicKey, timeout: timeoutMs }, signal: abort.signal });
  } catch (e) {
    if (e?.name === 'NotAllowedError' || e?.name === 'AbortError' || abort.signal.aborted) {
      throw new PhisealError(`no passkey ${op === 'get' ? 'assertion' : 'was created'}: cancelled, timed out, or no authenticator holds this passkey`, ErrorCode.ACCESS_DENIED);
    }
    if (e?.name === 'SecurityError') throw new PhisealError(`the passkey's rpId is not valid for this origin (${e.message})`, ErrorCode.MISUSE);
    if (e?.name === 'InvalidStateError') throw new PhisealError('this authenticator already holds a passkey of this store', ErrorCode.MISUSE);
    throw new PhisealError(`WebAuthn failed: ${e?.name ?? e}`, ErrorCode.PLATFORM);
  } finally {
    clearTimeout(timer);
  }
}

const noPrf = () => new PhisealError(
  'the browser or authenticator gave no WebAuthn PRF output (PRF extension unsupported): unlock the store with its passphrase instead',
  ErrorCode.UNSUPPORTED,
);

// ---------------------------------------------------------------- the store

export class KeyStore {
  #db;
  #name;
  /** Promises of the unlocked store's device keys, by meta name. */
  #device = new Map();
  /** While unlocked: {kw, km, kek, slot, index} (kek and slot: the slot that opened it, to add others). */
  #unlocked = null;
  /** Whether this store was seen with a lock: a lock that disappears later is tampering, not a device store. */
  #sawLock = false;

  /**
   * Opens (or creates) the store `name`; with `unlock`, also unlocks its lock
   * ({passkey: true} or {passphrase}).
   * @param {{name?: string, unlock?: {passkey?: boolean, passphrase?: string, timeoutMs?: number}}} [opts]
   */
  static async open(opts) {
    requireInit();
    if (typeof indexedDB === 'undefined') throw new PhisealError('IndexedDB is not available', ErrorCode.UNSUPPORTED);
    const o = options(opts, 'options');
    const name = o.name ?? 'phiseal-keys';
    if (typeof name !== 'string' || name === '') throw invalidArgument('name must be a non-empty string');
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('keys', { keyPath: 'kid' });
      req.result.createObjectStore('meta');
    };
    const store = new KeyStore();
    store.#db = await request(req);
    store.#name = name;
    try {
      store.#sawLock = (await store.#readLock()) !== undefined;
      if (o.unlock !== undefined) await store.unlock(o.unlock);
    } catch (e) {
      store.close();
      throw e;
    }
    return store;
  }

  // ------------------------------------------------------------ meta and the store's keys

  #readMeta(name) {
    return request(this.#db.transaction('meta').objectStore('meta').get(name));
  }

  #readLock() {
    return this.#readMeta('lock');
  }

  /**
   * The device key `name` of the meta object store, created once by `make()`
   * (concurrent callers share one promise; `add` never overwrites: when
   * another tab created it first, that one is used). A stored value that is
   * not a non-extractable key with exactly `usages` is refused.
   */
  #deviceKey(name, make, usages) {
    let p = this.#device.get(name);
    if (p === undefined) {
      p = (async () => {
        let key = await this.#readMeta(name);
        if (!key) {
          const made = await make();
          const tx = this.#db.transaction('meta', 'readwrite');
          tx.objectStore('meta').add(made, name);
          key = await done(tx).then(() => made, () => this.#readMeta(name));
        }
        const ok = typeof CryptoKey !== 'undefined' && key instanceof CryptoKey && !key.extractable
          && key.usages.length === usages.length && usages.every((u) => key.usages.includes(u));
        if (!ok) throw tampered(`the store's ${name} is not the non-extractable key phiseal makes`);
        return key;
      })();
      p.catch(() => this.#device.delete(name));
      this.#device.set(name, p);
    }
    return p;
  }

  /**
   * The keys entries are authenticated and wrapped with now: the lock's
   * (MISUSE while locked) or, for a store without a lock, the device keys.
   * @returns {Promise<{by: 'lock' | 'store', mac: CryptoKey, wrap: CryptoKey}>}
   */
  async #storeKeys() {
    const lock = await this.#readLock();
    if (lock !== undefined) {
      this.#sawLock = true;
      if (this.#unlocked === null) {
        throw new PhisealError(`store ${this.#name} is locked: open it with {unlock: {passkey: true}} or {unlock: {passphrase}}, or call unlock()`, ErrorCode.MISUSE);
      }
      return { by: 'lock', mac: this.#unlocked.km, wrap: this.#unlocked.kw };
    }
    if (this.#sawLock) throw tampered(`store ${this.#name} had a lock and has none now: its keys are not loaded`);
    return {
      by: 'store',
      mac: await this.#deviceKey('mac-key', () => subtle.generateKey(HMAC, false, ['sign', 'verify']), ['sign', 'verify']),
      wrap: await this.#deviceKey('wrap-key-v2', () => subtle.generateKey(AES_KW, false, ['wrapKey', 'unwrapKey']), ['wrapKey', 'unwrapKey']),
    };
  }

  async #tag(mac, r) {
    return new Uint8Array(await subtle.sign('HMAC', mac, entryBytes(this.#name, r)));
  }

  async #authentic(mac, r) {
    try {
      return r.mac instanceof Uint8Array && (await subtle.verify('HMAC', mac, r.mac, entryBytes(this.#name, r)));
    } catch {
      return false;
    }
  }

  /**
   * The store's own P-384 HPKE key (to which IndexKeys are sealed) and author
   * key (which signs them). A store without a lock keeps them as
   * non-extractable CryptoKeys in meta; a locked store keeps them wrapped
   * under the lock's key, with their public JWKs in the additional data.
   */
  async #indexKeys(keys) {
    if (keys.by === 'lock') {
      if (!this.#unlocked.index) {
        const lock = await this.#readLock();
        const own = async (which) => {
          if (!lock?.[which]?.publicJwk) throw tampered(`the lock has no ${which} key`);
          const ck = await this.#unwrapOwn(lock, which, keys).catch(() => { throw tampered(`the lock's ${which} key did not unwrap`); });
          return [ck, wasm.PublicKey.fromJwk(lock[which].publicJwk)];
        };
        this.#unlocked.index = {
          sealing: wasm.PrivateKey.fromCryptoKey(...(await own('sealing'))),
          author: wasm.AuthorKey.fromCryptoKey(...(await own('author'))),
        };
      }
      return this.#unlocked.index;
    }
    const entry = async (name, generate, what) => {
      let p = this.#device.get(name);
      if (p === undefined) {
        p = (async () => {
          const existing = await this.#readMeta(name);
          if (existing) return existing;
          const k = await generate();
          const ck = k.cryptoKey();
          if (!ck) throw new PhisealError(`storing an IndexKey needs WebCrypto ${what} P-384`, ErrorCode.UNSUPPORTED);
          const value = { key: ck, publicJwk: k.publicKey.toJwk() };
          const tx = this.#db.transaction('meta', 'readwrite');
          tx.objectStore('meta').add(value, name);
          return done(tx).then(() => value, () => this.#readMeta(name));
        })();
        p.catch(() => this.#device.delete(name));
        this.#device.set(name, p);
      }
      return p;
    };
    const sealing = await entry('sealing-key', () => pinnedKeyPair('hpke', false), 'ECDH');
    const author = await entry('author-key', () => pinnedKeyPair('author', false), 'ECDSA');
    return {
      sealing: wasm.PrivateKey.fromCryptoKey(sealing.key, wasm.PublicKey.fromJwk(sealing.publicJwk)),
      author: wasm.AuthorKey.fromCryptoKey(author.key, wasm.PublicKey.fromJwk(author.publicJwk)),
    };
  }

  // ------------------------------------------------------------ wrapping

  /**
   * The entry's `wrapped` member for an extractable CryptoKey: PKCS#8 wrapped
   * with AES-256-GCM (wrapKey) under the store's or lock's key, or a key
   * derived from `passphrase`.
   */
  async #wrapCryptoKey(ck, r, keys, passphrase) {
    const iv = random(12);
    let kek = keys.wrap;
    const wrapped = { alg: 'A256GCM', by: keys.by, kdf: null, iv };
    if (passphrase !== undefined) {
      const salt = random(16);
      kek = await passphraseKek(passphrase, salt, PBKDF2_ITERATIONS);
      Object.assign(wrapped, { by: 'passphrase', kdf: { name: 'PBKDF2-SHA-256', iterations: PBKDF2_ITERATIONS, salt } });
    }
    const aad = wrapAad(this.#name, { ...r, wrapped });
    wrapped.ct = new Uint8Array(await subtle.wrapKey('pkcs8', ck, kek, { name: 'AES-GCM', iv, additionalData: aad }));
    return wrapped;
  }

  /** `der` (zeroed afterwards, whatever happens) as an extractable CryptoKey of `kind`, only to wrap it. */
  static async #cryptoKeyOf(der, kind) {
    try {
      return await subtle.importKey('pkcs8', der, FORMS[kind].alg, true, FORMS[kind].usages);
    } finally {
      der.fill(0);
    }
  }

  /**
   * The wrapped entry as a CryptoKey: non-extractable, or (`extractable`,
   * only for bytes the wasm core must hold) extractable, never handed out.
   */
  async #unwrap(r, keys, o, extractable) {
    const w = r.wrapped;
    let kek;
    if (w.by === 'passphrase' || w.kdf) {
      if (typeof o.passphrase !== 'string') throw invalidArgument('this key is protected by a passphrase: pass {passphrase}');
      kek = await passphraseKek(o.passphrase, w.kdf?.salt, w.kdf?.iterations);
    } else if (w.by === keys.by) {
      kek = keys.wrap;
    } else {
      throw tampered(`key ${r.kid} is wrapped under another store key`);
    }
    const form = FORMS[r.kind];
    try {
      return await subtle.unwrapKey('pkcs8', w.ct, kek, { name: 'AES-GCM', iv: w.iv, additionalData: wrapAad(this.#name, r) }, form.alg, extractable, form.usages);
    } catch {
      throw new PhisealError('the stored key did not decrypt (wrong passphrase or tampered store)', ErrorCode.DECRYPT_FAILED);
    }
  }

  /** PKCS#8 bytes of a wrapped entry, for the wasm core (zero them after use). */
  async #pkcs8(r, keys, o) {
    const ck = await this.#unwrap(r, keys, o, true);
    return new Uint8Array(await subtle.exportKey('pkcs8', ck));
  }

  // ------------------------------------------------------------ put

  /**
   * Stores a key with its metadata: a PrivateKey (HPKE), an AuthorKey (record
   * signatures), a SigningKey (audit checkpoints), an IndexKey (deterministic
   * and blind-index fields) or a SessionKey (kept with its expiry). Resolves
   * to the id to load it by: the kid, or the IndexKey's id.
   * @param {PrivateKey | AuthorKey | SigningKey | IndexKey | SessionKey} key
   * @param {{purpose?: string, expires?: number, epoch?: number, passphrase?: string, created?: number}} [meta]
   */
  async put(key, meta) {
    const m = options(meta, 'meta');
    if (m.passphrase !== undefined && (typeof m.passphrase !== 'string' || m.passphrase.length < 12)) {
      throw invalidArgument('passphrase must be a string of at least 12 characters');
    }
    const keys = await this.#storeKeys();
    const base = (kind, id, purpose) => ({
      v: ENTRY_VERSION,
      kid: id,
      kind,
      created: m.created ?? Date.now(),
      expires: m.expires ?? null,
      purpose: m.purpose ?? purpose,
      epoch: m.epoch ?? 1,
    });
    // A CryptoKey that is non-extractable is stored as is; an extractable one (or a wasm key's bytes) is wrapped.
    const store = async (record, ck, pkcs8, kind) => {
      if (ck && !ck.extractable && m.passphrase === undefined) return { alg: 'webcrypto-non-extractable', key: ck };
      const wrappable = ck && ck.extractable ? ck : await KeyStore.#cryptoKeyOf(await pkcs8(), kind);
      return this.#wrapCryptoKey(wrappable, record, keys, m.passphrase);
    };
    let record;
    if (isA(key, 'AuthorKey')) {
      record = { ...base('author', key.kid, 'author'), publicJwk: key.publicKey.toJwk() };
      record.wrapped = await store(record, key.cryptoKey(), () => key.exportPkcs8(), 'author');
    } else if (isA(key, 'SigningKey')) {
      record = { ...base('signing', key.publicKey.kid, 'audit-signing'), publicJwk: key.publicKey.toJwk() };
      record.wrapped = await this.#wrapCryptoKey(await KeyStore.#cryptoKeyOf(key.exportPkcs8(), 'signing'), record, keys, m.passphrase);
    } else if (isA(key, 'IndexKey')) {
      if (m.passphrase !== undefined) throw invalidArgument('an IndexKey is sealed to the store; a passphrase is not supported for it');
      record = base('index', key.id, 'index');
      const { sealing, author } = await this.#indexKeys(keys);
      const sealed = await wasm.sealIndexKey(key, JSON.stringify([{ jwk: sealing.publicKey.toJwk(), groups: null }]), 'auto', author);
      record.wrapped = { alg: 'phk2-to-store', by: keys.by, sealed };
    } else {
      let sk;
      let kind = 'hpke';
      if (key instanceof SessionKey) {
        sk = await unlockKey(key); // KEY_EXPIRED for an expired session key
        kind = 'session';
        // Its own id: the same key may also be stored as a plain HPKE key (keyed by its kid).
        record = { ...base(kind, `session:${sk.kid}`, key.purpose), expires: key.expiresAt };
      } else {
        sk = privateKeyArg(key, 'key');
        record = base(kind, sk.kid, 'hpke');
      }
      record.publicJwk = sk.publicKey.toJwk();
      record.wrapped = await store(record, sk.cryptoKey(), () => sk.exportPkcs8(), kind);
    }
    record.mac = await this.#tag(keys.mac, record);
    const tx = this.#db.transaction('keys', 'readwrite');
    tx.objectStore('keys').put(record);
    await done(tx);
    return record.kid;
  }

  /**
   * Generates an HPKE key pair inside the store and stores it. In a locked
   * store, or with a passphrase, it is made extractable only to be wrapped
   * and handed back unwrapped, non-extractable (so a script can use it only
   * while the store is unlocked); otherwise it is a non-extractable CryptoKey.
   * @returns {Promise<{kid: string, privateKey: PrivateKey, publicKey: PublicKey}>}
   */
  async generateKeyPair(meta) {
    const m = options(meta, 'meta');
    const kid = await this.#generate((x) => pinnedKeyPair('hpke', x), m);
    const privateKey = await this.get(kid, { passphrase: m.passphrase, provider: m.provider });
    return { kid, privateKey, publicKey: privateKey.publicKey };
  }

  /** Generates an AuthorKey inside the store, like generateKeyPair; resolves to it as getAuthorKey would. */
  async generateAuthorKey(meta) {
    const m = options(meta, 'meta');
    const kid = await this.#generate((x) => pinnedKeyPair('author', x), m);
    return this.getAuthorKey(kid, { passphrase: m.passphrase, provider: m.provider });
  }

  async #generate(generate, m) {
    noWasm(m);
    const keys = await this.#storeKeys();
    // Wrapped (so generated extractable, then dropped) when the lock or a passphrase must guard it, or wasm needs its bytes.
    const wrap = keys.by === 'lock' || m.passphrase !== undefined;
    const fresh = await generate(wrap);
    const { provider, ...meta } = m;
    try {
      return await this.put(fresh, meta);
    } finally {
      fresh.free(); // the caller gets the key as the getter loads it, never this one
    }
  }

  // ------------------------------------------------------------ list and get

  /** Metadata of every stored key (no key material; not authenticated: the getters check each entry). */
  async list() {
    const all = await request(this.#db.transaction('keys').objectStore('keys').getAll());
    return all.map(({ v, kid, kind, created, expires, purpose, epoch, wrapped }) => ({
      kid,
      kind: kind ?? 'hpke',
      created,
      expires,
      purpose,
      epoch,
      protection: wrapped?.kdf ? 'passphrase' : wrapped?.by === 'lock' ? 'lock' : wrapped?.alg,
      ...(v === ENTRY_VERSION ? {} : { legacy: true }),
    }));
  }

  /**
   * The stored entry `kid` of `kind`, authenticated (INVALID_KEY otherwise)
   * and checked for expiry, with the store keys that checked it.
   */
  async #entry(kid, kind, o) {
    const keys = await this.#storeKeys();
    const r = await request(this.#db.transaction('keys').objectStore('keys').get(kid));
    if (!r) throw new PhisealError(`no key ${kid} in the store`, ErrorCode.INVALID_ARGUMENT);
    if (r.v !== ENTRY_VERSION) {
      throw new PhisealError(
        `key ${kid} was stored by an older phiseal, without an integrity tag: call store.migrate() once (it accepts what the store holds now), or store the key again`,
        ErrorCode.MISUSE,
      );
    }
    if (r.kid !== kid || !(await this.#authentic(keys.mac, r))) throw tampered(`the stored entry ${kid} failed its integrity check`);
    const stored = r.kind;
    if (stored !== kind) throw new PhisealError(`key ${kid} is a ${stored} key: load it with KeyStore.${GETTERS[stored]}()`, ErrorCode.MISUSE);
    if (r.expires !== null && (o.now ?? Date.now()) >= r.expires) throw new PhisealError(`key ${kid} expired`, ErrorCode.KEY_EXPIRED);
    return { r, keys };
  }

  /** The entry's public key, whose kid must be the entry's (a session key's id is `session:<kid>`). */
  static #publicKey(r) {
    const kid = r.kind === 'session' ? r.kid.slice('session:'.length) : r.kid;
    let publicKey;
    try {
      publicKey = wasm.PublicKey.fromJwk(r.publicJwk);
    } catch {
      throw tampered(`the stored public key of ${kid} is not a P-384 JWK`);
    }
    if (publicKey.kid !== kid) throw tampered(`the stored key is not ${kid}`);
    return { publicKey, kid };
  }

  /** An HPKE (or session) entry as a PrivateKey: non-extractable, pair-checked. */
  async #privateKey(r, keys, o) {
    noWasm(o);
    const { publicKey, kid } = KeyStore.#publicKey(r);
    let ck;
    if (r.wrapped.alg === 'webcrypto-non-extractable') {
      ck = storedCryptoKey(r.wrapped.key, r.kind, kid);
    } else if (r.wrapped.alg === 'A256GCM') {
      ck = await this.#unwrap(r, keys, o, false);
    } else {
      throw tampered(`key ${kid} has an unknown protection`);
    }
    // A planted pair (someone's private key under this public key) would decrypt as this key: one test DH first.
    await checkHpkePair(ck, publicKey, `stored key ${kid}`);
    return wasm.PrivateKey.fromCryptoKey(ck, publicKey);
  }

  /**
   * Loads an HPKE private key as a non-extractable WebCrypto key. A tampered,
   * planted or copied entry gives `INVALID_KEY`, an entry of older phiseal
   * `MISUSE` (see migrate), an expired key `KEY_EXPIRED`, a wrong passphrase
   * `DECRYPT_FAILED`.
   */
  async get(kid, opts) {
    const o = options(opts, 'options');
    const { r, keys } = await this.#entry(kid, 'hpke', o);
    return this.#privateKey(r, keys, o);
  }

  /** Loads a stored AuthorKey (record, index-key and stream signatures) by its kid, non-extractable, pair-checked. */
  async getAuthorKey(kid, opts) {
    const o = options(opts, 'options');
    noWasm(o);
    const { r, keys } = await this.#entry(kid, 'author', o);
    const { publicKey } = KeyStore.#publicKey(r);
    let ck;
    if (r.wrapped.alg === 'webcrypto-non-extractable') {
      ck = storedCryptoKey(r.wrapped.key, 'author', kid);
    } else if (r.wrapped.alg === 'A256GCM') {
      ck = await this.#unwrap(r, keys, o, false);
    } else {
      throw tampered(`author key ${kid} has an unknown protection`);
    }
    // A planted entry (someone's key pair under this kid) would sign as this author: one test signature first.
    await checkAuthorPair(ck, publicKey, `stored author key ${kid}`);
    return wasm.AuthorKey.fromCryptoKey(ck, publicKey);
  }

  /**
   * Loads a stored SigningKey (audit checkpoints) by its public key's kid.
   * A SigningKey lives in wasm memory: its bytes pass from WebCrypto's unwrap
   * to wasm (SECURITY.md: what a page script can do with it).
   */
  async getSigningKey(kid, opts) {
    const o = options(opts, 'options');
    const { r, keys } = await this.#entry(kid, 'signing', o);
    KeyStore.#publicKey(r);
    if (r.wrapped.alg !== 'A256GCM') throw tampered(`signing key ${kid} has an unknown protection`);
    const der = await this.#pkcs8(r, keys, o);
    try {
      const key = wasm.SigningKey.importPkcs8(der);
      if (key.publicKey.kid !== kid) throw tampered(`the stored signing key is not ${kid}`);
      return key;
    } finally {
      der.fill(0);
    }
  }

  /** Loads a stored IndexKey by its id. */
  async getIndexKey(id, opts) {
    const o = options(opts, 'options');
    const { r, keys } = await this.#entry(id, 'index', o);
    if (r.wrapped.alg !== 'phk2-to-store' || (r.wrapped.by ?? 'store') !== keys.by) throw tampered(`index key ${id} is sealed to another store key`);
    const { sealing, author } = await this.#indexKeys(keys);
    const key = await wasm.openIndexKey(r.wrapped.sealed, sealing, JSON.stringify([{ jwk: author.publicKey.toJwk() }]));
    if (key.id !== id) throw tampered(`the stored index key is not ${id}`);
    return key;
  }

  /** Loads a stored SessionKey: the same key, expiring when the stored one did (`KEY_EXPIRED` after). */
  async getSessionKey(kid, opts) {
    const o = options(opts, 'options');
    const { r, keys } = await this.#entry(kid, 'session', o);
    const now = o.now ?? Date.now();
    return new SessionKey(await this.#privateKey(r, keys, o), { ttlMs: r.expires - now, purpose: r.purpose, clock: o.clock });
  }

  /** Keys older than `maxAgeDays` (default 90) at `now`: due for rotation. */
  async due(opts) {
    const o = options(opts, 'options');
    const limit = (o.now ?? Date.now()) - (o.maxAgeDays ?? 90) * 86_400_000;
    return (await this.list()).filter((k) => k.created <= limit).map((k) => k.kid);
  }

  /**
   * Rotates key `kid`: a new key pair with the same purpose and `epoch + 1`
   * is generated in the store (generateKeyPair) and stored, and the old one
   * stays readable (disable or delete it once sealed records are rewrapped to
   * the new key, e.g. with `addRecipient` / `rekeyRecord` over
   * `rotationReport`). The key handed back is never extractable.
   */
  async rotate(kid, opts) {
    const o = options(opts, 'options');
    const { r } = await this.#entry(kid, 'hpke', { now: 0 });
    const { privateKey, publicKey } = await this.generateKeyPair({
      purpose: r.purpose, epoch: r.epoch + 1, expires: o.expires ?? null, passphrase: o.passphrase, provider: o.provider,
    });
    return { privateKey, publicKey };
  }

  async delete(kid) {
    const tx = this.#db.transaction('keys', 'readwrite');
    tx.objectStore('keys').delete(kid);
    await done(tx);
  }

  // ------------------------------------------------------------ migration from format 1

  /**
   * Authenticates, once, the entries an older phiseal wrote without a MAC
   * (which every getter refuses until then). Call it when you trust what the
   * store holds (right after updating phiseal): it accepts any entry that is
   * well formed, whose kid matches its public key and whose pair check passes,
   * so one planted before the call is accepted too; compare the kids it
   * returns with the keys your directory knows. Entries wrapped under the old
   * store key (which could decrypt) are rewrapped, and that key is deleted.
   * Only a store without a lock has such entries.
   * @returns {Promise<{migrated: string[], refused: {kid: string, reason: string}[]}>}
   */
  async migrate() {
    const keys = await this.#storeKeys();
    const all = await request(this.#db.transaction('keys').objectStore('keys').getAll());
    const legacy = all.filter((r) => r.v !== ENTRY_VERSION);
    const migrated = [];
    const refused = [];
    if (keys.by === 'lock') {
      // A lock is newer than format 2: older entries in a locked store were put there by someone else.
      return { migrated, refused: legacy.map((r) => ({ kid: String(r.kid), reason: 'a locked store never held entries of older phiseal' })) };
    }
    const oldKey = await this.#readMeta('wrapping-key');
    const out = [];
    for (const old of legacy) {
      try {
        out.push(await this.#migrated(old, keys, oldKey));
        migrated.push(old.kid);
      } catch (e) {
        refused.push({ kid: String(old.kid), reason: e instanceof Error ? e.message : String(e) });
      }
    }
    const tx = this.#db.transaction(['keys', 'meta'], 'readwrite');
    for (const r of out) tx.objectStore('keys').put(r);
    tx.objectStore('meta').delete('wrapping-key');
    await done(tx);
    return { migrated, refused };
  }

  /** A format 1 entry as a format 2 one (throws when it does not check out). */
  async #migrated(old, keys, oldKey) {
    const kind = old.kind ?? 'hpke';
    if (!GETTERS[kind] || typeof old.kid !== 'string') throw new Error('not a phiseal key entry');
    const r = {
      v: ENTRY_VERSION, kid: old.kid, kind, created: old.created, expires: old.expires ?? null, purpose: old.purpose, epoch: old.epoch,
    };
    if (old.publicJwk !== undefined) r.publicJwk = old.publicJwk;
    const w = old.wrapped ?? {};
    if (kind === 'index') {
      if (w.alg !== 'phk2-to-store' || typeof w.sealed !== 'string') throw new Error('not a sealed index key');
      r.wrapped = { alg: 'phk2-to-store', by: 'store', sealed: w.sealed };
    } else {
      const { publicKey, kid } = KeyStore.#publicKey(r);
      if (w.alg === 'webcrypto-non-extractable') {
        const ck = storedCryptoKey(w.key, kind, kid);
        if (kind === 'author') await checkAuthorPair(ck, publicKey, `stored author key ${kid}`);
        else await checkHpkePair(ck, publicKey, `stored key ${kid}`);
        r.wrapped = { alg: w.alg, key: ck };
      } else if (w.alg === 'A256GCM' && w.kdf) {
        // Under a passphrase: kept as it is (its AES-GCM tag and the passphrase authenticate it on load).
        r.wrapped = { alg: 'A256GCM', by: 'passphrase', kdf: { ...w.kdf }, aad: 'v1', iv: w.iv, ct: w.ct };
      } else if (w.alg === 'A256GCM' && oldKey) {
        let der;
        try {
          der = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: w.iv, additionalData: te.encode(`phiseal-keystore-v1:${old.kid}`) }, oldKey, w.ct));
        } catch {
          throw new Error('did not decrypt under the old store key');
        }
        try {
          // The key's own public key, from its scalar (the wasm handles are freed, which zeroizes them).
          let of;
          let ck;
          if (kind === 'signing') {
            const s = wasm.SigningKey.importPkcs8(der);
            of = s.publicKey.kid;
            s.free();
            ck = await KeyStore.#cryptoKeyOf(der.slice(), kind);
          } else {
            const k = kind === 'author' ? await wasm.AuthorKey.importPkcs8(der, 'webcrypto', true) : await wasm.PrivateKey.importPkcs8(der, 'webcrypto', true);
            of = k.kid;
            ck = k.cryptoKey();
            k.free();
          }
          if (of !== kid) throw new Error(`the wrapped key is not ${kid}`);
          r.wrapped = await this.#wrapCryptoKey(ck, r, keys);
        } finally {
          der.fill(0);
        }
      } else {
        throw new Error('unknown protection');
      }
    }
    r.mac = await this.#tag(keys.mac, r);
    return r;
  }

  // ------------------------------------------------------------ locks: passkeys and a passphrase

  /**
   * Whether the store's keys are usable now: always for a store without a
   * lock, after unlock() for a locked one.
   */
  get unlocked() {
    return this.#unlocked !== null || !this.#sawLock;
  }

  /** The ways this store's lock opens (`[]` for a store without a lock). */
  async unlockMethods() {
    const lock = await this.#readLock();
    return [...new Set((lock?.slots ?? []).map((s) => s.type))];
  }

  /**
   * Unlocks a locked store: `{passkey: true}` asks the browser for an
   * assertion with the WebAuthn PRF extension from one of its enrolled
   * passkeys; `{passphrase}` uses the passphrase fallback. Errors:
   * ACCESS_DENIED (no assertion: cancelled, timed out, no authenticator with
   * the passkey), UNSUPPORTED (no WebAuthn or no PRF output), DECRYPT_FAILED
   * (a passkey or passphrase that does not open this store's lock), MISUSE (a
   * store without a lock, or without that method).
   * @param {{passkey?: boolean, passphrase?: string, timeoutMs?: number}} how
   */
  async unlock(how) {
    const u = options(how, 'unlock');
    const lock = await this.#readLock();
    if (lock === undefined) {
      throw new PhisealError(
        `store ${this.#name} has no lock (enrollPasskey or enrollPassphrase makes one); if one was enrolled, the store was reset or tampered with`,
        ErrorCode.MISUSE,
      );
    }
    this.#sawLock = true;
    if (lock.v !== LOCK_VERSION || !Array.isArray(lock.slots)) throw tampered(`the lock of store ${this.#name} is malformed`);
    if (u.passkey === true) {
      const slots = lock.slots.filter((s) => s.type === 'passkey');
      if (slots.length === 0) throw new PhisealError(`store ${this.#name} has no passkey: unlock it with its passphrase`, ErrorCode.MISUSE);
      requireWebAuthn();
      const evalByCredential = Object.fromEntries(slots.map((s) => [b64u(s.credentialId), { first: s.prfSalt }]));
      const assertion = await callWebAuthn('get', {
        rpId: slots[0].rpId,
        challenge: random(32),
        allowCredentials: slots.map((s) => ({ type: 'public-key', id: s.credentialId })),
        userVerification: 'required',
        extensions: { prf: { evalByCredential } },
      }, u.timeoutMs ?? PASSKEY_TIMEOUT_MS);
      const slot = slots.find((s) => sameBytes(s.credentialId, new Uint8Array(assertion.rawId)));
      if (!slot) throw tampered('the passkey that answered is not one of this store');
      const prf = assertion.getClientExtensionResults().prf?.results?.first;
      if (!prf) throw noPrf();
      await this.#open(slot, await passkeyKek(prf, slot.prfSalt, this.#name), lock);
    } else if (typeof u.passphrase === 'string') {
      const slots = lock.slots.filter((s) => s.type === 'passphrase');
      if (slots.length === 0) throw new PhisealError(`store ${this.#name} has no passphrase: unlock it with its passkey`, ErrorCode.MISUSE);
      let last;
      for (const slot of slots) {
        try {
          await this.#open(slot, await passphraseKek(u.passphrase, slot.salt, slot.iterations), lock);
          return;
        } catch (e) {
          last = e;
        }
      }
      throw last;
    } else {
      throw invalidArgument('unlock takes {passkey: true} or {passphrase: string}');
    }
  }

  /** Unwraps the lock's keys from `slot` with `kek` (non-extractable) and keeps them. */
  async #open(slot, kek, lock) {
    if (!lock.sealing || !lock.author) throw tampered(`the lock of store ${this.#name} is malformed`);
    const keys = await this.#slotKeys(slot, kek, false);
    this.#unlocked = { ...keys, kek, slot, index: null };
  }

  async #slotKeys(slot, kek, extractable) {
    const gcm = (iv, what) => ({ name: 'AES-GCM', iv, additionalData: te.encode(`phiseal-keystore-lock-v1:${this.#name}:${what}`) });
    try {
      return {
        kw: await subtle.unwrapKey('raw', slot.wrapCt, kek, gcm(slot.wrapIv, 'wrap'), AES_KW, extractable, ['wrapKey', 'unwrapKey']),
        km: await subtle.unwrapKey('raw', slot.macCt, kek, gcm(slot.macIv, 'mac'), HMAC, extractable, ['sign', 'verify']),
      };
    } catch {
      throw new PhisealError(`this ${slot.type} does not open the lock of store ${this.#name}`, ErrorCode.DECRYPT_FAILED);
    }
  }

  /** `slot` with the lock's keys `kw` and `km` (extractable) wrapped under `kek`. */
  async #sealSlot(slot, kek, kw, km) {
    const gcm = (iv, what) => ({ name: 'AES-GCM', iv, additionalData: te.encode(`phiseal-keystore-lock-v1:${this.#name}:${what}`) });
    const wrapIv = random(12);
    const macIv = random(12);
    return {
      ...slot,
      wrapIv,
      wrapCt: new Uint8Array(await subtle.wrapKey('raw', kw, kek, gcm(wrapIv, 'wrap'))),
      macIv,
      macCt: new Uint8Array(await subtle.wrapKey('raw', km, kek, gcm(macIv, 'mac'))),
    };
  }

  /**
   * Enrolls a passkey that unlocks this store: a WebAuthn credential is
   * created with the PRF extension, and the store's lock keys are wrapped
   * under HKDF-SHA-256 of its PRF output. On a store without a lock this
   * makes the lock: every entry is re-authenticated under it, keys wrapped
   * under the device key are rewrapped under it (and IndexKeys resealed), and
   * the device keys are deleted; entries that fail their integrity check are
   * left out (returned in `refused`, and refused by the getters from then on).
   * On a locked store (unlocked) it adds the passkey. Non-extractable keys put
   * as CryptoKeys stay CryptoKeys (use generateKeyPair / generateAuthorKey for
   * keys only the unlocked store can use).
   * @param {{userName: string, rpId?: string, rpName?: string, userDisplayName?: string, userId?: Uint8Array, timeoutMs?: number,
   *          current?: {passkey: true} | {passphrase: string}}} opts
   * @returns {Promise<{credentialId: Uint8Array, refused: string[]}>}
   */
  async enrollPasskey(opts) {
    const o = options(opts, 'options');
    if (typeof o.userName !== 'string' || o.userName === '') throw invalidArgument('userName is required (a string the authenticator shows)');
    if (o.userId !== undefined && !(o.userId instanceof Uint8Array && o.userId.length >= 1 && o.userId.length <= 64)) {
      throw invalidArgument('userId must be a Uint8Array of 1 to 64 bytes');
    }
    const rpId = o.rpId ?? globalThis.location?.hostname;
    if (typeof rpId !== 'string' || rpId === '') throw invalidArgument('rpId is required outside a page');
    requireWebAuthn();
    const lock = await this.#beforeEnroll(o.current);
    const timeout = o.timeoutMs ?? PASSKEY_TIMEOUT_MS;
    const prfSalt = random(32);
    const cred = await callWebAuthn('create', {
      rp: { id: rpId, name: o.rpName ?? rpId },
      user: { id: o.userId ?? random(16), name: o.userName, displayName: o.userDisplayName ?? o.userName },
      challenge: random(32),
      pubKeyCredParams: [{ type: 'public-key', alg: -7 }, { type: 'public-key', alg: -257 }],
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'required' },
      excludeCredentials: (lock?.slots ?? []).filter((s) => s.type === 'passkey').map((s) => ({ type: 'public-key', id: s.credentialId })),
      attestation: 'none',
      extensions: { prf: { eval: { first: prfSalt } } },
    }, timeout);
    const credentialId = new Uint8Array(cred.rawId);
    const created = cred.getClientExtensionResults().prf;
    if (!created || created.enabled === false) throw noPrf();
    let prf = created.results?.first;
    if (!prf) {
      // Some authenticators evaluate the PRF only on get().
      const a = await callWebAuthn('get', {
        rpId, challenge: random(32), allowCredentials: [{ type: 'public-key', id: credentialId }], userVerification: 'required',
        extensions: { prf: { eval: { first: prfSalt } } },
      }, timeout);
      prf = a.getClientExtensionResults().prf?.results?.first;
      if (!prf) throw noPrf();
    }
    const kek = await passkeyKek(prf, prfSalt, this.#name);
    const refused = await this.#addSlot({ type: 'passkey', credentialId, rpId, prfSalt }, kek, lock);
    return { credentialId, refused };
  }

  /**
   * Adds a passphrase that unlocks this store (the fallback where passkeys or
   * PRF are not available); on a store without a lock it makes the lock, as
   * enrollPasskey does. On a locked store both need `{current}`: the passkey
   * (`{passkey: true}`) or passphrase that unlocks it now.
   * @returns {Promise<{refused: string[]}>}
   */
  async enrollPassphrase(passphrase, opts) {
    if (typeof passphrase !== 'string' || passphrase.length < 12) throw invalidArgument('passphrase must be a string of at least 12 characters');
    const lock = await this.#beforeEnroll(options(opts, 'options').current);
    const salt = random(16);
    const kek = await passphraseKek(passphrase, salt, PBKDF2_ITERATIONS);
    return { refused: await this.#addSlot({ type: 'passphrase', salt, iterations: PBKDF2_ITERATIONS }, kek, lock) };
  }

  /** The lock (if any) an enrollment adds to, checked to be unlocked; a store with entries of older phiseal is refused. */
  async #beforeEnroll(current) {
    const lock = await this.#readLock();
    if (lock !== undefined) {
      // Adding a way in needs a way in, now: the unlocked instance alone is
      // not enough (a script that got hold of it would add a passphrase it
      // knows, and later open every entry offline; review finding).
      if (current === undefined) {
        throw new PhisealError(
          'this store is locked: adding a passkey or passphrase needs the current one ({current: {passkey: true}} or {current: {passphrase}})',
          ErrorCode.MISUSE,
        );
      }
      await this.unlock(current);
      return lock;
    }
    const all = await request(this.#db.transaction('keys').objectStore('keys').getAll());
    if (all.some((r) => r.v !== ENTRY_VERSION)) throw new PhisealError('this store holds entries of older phiseal: call migrate() first', ErrorCode.MISUSE);
    return undefined;
  }

  /** Adds `slot` to the lock, or makes the lock with it; resolves to the kids left out. */
  async #addSlot(slot, kek, lock) {
    if (lock !== undefined) {
      const { kw, km } = await this.#slotKeys(this.#unlocked.slot, this.#unlocked.kek, true);
      const next = { ...lock, slots: [...lock.slots, await this.#sealSlot(slot, kek, kw, km)] };
      const tx = this.#db.transaction('meta', 'readwrite');
      tx.objectStore('meta').put(next, 'lock');
      await done(tx);
      return [];
    }
    return this.#makeLock(slot, kek);
  }

  /** Turns a store without a lock into a locked one whose first slot is `slot`. */
  async #makeLock(slot, kek) {
    const device = await this.#storeKeys();
    const sealedSlot = await this.#sealSlot(slot, kek,
      await subtle.generateKey(AES_KW, true, ['wrapKey', 'unwrapKey']), await subtle.generateKey(HMAC, true, ['sign', 'verify']));
    const keys = { by: 'lock', ...(await this.#slotKeys(sealedSlot, kek, false)) };
    keys.wrap = keys.kw;
    keys.mac = keys.km;
    // The lock's own IndexKey keys, wrapped under its key (generated extractable only for that).
    const lock = { v: LOCK_VERSION, slots: [sealedSlot] };
    const wrapOwn = async (which, key) => {
      const publicJwk = key.publicKey.toJwk();
      const iv = random(12);
      const aad = te.encode(`phiseal-keystore-lock-v1:${this.#name}:${which}:${sortedJson(publicJwk)}`);
      lock[which] = { publicJwk, iv, ct: new Uint8Array(await subtle.wrapKey('pkcs8', key.cryptoKey(), keys.wrap, { name: 'AES-GCM', iv, additionalData: aad })) };
    };
    const sealing = await pinnedKeyPair('hpke', true);
    const author = await pinnedKeyPair('author', true);
    await wrapOwn('sealing', sealing);
    await wrapOwn('author', author);
    const lockIndex = { sealing: wasm.PrivateKey.fromCryptoKey(await this.#unwrapOwn(lock, 'sealing', keys), sealing.publicKey), author: null };
    lockIndex.author = wasm.AuthorKey.fromCryptoKey(await this.#unwrapOwn(lock, 'author', keys), author.publicKey);
    sealing.free();
    author.free();

    const all = await request(this.#db.transaction('keys').objectStore('keys').getAll());
    const converted = [];
    const refused = [];
    let deviceIndex = null;
    for (const r of all) {
      if (!(await this.#authentic(device.mac, r))) {
        refused.push(String(r.kid));
        continue;
      }
      const next = { ...r, wrapped: { ...r.wrapped } };
      if (r.wrapped.alg === 'A256GCM' && r.wrapped.by === 'store') {
        const ck = await this.#unwrap(r, device, {}, true);
        next.wrapped = await this.#wrapCryptoKey(ck, next, keys);
      } else if (r.wrapped.alg === 'phk2-to-store') {
        deviceIndex ??= await this.#indexKeys(device);
        const ik = await wasm.openIndexKey(r.wrapped.sealed, deviceIndex.sealing, JSON.stringify([{ jwk: deviceIndex.author.publicKey.toJwk() }]));
        if (ik.id !== r.kid) {
          refused.push(String(r.kid));
          continue;
        }
        const sealed = await wasm.sealIndexKey(ik, JSON.stringify([{ jwk: lockIndex.sealing.publicKey.toJwk(), groups: null }]), 'auto', lockIndex.author);
        ik.free();
        next.wrapped = { alg: 'phk2-to-store', by: 'lock', sealed };
      }
      next.mac = await this.#tag(keys.mac, next);
      converted.push(next);
    }
    const tx = this.#db.transaction(['keys', 'meta'], 'readwrite');
    const meta = tx.objectStore('meta');
    meta.put(lock, 'lock');
    for (const name of ['mac-key', 'wrap-key-v2', 'sealing-key', 'author-key']) meta.delete(name);
    for (const r of converted) tx.objectStore('keys').put(r);
    await done(tx);
    this.#device.clear();
    this.#sawLock = true;
    this.#unlocked = { kw: keys.kw, km: keys.km, kek, slot: sealedSlot, index: lockIndex };
    return refused;
  }

  async #unwrapOwn(lock, which, keys) {
    const w = lock[which];
    const aad = te.encode(`phiseal-keystore-lock-v1:${this.#name}:${which}:${sortedJson(w.publicJwk)}`);
    const form = which === 'sealing' ? FORMS.hpke : FORMS.author;
    return subtle.unwrapKey('pkcs8', w.ct, keys.wrap, { name: 'AES-GCM', iv: w.iv, additionalData: aad }, form.alg, false, form.usages);
  }

  /** Forgets the unlocked lock's keys (a locked store needs unlock() again). */
  lock() {
    this.#unlocked = null;
  }

  close() {
    this.#unlocked = null;
    this.#db.close();
  }
}

// A script that runs after phiseal loaded must not wrap KeyStore.open or its
// methods to get hold of the app's unlocked store (review finding).
Object.freeze(KeyStore.prototype);
Object.freeze(KeyStore);
