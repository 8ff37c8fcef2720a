// Calls against a signalling server that writes (issue "calls the signalling
// server cannot join"): each test plays that server. The keyrings here are
// phiseal's own Rust SFrame sender and receiver (the ones the media worker
// runs), driven directly, so frames are really encrypted and decrypted; the
// browser suite (tests/browser/media-tests.js) runs the same calls through
// MediaKeyring workers and WebRTC.
import assert from 'node:assert/strict';
import test from 'node:test';
import * as wasm from '../../pkg/phiseal.js';
import { phiseal, rejectsWith, te, td } from './helpers.mjs';
import { SAFETY_CODE_DIGITS, SFRAME_KEY_INFO, SecureCall, callSafetyCode, generateBaseKey, unwrapBaseKey, wrapBaseKey } from '../../js/media.js';

const SUITE = 4; // AES_128_GCM_SHA256_128, the default

/** A keyring over phiseal's SframeSender / SframeReceiver (what js/media-worker.js holds). */
class RustKeyring {
  suite = SUITE;
  sender = null;
  receiver = new wasm.SframeReceiver(SUITE);
  async setSendKey(senderId, epoch, baseKey) {
    if (this.sender === null) this.sender = new wasm.SframeSender(SUITE, senderId, epoch, baseKey);
    else this.sender.rekey(epoch, baseKey);
    return epoch;
  }
  async setKey(senderId, epoch, baseKey) {
    this.receiver.setKey(senderId, epoch, baseKey);
  }
  async removeKey(senderId) {
    return this.receiver.removeKey(senderId);
  }
  send(text) {
    return this.sender.encrypt(te.encode(text), 0);
  }
  /** The frame's plaintext, or null when it is dropped. */
  receive(frame) {
    const out = this.receiver.decrypt(frame, 0);
    return out === undefined ? null : td.decode(out);
  }
}

const CALL = 'visit-2026-12-04-ana-souza';

async function participant(senderId) {
  const identity = await phiseal.generateKeyPair();
  const keyring = new RustKeyring();
  const call = new SecureCall({ call: CALL, identity, senderId, keyring });
  await call.start();
  return { identity, keyring, call, senderId, events: [] };
}

/** Two participants who admitted each other and exchanged keys, as the honest server relays it. */
async function honestPair() {
  const clinician = await participant(1);
  const patient = await participant(2);
  // Each pins the other ("hello"), then installs the key the other wrapped to it ("key").
  const wraps = [];
  for (const [me, them] of [[clinician, patient], [patient, clinician]]) {
    me.call.addEventListener('identitychange', (e) => me.events.push(['identitychange', e.detail]));
    me.call.addEventListener('refused', (e) => me.events.push(['refused', e.detail]));
    wraps.push([them, JSON.parse(JSON.stringify(await me.call.admit({ publicKey: them.identity.publicKey, senderId: them.senderId })))]);
  }
  for (const [them, w] of wraps) await them.call.acceptKey(w);
  return { clinician, patient };
}

test('an honest call: both install each other\'s keys, frames flow, both see the same safety code', async () => {
  // A key from someone not admitted yet is refused (the order is hello, then key).
  const early = await participant(1);
  const other = await participant(2);
  await rejectsWith(assert, other.call.acceptKey(await early.call.admit({ publicKey: other.identity.publicKey, senderId: 2 })), 'UNTRUSTED_AUTHOR', /not admitted/);
  const { clinician, patient } = await honestPair();
  assert.equal(clinician.keyring.receive(patient.keyring.send('patient frame')), 'patient frame');
  assert.equal(patient.keyring.receive(clinician.keyring.send('clinician frame')), 'clinician frame');
  const [a, b] = [await clinician.call.safetyCode(), await patient.call.safetyCode()];
  assert.deepEqual(a, b);
  assert.match(a.code, /^\d{5}( \d{5}){7}$/);
  assert.equal(a.code.replace(/ /g, '').length, SAFETY_CODE_DIGITS);
  assert.match(a.fingerprint, /^[0-9a-f]{96}$/);
  assert.equal(SFRAME_KEY_INFO, 'phiseal-sframe-key-v2');
});

