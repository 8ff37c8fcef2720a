// KeyStore custody in headless Chromium (issue #20, docs/SECURITY.md "Key
// custody in the browser"): a page script plays the attacker against the
// store's IndexedDB (tampered, planted and copied entries; the store's own
// wrapping key), entries of older phiseal are refused until migrate(), and a
// store locked with a passkey (WebAuthn PRF, through a DevTools-protocol
// virtual authenticator) unlocks across a reload, with its passphrase
// fallback, and refuses a missing or wrong authenticator. Prints the passkey
// unlock latency. Ends with "keystore: N passed, M failed".
import { runSuite } from '../support/chromium.mjs';

/**
 * The attacker: a second, classic script in the page that uses raw IndexedDB
 * and WebCrypto, never phiseal (except `viaPhiseal`, the script that imports
 * the page's own phiseal module, for the documented limits).
 */
const ATTACKER = `
window.attacker = (() => {
  const req = (r) => new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  const open = (name) => req(indexedDB.open(name));
  const read = async (name, store, key) => {
    const db = await open(name);
    try { return await req(db.transaction(store).objectStore(store).get(key)); } finally { db.close(); }
  };
  const keysOf = async (name, store) => {
    const db = await open(name);
    try { return await req(db.transaction(store).objectStore(store).getAllKeys()); } finally { db.close(); }
  };
  const write = async (name, store, value, key) => {
    const db = await open(name);
    try {
      const tx = db.transaction(store, 'readwrite');
      if (value === undefined) tx.objectStore(store).delete(key);
      else if (key === undefined) tx.objectStore(store).put(value);
      else tx.objectStore(store).put(value, key);
      await new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
    } finally { db.close(); }
  };
  const b64u = (b) => btoa(String.fromCharCode(...b)).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  // RFC 7638: what phiseal calls a kid.
  const thumbprint = async (jwk) => b64u(new Uint8Array(await crypto.subtle.digest('SHA-256',
    new TextEncoder().encode(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })))));
  /** A P-384 pair the attacker made (extractable: it knows the private key), with its public JWK and kid. */
  const pair = async (name, extractable = true) => {
    const k = await crypto.subtle.generateKey({ name, namedCurve: 'P-384' }, extractable, name === 'ECDH' ? ['deriveBits'] : ['sign', 'verify']);
    const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', k.publicKey);
    const publicJwk = { kty, crv, x, y };
    publicJwk.kid = await thumbprint(publicJwk);
    return { privateKey: k.privateKey, publicJwk, kid: publicJwk.kid };
  };
  const viaPhiseal = async () => import(location.origin + '/js/index.js');
  return { read, keysOf, write, thumbprint, pair, viaPhiseal };
})();
`;

const VIRTUAL = { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, hasPrf: true };
const PASS = 'correct horse battery staple';

