// Certified keys (docs/TRUST.md) through the JavaScript API, played as a
// server that hands out keys: with `trust` set, sealRecord refuses a swapped
// clinician key, a key certified by another root, a revoked key and a
// billing key added to the clinical group; openRecord refuses an
// uncertified or expired author and reports the certified identity.
// Certificates interoperate with the independent `jose` library both ways.
import assert from 'node:assert/strict';
import test from 'node:test';
import * as jose from 'jose';
import { phiseal, rejectsWith } from './helpers.mjs';

const NOW = Date.UTC(2026, 11, 4, 12);
const DAY = 86_400_000;
const SCHEMA = phiseal.defineSchema({
  id: 'intake',
  version: 1,
  fields: { 'patient.name': { mode: 'random', group: 'clinical' }, diagnosis: { mode: 'random', group: 'clinical' }, insurer: { mode: 'random', group: 'billing' } },
});
const RECORD = { patient: { name: 'Ana Souza' }, diagnosis: 'J45.909', insurer: 'Acme Health', patientId: 'p-1' };

async function organisation() {
  const root = phiseal.SigningKey.generate();
  const revocations = (serials = [], issuedAt = NOW - 10_000) => phiseal.issueRevocations(serials, root, { issuedAt, expires: NOW + DAY });
  const trust = new phiseal.Trust({ roots: [root.publicKey], revocations: revocations(), clock: () => NOW });
  const member = async (subject, role, groups, purposes, validity = { notBefore: NOW - DAY, notAfter: NOW + 30 * DAY }) => {
    const keys = purposes.includes('sign') ? await phiseal.generateAuthorKey() : await phiseal.generateKeyPair();
    const publicKey = keys.publicKey;
    const certificate = phiseal.issueCertificate({ subject, name: subject, role, groups, purposes, publicKey, ...validity }, root, { issuedAt: NOW });
    return { keys, publicKey, certificate };
  };
  return { root, trust, revocations, member };
}

test('sealRecord with trust: certified recipients seal and open; the opener sees the certified author', async () => {
  const org = await organisation();
  const clinician = await org.member('dr-lee', 'clinician', ['clinical'], ['encrypt']);
  const billing = await org.member('bill-1', 'billing', ['billing'], ['encrypt']);
  const intake = await org.member('intake-desk', 'intake', [], ['sign']);
  const sealed = await phiseal.sealRecord(RECORD, {
    schema: SCHEMA,
    recordId: 'r-1',
    recipients: [{ certificate: clinician.certificate, groups: ['clinical'] }, { certificate: billing.certificate, groups: ['billing'] }],
    author: intake.keys,
    trust: org.trust,
  });
  const opened = await phiseal.openRecord(sealed, { schema: SCHEMA, recordId: 'r-1', privateKey: clinician.keys.privateKey, authors: [intake.certificate], trust: org.trust });
  assert.equal(opened.record.diagnosis, 'J45.909');
  assert.deepEqual(opened.author, { kid: intake.publicKey.kid, subject: 'intake-desk', name: 'intake-desk', role: 'intake', groups: [] });
  const certified = await org.trust.certify(clinician.certificate, { purpose: 'encrypt', groups: ['clinical'] });
  assert.equal(certified.kid, clinician.publicKey.kid);
  assert.equal(certified.notAfter, NOW - (NOW % 1000) + 30 * DAY);
});

test('attack: the server swaps the clinician key, or serves a key certified by another root, or its own bare key', async () => {
  const org = await organisation();
  const other = await organisation();
  const intake = await org.member('intake-desk', 'intake', [], ['sign']);
  const forged = await other.member('dr-lee', 'clinician', ['clinical'], ['encrypt']);
  const seal = (recipients) => phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'r-1', recipients, author: intake.keys, trust: org.trust });
  await rejectsWith(assert, seal([{ certificate: forged.certificate }]), 'UNTRUSTED_KEY');
  const serverKey = await phiseal.generateKeyPair();
  await rejectsWith(assert, seal([serverKey.publicKey]), 'UNTRUSTED_KEY', /not certified/);
  await rejectsWith(assert, seal([{ publicKey: serverKey.publicKey, groups: ['clinical'] }]), 'UNTRUSTED_KEY');
  // A genuine certificate whose key the server replaced (the signature covers cnf.jwk).
  const genuine = await org.member('dr-lee', 'clinician', ['clinical', 'billing'], ['encrypt']);
  const [h, p, s] = genuine.certificate.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.cnf.jwk = serverKey.publicKey.toJwk();
  const swapped = [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
  await rejectsWith(assert, seal([{ certificate: swapped }]), 'INVALID_SIGNATURE');
  // The control: the genuine certificate seals.
  await seal([{ certificate: genuine.certificate }]);
});

