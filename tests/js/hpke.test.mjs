// HPKE through the npm surface: round trips in every mode and suite,
// contexts, export, and rejection of every kind of tampering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phiseal, bytes, td, rand, modes, rejectsWith, PSK, PSK_ID } from './helpers.mjs';

const { Kdf, Aead, ErrorCode } = phiseal;

for (const provider of ['wasm', 'webcrypto']) {
  test(`single-shot round trip in every mode (${provider} keys)`, async () => {
    const { privateKey, publicKey } = await phiseal.generateKeyPair({ provider });
    assert.equal(privateKey.provider, provider);
    for (const m of await modes()) {
      const info = bytes('phiseal test ' + m.name);
      const aad = bytes('record-1');
      const { enc, ciphertext } = await phiseal.hpkeSeal(publicKey, bytes('diagnosis: J45'), { info, aad, provider, ...m.seal });
      assert.equal(enc.length, 97);
      assert.equal(ciphertext.length, 'diagnosis: J45'.length + 16);
      const pt = await phiseal.hpkeOpen(privateKey, enc, ciphertext, { info, aad, ...m.open });
      assert.equal(td.decode(pt), 'diagnosis: J45', m.name);
    }
  });
}

test('every KDF and AEAD of the P-384 suites round-trips', async () => {
  const { privateKey, publicKey } = await phiseal.generateKeyPair();
  for (const kdf of Object.values(Kdf)) {
    for (const aead of [Aead.AES_128_GCM, Aead.AES_256_GCM]) {
      const { enc, ciphertext } = await phiseal.hpkeSeal(publicKey, bytes('x'), { kdf, aead });
      assert.equal(td.decode(await phiseal.hpkeOpen(privateKey, enc, ciphertext, { kdf, aead })), 'x');
      await rejectsWith(assert, phiseal.hpkeOpen(privateKey, enc, ciphertext, { kdf: kdf === 1 ? 2 : 1, aead }), ErrorCode.DECRYPT_FAILED);
    }
  }
});

test('tampering, wrong key, wrong info/aad/psk/sender are all DECRYPT_FAILED', async () => {
  const { privateKey, publicKey } = await phiseal.generateKeyPair();
  const other = await phiseal.generateKeyPair();
  const [, psk, auth] = await modes();
  const info = bytes('info');
  const aad = bytes('aad');
  const { enc, ciphertext } = await phiseal.hpkeSeal(publicKey, bytes('secret'), { info, aad });
  for (let i = 0; i < ciphertext.length; i++) {
    for (const bit of [0x01, 0x80]) {
      const bad = ciphertext.slice();
      bad[i] ^= bit;
      await rejectsWith(assert, phiseal.hpkeOpen(privateKey, enc, bad, { info, aad }), ErrorCode.DECRYPT_FAILED);
    }
  }
  for (let n = 0; n < ciphertext.length; n++) {
    await rejectsWith(assert, phiseal.hpkeOpen(privateKey, enc, ciphertext.slice(0, n), { info, aad }), ErrorCode.DECRYPT_FAILED);
  }
  await rejectsWith(assert, phiseal.hpkeOpen(other.privateKey, enc, ciphertext, { info, aad }), ErrorCode.DECRYPT_FAILED);
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, enc, ciphertext, { info: bytes('inf0'), aad }), ErrorCode.DECRYPT_FAILED);
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, enc, ciphertext, { info }), ErrorCode.DECRYPT_FAILED);

  const sealedPsk = await phiseal.hpkeSeal(publicKey, bytes('p'), psk.seal);
  const wrongPsk = { psk: PSK.map((b, i) => (i === 0 ? b ^ 1 : b)), pskId: PSK_ID };
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, sealedPsk.enc, sealedPsk.ciphertext, wrongPsk), ErrorCode.DECRYPT_FAILED);
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, sealedPsk.enc, sealedPsk.ciphertext, { psk: PSK, pskId: bytes('x') }), ErrorCode.DECRYPT_FAILED);
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, sealedPsk.enc, sealedPsk.ciphertext), ErrorCode.DECRYPT_FAILED);

  const sealedAuth = await phiseal.hpkeSeal(publicKey, bytes('a'), auth.seal);
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, sealedAuth.enc, sealedAuth.ciphertext, { senderPublicKey: other.publicKey }), ErrorCode.DECRYPT_FAILED);
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, sealedAuth.enc, sealedAuth.ciphertext), ErrorCode.DECRYPT_FAILED);
});

