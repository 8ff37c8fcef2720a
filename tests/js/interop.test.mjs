// Live interoperability with an independent HPKE implementation:
// @hpke/core (hpke-js, WebCrypto underneath), DHKEM(P-384, HKDF-SHA384),
// HKDF-SHA384, AES-256-GCM, every mode, both directions, and export.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aes256Gcm, CipherSuite, DhkemP384HkdfSha384, HkdfSha384 } from '@hpke/core';
import { phiseal, bytes, td, rand, PSK, PSK_ID } from './helpers.mjs';

const suite = new CipherSuite({ kem: new DhkemP384HkdfSha384(), kdf: new HkdfSha384(), aead: new Aes256Gcm() });
const u8 = (b) => new Uint8Array(b);
const MODES = ['base', 'psk', 'auth', 'auth_psk'];
const hasPsk = (m) => m.endsWith('psk');
const hasAuth = (m) => m.startsWith('auth');

async function toHpkeJsPublic(publicKey) {
  return suite.kem.importKey('raw', publicKey.toSec1(false).buffer.slice(0), true);
}
async function toHpkeJsPrivate(privateKey) {
  const jwk = await privateKey.exportJwk();
  return suite.kem.importKey('jwk', jwk, false);
}

for (const provider of ['wasm', 'webcrypto']) {
  test(`@hpke/core seals, phiseal opens (${provider}), every mode`, async () => {
    const recipient = await phiseal.generateKeyPair({ provider, extractable: true });
    const sender = await phiseal.generateKeyPair({ provider, extractable: true });
    for (const mode of MODES) {
      const info = bytes(`interop ${mode}`);
      const aad = rand(12);
      const pt = bytes(`from hpke-js, ${mode}`);
      const params = { recipientPublicKey: await toHpkeJsPublic(recipient.publicKey), info };
      if (hasPsk(mode)) params.psk = { id: PSK_ID, key: PSK };
      if (hasAuth(mode)) params.senderKey = await toHpkeJsPrivate(sender.privateKey);
      const ctx = await suite.createSenderContext(params);
      const ct1 = u8(await ctx.seal(pt, aad));
      const ct2 = u8(await ctx.seal(bytes('second'), aad));
      const exported = u8(await ctx.export(bytes('exp ctx'), 64));
      const opts = { info };
      if (hasPsk(mode)) Object.assign(opts, { psk: PSK, pskId: PSK_ID });
      if (hasAuth(mode)) opts.senderPublicKey = sender.publicKey;
      const enc = u8(ctx.enc);
      assert.equal(td.decode(await phiseal.hpkeOpen(recipient.privateKey, enc, ct1, { ...opts, aad })), td.decode(pt));
      const r = await phiseal.hpkeSetupRecipient(recipient.privateKey, enc, opts);
      assert.deepEqual(r.open(ct1, aad), pt);
      assert.equal(td.decode(r.open(ct2, aad)), 'second');
      assert.deepEqual(r.export(bytes('exp ctx'), 64), exported);
    }
  });

  test(`phiseal seals (${provider}), @hpke/core opens, every mode`, async () => {
    const recipient = await phiseal.generateKeyPair({ provider, extractable: true });
    const sender = await phiseal.generateKeyPair({ provider, extractable: true });
    for (const mode of MODES) {
      const info = bytes(`interop ${mode}`);
      const aad = rand(7);
      const opts = { info, provider };
      if (hasPsk(mode)) Object.assign(opts, { psk: PSK, pskId: PSK_ID });
      if (hasAuth(mode)) opts.senderKey = sender.privateKey;
      const { enc, context } = await phiseal.hpkeSetupSender(recipient.publicKey, opts);
      const ct1 = context.seal(bytes(`from phiseal, ${mode}`), aad);
      const ct2 = context.seal(bytes('second'), aad);
      const params = { recipientKey: await toHpkeJsPrivate(recipient.privateKey), enc: enc.buffer.slice(0), info };
      if (hasPsk(mode)) params.psk = { id: PSK_ID, key: PSK };
      if (hasAuth(mode)) params.senderPublicKey = await toHpkeJsPublic(sender.publicKey);
      const r = await suite.createRecipientContext(params);
      assert.equal(td.decode(await r.open(ct1, aad)), `from phiseal, ${mode}`);
      assert.equal(td.decode(await r.open(ct2, aad)), 'second');
      assert.deepEqual(u8(await r.export(bytes('exp ctx'), 48)), context.export(bytes('exp ctx'), 48));

      const single = await phiseal.hpkeSeal(recipient.publicKey, bytes('single'), { ...opts, aad });
      const sp = { ...params, enc: single.enc.buffer.slice(0) };
      assert.equal(td.decode(await suite.open(sp, single.ciphertext, aad)), 'single');
    }
  });
}

test('DeriveKeyPair agrees with @hpke/core', async () => {
  await phiseal.init();
  for (let i = 0; i < 8; i++) {
    const ikm = rand(48 + i);
    const theirs = await suite.kem.deriveKeyPair(ikm.buffer);
    const ours = phiseal.deriveKeyPair(ikm);
    assert.deepEqual(ours.publicKey.toSec1(false), u8(await suite.kem.serializePublicKey(theirs.publicKey)));
  }
});