test('attack: a revoked key, a billing key in the clinical group, an expired or not yet valid key, a signing key as a recipient', async () => {
  const org = await organisation();
  const intake = await org.member('intake-desk', 'intake', [], ['sign']);
  const seal = (recipients, trust = org.trust) => phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'r-1', recipients, author: intake.keys, trust });
  const billing = await org.member('bill-1', 'billing', ['billing'], ['encrypt']);
  await rejectsWith(assert, seal([{ certificate: billing.certificate, groups: ['clinical'] }]), 'ACCESS_DENIED');
  // Without groups a recipient gets every schema group, so it must be certified for all of them.
  await rejectsWith(assert, seal([{ certificate: billing.certificate }]), 'ACCESS_DENIED');
  const expired = await org.member('old', 'clinician', ['clinical', 'billing'], ['encrypt'], { notBefore: NOW - 30 * DAY, notAfter: NOW - DAY });
  await rejectsWith(assert, seal([{ certificate: expired.certificate }]), 'KEY_EXPIRED');
  const early = await org.member('new', 'clinician', ['clinical', 'billing'], ['encrypt'], { notBefore: NOW + DAY, notAfter: NOW + 2 * DAY });
  await rejectsWith(assert, seal([{ certificate: early.certificate }]), 'KEY_EXPIRED');
  const signer = await org.member('signer', 'clinician', ['clinical', 'billing'], ['sign']);
  await rejectsWith(assert, seal([{ certificate: signer.certificate }]), 'WRONG_PURPOSE');
  const clinician = await org.member('dr-lee', 'clinician', ['clinical', 'billing'], ['encrypt']);
  await seal([{ certificate: clinician.certificate }]);
  const serial = (await org.trust.certify(clinician.certificate, { purpose: 'encrypt' })).serial;
  org.trust.addRevocations(org.revocations([serial], NOW - 5_000));
  await rejectsWith(assert, seal([{ certificate: clinician.certificate }]), 'KEY_REVOKED');
  // The server serves the older list again: refused, the revocation stays.
  assert.throws(() => org.trust.addRevocations(org.revocations([], NOW - 9_000)), (e) => e.code === 'STALE_VERSION');
  await rejectsWith(assert, seal([{ certificate: clinician.certificate }]), 'KEY_REVOKED');
  // A Trust without any current revocation list refuses everything.
  const noList = new phiseal.Trust({ roots: [org.root.publicKey], clock: () => NOW });
  await rejectsWith(assert, seal([{ certificate: billing.certificate, groups: ['billing'] }], noList), 'KEY_EXPIRED', /revocation list/);
});

test('attack: a record signed by an uncertified, expired or wrong-purpose author is refused with the reason', async () => {
  const org = await organisation();
  const clinician = await org.member('dr-lee', 'clinician', ['clinical', 'billing'], ['encrypt']);
  const good = await org.member('intake-desk', 'intake', [], ['sign']);
  const expired = await org.member('old-desk', 'intake', [], ['sign'], { notBefore: NOW - 30 * DAY, notAfter: NOW - DAY });
  const sealBy = (author) => phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'r-1', recipients: [clinician.publicKey], author: author.keys });
  const open = (sealed, authors) => phiseal.openRecord(sealed, { schema: SCHEMA, recordId: 'r-1', privateKey: clinician.keys.privateKey, authors, trust: org.trust });
  // The server writes a record with an author key of its own and lists it as an author.
  const server = { keys: await phiseal.generateAuthorKey() };
  await rejectsWith(assert, open(await sealBy(server), [good.certificate]), 'UNTRUSTED_AUTHOR');
  await rejectsWith(assert, open(await sealBy(server), [server.keys.publicKey]), 'UNTRUSTED_KEY');
  // A record by the expired author: its certificate's refusal, not a generic one.
  await rejectsWith(assert, open(await sealBy(expired), [good.certificate, expired.certificate]), 'KEY_EXPIRED');
  await rejectsWith(assert, open(await sealBy(expired), [expired.certificate]), 'KEY_EXPIRED');
  // An encryption-only certificate is not an author certificate.
  const notSigner = await org.member('enc', 'clinician', [], ['encrypt']);
  await rejectsWith(assert, open(await sealBy(good), [notSigner.certificate]), 'WRONG_PURPOSE');
  const ok = await open(await sealBy(good), [good.certificate, expired.certificate]);
  assert.equal(ok.author.subject, 'intake-desk');
});

