// A key store in IndexedDB. Private keys are stored wrapped: a WebCrypto
// non-extractable key is stored as the CryptoKey itself (IndexedDB keeps it
// non-extractable); any other key is encrypted with AES-256-GCM under either
// a non-extractable wrapping key kept in the same database, or a key derived
// from a passphrase with PBKDF2-SHA-256 (parameters recorded with the entry).

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { idbDone as done, idbRequest as request, init, options, privateKeyArg, wasm } from './internal.js';

const PBKDF2_ITERATIONS = 600_000;


export class KeyStore {
  #db;

  /** Opens (or creates) the store `name`. */
  static async open(opts) {
    await init();
    if (typeof indexedDB === 'undefined') throw new PhisealError('IndexedDB is not available', ErrorCode.UNSUPPORTED);
    const o = options(opts, 'options');
    const req = indexedDB.open(o.name ?? 'phiseal-keys', 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('keys', { keyPath: 'kid' });
      req.result.createObjectStore('meta');
    };
    const store = new KeyStore();
    store.#db = await request(req);
    return store;
  }

  #wrapping = null;

  /** The store's wrapping key, created once (concurrent callers share one promise; `add` never overwrites). */
  #wrappingKey() {
    this.#wrapping ??= (async () => {
      const meta = this.#db.transaction('meta').objectStore('meta');
      const existing = await request(meta.get('wrapping-key'));
      if (existing) return existing;
      const key = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      const tx = this.#db.transaction('meta', 'readwrite');
      tx.objectStore('meta').add(key, 'wrapping-key');
      try {
        await done(tx);
        return key;
      } catch {
        // Another tab created it first: use that one.
        return request(this.#db.transaction('meta').objectStore('meta').get('wrapping-key'));
      }
    })();
    this.#wrapping.catch(() => {
      this.#wrapping = null;
    });
    return this.#wrapping;
  }

  static async #passphraseKey(passphrase, salt, iterations) {
    const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
    return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  }

  /**
   * Stores a private key with its metadata.
   * @param {PrivateKey} privateKey
   * @param {{purpose?: string, expires?: number, epoch?: number, passphrase?: string, created?: number}} [meta]
   */
  async put(privateKey, meta) {
    const sk = privateKeyArg(privateKey, 'privateKey');
    const m = options(meta, 'meta');
    if (m.passphrase !== undefined && (typeof m.passphrase !== 'string' || m.passphrase.length < 12)) {
      throw invalidArgument('passphrase must be a string of at least 12 characters');
    }
    const record = {
      kid: sk.kid,
      publicJwk: sk.publicKey.toJwk(),
      created: m.created ?? Date.now(),
      expires: m.expires ?? null,
      purpose: m.purpose ?? 'hpke',
      epoch: m.epoch ?? 1,
    };
    const ck = sk.cryptoKey();
    if (ck && !sk.extractable && m.passphrase === undefined) {
      record.wrapped = { alg: 'webcrypto-non-extractable', key: ck };
    } else {
      const der = await sk.exportPkcs8();
      const iv = crypto.getRandomValues(new Uint8Array(12));
      let key;
      if (m.passphrase !== undefined) {
        const salt = crypto.getRandomValues(new Uint8Array(16));
        key = await KeyStore.#passphraseKey(m.passphrase, salt, PBKDF2_ITERATIONS);
        record.wrapped = { alg: 'A256GCM', kdf: { name: 'PBKDF2-SHA-256', iterations: PBKDF2_ITERATIONS, salt } };
      } else {
        key = await this.#wrappingKey();
        record.wrapped = { alg: 'A256GCM', kdf: null };
      }
      const aad = new TextEncoder().encode(`phiseal-keystore-v1:${sk.kid}`);
      record.wrapped.iv = iv;
      record.wrapped.ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, der));
      der.fill(0);
    }
    const tx = this.#db.transaction('keys', 'readwrite');
    tx.objectStore('keys').put(record);
    await done(tx);
    return record.kid;
  }

  /** Metadata of every stored key (no key material). */
  async list() {
    const all = await request(this.#db.transaction('keys').objectStore('keys').getAll());
    return all.map(({ kid, created, expires, purpose, epoch, wrapped }) => ({ kid, created, expires, purpose, epoch, protection: wrapped.kdf ? 'passphrase' : wrapped.alg }));
  }

  /**
   * Loads a key as a non-extractable WebCrypto key. Expired keys refuse
   * with `KEY_EXPIRED`; a wrong passphrase gives `DECRYPT_FAILED`.
   */
  async get(kid, opts) {
    const o = options(opts, 'options');
    const r = await request(this.#db.transaction('keys').objectStore('keys').get(kid));
    if (!r) throw new PhisealError(`no key ${kid} in the store`, ErrorCode.INVALID_ARGUMENT);
    if (r.expires !== null && (o.now ?? Date.now()) >= r.expires) throw new PhisealError(`key ${kid} expired`, ErrorCode.KEY_EXPIRED);
    const publicKey = wasm.PublicKey.fromJwk(r.publicJwk);
    if (r.wrapped.alg === 'webcrypto-non-extractable') return wasm.PrivateKey.fromCryptoKey(r.wrapped.key, publicKey);
    let key;
    if (r.wrapped.kdf) {
      if (typeof o.passphrase !== 'string') throw invalidArgument('this key is protected by a passphrase');
      key = await KeyStore.#passphraseKey(o.passphrase, r.wrapped.kdf.salt, r.wrapped.kdf.iterations);
    } else {
      key = await this.#wrappingKey();
    }
    let der;
    try {
      const aad = new TextEncoder().encode(`phiseal-keystore-v1:${kid}`);
      der = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: r.wrapped.iv, additionalData: aad }, key, r.wrapped.ct));
    } catch {
      throw new PhisealError('the stored key did not decrypt (wrong passphrase or tampered store)', ErrorCode.DECRYPT_FAILED);
    }
    try {
      return await wasm.PrivateKey.importPkcs8(der, o.provider ?? 'auto', false);
    } finally {
      der.fill(0);
    }
  }

  /** Keys older than `maxAgeDays` (default 90) at `now`: due for rotation. */
  async due(opts) {
    const o = options(opts, 'options');
    const limit = (o.now ?? Date.now()) - (o.maxAgeDays ?? 90) * 86_400_000;
    return (await this.list()).filter((k) => k.created <= limit).map((k) => k.kid);
  }

  /**
   * Rotates key `kid`: a new non-extractable key pair with the same purpose
   * and `epoch + 1` is generated and stored, and the old one stays readable
   * (disable or delete it once sealed records are rewrapped to the new key,
   * e.g. with `addRecipient` / `rekeyRecord` over `rotationReport`).
   */
  async rotate(kid, opts) {
    const o = options(opts, 'options');
    const r = await request(this.#db.transaction('keys').objectStore('keys').get(kid));
    if (!r) throw new PhisealError(`no key ${kid} in the store`, ErrorCode.INVALID_ARGUMENT);
    // A passphrase-protected entry needs the key's bytes once, to wrap them.
    const extractable = o.passphrase !== undefined;
    const privateKey = await wasm.PrivateKey.generate(o.provider ?? 'auto', extractable);
    const publicKey = privateKey.publicKey;
    await this.put(privateKey, { purpose: r.purpose, epoch: r.epoch + 1, expires: o.expires ?? null, passphrase: o.passphrase });
    return { privateKey, publicKey };
  }

  async delete(kid) {
    const tx = this.#db.transaction('keys', 'readwrite');
    tx.objectStore('keys').delete(kid);
    await done(tx);
  }

  close() {
    this.#db.close();
  }
}
