// Linking a new device (issue #20, docs/FORMAT.md §10): through a relay that
// may sit in the middle, the new device commits to its key before it sees
// the existing device's; both show the same 6-digit code exactly when
// nothing was swapped; after the people confirm, the existing device adds
// the new device's key to records and index keys and seals it what else it
// must. Each attack the relay can make is played.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phiseal, rejectsWith } from './helpers.mjs';
import { DeviceLink } from '../../js/devices.js';

const relay = (m) => JSON.parse(JSON.stringify(m)); // the server: JSON in, JSON out

async function link(existingKey) {
  const fresh = await DeviceLink.create();
  const old = await DeviceLink.create({ privateKey: existingKey });
  const m1 = relay(await fresh.commit());
  const m2 = relay(await old.hello(m1));
  const m3 = relay(await fresh.reveal(m2));
  await old.accept(m3);
  return { fresh, old };
}

const SCHEMA = phiseal.defineSchema({ id: 'chart', version: 1, fields: { name: { group: 'identity' }, dx: { group: 'clinical' } } });

test('an honest link: the same code on both screens, then records, the index key and a secret reach the new device', async () => {
  const me = await phiseal.generateKeyPair();
  const author = await phiseal.generateAuthorKey();
  const indexKey = await phiseal.generateIndexKey();
  const record = { name: 'Ada', dx: 'J45' };
  const sealed = await phiseal.sealRecord(record, { schema: SCHEMA, recordId: 'r-1', recipients: [me.publicKey], author });
  const sealedIndex = await phiseal.sealIndexKey(indexKey, [me.publicKey], { author });
  const { fresh, old } = await link(me.privateKey);
  assert.match(fresh.code, /^\d{6}$/);
  assert.equal(fresh.code, old.code);
  assert.equal(fresh.fingerprint, old.fingerprint);
  await rejectsWith(assert, () => old.peer, 'MISUSE');
  await rejectsWith(assert, old.sealTo(new Uint8Array([1])), 'MISUSE');
  fresh.confirm();
  old.confirm();
  assert.ok(old.peer.equals(fresh.privateKey.publicKey));
  assert.ok(fresh.peer.equals(me.publicKey));
  // The existing device moves what it can open to the new key.
  const moved = await phiseal.rewrapRecord(sealed, {
    schema: SCHEMA, recordId: 'r-1', authors: [author.publicKey], privateKey: me.privateKey, recipients: [me.publicKey, old.peer], author,
  });
  const index = await phiseal.openIndexKey(sealedIndex, me.privateKey, { authors: [author.publicKey] });
  const resealed = await phiseal.sealIndexKey(index, [me.publicKey, old.peer], { author });
  const secret = new TextEncoder().encode('the portal session refresh token');
  const transfer = relay(await old.sealTo(secret));
  // The new device, with its own non-extractable key.
  assert.equal(fresh.privateKey.extractable, false);
  const opened = await phiseal.openRecord(moved, { schema: SCHEMA, recordId: 'r-1', authors: [author.publicKey], privateKey: fresh.privateKey });
  assert.deepEqual(opened.record, record);
  const its = await phiseal.openIndexKey(resealed, fresh.privateKey, { authors: [author.publicKey] });
  assert.equal(its.id, indexKey.id);
  assert.deepEqual(await fresh.open(transfer), secret);
});

test('attack: a relay in the middle shows two different codes; a swapped reveal is CONTEXT_MISMATCH; transfers are bound to the link', async () => {
  const me = await phiseal.generateKeyPair();
  // The relay runs a link of its own with each side: it plays the existing device to the new one, and the new device to the existing one.
  const fresh = await DeviceLink.create();
  const old = await DeviceLink.create({ privateKey: me.privateKey });
  const mitmAsOld = await DeviceLink.create({ privateKey: (await phiseal.generateKeyPair()).privateKey });
  const mitmAsNew = await DeviceLink.create();
  const c = await fresh.commit();
  const cM = await mitmAsNew.commit(); // to the existing device, its own commitment
  const hOld = await old.hello(cM);
  const hM = await mitmAsOld.hello(c);
  await fresh.reveal(hM);
  await old.accept(await mitmAsNew.reveal(hOld));
  assert.notEqual(fresh.fingerprint, old.fingerprint, 'the people see two different codes');
  // The relay forwards the real commitment but swaps the revealed key for its own: the commitment catches it.
  const a = await DeviceLink.create();
  const b = await DeviceLink.create({ privateKey: me.privateKey });
  const h = await b.hello(relay(await a.commit()));
  const honest = await a.reveal(h);
  const forged = { ...relay(honest), publicKey: (await phiseal.generateKeyPair()).publicKey.toJwk() };
  await rejectsWith(assert, b.accept(forged), 'CONTEXT_MISMATCH');
  const nonceSwapped = { ...relay(honest), nonce: honest.nonce.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')) };
  await rejectsWith(assert, b.accept(nonceSwapped), 'CONTEXT_MISMATCH');
  // A relay that reflects the existing device's own key to it.
  const c2 = await DeviceLink.create();
  const d2 = await DeviceLink.create({ privateKey: me.privateKey });
  const hello2 = await d2.hello(await c2.commit());
  await rejectsWith(assert, c2.reveal({ ...hello2, publicKey: c2.privateKey.publicKey.toJwk() }), 'UNTRUSTED_AUTHOR');
  // A transfer of another link, or from another device, does not open.
  const one = await link(me.privateKey);
  const two = await link(me.privateKey);
  for (const l of [one, two]) {
    l.fresh.confirm();
    l.old.confirm();
  }
  const t1 = await one.old.sealTo(new Uint8Array([1, 2, 3]));
  await rejectsWith(assert, two.fresh.open(t1), 'DECRYPT_FAILED');
  // Steps out of order or on the wrong side, and malformed messages.
  await rejectsWith(assert, one.old.commit(), 'MISUSE');
  await rejectsWith(assert, one.fresh.sealTo(new Uint8Array([1])), 'MISUSE');
  const e = await DeviceLink.create({ privateKey: me.privateKey });
  await rejectsWith(assert, e.hello({ v: 2, type: 'phiseal-device-commit', commitment: '' }), 'MALFORMED_INPUT');
  await rejectsWith(assert, e.hello({ v: 1, type: 'phiseal-device-commit', commitment: 'AAAA' }), 'MALFORMED_INPUT');
  await rejectsWith(assert, () => e.confirm(), 'MISUSE');
});