test('sealIndexKey / openIndexKey with trust: every recipient certified for every group the key serves', async () => {
  const org = await organisation();
  const clinician = await org.member('dr-lee', 'clinician', ['clinical', 'billing'], ['encrypt']);
  const billing = await org.member('bill-1', 'billing', ['billing'], ['encrypt']);
  const admin = await org.member('admin', 'admin', [], ['sign']);
  const ik = await phiseal.generateIndexKey();
  const groups = ['clinical', 'billing'];
  const sealed = await phiseal.sealIndexKey(ik, [{ certificate: clinician.certificate }], { author: admin.keys, trust: org.trust, groups });
  const opened = await phiseal.openIndexKey(sealed, clinician.keys.privateKey, { authors: [admin.certificate], trust: org.trust });
  assert.equal(opened.id, ik.id);
  const server = await phiseal.generateKeyPair();
  await rejectsWith(assert, phiseal.sealIndexKey(ik, [server.publicKey], { author: admin.keys, trust: org.trust, groups }), 'UNTRUSTED_KEY');
  // A genuine billing certificate served as "the clinician's" does not get the key to clinical deterministic fields.
  await rejectsWith(assert, phiseal.sealIndexKey(ik, [{ certificate: billing.certificate }], { author: admin.keys, trust: org.trust, groups }), 'ACCESS_DENIED');
  await rejectsWith(assert, phiseal.sealIndexKey(ik, [{ certificate: clinician.certificate }], { author: admin.keys, trust: org.trust }), 'INVALID_ARGUMENT', /needs groups/);
  await rejectsWith(assert, phiseal.sealIndexKey(ik, [{ certificate: clinician.certificate, groups: ['clinical'] }], { author: admin.keys, trust: org.trust, groups }), 'INVALID_ARGUMENT');
  // An index key forged by the server, opened with a refused author among the trusted ones: still UNTRUSTED_AUTHOR, not the other author's refusal.
  const expired = await org.member('old', 'admin', [], ['sign'], { notBefore: NOW - 30 * DAY, notAfter: NOW - DAY });
  const forged = await phiseal.sealIndexKey(ik, [clinician.publicKey], { author: await phiseal.generateAuthorKey() });
  await rejectsWith(assert, phiseal.openIndexKey(forged, clinician.keys.privateKey, { authors: [admin.certificate, expired.certificate], trust: org.trust }), 'UNTRUSTED_AUTHOR');
});

test('author certificates: two for one key with different identities are refused; an unreadable one is skipped like a refused one', async () => {
  const org = await organisation();
  const clinician = await org.member('dr-lee', 'clinician', ['clinical', 'billing'], ['encrypt']);
  const desk = await org.member('desk', 'intake', [], ['sign']);
  const chief = phiseal.issueCertificate(
    { subject: 'chief', name: 'Chief of Medicine', role: 'admin', purposes: ['sign'], publicKey: desk.publicKey, notBefore: NOW - DAY, notAfter: NOW + DAY },
    org.root,
    { issuedAt: NOW },
  );
  const sealed = await phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'r-1', recipients: [clinician.publicKey], author: desk.keys });
  const open = (authors) => phiseal.openRecord(sealed, { schema: SCHEMA, recordId: 'r-1', privateKey: clinician.keys.privateKey, authors, trust: org.trust });
  await rejectsWith(assert, open([chief, desk.certificate]), 'UNTRUSTED_KEY', /different identities/);
  assert.equal((await open([desk.certificate, desk.certificate])).author.subject, 'desk');
  assert.equal((await open([desk.certificate, 'garbage'])).author.subject, 'desk');
  await rejectsWith(assert, open(['garbage']), 'MALFORMED_INPUT');
});