test('attack: the server wraps a base key of its own to the clinician, labelled with the patient\'s sender id and a higher epoch', async () => {
  const { clinician, patient } = await honestPair();
  const server = await phiseal.generateKeyPair();
  const serverKey = generateBaseKey();
  const injectedFrame = new wasm.SframeSender(SUITE, patient.senderId, 7, serverKey).encrypt(te.encode('injected video'), 0);
  // 1. Made with the server's own identity key, honestly naming it as the sender.
  const own = await wrapBaseKey(serverKey, [clinician.identity.publicKey], { senderKey: server.privateKey, call: CALL, senderId: patient.senderId, epoch: 7 });
  await rejectsWith(assert, clinician.call.acceptKey(own), 'UNTRUSTED_AUTHOR', /pinned to identity/);
  // 2. The same, claiming the patient's kid as the sender: the HPKE auth-mode KEM fails.
  const claimed = own.map((w) => ({ ...w, sender: patient.identity.publicKey.kid }));
  await rejectsWith(assert, clinician.call.acceptKey(claimed), 'DECRYPT_FAILED');
  // 3. A version 1 (base mode, unauthenticated) wrap, as phiseal made before.
  const v1 = { v: 1, recipient: clinician.identity.publicKey.kid, suite: SUITE, senderId: patient.senderId, epoch: 7, enc: own[0].enc, ciphertext: own[0].ciphertext };
  await rejectsWith(assert, clinician.call.acceptKey(v1), 'UNSUPPORTED', /not authenticated/);
  // 4. Straight to unwrapBaseKey, which requires the expected sender.
  await rejectsWith(assert, unwrapBaseKey(clinician.identity.privateKey, own), 'INVALID_ARGUMENT', /needs \{sender, call\}/);
  await rejectsWith(assert, unwrapBaseKey(clinician.identity.privateKey, own, { sender: patient.identity.publicKey, call: CALL }), 'UNTRUSTED_AUTHOR');
  // Nothing was applied: the server's frames are dropped, the patient's still decrypt.
  assert.equal(clinician.keyring.receive(injectedFrame), null);
  assert.equal(clinician.keyring.receive(patient.keyring.send('still the patient')), 'still the patient');
  assert.deepEqual(clinician.events.map(([k]) => k), ['identitychange', 'refused', 'refused', 'refused']);
  assert.deepEqual(clinician.events[0][1], { senderId: 2, pinned: patient.identity.publicKey.kid, offered: server.publicKey.kid });
  // The control: the same wrap opens for whoever expects the server's key (the attack is real without the check).
  const opened = await unwrapBaseKey(clinician.identity.privateKey, own, { sender: server.publicKey, call: CALL });
  assert.deepEqual(opened.baseKey, serverKey);
});

test('attack: the server alters a genuine wrap (sender id, epoch, suite, call, recipient) or replays it into another call', async () => {
  const { clinician, patient } = await honestPair();
  const [genuine] = await patient.call.rekey();
  const expect = { sender: patient.identity.publicKey, call: CALL };
  const sk = clinician.identity.privateKey;
  for (const [field, value, code] of [
    ['senderId', 3, 'DECRYPT_FAILED'],
    ['epoch', 9, 'DECRYPT_FAILED'],
    ['suite', 5, 'DECRYPT_FAILED'],
    ['call', 'another-visit', 'CONTEXT_MISMATCH'],
    ['recipient', patient.identity.publicKey.kid, 'NOT_RECIPIENT'],
  ]) {
    await rejectsWith(assert, unwrapBaseKey(sk, { ...genuine, [field]: value }, expect), code);
  }
  // The genuine wrap opened in another call (both sides named the other call): the aad differs.
  await rejectsWith(assert, unwrapBaseKey(sk, { ...genuine, call: 'another-visit' }, { ...expect, call: 'another-visit' }), 'DECRYPT_FAILED');
  const opened = await unwrapBaseKey(sk, genuine, expect);
  assert.equal(opened.epoch, 1);
  await clinician.call.acceptKey(genuine);
  // Replaying it (or the epoch-0 wrap) once a newer key is in: the keyring refuses the old epoch.
  await rejectsWith(assert, clinician.call.acceptKey(genuine), 'INVALID_ARGUMENT', /epoch must increase/);
});

