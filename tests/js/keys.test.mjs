// Keys through the npm surface: formats, kid, custody (non-extractable),
// and WebCrypto interoperability of phiseal JWKs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { phiseal, bytes, td, rejectsWith } from './helpers.mjs';

const { ErrorCode } = phiseal;
await phiseal.init();

test('public key formats round-trip and kid is the RFC 7638 thumbprint', async () => {
  const { publicKey } = await phiseal.generateKeyPair();
  const jwk = publicKey.toJwk();
  assert.equal(jwk.kty, 'EC');
  assert.equal(jwk.crv, 'P-384');
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  const expected = createHash('sha256').update(canonical).digest('base64url');
  assert.equal(publicKey.kid, expected);
  assert.equal(jwk.kid, expected);
  for (const form of [jwk, publicKey.toSpki(), publicKey.toSpkiPem(), publicKey.toSec1(false), publicKey.toSec1(true)]) {
    assert.equal(phiseal.importPublicKey(form).kid, expected);
  }
  assert.match(publicKey.toSpkiPem(), /^-----BEGIN PUBLIC KEY-----\n/);
  assert.equal(publicKey.toSec1(false).length, 97);
  assert.equal(publicKey.toSec1(true).length, 49);
});

test('private keys: JWK, PKCS#8 DER and PEM round-trip; HPKE works after import', async () => {
  const { privateKey, publicKey } = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
  const jwk = await privateKey.exportJwk();
  const der = await privateKey.exportPkcs8();
  const pem = await privateKey.exportPkcs8Pem();
  assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
  for (const form of [jwk, der, pem]) {
    for (const provider of ['wasm', 'webcrypto']) {
      const imported = await phiseal.importPrivateKey(form, { provider });
      assert.equal(imported.kid, publicKey.kid);
      const { enc, ciphertext } = await phiseal.hpkeSeal(publicKey, bytes('hello'));
      assert.equal(td.decode(await phiseal.hpkeOpen(imported, enc, ciphertext)), 'hello');
    }
  }
});

test('non-extractable keys refuse export; extractable WebCrypto keys export', async () => {
  const locked = await phiseal.generateKeyPair({ provider: 'webcrypto' });
  assert.equal(locked.privateKey.extractable, false);
  await rejectsWith(assert, locked.privateKey.exportJwk(), ErrorCode.MISUSE);
  await rejectsWith(assert, locked.privateKey.exportPkcs8(), ErrorCode.MISUSE);
  const crypto_key = locked.privateKey.cryptoKey();
  assert.equal(crypto_key.extractable, false);
  const restored = phiseal.fromCryptoKey(crypto_key, locked.publicKey);
  const { enc, ciphertext } = await phiseal.hpkeSeal(locked.publicKey, bytes('kept in IndexedDB'));
  assert.equal(td.decode(await phiseal.hpkeOpen(restored, enc, ciphertext)), 'kept in IndexedDB');

  const open = await phiseal.generateKeyPair({ provider: 'webcrypto', extractable: true });
  const jwk = await open.privateKey.exportJwk();
  assert.equal(typeof jwk.d, 'string');
});

