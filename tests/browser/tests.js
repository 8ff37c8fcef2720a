// Tests that run in headless Chromium (driven by run.mjs): WebCrypto key
// custody, JWK interoperability with WebCrypto ECDH, @hpke/core interop,
// the P-384 vectors through the WebCrypto path, and a module worker.
import * as phiseal from '../../js/index.js';
import { Aes256Gcm, CipherSuite, DhkemP384HkdfSha384, HkdfSha384 } from '@hpke/core';

const te = new TextEncoder();
const td = new TextDecoder();
const b = (s) => te.encode(s);
const u8 = (x) => new Uint8Array(x);
const fromHex = (h) => u8(h.match(/../g)?.map((x) => parseInt(x, 16)) ?? []);
const toHex = (a) => [...a].map((x) => x.toString(16).padStart(2, '0')).join('');
const b64u = (a) => btoa(String.fromCharCode(...a)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const ECDH = { name: 'ECDH', namedCurve: 'P-384' };
const suite = new CipherSuite({ kem: new DhkemP384HkdfSha384(), kdf: new HkdfSha384(), aead: new Aes256Gcm() });
const PSK = b('0123456789abcdef0123456789abcdef-psk');
const PSK_ID = b('psk-id-1');

function assert(cond, message) {
  if (!cond) throw new Error(message);
}
function eq(a, b, message) {
  assert(toHex(u8(a)) === toHex(u8(b)), `${message}: ${toHex(u8(a))} != ${toHex(u8(b))}`);
}
async function rejects(p, code) {
  try {
    await p;
  } catch (e) {
    const codes = Array.isArray(code) ? code : [code];
    assert(e instanceof phiseal.PhisealError && codes.includes(e.code), `expected ${code}, got ${e.name} ${e.code} ${e.message}`);
    return;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

const tests = {
  async 'wasm loads from its URL and keys default to non-extractable WebCrypto keys'() {
    await phiseal.init();
    const { privateKey } = await phiseal.generateKeyPair();
    assert(privateKey.provider === 'webcrypto', `provider ${privateKey.provider}`);
    assert(privateKey.extractable === false, 'extractable');
    const ck = privateKey.cryptoKey();
    assert(ck instanceof CryptoKey && ck.extractable === false && ck.type === 'private', 'CryptoKey');
    await rejects(privateKey.exportJwk(), 'MISUSE');
    // WebCrypto itself refuses to hand out the key's bytes.
    const leaked = await crypto.subtle.exportKey('jwk', ck).then(() => true, (e) => e.name !== 'InvalidAccessError');
    assert(!leaked, 'a non-extractable key was exported');
  },

  async 'a phiseal JWK works in WebCrypto ECDH, both directions'() {
    const ours = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
    const webPriv = await crypto.subtle.importKey('jwk', await ours.privateKey.exportJwk(), ECDH, false, ['deriveBits']);
    const webPub = await crypto.subtle.importKey('jwk', ours.publicKey.toJwk(), ECDH, true, []);
    const peer = await crypto.subtle.generateKey(ECDH, true, ['deriveBits']);
    const x = await crypto.subtle.deriveBits({ name: 'ECDH', public: peer.publicKey }, webPriv, 384);
    const y = await crypto.subtle.deriveBits({ name: 'ECDH', public: webPub }, peer.privateKey, 384);
    eq(x, y, 'ECDH');
    // phiseal's own DH (wasm) agrees with WebCrypto's: seal to the WebCrypto
    // peer with phiseal, open with the peer's CryptoKey wrapped by phiseal.
    const peerPub = phiseal.importPublicKey(await crypto.subtle.exportKey('jwk', peer.publicKey));
    const wrapped = phiseal.fromCryptoKey(peer.privateKey, peerPub);
    const { enc, ciphertext } = await phiseal.hpkeSeal(peerPub, b('webcrypto peer'), { provider: 'wasm' });
    assert(td.decode(await phiseal.hpkeOpen(wrapped, enc, ciphertext)) === 'webcrypto peer', 'open with CryptoKey');
    const imported = await phiseal.importPrivateKey(await crypto.subtle.exportKey('jwk', peer.privateKey), { provider: 'wasm' });
    assert(imported.kid === peerPub.kid, 'kid');
    assert(td.decode(await phiseal.hpkeOpen(imported, enc, ciphertext)) === 'webcrypto peer', 'open with imported JWK');
  },

  async '@hpke/core <-> phiseal in every mode, both directions, both providers'() {
    for (const provider of ['webcrypto', 'wasm']) {
      const r = await phiseal.generateKeyPair({ provider, extractable: true });
      const s = await phiseal.generateKeyPair({ provider, extractable: true });
      const theirR = await suite.kem.importKey('jwk', await r.privateKey.exportJwk(), false);
      const theirRPub = await suite.kem.importKey('raw', r.publicKey.toSec1(false).buffer, true);
      const theirS = await suite.kem.importKey('jwk', await s.privateKey.exportJwk(), false);
      const theirSPub = await suite.kem.importKey('raw', s.publicKey.toSec1(false).buffer, true);
      for (const mode of ['base', 'psk', 'auth', 'auth_psk']) {
        const psk = mode.endsWith('psk');
        const auth = mode.startsWith('auth');
        const info = b(`browser ${mode}`);
        const aad = b('aad');
        const ours = { info, aad, provider, ...(psk ? { psk: PSK, pskId: PSK_ID } : {}) };
        const theirs = { info, ...(psk ? { psk: { id: PSK_ID, key: PSK } } : {}) };
        // phiseal -> @hpke/core
        const sealed = await phiseal.hpkeSeal(r.publicKey, b(`to hpke-js ${mode}`), { ...ours, ...(auth ? { senderKey: s.privateKey } : {}) });
        const opened = await suite.open({ ...theirs, recipientKey: theirR, enc: sealed.enc.buffer, ...(auth ? { senderPublicKey: theirSPub } : {}) }, sealed.ciphertext, aad);
        assert(td.decode(opened) === `to hpke-js ${mode}`, `hpke-js open ${mode}`);
        // @hpke/core -> phiseal
        const back = await suite.seal({ ...theirs, recipientPublicKey: theirRPub, ...(auth ? { senderKey: theirS } : {}) }, b(`from hpke-js ${mode}`), aad);
        const pt = await phiseal
          .hpkeOpen(r.privateKey, u8(back.enc), u8(back.ct), { ...ours, ...(auth ? { senderPublicKey: s.publicKey } : {}) })
          .catch((e) => {
            throw new Error(`${provider} ${mode}: phiseal could not open: ${e.message}`);
          });
        assert(td.decode(pt) === `from hpke-js ${mode}`, `phiseal open ${mode}`);
      }
    }
  },

  async 'P-384 HPKE vectors through the WebCrypto path (non-extractable recipient keys)'(fixtures) {
    let checked = 0;
    for (const v of fixtures.vectors) {
      const d = fromHex(v.skRm);
      const pub = fromHex(v.pkRm);
      const jwk = { kty: 'EC', crv: 'P-384', x: b64u(pub.slice(1, 49)), y: b64u(pub.slice(49)), d: b64u(d) };
      const sk = await phiseal.importPrivateKey(jwk, { provider: 'webcrypto' });
      assert(sk.provider === 'webcrypto' && !sk.extractable, 'custody');
      const opts = { info: fromHex(v.info), kdf: v.kdf_id, aead: v.aead_id };
      if (v.psk) Object.assign(opts, { psk: fromHex(v.psk), pskId: fromHex(v.psk_id) });
      if (v.pkSm) opts.senderPublicKey = phiseal.importPublicKey(fromHex(v.pkSm));
      const ctx = await phiseal.hpkeSetupRecipient(sk, fromHex(v.enc), opts);
      for (const e of v.encryptions) {
        eq(ctx.open(fromHex(e.ct), fromHex(e.aad)), fromHex(e.pt), 'vector plaintext');
        checked++;
      }
      for (const x of v.exports) {
        eq(ctx.export(fromHex(x.exporter_context), x.L), fromHex(x.exported_value), 'vector export');
        checked++;
      }
    }
    assert(checked >= 4 * 257, `only ${checked} checks`);
  },

  async 'an author key made in the browser is a non-extractable WebCrypto ECDSA P-384 key'() {
    const author = await phiseal.generateAuthorKey();
    assert(author.provider === 'webcrypto', `provider ${author.provider}`);
    assert(author.extractable === false, 'extractable');
    const ck = author.cryptoKey();
    assert(ck instanceof CryptoKey && ck.extractable === false && ck.type === 'private', 'CryptoKey');
    assert(ck.algorithm.name === 'ECDSA' && ck.algorithm.namedCurve === 'P-384' && ck.usages.join() === 'sign', JSON.stringify([ck.algorithm, ck.usages]));
    assert(author.kid === author.publicKey.kid && typeof author.kid === 'string' && author.kid.length === 43, `kid ${author.kid}`);
    await rejects(author.exportPkcs8(), 'MISUSE');
    // WebCrypto itself refuses to hand out the key's bytes.
    const leaked = await crypto.subtle.exportKey('pkcs8', ck).then(() => true, (e) => e.name !== 'InvalidAccessError');
    assert(!leaked, 'a non-extractable author key was exported');
    // Asked for, an extractable one exports PKCS#8 that imports back to the same kid (non-extractable again).
    const open = await phiseal.generateAuthorKey({ extractable: true });
    assert(open.provider === 'webcrypto' && open.extractable === true, 'extractable: true');
    const again = await phiseal.importAuthorKey(await open.exportPkcs8());
    assert(again.kid === open.kid && again.provider === 'webcrypto' && again.extractable === false, 'PKCS#8 round trip');
    // An HPKE key is not an author key.
    const { privateKey } = await phiseal.generateKeyPair();
    const schema = { id: 's', version: 1, fields: { note: true } };
    await rejects(phiseal.sealRecord({ note: 'x' }, { schema, recordId: 'r', recipients: [privateKey.publicKey], author: privateKey }), 'INVALID_ARGUMENT');
  },

  async 'field encryption with non-extractable WebCrypto keys: every mode, groups, author, context, tampering'() {
    const schema = {
      id: 'browser', version: 1,
      fields: { name: true, email: { mode: 'deterministic' }, ssn: { mode: 'blindIndex', bits: 12, group: 'billing' }, 'codes[]': { group: 'clinical' } },
    };
    const record = { name: 'Ana', email: 'a@b.c', ssn: '123-45-6789', codes: ['J45', { x: [1, null] }], keep: true };
    const clinician = await phiseal.generateKeyPair();
    const billing = await phiseal.generateKeyPair();
    const outsider = await phiseal.generateKeyPair();
    const author = await phiseal.generateAuthorKey();
    const stranger = await phiseal.generateAuthorKey();
    assert(clinician.privateKey.provider === 'webcrypto' && !clinician.privateKey.extractable, 'custody');
    const indexKey = await phiseal.generateIndexKey();
    const context = { patientId: 'p-1' };
    const sealed = await phiseal.sealRecord(record, {
      schema, recordId: 'b-1', indexKey, author, context, recipients: [clinician.publicKey, { publicKey: billing.publicKey, groups: ['billing'] }],
    });
    assert(JSON.stringify(sealed).indexOf('123-45-6789') < 0 && phiseal.verifyAllPhiEncrypted(sealed, schema).length === 0, 'sealed');
    const expect = { schema, recordId: 'b-1', context, authors: [author.publicKey], indexKey };
    const all = await phiseal.openRecord(sealed, { ...expect, privateKey: clinician.privateKey });
    assert(JSON.stringify(all.record) === JSON.stringify(record) && all.locked.length === 0, JSON.stringify(all));
    assert(all.author.kid === author.kid && all.header.author === author.kid && all.header.version === 1, JSON.stringify(all.header));
    assert(JSON.stringify(all.header.context) === JSON.stringify(context) && all.header.recordId === 'b-1', JSON.stringify(all.header));
    const some = await phiseal.openRecord(sealed, { ...expect, privateKey: billing.privateKey });
    assert(some.record.ssn === '123-45-6789' && some.locked.length === 4, JSON.stringify(some.locked));
    await rejects(phiseal.openRecord(sealed, { ...expect, privateKey: outsider.privateKey }), 'NOT_RECIPIENT');
    // What the opener expects: the record id it asked for, the exact context, a trusted author.
    await rejects(phiseal.openRecord(sealed, { ...expect, privateKey: clinician.privateKey, recordId: 'b-2' }), 'CONTEXT_MISMATCH');
    await rejects(phiseal.openRecord(sealed, { ...expect, privateKey: clinician.privateKey, context: { patientId: 'p-2' } }), 'CONTEXT_MISMATCH');
    await rejects(phiseal.openRecord(sealed, { ...expect, privateKey: clinician.privateKey, context: undefined }), 'CONTEXT_MISMATCH');
    await rejects(phiseal.openRecord(sealed, { ...expect, privateKey: clinician.privateKey, authors: [stranger.publicKey] }), 'UNTRUSTED_AUTHOR');
    await rejects(phiseal.openRecord(sealed, { ...expect, privateKey: clinician.privateKey, authors: undefined }), 'INVALID_ARGUMENT');
    await rejects(phiseal.openRecord(sealed, { ...expect, privateKey: clinician.privateKey, recordId: undefined }), 'INVALID_ARGUMENT');
    // Two field strings swapped: the record's content no longer matches its signed digest
    // (records v2 check the digest before any field is opened; v1 said DECRYPT_FAILED).
    const bad = structuredClone(sealed);
    bad.codes[1] = sealed.codes[0];
    await rejects(phiseal.openRecord(bad, { ...expect, privateKey: clinician.privateKey }), 'INVALID_SIGNATURE');
    const clear = structuredClone(sealed);
    clear.keep = false;
    await rejects(phiseal.openRecord(clear, { ...expect, privateKey: clinician.privateKey }), 'INVALID_SIGNATURE');
    // One envelope character changed: at 30 it is in the schema id / version (step 2 of
    // FORMAT.md §5.4: CONTEXT_MISMATCH); 10 from the end it is in the signature.
    const env = sealed._phiseal;
    for (const [i, code] of [[30, 'CONTEXT_MISMATCH'], [env.length - 10, 'INVALID_SIGNATURE']]) {
      const tampered = { ...sealed, _phiseal: env.slice(0, i) + (env[i] === 'A' ? 'B' : 'A') + env.slice(i + 1) };
      await rejects(phiseal.openRecord(tampered, { ...expect, privateKey: clinician.privateKey }), code);
    }
    // A signature by another (untrusted) author over the same content is refused too.
    const forged = await phiseal.sealRecord(record, { schema, recordId: 'b-1', indexKey, author: stranger, context, recipients: [clinician.publicKey] });
    await rejects(phiseal.openRecord(forged, { ...expect, privateKey: clinician.privateKey }), 'UNTRUSTED_AUTHOR');
  },

  async 'certified keys in the browser: sealRecord with trust refuses the server\'s key, seals to a certified non-extractable key'() {
    const root = phiseal.SigningKey.generate();
    const now = Date.now();
    const trust = new phiseal.Trust({ roots: [root.publicKey], revocations: phiseal.issueRevocations([], root, { issuedAt: now - 5000, expires: now + 3_600_000 }) });
    const clinician = await phiseal.generateKeyPair();
    assert(clinician.privateKey.provider === 'webcrypto' && !clinician.privateKey.extractable, 'a non-extractable WebCrypto key');
    const author = await phiseal.generateAuthorKey();
    const validity = { notBefore: now - 60_000, notAfter: now + 3_600_000 };
    const cert = phiseal.issueCertificate({ subject: 'dr-lee', name: 'Dr. Lee', role: 'clinician', groups: ['default'], purposes: ['encrypt'], publicKey: clinician.publicKey, ...validity }, root);
    const authorCert = phiseal.issueCertificate({ subject: 'desk', name: 'Desk', role: 'intake', purposes: ['sign'], publicKey: author.publicKey, ...validity }, root);
    const schema = phiseal.defineSchema({ id: 's', version: 1, fields: { note: true } });
    const server = await phiseal.generateKeyPair();
    await rejects(phiseal.sealRecord({ note: 'x' }, { schema, recordId: 'r', recipients: [server.publicKey], author, trust }), 'UNTRUSTED_KEY');
    const sealed = await phiseal.sealRecord({ note: 'asthma' }, { schema, recordId: 'r', recipients: [{ certificate: cert }], author, trust });
    const opened = await phiseal.openRecord(sealed, { schema, recordId: 'r', privateKey: clinician.privateKey, authors: [authorCert], trust });
    assert(opened.record.note === 'asthma' && opened.author.subject === 'desk', 'opened with the certified author');
    // Certificate signatures are checked with WebCrypto ECDSA here (counted on the real crypto.subtle.verify),
    // and a signature that does not verify there is refused.
    const realVerify = crypto.subtle.verify;
    let calls = 0;
    crypto.subtle.verify = function (...args) {
      calls++;
      return realVerify.apply(this, args);
    };
    try {
      const fresh = new phiseal.Trust({ roots: [root.publicKey], requireRevocations: false });
      const c = await fresh.certify(cert, { purpose: 'encrypt', groups: ['default'] });
      assert(c.subject === 'dr-lee' && calls === 1, `certify: ${calls} WebCrypto verifies`);
      await fresh.certify(cert, { purpose: 'encrypt' });
      assert(calls === 1, 'a verified signature is remembered');
      const parts = cert.split('.');
      const sig = parts[2];
      const flipped = `${parts[0]}.${parts[1]}.${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
      await rejects(fresh.certify(flipped, { purpose: 'encrypt' }), 'INVALID_SIGNATURE');
      assert(calls === 2, `the forged signature went to WebCrypto (${calls})`);
    } finally {
      crypto.subtle.verify = realVerify;
    }
  },

  async 'XSS memory scan: a page script reading the wasm memory after imports, HPKE, records and the KeyStore finds no private scalar and no DH secret'() {
    // What a one-time XSS can do: import the already-initialised wasm module and read its exported memory.
    const glue = await import('../../pkg/phiseal.js');
    const exports = await glue.default();
    const memory = () => new Uint8Array(exports.memory.buffer);
    /**
     * Every offset of `needle` in the wasm memory, as big-endian bytes or little-endian (how RustCrypto keeps a
     * scalar's limbs), matching any 16 bytes of it.
     */
    const found = (needle) => {
      const m = memory();
      const hits = [];
      for (const form of [needle, u8(needle).reverse()]) {
        for (let at = 0; at + 16 <= form.length; at += 16) {
          const head = form.subarray(at, at + 16);
          for (let i = m.indexOf(head[0]); i !== -1 && i <= m.length - 16; i = m.indexOf(head[0], i + 1)) {
            let j = 1;
            while (j < 16 && m[i + j] === head[j]) j++;
            if (j === 16) hits.push(i);
          }
        }
      }
      return hits;
    };
    const fromB64u = (t) => u8([...atob(t.replace(/-/g, '+').replace(/_/g, '/'))].map((c) => c.charCodeAt(0)));
    // Keys made outside phiseal (extractable, so the test knows their scalars), then handed to phiseal.
    const hpkePair = await crypto.subtle.generateKey(ECDH, true, ['deriveBits']);
    const hpkeD = fromB64u((await crypto.subtle.exportKey('jwk', hpkePair.privateKey)).d);
    const ecdsa = { name: 'ECDSA', namedCurve: 'P-384' };
    const authorPair = await crypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
    const authorD = fromB64u((await crypto.subtle.exportKey('jwk', authorPair.privateKey)).d);
    const secrets = { 'HPKE private scalar': hpkeD, 'author private scalar': authorD };
    const sk = await phiseal.importPrivateKey(u8(await crypto.subtle.exportKey('pkcs8', hpkePair.privateKey)));
    const author = await phiseal.importAuthorKey(u8(await crypto.subtle.exportKey('pkcs8', authorPair.privateKey)));
    assert(sk.provider === 'webcrypto' && !sk.extractable && author.provider === 'webcrypto' && !author.extractable, 'imported as non-extractable WebCrypto keys');
    // The same keys imported again as PEM (a text form of the scalar passes through wasm too). Not a private
    // JWK: that import still leaves fragments of the scalar in wasm memory (docs/SECURITY.md).
    const der = u8(await crypto.subtle.exportKey('pkcs8', hpkePair.privateKey));
    const pemOf = (bytes) => `-----BEGIN PRIVATE KEY-----\n${btoa(String.fromCharCode(...bytes)).match(/.{1,64}/g).join('\n')}\n-----END PRIVATE KEY-----\n`;
    const pem = pemOf(der);
    secrets['HPKE PKCS#8 as PEM text'] = te.encode(btoa(String.fromCharCode(...der)));
    const viaPem = await phiseal.importPrivateKey(pem);
    const viaAuthorPem = await phiseal.importAuthorKey(pemOf(u8(await crypto.subtle.exportKey('pkcs8', authorPair.privateKey))));
    assert(viaPem.kid === sk.kid && viaAuthorPem.kid === author.kid, 'the same keys');
    const leaked = () => Object.entries(secrets).filter(([, v]) => found(v).length > 0).map(([k, v]) => `${k} at ${found(v).join(',')}`);
    // Right after the imports (nothing has reused the memory yet): the PKCS#8 copies were wiped.
    const afterImport = leaked();
    assert(afterImport.length === 0, `in wasm memory after the imports: ${afterImport.join('; ')}`);
    // HPKE: the DH secret of this exchange, computed here with the extractable copy, must not stay in wasm memory.
    const { enc, ciphertext } = await phiseal.hpkeSeal(sk.publicKey, b('scan me'));
    const encKey = await crypto.subtle.importKey('raw', enc, ECDH, false, []);
    secrets['HPKE DH secret'] = u8(await crypto.subtle.deriveBits({ name: 'ECDH', public: encKey }, hpkePair.privateKey, 384));
    eq(await phiseal.hpkeOpen(sk, enc, ciphertext), b('scan me'), 'hpke round trip');
    // Records: sealed to and opened by the imported key, signed by the imported author.
    const schema = phiseal.defineSchema({ id: 's', version: 1, fields: { note: true } });
    const sealed = await phiseal.sealRecord({ note: 'scan me too' }, { schema, recordId: 'r', recipients: [sk.publicKey], author });
    const opened = await phiseal.openRecord(sealed, { schema, recordId: 'r', privateKey: sk, authors: [author.publicKey] });
    assert(opened.record.note === 'scan me too', 'record round trip');
    // KeyStore: the keys stored (one under a passphrase, which goes through PKCS#8 bytes) and loaded again.
    const store = await phiseal.KeyStore.open({ name: `scan-${Date.now()}` });
    const portable = await phiseal.importPrivateKey(u8(await crypto.subtle.exportKey('pkcs8', hpkePair.privateKey)), { extractable: true });
    const kid = await store.put(portable, { passphrase: 'correct horse battery staple' });
    const again = await store.get(kid, { passphrase: 'correct horse battery staple' });
    await store.put(author, { purpose: 'audit' });
    assert(again.kid === sk.kid && !again.extractable, 'stored and loaded non-extractable');
    await phiseal.openRecord(sealed, { schema, recordId: 'r', privateKey: again, authors: [author.publicKey] });
    store.close();
    const leaks = leaked();
    assert(leaks.length === 0, `in wasm memory: ${leaks.join('; ')}`);
    // The scan finds what is there: a key the app asked to keep in wasm (provider 'wasm') holds its scalar in wasm
    // memory, by design, and the scan sees it.
    const soft = await phiseal.importPrivateKey(u8(await crypto.subtle.exportKey('pkcs8', hpkePair.privateKey)), { provider: 'wasm', extractable: true });
    assert(soft.provider === 'wasm' && found(hpkeD).length > 0, 'the scan did not find a scalar that is in wasm memory');
    return `${Object.keys(secrets).length} secrets, ${memory().length} bytes of wasm memory scanned, none found`;
  },

  async 'phiseal runs in a module worker'() {
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    const reply = await new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage('go');
    });
    worker.terminate();
    assert(reply.ok && reply.text === 'from a worker' && reply.provider === 'webcrypto', JSON.stringify(reply));
  },
};

export async function run(fixtures) {
  const results = [];
  for (const [name, fn] of Object.entries(tests)) {
    try {
      await fn(fixtures);
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: `${e?.name}: ${e?.message}` });
    }
  }
  return results;
}