test('attack: a second "hello" swaps the patient\'s identity key; the pinned identity stays, the change is an event', async () => {
  const { clinician, patient } = await honestPair();
  const before = await clinician.call.safetyCode();
  const server = await phiseal.generateKeyPair();
  await rejectsWith(assert, clinician.call.admit({ publicKey: server.publicKey, senderId: patient.senderId }), 'UNTRUSTED_AUTHOR');
  // The server's key under a fresh sender id is a new participant (it shows in the code); the patient's key under another id is refused.
  await rejectsWith(assert, clinician.call.admit({ publicKey: patient.identity.publicKey, senderId: 99 }), 'UNTRUSTED_AUTHOR');
  assert.deepEqual(clinician.events.map(([k]) => k), ['identitychange', 'identitychange']);
  assert.deepEqual(clinician.call.participants.map((p) => p.kid), [patient.identity.publicKey.kid]);
  assert.deepEqual(await clinician.call.safetyCode(), before);
  // Admitting the same identity again re-wraps the current key to the same key only.
  const again = await clinician.call.admit({ publicKey: patient.identity.publicKey, senderId: patient.senderId });
  assert.equal(again.length, 1);
  assert.equal(again[0].recipient, patient.identity.publicKey.kid);
});

test('a participant leaving: a new epoch, wrapped only to those who remain; the one who left cannot read it', async () => {
  const clinician = await participant(1);
  const patient = await participant(2);
  const interpreter = await participant(3);
  const all = [clinician, patient, interpreter];
  const hellos = [];
  for (const me of all) {
    for (const them of all) if (me !== them) hellos.push([them, await me.call.admit({ publicKey: them.identity.publicKey, senderId: them.senderId })]);
  }
  for (const [them, w] of hellos) await them.call.acceptKey(w);
  assert.equal(interpreter.keyring.receive(clinician.keyring.send('epoch 0')), 'epoch 0');
  const wraps = await clinician.call.remove(interpreter.senderId);
  assert.equal(clinician.call.epoch, 1);
  assert.deepEqual(wraps.map((w) => w.recipient), [patient.identity.publicKey.kid]);
  await rejectsWith(assert, interpreter.call.acceptKey(wraps), 'NOT_RECIPIENT');
  await patient.call.acceptKey(wraps);
  const frame = clinician.keyring.send('after the interpreter left');
  assert.equal(patient.keyring.receive(frame), 'after the interpreter left');
  assert.equal(interpreter.keyring.receive(frame), null);
  // The clinician no longer accepts the interpreter's frames or keys.
  assert.equal(clinician.keyring.receive(interpreter.keyring.send('still here?')), null);
  await rejectsWith(assert, clinician.call.acceptKey(await interpreter.call.rekey()), 'UNTRUSTED_AUTHOR', /not admitted/);
  // And the codes: the clinician's and the patient's now cover the two of them only... once the patient removes the interpreter too.
  await patient.call.remove(interpreter.senderId);
  assert.deepEqual(await clinician.call.safetyCode(), await patient.call.safetyCode());
});

test('safety code: commits to the call, every identity key and every sender id, in any order', async () => {
  const a = await phiseal.generateKeyPair();
  const b = await phiseal.generateKeyPair();
  const m = await phiseal.generateKeyPair();
  const base = [{ publicKey: a.publicKey, senderId: 1 }, { publicKey: b.publicKey, senderId: 2 }];
  const code = await callSafetyCode(CALL, base);
  assert.deepEqual(await callSafetyCode(CALL, [...base].reverse()), code, 'order of participants');
  // A server in the middle: each side sees one of its keys in place of the other's.
  for (const changed of [
    await callSafetyCode('another-visit', base),
    await callSafetyCode(CALL, [base[0], { publicKey: m.publicKey, senderId: 2 }]),
    await callSafetyCode(CALL, [{ publicKey: m.publicKey, senderId: 1 }, base[1]]),
    await callSafetyCode(CALL, [base[0], { publicKey: b.publicKey, senderId: 3 }]),
    await callSafetyCode(CALL, [{ publicKey: a.publicKey, senderId: 2 }, { publicKey: b.publicKey, senderId: 1 }]),
    await callSafetyCode(CALL, [...base, { publicKey: m.publicKey, senderId: 3 }]),
  ]) {
    assert.notEqual(changed.code, code.code);
    assert.notEqual(changed.fingerprint, code.fingerprint);
  }
  await rejectsWith(assert, callSafetyCode(CALL, [base[0]]), 'INVALID_ARGUMENT');
  await rejectsWith(assert, callSafetyCode(CALL, [base[0], { publicKey: a.publicKey, senderId: 2 }]), 'INVALID_ARGUMENT', /public key appears twice/);
  await rejectsWith(assert, callSafetyCode(CALL, [base[0], { publicKey: b.publicKey, senderId: 1 }]), 'INVALID_ARGUMENT', /sender id appears twice/);
  await rejectsWith(assert, callSafetyCode('', base), 'INVALID_ARGUMENT');
});