await runSuite('keystore', { timeoutMs: 300_000 }, async ({ context, page, url, check }) => {
  // WebAuthn needs a host name for its rpId: localhost (a secure context), not 127.0.0.1.
  const origin = url.replace('127.0.0.1', 'localhost');
  const load = async () => {
    await page.goto(`${origin}/tests/browser/audit.html`);
    await page.waitForFunction(() => window.auditReady === true);
    await page.addScriptTag({ content: ATTACKER });
  };
  const reload = async () => {
    await page.reload();
    await page.waitForFunction(() => window.auditReady === true);
    await page.addScriptTag({ content: ATTACKER });
  };
  await load();
  const stamp = Date.now();

  await check('integrity: a page script with raw IndexedDB plants foreign pairs, swaps a public JWK or a CryptoKey, edits wrapped bytes and metadata, copies an entry from another store: every getter says INVALID_KEY', async () => {
    const r = await page.evaluate(async ({ name, other, PASS }) => {
      const { phiseal, attacker } = window;
      const code = (p) => p.then(() => 'loaded', (e) => e.code ?? e.name);
      const store = await phiseal.KeyStore.open({ name });
      const web = await phiseal.generateKeyPair();
      const soft = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
      const portable = await phiseal.generateKeyPair({ extractable: true });
      const author = await phiseal.generateAuthorKey();
      const signing = phiseal.SigningKey.generate();
      const index = await phiseal.generateIndexKey();
      const ids = {
        web: await store.put(web.privateKey),
        soft: await store.put(soft.privateKey),
        pass: await store.put(portable.privateKey, { passphrase: PASS }),
        author: await store.put(author),
        signing: await store.put(signing),
        index: await store.put(index),
        session: await store.put(new phiseal.SessionKey(web.privateKey, { ttlMs: 60_000 })),
      };
      const otherStore = await phiseal.KeyStore.open({ name: other });
      const foreign = await otherStore.put((await phiseal.generateKeyPair()).privateKey);
      const loads = () => Promise.all([
        code(store.get(ids.web)), code(store.get(ids.soft)), code(store.get(ids.pass, { passphrase: PASS })), code(store.getAuthorKey(ids.author)),
        code(store.getSigningKey(ids.signing)), code(store.getIndexKey(ids.index)), code(store.getSessionKey(ids.session)),
      ]);
      const before = await loads();
      const out = { sameKid: (await attacker.thumbprint(web.publicKey.toJwk())) === ids.web };
      // Each attack edits one entry through raw IndexedDB, is tried, and is undone.
      const attack = async (kid, change, tryIt) => {
        const saved = await attacker.read(name, 'keys', kid);
        await attacker.write(name, 'keys', change(structuredClone(saved)));
        try { return await code(tryIt()); } finally { await attacker.write(name, 'keys', saved); }
      };
      // 1. Planted: the attacker's own extractable pairs under their own kids, with a MAC copied from a real entry.
      const mac = (await attacker.read(name, 'keys', ids.web)).mac;
      const entry = (p, kind) => ({ v: 2, kid: p.kid, kind, created: Date.now(), expires: null, purpose: kind, epoch: 1, publicJwk: p.publicJwk, wrapped: { alg: 'webcrypto-non-extractable', key: p.privateKey }, mac });
      const ecdh = await attacker.pair('ECDH');
      const ecdsa = await attacker.pair('ECDSA');
      await attacker.write(name, 'keys', entry(ecdh, 'hpke'));
      await attacker.write(name, 'keys', entry(ecdsa, 'author'));
      out.plantedHpke = await code(store.get(ecdh.kid));
      out.plantedAuthor = await code(store.getAuthorKey(ecdsa.kid));
      // Non-extractable pairs of the attacker's own (it can still use them): only the MAC tells them apart.
      const quietEcdh = await attacker.pair('ECDH', false);
      const quietEcdsa = await attacker.pair('ECDSA', false);
      await attacker.write(name, 'keys', entry(quietEcdh, 'hpke'));
      await attacker.write(name, 'keys', entry(quietEcdsa, 'author'));
      out.plantedQuietHpke = await code(store.get(quietEcdh.kid));
      out.plantedQuietAuthor = await code(store.getAuthorKey(quietEcdsa.kid));
      // ... and without a MAC, as older phiseal wrote entries: refused as legacy, never loaded.
      const { v: _v, mac: _m, ...legacy } = entry(await attacker.pair('ECDH'), 'hpke');
      await attacker.write(name, 'keys', legacy);
      out.plantedLegacy = await code(store.get(legacy.kid));
      // 2. The public JWK of a real entry swapped for the attacker's.
      out.swappedJwk = await attack(ids.web, (e) => ({ ...e, publicJwk: ecdh.publicJwk }), () => store.get(ids.web));
      out.swappedAuthorJwk = await attack(ids.author, (e) => ({ ...e, publicJwk: ecdsa.publicJwk }), () => store.getAuthorKey(ids.author));
      // 3. The CryptoKey of a real entry swapped for the attacker's (the MAC cannot cover a CryptoKey: the type and pair checks do).
      out.swappedKey = await attack(ids.web, (e) => ({ ...e, wrapped: { ...e.wrapped, key: ecdh.privateKey } }), () => store.get(ids.web));
      const hidden = await attacker.pair('ECDH', false); // non-extractable, so only the pair check can tell
      out.swappedHiddenKey = await attack(ids.web, (e) => ({ ...e, wrapped: { ...e.wrapped, key: hidden.privateKey } }), () => store.get(ids.web));
      const hiddenAuthor = await attacker.pair('ECDSA', false);
      out.swappedAuthorKey = await attack(ids.author, (e) => ({ ...e, wrapped: { ...e.wrapped, key: hiddenAuthor.privateKey } }), () => store.getAuthorKey(ids.author));
      out.swappedSessionKey = await attack(ids.session, (e) => ({ ...e, wrapped: { ...e.wrapped, key: hidden.privateKey } }), () => store.getSessionKey(ids.session));
      // 4. One byte of a wrapped blob edited (store-wrapped, passphrase-wrapped, signing key, sealed index key).
      const flip = (e) => { const ct = e.wrapped.ct.slice(); ct[ct.length - 20] ^= 1; return { ...e, wrapped: { ...e.wrapped, ct } }; };
      out.editedWrapped = await attack(ids.soft, flip, () => store.get(ids.soft));
      out.editedPassphrase = await attack(ids.pass, flip, () => store.get(ids.pass, { passphrase: PASS }));
      out.editedSigning = await attack(ids.signing, flip, () => store.getSigningKey(ids.signing));
      out.editedIndex = await attack(ids.index, (e) => {
        const s = e.wrapped.sealed;
        const i = s.length - 30;
        return { ...e, wrapped: { ...e.wrapped, sealed: s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1) } };
      }, () => store.getIndexKey(ids.index));
      // 5. Metadata edited: a session key's expiry pushed back, a purpose changed, passphrase iterations lowered.
      out.editedExpiry = await attack(ids.session, (e) => ({ ...e, expires: e.expires + 86_400_000 }), () => store.getSessionKey(ids.session));
      out.editedPurpose = await attack(ids.web, (e) => ({ ...e, purpose: 'admin' }), () => store.get(ids.web));
      out.editedIterations = await attack(ids.pass, (e) => ({ ...e, wrapped: { ...e.wrapped, kdf: { ...e.wrapped.kdf, iterations: 100_000 } } }), () => store.get(ids.pass, { passphrase: PASS }));
      // 6. An entry copied from another store (its own MAC, under that store's key and name).
      await attacker.write(name, 'keys', await attacker.read(other, 'keys', foreign));
      out.copied = await code(store.get(foreign));
      out.copiedStillLoadsThere = await code(otherStore.get(foreign));
      const after = await loads();
      // The honest key still works after all that.
      const schema = { id: 's', version: 1, fields: { note: true } };
      const sealed = await phiseal.sealRecord({ note: 'still mine' }, { schema, recordId: 'r', recipients: [web.publicKey], author });
      out.opened = (await phiseal.openRecord(sealed, { schema, recordId: 'r', privateKey: await store.get(ids.web), authors: [author.publicKey] })).record.note;
      store.close();
      otherStore.close();
      return { ...out, before, after };
    }, { name: `tamper-${stamp}`, other: `tamper-other-${stamp}`, PASS });
    const invalid = ['plantedHpke', 'plantedAuthor', 'plantedQuietHpke', 'plantedQuietAuthor', 'swappedJwk', 'swappedAuthorJwk', 'swappedKey', 'swappedHiddenKey', 'swappedAuthorKey', 'swappedSessionKey',
      'editedWrapped', 'editedPassphrase', 'editedSigning', 'editedIndex', 'editedExpiry', 'editedPurpose', 'editedIterations', 'copied'];
    const allLoaded = (a) => a.length === 7 && a.every((c) => c === 'loaded');
    const ok = r.sameKid && invalid.every((k) => r[k] === 'INVALID_KEY') && r.plantedLegacy === 'MISUSE' && r.copiedStillLoadsThere === 'loaded'
      && allLoaded(r.before) && allLoaded(r.after) && r.opened === 'still mine';
    if (!ok) throw new Error(JSON.stringify(r));
    return `${invalid.length} attacks INVALID_KEY, a planted MAC-less entry MISUSE; the honest entries load before and after`;
  });

  await check('migration: entries of older phiseal (no MAC) are refused with MISUSE until migrate(); it rewraps them, refuses a swapped one and deletes the old decrypt-capable store key', async () => {
    const r = await page.evaluate(async ({ name, PASS }) => {
      const { phiseal, attacker } = window;
      const code = (p) => p.then(() => 'loaded', (e) => e.code ?? e.name);
      (await phiseal.KeyStore.open({ name })).close(); // the database, as older phiseal created it
      // The state older phiseal left: a store key with encrypt/decrypt, entries without v or mac.
      const oldKey = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
      await attacker.write(name, 'meta', oldKey, 'wrapping-key');
      const base = (publicKey, kind) => ({ kid: publicKey.kid, kind, created: Date.now(), expires: null, purpose: kind, epoch: 1, publicJwk: publicKey.toJwk() });
      const oldWrap = async (kid, der, passphrase) => {
        const iv = crypto.getRandomValues(new Uint8Array(12));
        let key = oldKey;
        let kdf = null;
        if (passphrase) {
          const salt = crypto.getRandomValues(new Uint8Array(16));
          const pb = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey']);
          key = await crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations: 600_000 }, pb, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
          kdf = { name: 'PBKDF2-SHA-256', iterations: 600_000, salt };
        }
        const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(`phiseal-keystore-v1:${kid}`) }, key, der));
        return { alg: 'A256GCM', kdf, iv, ct };
      };
      const web = await phiseal.generateKeyPair();
      const soft = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
      const pass = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
      const signing = phiseal.SigningKey.generate();
      const swapped = await phiseal.generateKeyPair();
      const entries = [
        { ...base(web.publicKey, 'hpke'), wrapped: { alg: 'webcrypto-non-extractable', key: web.privateKey.cryptoKey() } },
        { ...base(soft.publicKey, 'hpke'), wrapped: await oldWrap(soft.privateKey.kid, await soft.privateKey.exportPkcs8()) },
        { ...base(pass.publicKey, 'hpke'), wrapped: await oldWrap(pass.privateKey.kid, await pass.privateKey.exportPkcs8(), PASS) },
        { ...base(signing.publicKey, 'signing'), wrapped: await oldWrap(signing.publicKey.kid, signing.exportPkcs8()) },
        // One entry the migration must not bless: its public JWK is another key's.
        { ...base(swapped.publicKey, 'hpke'), publicJwk: web.publicKey.toJwk(), wrapped: { alg: 'webcrypto-non-extractable', key: swapped.privateKey.cryptoKey() } },
      ];
      for (const e of entries) await attacker.write(name, 'keys', e);
      const store = await phiseal.KeyStore.open({ name });
      const legacy = (await store.list()).filter((k) => k.legacy).length;
      let message = '';
      const refusedBefore = await store.get(web.privateKey.kid).then(() => 'loaded', (e) => { message = e.message; return e.code; });
      const refusedEnroll = await code(store.enrollPassphrase(PASS));
      const report = await store.migrate();
      const loads = await Promise.all([
        code(store.get(web.privateKey.kid)), code(store.get(soft.privateKey.kid)), code(store.get(pass.privateKey.kid, { passphrase: PASS })),
        code(store.getSigningKey(signing.publicKey.kid)), code(store.get(swapped.privateKey.kid)),
      ]);
      const wrongPassphrase = await code(store.get(pass.privateKey.kid, { passphrase: 'not the passphrase' }));
      const sameSigner = (await store.getSigningKey(signing.publicKey.kid)).publicKey.kid === signing.publicKey.kid;
      const meta = await attacker.keysOf(name, 'meta');
      const protections = (await store.list()).map((k) => `${k.kid === soft.privateKey.kid ? 'soft' : k.kind}:${k.protection}${k.legacy ? ':legacy' : ''}`).sort();
      store.close();
      return { legacy, refusedBefore, mentionsMigrate: message.includes('migrate()'), refusedEnroll, migrated: report.migrated.length, refused: report.refused.map((x) => x.kid === swapped.privateKey.kid), loads, wrongPassphrase, sameSigner, meta, protections };
    }, { name: `legacy-${stamp}`, PASS });
    const ok = r.legacy === 5 && r.refusedBefore === 'MISUSE' && r.mentionsMigrate && r.refusedEnroll === 'MISUSE' && r.migrated === 4
      && JSON.stringify(r.refused) === '[true]' && JSON.stringify(r.loads) === JSON.stringify(['loaded', 'loaded', 'loaded', 'loaded', 'MISUSE'])
      && r.wrongPassphrase === 'DECRYPT_FAILED' && r.sameSigner && !r.meta.includes('wrapping-key');
    if (!ok) throw new Error(JSON.stringify(r));
    return `5 legacy entries: MISUSE before; migrate() took ${r.migrated}, refused the swapped one; meta now ${JSON.stringify(r.meta)}`;
  });

  await check('wrapping key: usages wrapKey/unwrapKey only, so a script holding it cannot decrypt an entry; nothing get(), rotate() or generate*() hands out can be exported; documented limits of a store without a lock', async () => {
    const r = await page.evaluate(async ({ name, PASS }) => {
      const { phiseal, attacker } = window;
      const store = await phiseal.KeyStore.open({ name });
      const soft = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
      const web = await phiseal.generateKeyPair();
      const portable = await phiseal.generateAuthorKey({ extractable: true });
      const ids = {
        soft: await store.put(soft.privateKey), web: await store.put(web.privateKey),
        author: await store.put(portable),
        session: await store.put(new phiseal.SessionKey(web.privateKey, { ttlMs: 60_000 })),
      };
      // The attacker reads the store's wrapping key and the wrapped entry straight from IndexedDB.
      const wrapKey = await attacker.read(name, 'meta', 'wrap-key-v2');
      const entry = await attacker.read(name, 'keys', ids.soft);
      const gcm = { name: 'AES-GCM', iv: entry.wrapped.iv, additionalData: new TextEncoder().encode(`phiseal-keystore-v2:${name}:hpke:${ids.soft}`) };
      const out = {
        wrapKey: { extractable: wrapKey.extractable, usages: [...wrapKey.usages].sort(), alg: wrapKey.algorithm.name },
        decrypt: await crypto.subtle.decrypt(gcm, wrapKey, entry.wrapped.ct).then(() => 'decrypted', (e) => e.name),
        exportWrapKey: await crypto.subtle.exportKey('raw', wrapKey).then(() => 'exported', (e) => e.name),
      };
      // What the getters, rotate and the generators hand out.
      const handed = {
        soft: await store.get(ids.soft), web: await store.get(ids.web), author: await store.getAuthorKey(ids.author),
        session: await store.getSessionKey(ids.session), rotated: (await store.rotate(ids.web)).privateKey,
        rotatedPassphrase: (await store.rotate(ids.web, { passphrase: PASS })).privateKey,
        generated: (await store.generateKeyPair()).privateKey, generatedPassphrase: (await store.generateKeyPair({ passphrase: PASS })).privateKey,
        generatedAuthor: await store.generateAuthorKey(), generatedAuthorPassphrase: await store.generateAuthorKey({ passphrase: PASS }),
      };
      out.handed = {};
      for (const [k, key] of Object.entries(handed)) {
        const ck = key instanceof phiseal.SessionKey ? null : key.cryptoKey();
        out.handed[k] = {
          extractable: key instanceof phiseal.SessionKey ? false : key.extractable,
          provider: key instanceof phiseal.SessionKey ? 'session' : key.provider,
          webExport: ck ? await crypto.subtle.exportKey('pkcs8', ck).then(() => 'exported', (e) => e.name) : 'n/a',
          jwkExport: ck ? await crypto.subtle.exportKey('jwk', ck).then(() => 'exported', (e) => e.name) : 'n/a',
          phisealExport: key instanceof phiseal.SessionKey ? 'n/a' : await key.exportPkcs8().then(() => 'exported', (e) => e.code),
        };
      }
      // Documented limit 1: WebCrypto lets whoever calls unwrapKey choose `extractable`, so a script holding
      // the store's key unwraps a store-wrapped entry as an extractable key and exports it.
      out.unwrapExtractable = await crypto.subtle.unwrapKey('pkcs8', entry.wrapped.ct, wrapKey, gcm, { name: 'ECDH', namedCurve: 'P-384' }, true, ['deriveBits'])
        .then((k) => crypto.subtle.exportKey('pkcs8', k)).then((b) => `exported ${b.byteLength} bytes`, (e) => e.name);
      // Documented limit 2: a script can use phiseal itself to put a pair it knows into a store without a lock.
      const { KeyStore } = await attacker.viaPhiseal();
      const known = await phiseal.generateKeyPair({ extractable: true });
      const planted = await (await KeyStore.open({ name })).put(known.privateKey).then((kid) => store.get(kid)).then(() => 'loaded', (e) => e.code);
      store.close();
      return { ...out, planted };
    }, { name: `wrap-${stamp}`, PASS });
    const handed = Object.values(r.handed);
    const ok = r.wrapKey.extractable === false && JSON.stringify(r.wrapKey.usages) === '["unwrapKey","wrapKey"]' && r.wrapKey.alg === 'AES-GCM'
      && r.decrypt === 'InvalidAccessError' && r.exportWrapKey === 'InvalidAccessError' && handed.length === 10
      && handed.every((h) => h.extractable === false && (h.provider === 'session' || (h.provider === 'webcrypto' && h.webExport === 'InvalidAccessError' && h.jwkExport === 'InvalidAccessError' && h.phisealExport === 'MISUSE')))
      && r.unwrapExtractable.startsWith('exported') && r.planted === 'loaded';
    if (!ok) throw new Error(JSON.stringify(r));
    return `decrypt with the store key: ${r.decrypt}; 10 keys handed out, none exportable; limits (documented): unwrapKey(extractable) ${r.unwrapExtractable}, a script's own put ${r.planted}`;
  });

  // Passkeys: a virtual authenticator with the PRF extension, driven over the DevTools protocol.
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  let { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: VIRTUAL });
  const locked = `locked-${stamp}`;

  await check('passkey: enroll (WebAuthn PRF) and lock a store, reload, unlock with the passkey, use every kind of key; passphrase fallback; unlock latency', async () => {
    const before = await page.evaluate(async ({ name, PASS }) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name });
      const early = await phiseal.generateKeyPair(); // put before the lock: stays a CryptoKey
      const soft = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true }); // store-wrapped, rewrapped under the lock
      const indexKey = await phiseal.generateIndexKey();
      const signing = phiseal.SigningKey.generate();
      const ids = { early: await store.put(early.privateKey), soft: await store.put(soft.privateKey), index: await store.put(indexKey), signing: await store.put(signing) };
      const enrolled = await store.enrollPasskey({ userName: 'dr.lee@clinic.example', rpName: 'phiseal test' });
      // Adding a way in to a locked store needs the current one (a script holding the store cannot add its own).
      const silent = await store.enrollPassphrase('a passphrase a script knows').then(() => 'added', (e) => e.code);
      if (silent !== 'MISUSE') throw new Error(`a passphrase was added to a locked store without the current lock: ${silent}`);
      const frozen = Object.isFrozen(phiseal.KeyStore) && Object.isFrozen(phiseal.KeyStore.prototype);
      if (!frozen) throw new Error('KeyStore can be rewrapped by page script');
      const fallback = await store.enrollPassphrase(PASS, { current: { passkey: true } });
      // A script that hooks crypto.subtle.generateKey after phiseal loaded sees no key the store makes (review finding).
      const seen = [];
      const realGenerate = crypto.subtle.generateKey;
      crypto.subtle.generateKey = function (...a) {
        const p = realGenerate.apply(this, a);
        p.then((k) => { if (k?.privateKey?.extractable) seen.push(k); }, () => {});
        return p;
      };
      const { kid, publicKey } = await store.generateKeyPair({ purpose: 'records' }); // wrapped under the lock
      const author = await store.generateAuthorKey();
      crypto.subtle.generateKey = realGenerate;
      if (seen.length) throw new Error(`a hooked generateKey saw ${seen.length} extractable key pairs of the store`);
      // provider 'wasm' would put a stored key's bytes in wasm memory, where it exports: refused.
      const wasmGet = await store.get(kid, { provider: 'wasm' }).then(() => 'loaded', (e) => e.code);
      if (wasmGet !== 'MISUSE') throw new Error(`provider wasm: ${wasmGet}`);
      const schema = { id: 's', version: 1, fields: { email: 'deterministic', note: true } };
      const sealed = await phiseal.sealRecord({ email: 'pat@example.org', note: 'locked away' }, { schema, recordId: 'r', author, recipients: [publicKey, early.publicKey, soft.publicKey], indexKey });
      const meta = await window.attacker.keysOf(name, 'meta');
      localStorage.setItem('locked', JSON.stringify({ ...ids, kid, author: author.kid, authorJwk: author.publicKey.toJwk(), sealed, signingJwk: signing.publicKey.toJwk(), credentialId: Array.from(enrolled.credentialId) }));
      const list = (await store.list()).map((k) => `${k.kind}:${k.protection}`).sort();
      store.close();
      return { refused: [...enrolled.refused, ...fallback.refused], credentialBytes: enrolled.credentialId.length, meta, list };
    }, { name: locked, PASS });
    await reload();
    const after = await page.evaluate(async ({ name, PASS }) => {
      const { phiseal } = window;
      const saved = JSON.parse(localStorage.getItem('locked'));
      const code = (p) => p.then(() => 'loaded', (e) => e.code ?? e.name);
      const closed = await phiseal.KeyStore.open({ name });
      const whileLocked = {
        unlocked: closed.unlocked, methods: await closed.unlockMethods(), get: await code(closed.get(saved.kid)),
        put: await code(closed.put((await phiseal.generateKeyPair()).privateKey)), index: await code(closed.getIndexKey(saved.index)),
      };
      closed.close();
      const t0 = performance.now();
      const store = await phiseal.KeyStore.open({ name, unlock: { passkey: true } });
      const firstUnlockMs = performance.now() - t0;
      const schema = { id: 's', version: 1, fields: { email: 'deterministic', note: true } };
      const authors = [phiseal.importPublicKey(saved.authorJwk)];
      const indexKey = await store.getIndexKey(saved.index);
      const open = async (privateKey) => (await phiseal.openRecord(saved.sealed, { schema, recordId: 'r', privateKey, indexKey, authors })).record;
      const t1 = performance.now();
      const lockedKey = await store.get(saved.kid);
      const getMs = performance.now() - t1;
      const records = [await open(lockedKey), await open(await store.get(saved.early)), await open(await store.get(saved.soft))];
      const author = await store.getAuthorKey(saved.author);
      const resigned = await phiseal.sealRecord({ email: 'x@example.org', note: 'after the reload' }, { schema, recordId: 'r2', author, recipients: [lockedKey.publicKey], indexKey });
      const reopened = (await phiseal.openRecord(resigned, { schema, recordId: 'r2', privateKey: lockedKey, indexKey, authors })).record.note;
      const signer = await store.getSigningKey(saved.signing);
      const log = new phiseal.AuditLog({ signingKey: signer, checkpointEvery: 1 });
      log.append({ actor: { id: 'dr-lee', role: 'clinician' }, action: 'view' });
      const logValid = phiseal.verifyLog(log.toJsonl(), [phiseal.importPublicKey(saved.signingJwk)]).valid;
      const exports = await Promise.all([lockedKey, author].map((k) => crypto.subtle.exportKey('pkcs8', k.cryptoKey()).then(() => 'exported', (e) => e.name)));
      store.lock();
      const relocked = await code(store.get(saved.kid));
      store.close();
      // Unlock latency: the whole KeyStore.open({unlock: {passkey: true}}) (IndexedDB, WebAuthn get with PRF, HKDF, two unwraps), and WebAuthn alone.
      const times = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        (await phiseal.KeyStore.open({ name, unlock: { passkey: true } })).close();
        times.push(performance.now() - t);
      }
      const webauthnTimes = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        await navigator.credentials.get({ publicKey: { challenge: crypto.getRandomValues(new Uint8Array(32)), allowCredentials: [{ type: 'public-key', id: new Uint8Array(saved.credentialId) }], userVerification: 'required', extensions: { prf: { eval: { first: new Uint8Array(32) } } } } });
        webauthnTimes.push(performance.now() - t);
      }
      // The passphrase fallback opens the same lock.
      const t2 = performance.now();
      const viaPassphrase = await phiseal.KeyStore.open({ name, unlock: { passphrase: PASS } });
      const passphraseMs = performance.now() - t2;
      const fallback = await open(await viaPassphrase.get(saved.kid));
      viaPassphrase.close();
      const wrongPassphrase = await code(phiseal.KeyStore.open({ name, unlock: { passphrase: 'not the passphrase at all' } }));
      const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
      return {
        whileLocked, records, reopened, logValid, exports, relocked, fallback, wrongPassphrase, firstUnlockMs, getMs, passphraseMs,
        unlock: { median: median(times), min: Math.min(...times), max: Math.max(...times) }, webauthn: { median: median(webauthnTimes) },
      };
    }, { name: locked, PASS });
    const recordOk = (rec) => rec.email === 'pat@example.org' && rec.note === 'locked away';
    const ok = before.refused.length === 0 && before.credentialBytes > 0 && JSON.stringify(before.meta) === '["lock"]'
      && JSON.stringify(before.list) === JSON.stringify(['author:lock', 'hpke:lock', 'hpke:lock', 'hpke:webcrypto-non-extractable', 'index:lock', 'signing:lock'])
      && after.whileLocked.unlocked === false && JSON.stringify(after.whileLocked.methods) === '["passkey","passphrase"]'
      && after.whileLocked.get === 'MISUSE' && after.whileLocked.put === 'MISUSE' && after.whileLocked.index === 'MISUSE'
      && after.records.every(recordOk) && after.reopened === 'after the reload' && after.logValid
      && after.exports.every((e) => e === 'InvalidAccessError') && after.relocked === 'MISUSE' && recordOk(after.fallback) && after.wrongPassphrase === 'DECRYPT_FAILED';
    if (!ok) throw new Error(JSON.stringify({ before, after }));
    const ms = (x) => `${x.toFixed(1)} ms`;
    console.log(`     passkey unlock latency (CDP virtual authenticator, PRF): KeyStore.open({unlock: {passkey: true}}) median ${ms(after.unlock.median)} (min ${ms(after.unlock.min)}, max ${ms(after.unlock.max)}, 20 runs; first ${ms(after.firstUnlockMs)}); navigator.credentials.get with PRF alone median ${ms(after.webauthn.median)}; first get() of a lock-wrapped key ${ms(after.getMs)}; passphrase fallback (PBKDF2 600,000) ${ms(after.passphraseMs)}`);
    return `locked store: ${before.list.length} entries; after the reload MISUSE until unlocked, then every kind loads and works; passphrase fallback opens it, a wrong one ${after.wrongPassphrase}`;
  });

  await check('passkey-locked store against the page script: no store key in IndexedDB to use, planted or re-MACed entries refused, phiseal itself cannot put, a removed lock is noticed (documented: CryptoKeys put before the lock stay usable)', async () => {
    const r = await page.evaluate(async ({ name }) => {
      const { phiseal, attacker } = window;
      const saved = JSON.parse(localStorage.getItem('locked'));
      const code = (p) => p.then(() => 'loaded', (e) => e.code ?? e.name);
      const store = await phiseal.KeyStore.open({ name, unlock: { passkey: true } });
      const meta = await attacker.keysOf(name, 'meta');
      // Planted (a non-extractable pair, so only the MAC can refuse it) with a MAC copied from a real entry,
      // and a real entry re-pointed at the attacker's key.
      const p = await attacker.pair('ECDH', false);
      const mac = (await attacker.read(name, 'keys', saved.kid)).mac;
      await attacker.write(name, 'keys', { v: 2, kid: p.kid, kind: 'hpke', created: Date.now(), expires: null, purpose: 'hpke', epoch: 1, publicJwk: p.publicJwk, wrapped: { alg: 'webcrypto-non-extractable', key: p.privateKey }, mac });
      const planted = await code(store.get(p.kid));
      const saved2 = await attacker.read(name, 'keys', saved.kid);
      await attacker.write(name, 'keys', { ...saved2, publicJwk: p.publicJwk, wrapped: { alg: 'webcrypto-non-extractable', key: p.privateKey } });
      const repointed = await code(store.get(saved.kid));
      await attacker.write(name, 'keys', saved2);
      // The script's own phiseal: the store is locked for it too.
      const { KeyStore, generateKeyPair } = await attacker.viaPhiseal();
      const own = await KeyStore.open({ name });
      const viaPut = await code(own.put((await generateKeyPair()).privateKey));
      const viaGet = await code(own.get(saved.kid));
      own.close();
      // Documented limit: a key put as a non-extractable CryptoKey before the lock is in IndexedDB as a CryptoKey: usable, not exportable.
      const early = (await attacker.read(name, 'keys', saved.early)).wrapped.key;
      const eph = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, false, ['deriveBits']);
      const earlyUse = await crypto.subtle.deriveBits({ name: 'ECDH', public: eph.publicKey }, early, 384).then(() => 'used', (e) => e.name);
      const earlyExport = await crypto.subtle.exportKey('pkcs8', early).then(() => 'exported', (e) => e.name);
      // The lock deleted (a downgrade to a store without one): the open store and a new unlock both notice.
      const lock = await attacker.read(name, 'meta', 'lock');
      await attacker.write(name, 'meta', undefined, 'lock');
      const afterRemoval = await code(store.get(saved.kid));
      const reopen = await code(phiseal.KeyStore.open({ name, unlock: { passkey: true } }));
      await attacker.write(name, 'meta', lock, 'lock');
      const restored = await code(store.get(saved.kid));
      store.close();
      return { meta, planted, repointed, viaPut, viaGet, earlyUse, earlyExport, afterRemoval, reopen, restored };
    }, { name: locked });
    const ok = JSON.stringify(r.meta) === '["lock"]' && r.planted === 'INVALID_KEY' && r.repointed === 'INVALID_KEY' && r.viaPut === 'MISUSE' && r.viaGet === 'MISUSE'
      && r.earlyUse === 'used' && r.earlyExport === 'InvalidAccessError' && r.afterRemoval === 'INVALID_KEY' && r.reopen === 'MISUSE' && r.restored === 'loaded';
    if (!ok) throw new Error(JSON.stringify(r));
    return `planted ${r.planted}, re-pointed ${r.repointed}, the script's own put ${r.viaPut}; lock removed: open store ${r.afterRemoval}, new unlock ${r.reopen}`;
  });

  await check('passkey: a passkey of another store, no authenticator, a new authenticator without the passkey, one without PRF: typed errors, nothing unwrapped', async () => {
    const fail = (opts) => page.evaluate(async ({ name, opts }) => {
      const { phiseal } = window;
      const store = await phiseal.KeyStore.open({ name });
      const t = performance.now();
      const code = await store.unlock({ passkey: true, ...opts }).then(() => 'unlocked', (e) => e.code ?? e.name);
      const out = { code, ms: Math.round(performance.now() - t), unlocked: store.unlocked, get: await store.get(JSON.parse(localStorage.getItem('locked')).kid).then(() => 'loaded', (e) => e.code) };
      store.close();
      return out;
    }, { name: locked, opts });
    // The lock's passkey slot pointed at the credential of another store on the same authenticator (same PRF salt).
    const other = await page.evaluate(async ({ name, other }) => {
      const { phiseal, attacker } = window;
      const second = await phiseal.KeyStore.open({ name: other });
      const { credentialId } = await second.enrollPasskey({ userName: 'someone.else@clinic.example' });
      second.close();
      const lock = await attacker.read(name, 'meta', 'lock');
      const slot = lock.slots.find((s) => s.type === 'passkey');
      await attacker.write(name, 'meta', { ...lock, slots: lock.slots.map((s) => (s === slot ? { ...s, credentialId } : s)) }, 'lock');
      return lock;
    }, { name: locked, other: `locked-other-${stamp}` });
    const wrongPasskey = await fail({ timeoutMs: 10_000 });
    await page.evaluate(async ({ name, lock }) => window.attacker.write(name, 'meta', lock, 'lock'), { name: locked, lock: other });
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    const none = await fail({ timeoutMs: 2_000 });
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: VIRTUAL }));
    const wrongAuthenticator = await fail({ timeoutMs: 2_000 });
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    ({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { ...VIRTUAL, hasPrf: false } }));
    const noPrf = await page.evaluate(async (name) => {
      const store = await window.phiseal.KeyStore.open({ name });
      const code = await store.enrollPasskey({ userName: 'no-prf@clinic.example', timeoutMs: 5_000 }).then(() => 'enrolled', (e) => e.code ?? e.name);
      const out = { code, unlocked: store.unlocked, methods: await store.unlockMethods() };
      store.close();
      return out;
    }, `noprf-${stamp}`);
    await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    const r = { wrongPasskey, none, wrongAuthenticator, noPrf };
    const nothing = (x, c) => x.code === c && x.unlocked === false && x.get === 'MISUSE';
    const ok = nothing(wrongPasskey, 'DECRYPT_FAILED') && nothing(none, 'ACCESS_DENIED') && nothing(wrongAuthenticator, 'ACCESS_DENIED')
      && noPrf.code === 'UNSUPPORTED' && noPrf.unlocked === true && noPrf.methods.length === 0;
    if (!ok) throw new Error(JSON.stringify(r));
    return `another store's passkey ${wrongPasskey.code}; no authenticator ${none.code} (${none.ms} ms); a new authenticator ${wrongAuthenticator.code}; no PRF ${noPrf.code}, store left without a lock`;
  });
});