test('author keys: non-extractable by default; PKCS#8 DER and PEM round-trip; a WebCrypto ECDSA key wraps', async () => {
  const schema = { id: 's', version: 1, fields: { note: true } };
  const reader = await phiseal.generateKeyPair();
  /** Seals with `author`, opens trusting only `trusted`: the kid in the record and the signature must both be right. */
  const signsAs = async (author, trusted) => {
    const sealed = await phiseal.sealRecord({ note: 'x' }, { schema, recordId: 'r', recipients: [reader.publicKey], author });
    return (await phiseal.openRecord(sealed, { schema, recordId: 'r', privateKey: reader.privateKey, authors: [trusted] })).author.kid;
  };
  const locked = await phiseal.generateAuthorKey();
  assert.ok(locked instanceof phiseal.AuthorKey);
  assert.equal(locked.extractable, false);
  assert.equal(locked.kid, locked.publicKey.kid);
  const ck = locked.cryptoKey();
  assert.deepEqual([ck.algorithm.name, ck.algorithm.namedCurve, ck.extractable, ck.usages], ['ECDSA', 'P-384', false, ['sign']]);
  await rejectsWith(assert, locked.exportPkcs8(), ErrorCode.MISUSE);

  const open = await phiseal.generateAuthorKey({ provider: 'wasm', extractable: true });
  assert.deepEqual([open.provider, open.extractable, open.cryptoKey()], ['wasm', true, undefined]);
  const der = await open.exportPkcs8();
  const pem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
  for (const form of [der, der.buffer, pem]) {
    for (const provider of ['wasm', 'webcrypto']) {
      const imported = await phiseal.importAuthorKey(form, { provider });
      // Non-extractable unless asked, but a key in wasm memory is always extractable (as PrivateKey's).
      assert.deepEqual([imported.kid, imported.provider, imported.extractable], [open.kid, provider, provider === 'wasm']);
      assert.equal(await signsAs(imported, open.publicKey), open.kid, 'readers trust the imported key as the original');
    }
  }
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify']);
  const publicKey = phiseal.importPublicKey(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)));
  const wrapped = await phiseal.importAuthorKey(pair.privateKey, { publicKey });
  assert.equal(await signsAs(wrapped, publicKey), publicKey.kid);

  await rejectsWith(assert, phiseal.importAuthorKey(der.slice(0, 60)), ErrorCode.INVALID_KEY);
  await rejectsWith(assert, phiseal.importAuthorKey(open.publicKey.toSpkiPem()), ErrorCode.INVALID_ARGUMENT, /PRIVATE KEY/);
  await rejectsWith(assert, phiseal.importAuthorKey(JSON.stringify(publicKey.toJwk())), ErrorCode.INVALID_ARGUMENT, /JSON text/);
  await rejectsWith(assert, phiseal.importAuthorKey({}), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.importAuthorKey(pair.privateKey), ErrorCode.INVALID_ARGUMENT, /publicKey/);
  const ecdh = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, false, ['deriveBits']);
  await rejectsWith(assert, phiseal.importAuthorKey(ecdh.privateKey, { publicKey }), ErrorCode.INVALID_KEY, /ECDSA/);
});

test('importAuthorKey(cryptoKey, {publicKey}) refuses a public key that is not the CryptoKey\'s', async () => {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, false, ['sign', 'verify']);
  const other = await phiseal.generateAuthorKey();
  await rejectsWith(assert, phiseal.importAuthorKey(pair.privateKey, { publicKey: other.publicKey }), ErrorCode.INVALID_KEY, /not the private key/);
  // The matching pair imports and signs records its public key verifies.
  const pub = phiseal.importPublicKey(await crypto.subtle.exportKey('jwk', pair.publicKey));
  const author = await phiseal.importAuthorKey(pair.privateKey, { publicKey: pub });
  assert.equal(author.kid, pub.kid);
});

test('phiseal JWKs work in WebCrypto ECDH and back', async () => {
  const ours = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
  const alg = { name: 'ECDH', namedCurve: 'P-384' };
  const webPriv = await crypto.subtle.importKey('jwk', await ours.privateKey.exportJwk(), alg, false, ['deriveBits']);
  const webPub = await crypto.subtle.importKey('jwk', ours.publicKey.toJwk(), alg, true, []);
  const peer = await crypto.subtle.generateKey(alg, true, ['deriveBits']);
  const a = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: peer.publicKey }, webPriv, 384));
  const b = new Uint8Array(await crypto.subtle.deriveBits({ name: 'ECDH', public: webPub }, peer.privateKey, 384));
  assert.deepEqual(a, b);
  // WebCrypto's own JWK export (with key_ops and ext) imports into phiseal.
  const peerJwk = await crypto.subtle.exportKey('jwk', peer.privateKey);
  const peerKey = await phiseal.importPrivateKey(peerJwk, { provider: 'wasm' });
  const peerPub = phiseal.importPublicKey(await crypto.subtle.exportKey('jwk', peer.publicKey));
  assert.equal(peerKey.kid, peerPub.kid);
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', peer.publicKey));
  assert.deepEqual(peerPub.toSec1(false), raw);
});