test('safety code: the bytes hashed are those docs/FORMAT.md §7.3 gives', async () => {
  const a = await phiseal.generateKeyPair();
  const b = await phiseal.generateKeyPair();
  const rows = [
    [a.publicKey.toSec1(false), 1],
    [b.publicKey.toSec1(false), 2],
  ].map(([point, id]) => {
    const row = new Uint8Array(105);
    row.set(point);
    new DataView(row.buffer).setBigUint64(97, BigInt(id));
    return row;
  });
  rows.sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  const call = te.encode(CALL);
  const input = Buffer.concat([te.encode('phiseal-call-safety-v1'), Buffer.from([0, 0, call.length]), call, Buffer.from([0, 2]), ...rows]);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-384', input));
  const groups = [];
  for (let i = 0; i < 8; i++) groups.push(String(Number(Buffer.from(digest.subarray(5 * i, 5 * i + 5)).readUIntBE(0, 5) % 100000)).padStart(5, '0'));
  const got = await callSafetyCode(CALL, [{ publicKey: b.publicKey, senderId: 2 }, { publicKey: a.publicKey, senderId: 1 }]);
  assert.equal(got.fingerprint, Buffer.from(digest).toString('hex'));
  assert.equal(got.code, groups.join(' '));
});

test('wrap format: HPKE auth mode, info and aad as docs/FORMAT.md §7.2 gives them (opened with hpkeOpen alone)', async () => {
  const sender = await phiseal.generateKeyPair();
  const recipient = await phiseal.generateKeyPair();
  const baseKey = generateBaseKey();
  const [w] = await wrapBaseKey(baseKey, [recipient.publicKey], { senderKey: sender.privateKey, call: CALL, senderId: 258, epoch: 3 });
  assert.deepEqual(Object.keys(w).sort(), ['call', 'ciphertext', 'enc', 'epoch', 'recipient', 'sender', 'senderId', 'suite', 'v']);
  assert.deepEqual([w.v, w.call, w.sender, w.recipient, w.suite, w.senderId, w.epoch], [2, CALL, sender.publicKey.kid, recipient.publicKey.kid, SUITE, 258, 3]);
  const call = te.encode(CALL);
  const aad = Buffer.concat([Buffer.from([0, SUITE]), Buffer.from([0, 0, 0, 0, 0, 0, 1, 2]), Buffer.from([0, 0, 0, 0, 0, 0, 0, 3]), Buffer.from([0, call.length]), call]);
  const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
  const opened = await phiseal.hpkeOpen(recipient.privateKey, b64(w.enc), b64(w.ciphertext), { info: te.encode('phiseal-sframe-key-v2'), aad, senderPublicKey: sender.publicKey });
  assert.deepEqual(opened, baseKey);
  // Base mode (what a key-less forger can do) does not open it.
  await rejectsWith(assert, phiseal.hpkeOpen(recipient.privateKey, b64(w.enc), b64(w.ciphertext), { info: te.encode('phiseal-sframe-key-v2'), aad }), 'DECRYPT_FAILED');
  await rejectsWith(assert, wrapBaseKey(baseKey, [recipient.publicKey], { call: CALL, senderId: 1 }), 'INVALID_ARGUMENT', /senderKey is required/);
  await rejectsWith(assert, wrapBaseKey(baseKey, [recipient.publicKey], { senderKey: sender.privateKey, senderId: 1 }), 'INVALID_ARGUMENT', /call/);
  await rejectsWith(assert, wrapBaseKey(baseKey, [recipient.publicKey], { senderKey: sender.privateKey, call: 'x'.repeat(257), senderId: 1 }), 'INVALID_ARGUMENT', /256 bytes/);
});