test('a bad enc is INVALID_KEY, bad PSK inputs are INVALID_ARGUMENT', async () => {
  const { privateKey, publicKey } = await phiseal.generateKeyPair();
  const { enc, ciphertext } = await phiseal.hpkeSeal(publicKey, bytes('m'));
  const offCurve = enc.slice();
  offCurve[96] ^= 1;
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, offCurve, ciphertext), ErrorCode.INVALID_KEY);
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, enc.slice(0, 96), ciphertext), ErrorCode.INVALID_KEY);
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, publicKey.toSec1(true), ciphertext), ErrorCode.INVALID_KEY);
  await rejectsWith(assert, phiseal.hpkeOpen(privateKey, new Uint8Array(97), ciphertext), ErrorCode.INVALID_KEY);
  await rejectsWith(assert, phiseal.hpkeSeal(publicKey, bytes('m'), { psk: rand(16), pskId: bytes('id') }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.hpkeSeal(publicKey, bytes('m'), { psk: PSK }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.hpkeSeal(publicKey, bytes('m'), { pskId: PSK_ID }), ErrorCode.INVALID_ARGUMENT);
});

test('contexts: ordered messages, failed open does not advance, export agrees', async () => {
  const { privateKey, publicKey } = await phiseal.generateKeyPair();
  const info = bytes('ctx');
  const { enc, context: sender } = await phiseal.hpkeSetupSender(publicKey, { info });
  const recipient = await phiseal.hpkeSetupRecipient(privateKey, enc, { info });
  const cts = [0, 1, 2].map((i) => sender.seal(bytes(`msg ${i}`), bytes(`aad ${i}`)));
  assert.equal(sender.seq, 3);
  await rejectsWith(assert, () => recipient.open(cts[1], bytes('aad 1')), ErrorCode.DECRYPT_FAILED);
  assert.equal(recipient.seq, 0);
  for (let i = 0; i < 3; i++) assert.equal(td.decode(recipient.open(cts[i], bytes(`aad ${i}`))), `msg ${i}`);
  assert.equal(recipient.seq, 3);
  const a = sender.export(bytes('exporter'), 48);
  assert.deepEqual(recipient.export(bytes('exporter'), 48), a);
  assert.notDeepEqual(recipient.export(bytes('exporter2'), 48), a);
  await rejectsWith(assert, () => sender.export(bytes('x'), 255 * 48 + 1), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => sender.export(bytes('x'), -1), ErrorCode.INVALID_ARGUMENT);

  const exportOnly = await phiseal.hpkeSetupSender(publicKey, { aead: Aead.EXPORT_ONLY });
  await rejectsWith(assert, () => exportOnly.context.seal(bytes('no')), ErrorCode.MISUSE);
  const r2 = await phiseal.hpkeSetupRecipient(privateKey, exportOnly.enc, { aead: Aead.EXPORT_ONLY });
  assert.deepEqual(r2.export(bytes('e'), 32), exportOnly.context.export(bytes('e'), 32));
});

test('prepareEphemeralKeys: seals with prepared keys open, and no ephemeral key is ever used twice', async () => {
  const { privateKey, publicKey } = await phiseal.generateKeyPair();
  assert.equal(await phiseal.prepareEphemeralKeys(24), 24);
  const seen = new Set();
  for (let i = 0; i < 40; i++) {
    const pt = new Uint8Array([i]);
    const { enc, ciphertext } = await phiseal.hpkeSeal(publicKey, pt);
    const hex = Buffer.from(enc).toString('hex');
    assert.ok(!seen.has(hex), `ephemeral key reused at seal ${i}`);
    seen.add(hex);
    assert.deepEqual(await phiseal.hpkeOpen(privateKey, enc, ciphertext), pt);
  }
  for (const bad of [-1, 257, 1.5, '3', null]) {
    await rejectsWith(assert, () => phiseal.prepareEphemeralKeys(bad), phiseal.ErrorCode.INVALID_ARGUMENT);
  }
});