test('interop: jose verifies a phiseal certificate; phiseal verifies a certificate jose signed', async () => {
  // phiseal -> jose
  const org = await organisation();
  const member = await org.member('dr-lee', 'clinician', ['clinical'], ['encrypt']);
  const rootJwk = org.root.publicKey.toJwk();
  const { payload, protectedHeader } = await jose.jwtVerify(member.certificate, await jose.importJWK(rootJwk, 'ES384'), {
    algorithms: ['ES384'],
    typ: 'phiseal-cert+jwt',
    currentDate: new Date(NOW),
  });
  assert.equal(protectedHeader.kid, org.root.publicKey.kid);
  assert.equal(payload.iss, org.root.publicKey.kid);
  assert.equal(payload.sub, 'dr-lee');
  assert.deepEqual(payload.cnf.jwk, { kty: 'EC', crv: 'P-384', x: member.publicKey.toJwk().x, y: member.publicKey.toJwk().y, kid: member.publicKey.kid });
  assert.equal(await jose.calculateJwkThumbprint(payload.cnf.jwk, 'sha256'), member.publicKey.kid);
  // jose -> phiseal: a root whose private key jose holds, imported into phiseal only to be pinned.
  const { privateKey, publicKey } = await jose.generateKeyPair('ES384', { extractable: true });
  const pinned = phiseal.importPublicKey(await jose.exportJWK(publicKey));
  const rootKid = pinned.kid;
  const subjectKeys = await phiseal.generateKeyPair();
  const s = Math.floor(NOW / 1000);
  const serial = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
  const cert = await new jose.SignJWT({
    name: 'Nurse Joy',
    role: 'nurse',
    groups: ['clinical'],
    purposes: ['encrypt'],
    cnf: { jwk: subjectKeys.publicKey.toJwk() },
  })
    .setProtectedHeader({ alg: 'ES384', typ: 'phiseal-cert+jwt', kid: rootKid })
    .setIssuer(rootKid)
    .setSubject('nurse-joy')
    .setIssuedAt(s)
    .setNotBefore(s - 60)
    .setExpirationTime(s + 3600)
    .setJti(serial)
    .sign(privateKey);
  const list = await new jose.SignJWT({ revoked: [] })
    .setProtectedHeader({ alg: 'ES384', typ: 'phiseal-revocations+jwt', kid: rootKid })
    .setIssuer(rootKid)
    .setIssuedAt(s - 10)
    .setExpirationTime(s + 3600)
    .sign(privateKey);
  const trust = new phiseal.Trust({ roots: [pinned], revocations: list, clock: () => NOW });
  const got = await trust.certify(cert, { purpose: 'encrypt', groups: ['clinical'] });
  assert.equal(got.subject, 'nurse-joy');
  assert.equal(got.kid, subjectKeys.publicKey.kid);
  // jose can also sign what phiseal refuses: an extra claim.
  const extra = await new jose.SignJWT({ name: 'x', role: 'x', groups: [], purposes: ['encrypt'], cnf: { jwk: subjectKeys.publicKey.toJwk() }, admin: true })
    .setProtectedHeader({ alg: 'ES384', typ: 'phiseal-cert+jwt', kid: rootKid })
    .setIssuer(rootKid)
    .setSubject('x')
    .setIssuedAt(s)
    .setNotBefore(s - 60)
    .setExpirationTime(s + 3600)
    .setJti(serial)
    .sign(privateKey);
  await assert.rejects(trust.certify(extra, { purpose: 'encrypt' }), (e) => e.code === 'UNSUPPORTED');
});

test('Trust: bad arguments', async () => {
  const root = phiseal.SigningKey.generate();
  assert.throws(() => new phiseal.Trust({ roots: [] }), (e) => e.code === 'INVALID_ARGUMENT');
  assert.throws(() => new phiseal.Trust({ roots: [root] }), (e) => e.code === 'INVALID_ARGUMENT');
  const trust = new phiseal.Trust({ roots: [root.publicKey], requireRevocations: false });
  await assert.rejects(trust.certify('x.y.z', { purpose: 'decrypt' }), (e) => e.code === 'INVALID_ARGUMENT');
  await assert.rejects(trust.certify([], { purpose: 'sign' }), (e) => e.code === 'INVALID_ARGUMENT');
  await assert.rejects(trust.certify('x.y.z', { purpose: 'sign' }), (e) => e.code === 'MALFORMED_INPUT');
  assert.throws(() => trust.addRevocations(42), (e) => e.code === 'INVALID_ARGUMENT');
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'r', recipients: [], author: await phiseal.generateAuthorKey(), trust: {} }), 'INVALID_ARGUMENT', /trust must be a Trust/);
});