test('SecureCall: misuse is refused', async () => {
  const me = await phiseal.generateKeyPair();
  const other = await phiseal.generateKeyPair();
  const keyring = new RustKeyring();
  assert.throws(() => new SecureCall({ call: CALL, identity: { privateKey: me.privateKey, publicKey: other.publicKey }, senderId: 1, keyring }), /one key pair/);
  assert.throws(() => new SecureCall({ call: CALL, identity: me, senderId: 1, keyring: {} }), /MediaKeyring/);
  const call = new SecureCall({ call: CALL, identity: me, senderId: 1, keyring });
  await rejectsWith(assert, call.admit({ publicKey: other.publicKey, senderId: 2 }), 'MISUSE', /start/);
  await call.start();
  await rejectsWith(assert, call.start(), 'MISUSE');
  // The server reflects this participant's own hello back, or reuses its sender id: an identity change, not an admission.
  const changes = [];
  call.addEventListener('identitychange', (e) => changes.push(e.detail));
  await rejectsWith(assert, call.admit({ publicKey: me.publicKey, senderId: 2 }), 'UNTRUSTED_AUTHOR');
  await rejectsWith(assert, call.admit({ publicKey: other.publicKey, senderId: 1 }), 'UNTRUSTED_AUTHOR');
  assert.equal(changes.length, 2);
  await rejectsWith(assert, call.verify(5), 'INVALID_ARGUMENT', /no participant 5/);
  assert.throws(() => new SecureCall({ call: CALL, identity: me, senderId: 1, keyring, maxParticipants: 0 }), /maxParticipants/);
  await call.admit({ publicKey: other.publicKey, senderId: 2 });
  await call.verify(2);
  assert.deepEqual(call.participants, [{ senderId: 2, kid: other.publicKey.kid, verified: true }]);
});

test('attack: the server says "hello" as a new participant (another sender id) in a two-party visit', async () => {
  const clinician = await participant(1);
  const patient = await participant(2);
  const visit = new SecureCall({ call: CALL, identity: clinician.identity, senderId: 1, keyring: new RustKeyring(), maxParticipants: 1 });
  await visit.start();
  const changes = [];
  visit.addEventListener('identitychange', (e) => changes.push(e.detail));
  await visit.admit({ publicKey: patient.identity.publicKey, senderId: 2 });
  const code = await visit.safetyCode();
  const server = await phiseal.generateKeyPair();
  await rejectsWith(assert, visit.admit({ publicKey: server.publicKey, senderId: 77 }), 'UNTRUSTED_AUTHOR', /maxParticipants 1/);
  assert.deepEqual(changes.map((c) => [c.senderId, c.offered]), [[77, server.publicKey.kid]]);
  assert.deepEqual(visit.participants.map((p) => p.senderId), [2]);
  assert.deepEqual(await visit.safetyCode(), code);
  // A rekey still goes to the patient only.
  assert.deepEqual((await visit.rekey()).map((w) => w.recipient), [patient.identity.publicKey.kid]);
  // Without the limit (a group call) the newcomer is admitted, and the code every participant compares changes.
  await clinician.call.admit({ publicKey: patient.identity.publicKey, senderId: 2 });
  const before = await clinician.call.safetyCode();
  await clinician.call.admit({ publicKey: server.publicKey, senderId: 77 });
  assert.notEqual((await clinician.call.safetyCode()).code, before.code);
});

test('requireVerified: no key is wrapped to, or installed from, a participant before the people compared the code', async () => {
  const make = async (senderId) => {
    const identity = await phiseal.generateKeyPair();
    const keyring = new RustKeyring();
    const call = new SecureCall({ call: CALL, identity, senderId, keyring, requireVerified: true, maxParticipants: 1 });
    await call.start();
    return { identity, keyring, call, senderId };
  };
  const a = await make(1);
  const b = await make(2);
  assert.deepEqual(await a.call.admit({ publicKey: b.identity.publicKey, senderId: 2 }), []);
  assert.deepEqual(await b.call.admit({ publicKey: a.identity.publicKey, senderId: 1 }), []);
  assert.deepEqual(await a.call.rekey(), [], 'a rekey wraps to verified participants only');
  // b verifies first and sends its key; a holds it (authentic) without installing it.
  const fromB = await b.call.verify(1);
  assert.equal(fromB.length, 1);
  assert.deepEqual(await a.call.acceptKey(fromB), { senderId: 2, epoch: 0, held: true });
  assert.equal(a.keyring.receive(b.keyring.send('before a verified')), null);
  // A forged wrap is still refused at once, never held.
  const server = await phiseal.generateKeyPair();
  const forged = await wrapBaseKey(generateBaseKey(), [a.identity.publicKey], { senderKey: server.privateKey, call: CALL, senderId: 2, epoch: 3 });
  await rejectsWith(assert, a.call.acceptKey(forged.map((w) => ({ ...w, sender: b.identity.publicKey.kid }))), 'DECRYPT_FAILED');
  // a verifies: the held key is installed, and a's key goes to b.
  const fromA = await a.call.verify(2);
  assert.equal(a.keyring.receive(b.keyring.send('after a verified')), 'after a verified');
  await b.call.acceptKey(fromA);
  assert.equal(b.keyring.receive(a.keyring.send('both ways')), 'both ways');
  assert.deepEqual(await a.call.verify(2), [], 'verifying again sends nothing new');
});

