// A key store in IndexedDB. Private keys are stored wrapped: a WebCrypto
// non-extractable key is stored as the CryptoKey itself (IndexedDB keeps it
// non-extractable); any other key is encrypted with AES-256-GCM under either
// a non-extractable wrapping key kept in the same database, or a key derived
// from a passphrase with PBKDF2-SHA-256 (parameters recorded with the entry).
// Besides HPKE private keys it keeps the other keys an app must not lose on
// a reload: audit SigningKeys (PKCS#8, wrapped the same way), tenant
// IndexKeys (sealed with HPKE to a non-extractable P-384 key of the store)
// and SessionKeys (the key plus its expiry, restored as a SessionKey).

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { checkAuthorPair, checkHpkePair, idbDone as done, idbRequest as request, isA, requireInit, options, privateKeyArg, wasm } from './internal.js';
import { SessionKey, unlockKey } from './lifecycle.js';

const PBKDF2_ITERATIONS = 600_000;


export class KeyStore {
  #db;

  /** Opens (or creates) the store `name`. */
  static async open(opts) {
    requireInit();
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

  #meta = new Map();

  /**
   * The value `name` of the store's meta object store, created once by
   * `make()` (concurrent callers share one promise; `add` never overwrites:
   * when another tab created it first, that one is used).
   */
  #metaValue(name, make) {
    let p = this.#meta.get(name);
    if (p === undefined) {
      p = (async () => {
        const existing = await request(this.#db.transaction('meta').objectStore('meta').get(name));
        if (existing) return existing;
        const value = await make();
        const tx = this.#db.transaction('meta', 'readwrite');
        tx.objectStore('meta').add(value, name);
        try {
          await done(tx);
          return value;
        } catch {
          return request(this.#db.transaction('meta').objectStore('meta').get(name));
        }
      })();
      p.catch(() => this.#meta.delete(name));
      this.#meta.set(name, p);
    }
    return p;
  }

  /** The store's non-extractable AES-256-GCM wrapping key. */
  #wrappingKey() {
    return this.#metaValue('wrapping-key', () => crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']));
  }

  static async #passphraseKey(passphrase, salt, iterations) {
    const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
    return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  }

  /** The store's own P-384 key pair (non-extractable), to which IndexKeys are sealed; created once. */
  async #sealingKey() {
    const entry = await this.#metaValue('sealing-key', async () => {
      const sk = await wasm.PrivateKey.generate('auto', false);
      const ck = sk.cryptoKey();
      if (!ck) throw new PhisealError('storing an IndexKey needs WebCrypto ECDH P-384', ErrorCode.UNSUPPORTED);
      return { key: ck, publicJwk: sk.publicKey.toJwk() };
    });
    return wasm.PrivateKey.fromCryptoKey(entry.key, wasm.PublicKey.fromJwk(entry.publicJwk));
  }

  /** The store's own ECDSA P-384 author key (non-extractable), which signs the IndexKeys it seals; created once. */
  async #storeAuthor() {
    const entry = await this.#metaValue('author-key', async () => {
      const ak = await wasm.AuthorKey.generate('auto', false);
      const ck = ak.cryptoKey();
      if (!ck) throw new PhisealError('storing an IndexKey needs WebCrypto ECDSA P-384', ErrorCode.UNSUPPORTED);
      return { key: ck, publicJwk: ak.publicKey.toJwk() };
    });
    return wasm.AuthorKey.fromCryptoKey(entry.key, wasm.PublicKey.fromJwk(entry.publicJwk));
  }

  /**
   * AES-256-GCM of `der` under the store's key or a passphrase key: the
   * entry's `wrapped` member. `der` is zeroed afterwards, whatever happens.
   */
  async #wrap(der, id, passphrase) {
    try {
      return await this.#wrapBytes(der, id, passphrase);
    } finally {
      der.fill(0);
    }
  }

  async #wrapBytes(der, id, passphrase) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    let key;
    let wrapped;
    if (passphrase !== undefined) {
      const salt = crypto.getRandomValues(new Uint8Array(16));
      key = await KeyStore.#passphraseKey(passphrase, salt, PBKDF2_ITERATIONS);
      wrapped = { alg: 'A256GCM', kdf: { name: 'PBKDF2-SHA-256', iterations: PBKDF2_ITERATIONS, salt } };
    } else {
      key = await this.#wrappingKey();
      wrapped = { alg: 'A256GCM', kdf: null };
    }
    const aad = new TextEncoder().encode(`phiseal-keystore-v1:${id}`);
    wrapped.iv = iv;
    wrapped.ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, der));
    return wrapped;
  }

  /**
   * Stores a key with its metadata: a PrivateKey (HPKE), an AuthorKey (record
   * signatures), a SigningKey (audit
   * checkpoints), an IndexKey (deterministic and blind-index fields) or a
   * SessionKey (kept with its expiry). Resolves to the id to load it by:
   * the kid, or the IndexKey's id.
   * @param {PrivateKey | AuthorKey | SigningKey | IndexKey | SessionKey} key
   * @param {{purpose?: string, expires?: number, epoch?: number, passphrase?: string, created?: number}} [meta]
   */
  async put(key, meta) {
    const m = options(meta, 'meta');
    if (m.passphrase !== undefined && (typeof m.passphrase !== 'string' || m.passphrase.length < 12)) {
      throw invalidArgument('passphrase must be a string of at least 12 characters');
    }
    const base = (kind, id, purpose) => ({
      kid: id,
      kind,
      created: m.created ?? Date.now(),
      expires: m.expires ?? null,
      purpose: m.purpose ?? purpose,
      epoch: m.epoch ?? 1,
    });
    let record;
    if (isA(key, 'AuthorKey')) {
      record = { ...base('author', key.kid, 'author'), publicJwk: key.publicKey.toJwk() };
      const ck = key.cryptoKey();
      if (ck && !key.extractable && m.passphrase === undefined) {
        record.wrapped = { alg: 'webcrypto-non-extractable', key: ck };
      } else {
        record.wrapped = await this.#wrap(await key.exportPkcs8(), record.kid, m.passphrase);
      }
    } else if (isA(key, 'SigningKey')) {
      record = { ...base('signing', key.publicKey.kid, 'audit-signing'), publicJwk: key.publicKey.toJwk() };
      record.wrapped = await this.#wrap(key.exportPkcs8(), record.kid, m.passphrase);
    } else if (isA(key, 'IndexKey')) {
      if (m.passphrase !== undefined) throw invalidArgument('an IndexKey is sealed to the store; a passphrase is not supported for it');
      record = base('index', key.id, 'index');
      const sealing = await this.#sealingKey();
      const author = await this.#storeAuthor();
      record.wrapped = { alg: 'phk2-to-store', sealed: await wasm.sealIndexKey(key, JSON.stringify([{ jwk: sealing.publicKey.toJwk(), groups: null }]), 'auto', author) };
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
      const ck = sk.cryptoKey();
      if (ck && !sk.extractable && m.passphrase === undefined) {
        record.wrapped = { alg: 'webcrypto-non-extractable', key: ck };
      } else {
        record.wrapped = await this.#wrap(await sk.exportPkcs8(), record.kid, m.passphrase);
      }
    }
    const tx = this.#db.transaction('keys', 'readwrite');
    tx.objectStore('keys').put(record);
    await done(tx);
    return record.kid;
  }

  /** Metadata of every stored key (no key material). */
  async list() {
    const all = await request(this.#db.transaction('keys').objectStore('keys').getAll());
    return all.map(({ kid, kind, created, expires, purpose, epoch, wrapped }) => ({
      kid,
      kind: kind ?? 'hpke',
      created,
      expires,
      purpose,
      epoch,
      protection: wrapped.kdf ? 'passphrase' : wrapped.alg,
    }));
  }

  /** The stored entry `kid` of `kind`, checked for expiry. */
  async #entry(kid, kind, o) {
    const r = await request(this.#db.transaction('keys').objectStore('keys').get(kid));
    if (!r) throw new PhisealError(`no key ${kid} in the store`, ErrorCode.INVALID_ARGUMENT);
    const stored = r.kind ?? 'hpke';
    if (stored !== kind) {
      const getter = { hpke: 'get', signing: 'getSigningKey', author: 'getAuthorKey', index: 'getIndexKey', session: 'getSessionKey' }[stored];
      throw new PhisealError(`key ${kid} is a ${stored} key: load it with KeyStore.${getter}()`, ErrorCode.MISUSE);
    }
    if (r.expires !== null && (o.now ?? Date.now()) >= r.expires) throw new PhisealError(`key ${kid} expired`, ErrorCode.KEY_EXPIRED);
    return r;
  }

  /** The PKCS#8 bytes of a wrapped entry (zero them after use). */
  async #unwrap(r, o) {
    let key;
    if (r.wrapped.kdf) {
      if (typeof o.passphrase !== 'string') throw invalidArgument('this key is protected by a passphrase: pass {passphrase}');
      key = await KeyStore.#passphraseKey(o.passphrase, r.wrapped.kdf.salt, r.wrapped.kdf.iterations);
    } else {
      key = await this.#wrappingKey();
    }
    try {
      const aad = new TextEncoder().encode(`phiseal-keystore-v1:${r.kid}`);
      return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: r.wrapped.iv, additionalData: aad }, key, r.wrapped.ct));
    } catch {
      throw new PhisealError('the stored key did not decrypt (wrong passphrase or tampered store)', ErrorCode.DECRYPT_FAILED);
    }
  }

  async #privateKey(r, o) {
    const publicKey = wasm.PublicKey.fromJwk(r.publicJwk);
    // The entry's id is its key's kid (a session key's is `session:<kid>`): a public JWK swapped for another is refused.
    const kid = r.kind === 'session' ? r.kid.slice('session:'.length) : r.kid;
    if (publicKey.kid !== kid) throw new PhisealError(`the stored key is not ${kid} (tampered store)`, ErrorCode.INVALID_KEY);
    if (r.wrapped.alg === 'webcrypto-non-extractable') {
      // A planted pair (someone's private key under this public key) would decrypt as this key: one test DH first.
      await checkHpkePair(r.wrapped.key, publicKey, `stored key ${kid}`);
      return wasm.PrivateKey.fromCryptoKey(r.wrapped.key, publicKey);
    }
    const der = await this.#unwrap(r, o);
    try {
      const key = await wasm.PrivateKey.importPkcs8(der, o.provider ?? 'auto', false);
      if (key.kid !== kid) throw new PhisealError(`the stored key is not ${kid} (tampered store)`, ErrorCode.INVALID_KEY);
      return key;
    } finally {
      der.fill(0);
    }
  }

  /**
   * Loads an HPKE private key as a non-extractable WebCrypto key. Expired
   * keys refuse with `KEY_EXPIRED`; a wrong passphrase gives `DECRYPT_FAILED`.
   */
  async get(kid, opts) {
    const o = options(opts, 'options');
    return this.#privateKey(await this.#entry(kid, 'hpke', o), o);
  }

  /**
   * Loads a stored AuthorKey (record, index-key and stream signatures) by its
   * kid: a non-extractable WebCrypto key stays one; a wrapped one is
   * imported non-extractable.
   */
  async getAuthorKey(kid, opts) {
    const o = options(opts, 'options');
    const r = await this.#entry(kid, 'author', o);
    const publicKey = wasm.PublicKey.fromJwk(r.publicJwk);
    if (publicKey.kid !== kid) throw new PhisealError(`the stored author key is not ${kid} (tampered store)`, ErrorCode.DECRYPT_FAILED);
    if (r.wrapped.alg === 'webcrypto-non-extractable') {
      const key = wasm.AuthorKey.fromCryptoKey(r.wrapped.key, publicKey);
      // A planted entry (someone's key pair under this kid) would sign as this author: refuse it.
      await checkAuthorPair(r.wrapped.key, publicKey, `stored author key ${kid}`);
      return key;
    }
    const der = await this.#unwrap(r, o);
    try {
      const key = await wasm.AuthorKey.importPkcs8(der, o.provider ?? 'auto', false);
      if (key.kid !== kid) throw new PhisealError(`the stored author key is not ${kid} (tampered store)`, ErrorCode.DECRYPT_FAILED);
      return key;
    } finally {
      der.fill(0);
    }
  }

  /** Loads a stored SigningKey (audit checkpoints) by its public key's kid. */
  async getSigningKey(kid, opts) {
    const o = options(opts, 'options');
    const der = await this.#unwrap(await this.#entry(kid, 'signing', o), o);
    try {
      const key = wasm.SigningKey.importPkcs8(der);
      if (key.publicKey.kid !== kid) throw new PhisealError(`the stored signing key is not ${kid} (tampered store)`, ErrorCode.INVALID_KEY);
      return key;
    } finally {
      der.fill(0);
    }
  }

  /** Loads a stored IndexKey by its id. */
  async getIndexKey(id, opts) {
    const o = options(opts, 'options');
    const r = await this.#entry(id, 'index', o);
    const author = await this.#storeAuthor();
    const key = await wasm.openIndexKey(r.wrapped.sealed, await this.#sealingKey(), JSON.stringify([{ jwk: author.publicKey.toJwk() }]));
    // An entry moved under another id (or planted) opens to a key with another id: refuse it.
    if (key.id !== id) throw new PhisealError(`the stored index key is not ${id} (tampered store)`, ErrorCode.DECRYPT_FAILED);
    return key;
  }

  /** Loads a stored SessionKey: the same key, expiring when the stored one did (`KEY_EXPIRED` after). */
  async getSessionKey(kid, opts) {
    const o = options(opts, 'options');
    const r = await this.#entry(kid, 'session', o);
    const now = o.now ?? Date.now();
    return new SessionKey(await this.#privateKey(r, o), { ttlMs: r.expires - now, purpose: r.purpose, clock: o.clock });
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
    const r = await this.#entry(kid, 'hpke', { now: 0 });
    // A passphrase-protected entry needs the key's bytes once, to wrap them.
    const extractable = o.passphrase !== undefined;
    const privateKey = await wasm.PrivateKey.generate(o.provider ?? 'auto', extractable);
    const publicKey = privateKey.publicKey;
    await this.put(privateKey, { purpose: r.purpose, epoch: r.epoch + 1, expires: o.expires ?? null, passphrase: o.passphrase });
    // Hand back what get() would: never the extractable copy made for wrapping.
    if (extractable) return { privateKey: await this.get(privateKey.kid, { passphrase: o.passphrase, provider: o.provider }), publicKey };
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