test('invalid keys are rejected with typed errors', async () => {
  const { publicKey } = await phiseal.generateKeyPair();
  const jwk = publicKey.toJwk();
  const cases = [
    [{ ...jwk, crv: 'P-256' }, ErrorCode.INVALID_KEY],
    [{ ...jwk, kty: 'RSA' }, ErrorCode.INVALID_KEY],
    [{ ...jwk, x: jwk.x.slice(0, -2) }, ErrorCode.MALFORMED_INPUT],
    [{ ...jwk, x: jwk.x + '==' }, ErrorCode.MALFORMED_INPUT],
    [{ ...jwk, x: jwk.x.replace(/.$/, '+') }, ErrorCode.MALFORMED_INPUT],
    [{ ...jwk, y: jwk.x }, ErrorCode.INVALID_KEY],
    [{ kty: 'EC' }, ErrorCode.MALFORMED_INPUT],
    [new Uint8Array(97), ErrorCode.INVALID_KEY],
    [new Uint8Array([4, ...new Uint8Array(96)]), ErrorCode.INVALID_KEY],
    [publicKey.toSpki().slice(0, 50), ErrorCode.INVALID_KEY],
    ['-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n', ErrorCode.INVALID_KEY],
  ];
  for (const [input, code] of cases) await rejectsWith(assert, () => phiseal.importPublicKey(input), code);

  const ours = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
  const priv = await ours.privateKey.exportJwk();
  const n = 'ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973';
  await rejectsWith(assert, phiseal.importPrivateKey({ ...priv, d: Buffer.from(n, 'hex').toString('base64url') }), ErrorCode.INVALID_KEY);
  await rejectsWith(assert, phiseal.importPrivateKey({ ...priv, d: Buffer.alloc(48).toString('base64url') }), ErrorCode.INVALID_KEY);
  await rejectsWith(assert, phiseal.importPrivateKey({ ...priv, x: jwk.x, y: jwk.y }), ErrorCode.INVALID_KEY);
  await rejectsWith(assert, phiseal.importPrivateKey({ ...priv, d: undefined }), ErrorCode.INVALID_KEY);
  const der = await ours.privateKey.exportPkcs8();
  for (let len = 0; len < der.length; len++) {
    await rejectsWith(assert, phiseal.importPrivateKey(der.slice(0, len)), ErrorCode.INVALID_KEY);
  }
});

test('deriveKeyPair matches RFC 9180 DeriveKeyPair (P-384 vector entry 16)', async () => {
  const { readFile } = await import('node:fs/promises');
  const shared = process.env.SHARED ?? new URL('../../../shared', import.meta.url).pathname;
  const vectors = JSON.parse(await readFile(`${shared}/vectors/hpke/p384-cross-checked.json`, 'utf8'));
  const v = vectors[16];
  assert.deepEqual([v.kem_id, v.kdf_id, v.aead_id, v.mode], [17, 2, 2, 0]);
  const key = phiseal.deriveKeyPair(Buffer.from(v.ikmR, 'hex'));
  assert.equal(Buffer.from(key.publicKey.toSec1(false)).toString('hex'), v.pkRm);
  const ct = Buffer.from(v.encryptions[0].ct, 'hex');
  const pt = await phiseal.hpkeOpen(key, Buffer.from(v.enc, 'hex'), ct, {
    info: Buffer.from(v.info, 'hex'),
    aad: Buffer.from(v.encryptions[0].aad, 'hex'),
  });
  assert.equal(Buffer.from(pt).toString('hex'), v.encryptions[0].pt);
  await rejectsWith(assert, () => phiseal.deriveKeyPair(new Uint8Array(47)), ErrorCode.INVALID_ARGUMENT);
});