test('attack: the server triggers a rekey while a participant is removed; the removed one never gets the new key', async () => {
  const a = await participant(1);
  const b = await participant(2);
  const c = await participant(3);
  for (const them of [b, c]) await them.call.admit({ publicKey: a.identity.publicKey, senderId: 1 });
  const toB = await a.call.admit({ publicKey: b.identity.publicKey, senderId: 2 });
  await a.call.admit({ publicKey: c.identity.publicKey, senderId: 3 });
  await b.call.acceptKey(toB);
  // Issued together, as a "key-request" arriving during a hang-up would.
  const [rekeyed, removed] = await Promise.all([a.call.rekey(), a.call.remove(2)]);
  assert.deepEqual(rekeyed.map((w) => w.epoch), [1, 1]);
  assert.deepEqual(removed.map((w) => [w.recipient, w.epoch]), [[c.identity.publicKey.kid, 2]]);
  assert.equal(a.call.epoch, 2);
  const frame = a.keyring.send('after b left');
  await b.call.acceptKey(rekeyed).catch(() => {});
  assert.equal(b.keyring.receive(frame), null, 'b reads epoch 2');
  await c.call.acceptKey(removed);
  assert.equal(c.keyring.receive(frame), 'after b left');
});

test('a wrap for another cipher suite is refused', async () => {
  const { clinician, patient } = await honestPair();
  const other = await wrapBaseKey(generateBaseKey(5), [clinician.identity.publicKey], { senderKey: patient.identity.privateKey, call: CALL, senderId: 2, epoch: 4, suite: 5 });
  await rejectsWith(assert, clinician.call.acceptKey(other), 'CONTEXT_MISMATCH', /cipher suite/);
});

test('attack: with trust, the server\'s own call identity, or one certified for another purpose, is not admitted', async () => {
  const root = phiseal.SigningKey.generate();
  const now = Date.now();
  const trust = new phiseal.Trust({ roots: [root.publicKey], requireRevocations: false });
  const certify = (publicKey, purposes) =>
    phiseal.issueCertificate({ subject: 'ana', name: 'Ana Souza', role: 'patient', purposes, publicKey, notBefore: now - 60_000, notAfter: now + 3_600_000 }, root);
  const clinician = await participant(1);
  const patient = await phiseal.generateKeyPair();
  const call = new SecureCall({ call: CALL, identity: clinician.identity, senderId: 1, keyring: new RustKeyring(), trust, maxParticipants: 1 });
  await call.start();
  const server = await phiseal.generateKeyPair();
  await rejectsWith(assert, call.admit({ publicKey: server.publicKey, senderId: 2 }), 'UNTRUSTED_KEY');
  const otherRoot = phiseal.SigningKey.generate();
  const foreign = phiseal.issueCertificate({ subject: 'ana', name: 'Ana', role: 'patient', purposes: ['media'], publicKey: server.publicKey, notBefore: now - 60_000, notAfter: now + 3_600_000 }, otherRoot);
  await rejectsWith(assert, call.admit({ certificate: foreign, senderId: 2 }), 'UNTRUSTED_KEY');
  await rejectsWith(assert, call.admit({ certificate: certify(patient.publicKey, ['encrypt']), senderId: 2 }), 'WRONG_PURPOSE');
  const wraps = await call.admit({ certificate: certify(patient.publicKey, ['media']), senderId: 2 });
  assert.equal(wraps[0].recipient, patient.publicKey.kid);
  assert.deepEqual(call.participants[0].identity, { subject: 'ana', name: 'Ana Souza', role: 'patient' });
});