test('encryptStream / decryptStream with trust', async () => {
  const stream = await import('../../js/stream.js');
  const org = await organisation();
  const clinician = await org.member('dr-lee', 'clinician', [], ['encrypt']);
  const recorder = await org.member('recorder', 'recorder', [], ['sign']);
  const data = new Uint8Array(5000).map((_, i) => i);
  const enc = await stream.encryptBlob(new Blob([data]), { recipients: [{ certificate: clinician.certificate }], author: recorder.keys, trust: org.trust });
  const dec = await stream.decryptBlob(enc, { privateKey: clinician.keys.privateKey, authors: [recorder.certificate], trust: org.trust });
  assert.deepEqual(new Uint8Array(await dec.arrayBuffer()), data);
  const server = await phiseal.generateKeyPair();
  await rejectsWith(assert, stream.encryptBlob(new Blob([data]), { recipients: [server.publicKey], author: recorder.keys, trust: org.trust }), 'UNTRUSTED_KEY');
  const expired = await org.member('old', 'recorder', [], ['sign'], { notBefore: NOW - 30 * DAY, notAfter: NOW - DAY });
  await rejectsWith(assert, stream.decryptBlob(enc, { privateKey: clinician.keys.privateKey, authors: [expired.certificate], trust: org.trust }), 'KEY_EXPIRED');
});

test('attack: with a directory, the server cannot hand out a certificate it kept out of the log, roll the log back or fork it', async () => {
  const org = await organisation();
  const dirKey = phiseal.SigningKey.generate();
  const origin = 'keys.example.org/directory';
  const directory = new phiseal.KeyDirectory({ origin, signingKey: dirKey });
  const clinician = await org.member('dr-lee', 'clinician', ['clinical', 'billing'], ['encrypt']);
  const desk = await org.member('desk', 'intake', [], ['sign']);
  directory.publish('dr-lee', clinician.certificate);
  const client = new phiseal.DirectoryClient({ origin, keys: [dirKey.publicKey] });
  const trust = new phiseal.Trust({ roots: [org.root.publicKey], revocations: org.revocations(), clock: () => NOW, directory: client });
  const seal = (certificate) => phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'r-1', recipients: [{ certificate }], author: desk.keys, trust });
  // Not looked up through the directory: refused even though the root certified it.
  await rejectsWith(assert, seal(clinician.certificate), 'UNTRUSTED_KEY', /not in the directory log/);
  const cert = await client.verify('dr-lee', JSON.stringify(directory.lookup('dr-lee')));
  await seal(cert);
  // An insider with the root key certifies a key of its own for Dr. Lee but keeps it out of the log:
  const insider = await org.member('dr-lee', 'clinician', ['clinical', 'billing'], ['encrypt']);
  const forged = { ...directory.lookup('dr-lee'), certificate: insider.certificate };
  await assert.rejects(client.verify('dr-lee', forged), (e) => e.code === 'INVALID_SIGNATURE');
  await rejectsWith(assert, seal(insider.certificate), 'UNTRUSTED_KEY');
  // ... or puts it in a forked log (signed with the real directory key): refused against the kept checkpoint.
  const fork = new phiseal.KeyDirectory({ origin, signingKey: dirKey });
  fork.publish('dr-lee', insider.certificate);
  fork.publish('x', 'y');
  await assert.rejects(client.verify('dr-lee', fork.lookup('dr-lee', { keptSize: client.keptSize })), (e) => e.code === 'STALE_VERSION');
  // Publishing it in the real log makes it visible to Dr. Lee's monitor.
  const before = directory.entries().length;
  directory.publish('dr-lee', insider.certificate);
  const seen = phiseal.monitorDirectory({ origin, keys: [dirKey.publicKey], checkpoint: directory.checkpoint(), entries: directory.entries(), subject: 'dr-lee', from: before });
  assert.deepEqual(seen.map((e) => e.certificate), [insider.certificate]);
  // The operator files another member's genuine certificate (in the log, root-certified) under Dr. Lee: refused.
  const billing = await org.member('billing-ortiz', 'billing', ['clinical', 'billing'], ['encrypt']); // groups enough: only the subject differs
  directory.publish('dr-lee', billing.certificate);
  const filed = await client.verify('dr-lee', directory.lookup('dr-lee', { keptSize: client.keptSize }));
  assert.equal(filed, billing.certificate, 'the directory itself cannot tell');
  await rejectsWith(assert, seal(filed), 'CONTEXT_MISMATCH', /another subject/);
  // A restarted client resumes from its kept note; a rollback is refused.
  const restarted = new phiseal.DirectoryClient({ origin, keys: [dirKey.publicKey], kept: directory.lookup('dr-lee').checkpoint });
  const old = new phiseal.KeyDirectory({ origin, signingKey: dirKey });
  old.publish('dr-lee', clinician.certificate);
  await assert.rejects(restarted.verify('dr-lee', old.lookup('dr-lee', { keptSize: restarted.keptSize })), (e) => e.code === 'STALE_VERSION');
});
