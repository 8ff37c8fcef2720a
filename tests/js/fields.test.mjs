// Field encryption through the npm surface: records are signed by an author
// and opened against what the reader expects (docs/FORMAT.md §5.4).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phiseal, rejectsWith } from './helpers.mjs';

const { ErrorCode } = phiseal;
await phiseal.init();

const SCHEMA = {
  id: 'portal-intake',
  version: 1,
  fields: {
    'patient.name': true,
    'patient.ssn': { mode: 'blindIndex', bits: 16, group: 'clinical' },
    'patient.email': { mode: 'deterministic' },
    'diagnoses[].code': { group: 'clinical' },
    notes: { group: 'clinical' },
    'insurance.memberId': { group: 'billing' },
  },
};
const RECORD = {
  patient: { name: 'Ana Souza', ssn: '123-45-6789', email: 'ana@example.org', age: 41 },
  diagnoses: [{ code: 'J45.20' }, { code: 'E11.9' }],
  notes: { text: 'albuterol prn', tags: ['asthma', 2, null, false] },
  insurance: { memberId: 998877, plan: 'gold' },
  visit: 7,
};
const CONTEXT = { patientId: 'p-1' };

async function setup() {
  const author = await phiseal.generateAuthorKey();
  const clinician = await phiseal.generateKeyPair();
  const billing = await phiseal.generateKeyPair();
  const outsider = await phiseal.generateKeyPair();
  const indexKey = await phiseal.generateIndexKey();
  const recipients = [clinician.publicKey, { publicKey: billing.publicKey, groups: ['billing'] }];
  const sealed = await phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'rec-1', context: CONTEXT, recipients, indexKey, author });
  /** What a reader of rec-1 passes: the id it asked for, the context, the author it trusts. */
  const expect = { schema: SCHEMA, recordId: 'rec-1', context: CONTEXT, authors: [author.publicKey] };
  return { author, clinician, billing, outsider, indexKey, recipients, sealed, expect };
}

test('seal keeps the shape, opens back to the same values and types', async () => {
  const { author, clinician, indexKey, sealed, expect } = await setup();
  assert.equal(sealed.visit, 7);
  assert.equal(sealed.patient.age, 41);
  assert.match(sealed.patient.name, /^phs1\./);
  assert.match(sealed.patient.ssn, /^phb1\.[A-Za-z0-9_-]{3}\./);
  assert.match(sealed.patient.email, /^phd1\./);
  assert.match(sealed.diagnoses[1].code, /^phs1\./);
  assert.match(sealed._phiseal, /^phe2\./);
  assert.deepEqual(phiseal.verifyAllPhiEncrypted(sealed, SCHEMA), []);
  const opened = await phiseal.openRecord(JSON.parse(JSON.stringify(sealed)), { ...expect, privateKey: clinician.privateKey, indexKey });
  assert.deepEqual(opened.locked, []);
  assert.deepEqual(opened.record, RECORD);
  assert.deepEqual(opened.author, { kid: author.kid });
  const { digest, ...header } = opened.header;
  assert.deepEqual(opened.header, phiseal.inspectRecord(sealed), 'the opened header is the envelope header, authenticated');
  assert.match(digest, /^[A-Za-z0-9_-]{64}$/, 'a 48-byte version digest');
  assert.deepEqual([header.recordId, header.version, header.previous, header.author, header.context], ['rec-1', 1, null, author.kid, CONTEXT]);
});

test('a recipient of some groups gets those fields and a list of locked ones', async () => {
  const { billing, outsider, sealed, indexKey, expect } = await setup();
  const opened = await phiseal.openRecord(sealed, { ...expect, privateKey: billing.privateKey, indexKey });
  assert.equal(opened.record.insurance.memberId, 998877);
  assert.equal(opened.record.patient.ssn, sealed.patient.ssn);
  assert.deepEqual(opened.locked.map((l) => [l.path, l.reason]).sort(), [
    ['/diagnoses/0/code', 'clinical'], ['/diagnoses/1/code', 'clinical'], ['/notes', 'clinical'],
    ['/patient/email', 'default'], ['/patient/name', 'default'], ['/patient/ssn', 'clinical'],
  ]);
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...expect, privateKey: outsider.privateKey }), ErrorCode.NOT_RECIPIENT);
});

test('searchable modes: deterministic equality and blind-index prefixes across records', async () => {
  const { author, clinician, indexKey, recipients, expect } = await setup();
  const items = [1, 2, 3].map((i) => ({ recordId: `r${i}`, context: { patientId: `p-${i}` }, record: { ...RECORD, patient: { ...RECORD.patient, email: i === 3 ? 'x@y.z' : 'same@example.org' } } }));
  const sealed = await phiseal.sealRecords(items, { schema: SCHEMA, recipients, indexKey, author });
  assert.equal(sealed[0].patient.email, sealed[1].patient.email);
  assert.notEqual(sealed[0].patient.email, sealed[2].patient.email);
  assert.notEqual(sealed[0].patient.name, sealed[1].patient.name);
  assert.deepEqual(sealed.map((s) => [phiseal.inspectRecord(s).recordId, phiseal.inspectRecord(s).context.patientId]), [['r1', 'p-1'], ['r2', 'p-2'], ['r3', 'p-3']]);
  const token = phiseal.searchToken('same@example.org', { schema: SCHEMA, path: 'patient.email', indexKey });
  assert.equal(token, sealed[0].patient.email);
  const prefix = phiseal.searchToken('123-45-6789', { schema: SCHEMA, path: 'patient.ssn', indexKey });
  assert.ok(sealed.every((s) => s.patient.ssn.startsWith(prefix)));
  const opts = { schema: SCHEMA, authors: expect.authors, privateKey: clinician.privateKey, indexKey };
  const opened = await phiseal.openRecords(sealed.map((s, i) => ({ sealed: s, recordId: items[i].recordId, context: items[i].context })), opts);
  assert.deepEqual(opened.map((o) => o.record.patient.email), ['same@example.org', 'same@example.org', 'x@y.z']);
  const withoutIndexKey = await phiseal.openRecord(sealed[0], { ...opts, indexKey: undefined, recordId: 'r1', context: { patientId: 'p-1' } });
  assert.deepEqual(withoutIndexKey.locked, [{ path: '/patient/email', reason: 'indexKey' }]);
  const otherIndexKey = await phiseal.generateIndexKey();
  await rejectsWith(assert, phiseal.openRecord(sealed[0], { ...opts, indexKey: otherIndexKey, recordId: 'r1', context: { patientId: 'p-1' } }), ErrorCode.INVALID_ARGUMENT, /another index key/);
});

test('openRecords checks each item against its own recordId and context', async () => {
  const { author, clinician } = await setup();
  const schema = { id: 's', version: 1, fields: { note: true } };
  const recipients = [clinician.publicKey];
  const sealed = await phiseal.sealRecords(
    [{ record: { note: 'a' }, recordId: 'a' }, { record: { note: 'b' }, recordId: 'b' }],
    { schema, recipients, author, context: CONTEXT },
  );
  const opts = { schema, privateKey: clinician.privateKey, authors: [author.publicKey], context: CONTEXT };
  const both = await phiseal.openRecords([{ sealed: sealed[0], recordId: 'a' }, { sealed: sealed[1], recordId: 'b' }], opts);
  assert.deepEqual(both.map((o) => [o.header.recordId, o.record.note]), [['a', 'a'], ['b', 'b']]);
  // A server that answers the request for "a" with record "b" is caught, item by item.
  await rejectsWith(assert, phiseal.openRecords([{ sealed: sealed[0], recordId: 'a' }, { sealed: sealed[0], recordId: 'b' }], opts), ErrorCode.CONTEXT_MISMATCH, /record id/);
  await rejectsWith(assert, phiseal.openRecords([{ sealed: sealed[1], recordId: 'a' }], opts), ErrorCode.CONTEXT_MISMATCH);
  // Each item's context overrides the options' one.
  await rejectsWith(assert, phiseal.openRecords([{ sealed: sealed[0], recordId: 'a', context: { patientId: 'p-2' } }], opts), ErrorCode.CONTEXT_MISMATCH, /context/);
  // Items are objects now: a bare sealed record, or one without its id, is refused.
  await rejectsWith(assert, phiseal.openRecords([{ sealed: sealed[0] }], opts), ErrorCode.INVALID_ARGUMENT, /recordId is required/);
  await rejectsWith(assert, phiseal.openRecords(sealed, opts), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.openRecords(sealed[0], opts), ErrorCode.INVALID_ARGUMENT, /items must be an array/);
  await rejectsWith(assert, phiseal.sealRecords([{ record: { note: 'c' } }], { schema, recipients, author }), ErrorCode.INVALID_ARGUMENT, /recordId/);
});

test('index keys travel sealed to recipients, signed by their author', async () => {
  const { author, clinician, outsider, indexKey } = await setup();
  const sealedKey = await phiseal.sealIndexKey(indexKey, [clinician.publicKey], { author });
  assert.match(sealedKey, /^phk2\./);
  const back = await phiseal.openIndexKey(sealedKey, clinician.privateKey, { authors: [author.publicKey] });
  assert.equal(back.id, indexKey.id);
  assert.equal(phiseal.searchToken('v', { schema: SCHEMA, path: 'patient.email', indexKey: back }),
    phiseal.searchToken('v', { schema: SCHEMA, path: 'patient.email', indexKey }));
  assert.equal((await phiseal.openIndexKey(sealedKey, clinician.privateKey, { authors: [author] })).id, indexKey.id, 'an AuthorKey is trusted as its public key');
  await rejectsWith(assert, phiseal.openIndexKey(sealedKey, outsider.privateKey, { authors: [author.publicKey] }), ErrorCode.NOT_RECIPIENT);
  const stranger = await phiseal.generateAuthorKey();
  await rejectsWith(assert, phiseal.openIndexKey(sealedKey, clinician.privateKey, { authors: [stranger.publicKey] }), ErrorCode.UNTRUSTED_AUTHOR);
  await rejectsWith(assert, phiseal.openIndexKey(sealedKey, clinician.privateKey), ErrorCode.INVALID_ARGUMENT, /authors is required/);
  await rejectsWith(assert, phiseal.openIndexKey(sealedKey, clinician.privateKey, { authors: [] }), ErrorCode.INVALID_ARGUMENT, /authors is required/);
  await rejectsWith(assert, phiseal.sealIndexKey(indexKey, [clinician.publicKey]), ErrorCode.INVALID_ARGUMENT, /author is required.*generateAuthorKey/);
  await rejectsWith(assert, phiseal.openIndexKey('phk1.' + sealedKey.slice(5), clinician.privateKey, { authors: [author] }), ErrorCode.UNSUPPORTED);
  // Any changed character: never a key (§5.5: the signature covers every byte before it).
  const swap = (c) => (c === 'A' ? 'B' : 'A');
  const seen = new Set();
  for (let i = 5; i < sealedKey.length; i++) {
    const bad = sealedKey.slice(0, i) + swap(sealedKey[i]) + sealedKey.slice(i + 1);
    await assert.rejects(phiseal.openIndexKey(bad, clinician.privateKey, { authors: [author] }), (e) => {
      seen.add(e.code);
      return e instanceof phiseal.PhisealError && ['UNSUPPORTED', 'MALFORMED_INPUT', 'UNTRUSTED_AUTHOR', 'NOT_RECIPIENT', 'INVALID_SIGNATURE'].includes(e.code);
    }, `index key char ${i}`);
  }
  assert.ok(seen.has('INVALID_SIGNATURE') && seen.has('UNTRUSTED_AUTHOR'), [...seen].join());
});

test('add and remove recipients: each is a new version, verified first and signed by who changes it', async () => {
  const { author, clinician, billing, outsider, sealed, indexKey, expect } = await setup();
  const directory = [clinician.publicKey, billing.publicKey];
  const v1 = await phiseal.openRecord(sealed, { ...expect, privateKey: clinician.privateKey, indexKey });
  // The clinician changes the recipients, signing with her own author key.
  const admin = await phiseal.generateAuthorKey();
  const change = { ...expect, privateKey: clinician.privateKey, directory, author: admin };
  const added = await phiseal.addRecipient(sealed, { ...change, recipient: outsider.publicKey });
  assert.equal(added.patient.name, sealed.patient.name, 'rewrap leaves fields alone');
  const addedHeader = phiseal.inspectRecord(added);
  assert.deepEqual([addedHeader.version, addedHeader.previous, addedHeader.author, addedHeader.epoch], [2, v1.header.digest, admin.kid, 1]);
  const trustBoth = { ...expect, authors: [author.publicKey, admin.publicKey] };
  const v2 = await phiseal.openRecord(added, { ...trustBoth, privateKey: outsider.privateKey, indexKey });
  assert.equal(v2.record.notes.text, 'albuterol prn');
  assert.deepEqual(v2.author, { kid: admin.kid });
  await rejectsWith(assert, phiseal.openRecord(added, { ...expect, privateKey: outsider.privateKey }), ErrorCode.UNTRUSTED_AUTHOR);
  const removed = await phiseal.removeRecipient(added, { ...change, authors: trustBoth.authors, recipient: outsider.publicKey.kid });
  assert.notEqual(removed.patient.name, sealed.patient.name, 're-key re-encrypts');
  assert.equal(removed.patient.email, sealed.patient.email, 'deterministic fields stay');
  const removedHeader = phiseal.inspectRecord(removed);
  assert.deepEqual([removedHeader.epoch, removedHeader.version, removedHeader.previous], [2, 3, v2.header.digest]);
  await rejectsWith(assert, phiseal.openRecord(removed, { ...trustBoth, privateKey: outsider.privateKey }), ErrorCode.NOT_RECIPIENT);
  assert.deepEqual((await phiseal.openRecord(removed, { ...trustBoth, privateKey: clinician.privateKey, indexKey })).record, RECORD);
  // The removed recipient can still open version 2; a reader refuses it with minVersion.
  await rejectsWith(assert, phiseal.openRecord(added, { ...trustBoth, privateKey: clinician.privateKey, minVersion: 3 }), ErrorCode.STALE_VERSION);
  // Rewrapping needs a key of every group, and the same checks as opening.
  const rewrap = { ...expect, author: admin, privateKey: clinician.privateKey, recipients: [clinician.publicKey] };
  await rejectsWith(assert, phiseal.rewrapRecord(sealed, { ...rewrap, privateKey: billing.privateKey, recipients: [billing.publicKey] }), ErrorCode.MISUSE);
  await rejectsWith(assert, phiseal.rewrapRecord(sealed, { ...rewrap, recordId: 'rec-2' }), ErrorCode.CONTEXT_MISMATCH);
  await rejectsWith(assert, phiseal.rewrapRecord(sealed, { ...rewrap, context: { patientId: 'p-2' } }), ErrorCode.CONTEXT_MISMATCH);
  await rejectsWith(assert, phiseal.rewrapRecord(sealed, { ...rewrap, authors: [admin.publicKey] }), ErrorCode.UNTRUSTED_AUTHOR);
  await rejectsWith(assert, phiseal.rekeyRecord({ ...sealed, visit: 8 }, rewrap), ErrorCode.INVALID_SIGNATURE);
  await rejectsWith(assert, phiseal.rewrapRecord(added, { ...rewrap, authors: trustBoth.authors, minVersion: 3 }), ErrorCode.STALE_VERSION);
  await rejectsWith(assert, phiseal.rewrapRecord(sealed, { ...rewrap, author: undefined }), ErrorCode.INVALID_ARGUMENT, /author is required/);
  await rejectsWith(assert, phiseal.rekeyRecord(sealed, { ...rewrap, authors: undefined }), ErrorCode.INVALID_ARGUMENT, /authors is required/);
  await rejectsWith(assert, phiseal.addRecipient(sealed, { ...change, recordId: undefined, recipient: outsider.publicKey }), ErrorCode.INVALID_ARGUMENT, /recordId is required/);
});

test('authors: only a trusted key opens; an AuthorKey may stand for its public key', async () => {
  const { author, clinician, sealed, expect, indexKey } = await setup();
  const stranger = await phiseal.generateAuthorKey();
  const open = (authors) => phiseal.openRecord(sealed, { ...expect, authors, privateKey: clinician.privateKey, indexKey });
  assert.deepEqual((await open([author])).record, RECORD);
  assert.deepEqual((await open([stranger.publicKey, author.publicKey])).author, { kid: author.kid });
  await rejectsWith(assert, open([stranger.publicKey]), ErrorCode.UNTRUSTED_AUTHOR);
  await rejectsWith(assert, open([stranger]), ErrorCode.UNTRUSTED_AUTHOR);
  // A recipient's public key is not the author's; a private key or a JWK is not a trusted key at all.
  await rejectsWith(assert, open([clinician.publicKey]), ErrorCode.UNTRUSTED_AUTHOR);
  await rejectsWith(assert, open([clinician.privateKey]), ErrorCode.INVALID_ARGUMENT, /authorKey\.publicKey/);
  await rejectsWith(assert, open([author.publicKey.toJwk()]), ErrorCode.INVALID_ARGUMENT, /authorKey\.publicKey/);
  // A record re-signed by another author (a copy made by someone holding the data keys) is not the author's.
  const forged = await phiseal.rewrapRecord(sealed, { ...expect, author: stranger, privateKey: clinician.privateKey, recipients: [clinician.publicKey] });
  await rejectsWith(assert, phiseal.openRecord(forged, { ...expect, privateKey: clinician.privateKey }), ErrorCode.UNTRUSTED_AUTHOR);
});

test('missing author, authors or recordId: INVALID_ARGUMENT that names the fix', async () => {
  const { author, clinician, recipients, sealed, expect } = await setup();
  const seal = { schema: SCHEMA, recordId: 'rec-1', recipients, author, indexKey: await phiseal.generateIndexKey() };
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...seal, author: undefined }), ErrorCode.INVALID_ARGUMENT, /author is required: the AuthorKey that signs it \(generateAuthorKey\(\)/);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...seal, author: clinician.privateKey }), ErrorCode.INVALID_ARGUMENT, /AuthorKey \(ECDSA P-384: generateAuthorKey\(\)\), not an HPKE PrivateKey/);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...seal, author: author.publicKey }), ErrorCode.INVALID_ARGUMENT, /author is required/);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...seal, recordId: undefined }), ErrorCode.INVALID_ARGUMENT, /recordId/);
  const open = { ...expect, privateKey: clinician.privateKey };
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...open, authors: undefined }), ErrorCode.INVALID_ARGUMENT, /authors is required: a non-empty array of the PublicKeys .*\(authorKey\.publicKey\)/);
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...open, authors: [] }), ErrorCode.INVALID_ARGUMENT, /authors is required/);
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...open, authors: author.publicKey }), ErrorCode.INVALID_ARGUMENT, /authors is required/);
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...open, recordId: undefined }), ErrorCode.INVALID_ARGUMENT, /recordId is required: the id of the record you asked for/);
  await rejectsWith(assert, phiseal.openRecord(sealed, { schema: SCHEMA, privateKey: clinician.privateKey }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...open, minVersion: -1 }), ErrorCode.INVALID_ARGUMENT, /minVersion/);
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...open, context: { patientId: 1 } }), ErrorCode.INVALID_ARGUMENT, /context\.patientId must be a string/);
});

test('the reader gets only what it asked for: record id, context, schema', async () => {
  const { author, clinician, recipients, sealed, expect, indexKey } = await setup();
  const open = (s, o) => phiseal.openRecord(s, { ...expect, privateKey: clinician.privateKey, ...o });
  // A genuine record of another patient, served for rec-1 (§5.4 step 3).
  const other = await phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'rec-2', context: { patientId: 'p-2' }, recipients, author, indexKey });
  await rejectsWith(assert, open(other), ErrorCode.CONTEXT_MISMATCH, /record id/);
  await rejectsWith(assert, open(other, { recordId: 'rec-2' }), ErrorCode.CONTEXT_MISMATCH, /context/);
  assert.equal((await open(other, { recordId: 'rec-2', context: { patientId: 'p-2' } })).header.recordId, 'rec-2');
  // The context is compared exactly: missing, extra or different members are all refused.
  for (const context of [undefined, {}, { patientId: 'p-1', table: 'intake' }, { patientId: 'P-1' }, { patient: 'p-1' }]) {
    await rejectsWith(assert, open(sealed, { context }), ErrorCode.CONTEXT_MISMATCH);
  }
  // Another schema (version or id) is a mismatch of what was asked for (was INVALID_ARGUMENT before records were signed).
  await rejectsWith(assert, open(sealed, { schema: { ...SCHEMA, version: 2 } }), ErrorCode.CONTEXT_MISMATCH, /schema/);
  await rejectsWith(assert, open(sealed, { schema: { ...SCHEMA, id: 'portal-intake-2' } }), ErrorCode.CONTEXT_MISMATCH, /schema/);
  await rejectsWith(assert, open(sealed, { minVersion: 2 }), ErrorCode.STALE_VERSION);
  assert.equal((await open(sealed, { minVersion: 1 })).header.version, 1);
});

test('previous chains versions: each update links to the digest of the one it replaces', async () => {
  const { author, clinician, recipients, sealed, expect, indexKey } = await setup();
  const open = (s, o) => phiseal.openRecord(s, { ...expect, privateKey: clinician.privateKey, indexKey, ...o });
  const v1 = await open(sealed);
  const update = (opened, notes) => phiseal.sealRecord({ ...opened.record, notes }, { schema: SCHEMA, recordId: 'rec-1', context: CONTEXT, recipients, indexKey, author, previous: opened.header });
  const v2 = await open(await update(v1, 'v2'));
  assert.deepEqual([v2.header.version, v2.header.previous, v2.record.notes], [2, v1.header.digest, 'v2']);
  const v3 = await open(await update(v2, 'v3'));
  assert.deepEqual([v3.header.version, v3.header.previous], [3, v2.header.digest]);
  assert.equal(new Set([v1.header.digest, v2.header.digest, v3.header.digest]).size, 3);
  const base = { schema: SCHEMA, recordId: 'rec-1', recipients, indexKey, author };
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, previous: { version: 1 } }), ErrorCode.INVALID_ARGUMENT, /previous must be the header/);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, previous: { version: 1, digest: 'zz' } }), ErrorCode.INVALID_ARGUMENT, /digest/);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, previous: 'v1' }), ErrorCode.INVALID_ARGUMENT, /previous/);
});

test('MemoryVersionStore refuses a rollback and a fork (STALE_VERSION) and never lowers what it holds', async () => {
  const { author, clinician, recipients, sealed, expect, indexKey } = await setup();
  const versions = new phiseal.MemoryVersionStore();
  const open = (s) => phiseal.openRecord(s, { ...expect, privateKey: clinician.privateKey, indexKey, versions });
  const next = (opened, notes) => phiseal.sealRecord({ ...opened.record, notes }, { schema: SCHEMA, recordId: 'rec-1', context: CONTEXT, recipients, indexKey, author, previous: opened.header });
  const v1 = await open(sealed);
  const v2 = await next(v1, 'v2');
  const fork = await next(v1, 'another v2'); // also version 2, linked to v1: a different digest
  const opened2 = await open(v2);
  assert.equal(opened2.header.version, 2);
  assert.equal((await open(v2)).header.digest, opened2.header.digest, 'the same version again is fine');
  await rejectsWith(assert, open(sealed), ErrorCode.STALE_VERSION, /rollback/);
  await rejectsWith(assert, open(fork), ErrorCode.STALE_VERSION, /fork/);
  // Neither refusal lowered or replaced what the store holds.
  await rejectsWith(assert, open(sealed), ErrorCode.STALE_VERSION);
  await rejectsWith(assert, open(fork), ErrorCode.STALE_VERSION);
  assert.equal((await open(v2)).record.notes, 'v2');
  const v3 = await open(await next(opened2, 'v3'));
  assert.equal(v3.header.version, 3);
  await rejectsWith(assert, open(v2), ErrorCode.STALE_VERSION, /rollback/);
  // Another store (another device) has seen nothing: it takes what it is given first.
  assert.equal((await phiseal.openRecord(fork, { ...expect, privateKey: clinician.privateKey, versions: new phiseal.MemoryVersionStore() })).record.notes, 'another v2');
  // Versions are kept per record: another record id starts on its own.
  const otherRecord = await phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'rec-9', context: CONTEXT, recipients, indexKey, author });
  assert.equal((await phiseal.openRecord(otherRecord, { ...expect, recordId: 'rec-9', privateKey: clinician.privateKey, versions })).header.version, 1);

  // The store itself: advance answers what it held before, keeps the higher version, never lowers.
  const store = new phiseal.MemoryVersionStore();
  const d = (c) => c.repeat(64);
  assert.equal(await store.advance('k', { version: 2, digest: d('a') }), undefined);
  assert.deepEqual(await store.advance('k', { version: 1, digest: d('b') }), { version: 2, digest: d('a') });
  assert.deepEqual(await store.advance('k', { version: 2, digest: d('c') }), { version: 2, digest: d('a') });
  assert.deepEqual(await store.get('k'), { version: 2, digest: d('a') });
  assert.deepEqual(await store.advance('k', { version: 5, digest: d('e') }), { version: 2, digest: d('a') });
  assert.deepEqual(await store.get('k'), { version: 5, digest: d('e') });
  await rejectsWith(assert, store.advance('k', { version: 0, digest: d('a') }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, store.advance('k', { version: 6 }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, store.advance(7, { version: 6, digest: d('a') }), ErrorCode.INVALID_ARGUMENT);
  assert.deepEqual(await store.get('k'), { version: 5, digest: d('e') });
  // The very next version must link to the one stored; a fork is not stored.
  assert.deepEqual(await store.advance('k', { version: 6, digest: d('f'), previous: d('x') }), { version: 5, digest: d('e') });
  assert.deepEqual(await store.get('k'), { version: 5, digest: d('e') });
  assert.deepEqual(await store.advance('k', { version: 6, digest: d('f'), previous: d('e') }), { version: 5, digest: d('e') });
  assert.deepEqual(await store.get('k'), { version: 6, digest: d('f') });
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...expect, privateKey: clinician.privateKey, versions: {} }), ErrorCode.INVALID_ARGUMENT, /versions must be a VersionStore/);
  // The IndexedDB store needs IndexedDB (browsers; tests/browser covers it).
  await rejectsWith(assert, phiseal.VersionStore.open(), ErrorCode.UNSUPPORTED);
});

test('tampering anywhere is refused with a typed error, never a partial record', async () => {
  const { clinician, sealed, indexKey, expect, recipients, author } = await setup();
  const open = (s) => phiseal.openRecord(s, { ...expect, privateKey: clinician.privateKey, indexKey });
  const swap = (c) => (c === 'A' ? 'B' : 'A');
  const env = sealed._phiseal;
  // Every envelope byte is parsed, compared with the expectation or signed (§5.4 steps 1-8, before any unwrap).
  const seen = new Set();
  for (let i = 5; i < env.length; i++) {
    const bad = { ...sealed, _phiseal: env.slice(0, i) + swap(env[i]) + env.slice(i + 1) };
    await assert.rejects(open(bad), (e) => {
      seen.add(e.code);
      return e instanceof phiseal.PhisealError && ['MALFORMED_INPUT', 'UNSUPPORTED', 'CONTEXT_MISMATCH', 'UNTRUSTED_AUTHOR', 'INVALID_SIGNATURE'].includes(e.code);
    }, `envelope char ${i}`);
  }
  assert.ok(['CONTEXT_MISMATCH', 'UNTRUSTED_AUTHOR', 'INVALID_SIGNATURE'].every((c) => seen.has(c)), [...seen].join());
  // A field string edited, moved, deleted, replaced or put back in plaintext: the author's
  // signature covers every field string (content_digest), so each is INVALID_SIGNATURE
  // (these were DECRYPT_FAILED when records were unsigned).
  const name = sealed.patient.name;
  for (let i = 5; i < name.length; i++) {
    const bad = structuredClone(sealed);
    bad.patient.name = name.slice(0, i) + swap(name[i]) + name.slice(i + 1);
    await rejectsWith(assert, open(bad), ErrorCode.INVALID_SIGNATURE);
  }
  const swapped = structuredClone(sealed);
  [swapped.diagnoses[0].code, swapped.diagnoses[1].code] = [sealed.diagnoses[1].code, sealed.diagnoses[0].code];
  await rejectsWith(assert, open(swapped), ErrorCode.INVALID_SIGNATURE);
  const deleted = structuredClone(sealed);
  delete deleted.notes;
  await rejectsWith(assert, open(deleted), ErrorCode.INVALID_SIGNATURE);
  const plain = structuredClone(sealed);
  plain.patient.name = 'Ana Souza';
  await rejectsWith(assert, open(plain), ErrorCode.INVALID_SIGNATURE);
  // Clear members are signed too: changed, added or removed.
  await rejectsWith(assert, open({ ...sealed, visit: 8 }), ErrorCode.INVALID_SIGNATURE);
  await rejectsWith(assert, open({ ...sealed, patient: { ...sealed.patient, age: 42 } }), ErrorCode.INVALID_SIGNATURE);
  await rejectsWith(assert, open({ ...sealed, extra: true }), ErrorCode.INVALID_SIGNATURE);
  const { visit: _visit, ...noVisit } = sealed;
  await rejectsWith(assert, open(noVisit), ErrorCode.INVALID_SIGNATURE);
  // Mixing two genuine records of the same id and author.
  const other = await phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'rec-1', context: CONTEXT, recipients, indexKey, author });
  await rejectsWith(assert, open({ ...other, _phiseal: sealed._phiseal }), ErrorCode.INVALID_SIGNATURE);
  await rejectsWith(assert, open({ ...sealed, notes: other.notes }), ErrorCode.INVALID_SIGNATURE);
  await rejectsWith(assert, open({ ...sealed, _phiseal: sealed._phiseal.slice(0, 100) }), ErrorCode.MALFORMED_INPUT);
  const { _phiseal: _env, ...bare } = sealed;
  await rejectsWith(assert, open(bare), ErrorCode.MALFORMED_INPUT);
  // Version 1 envelopes are no longer read, nor any other version (§5).
  await rejectsWith(assert, open({ ...sealed, _phiseal: 'phe1.' + sealed._phiseal.slice(5) }), ErrorCode.UNSUPPORTED);
  await rejectsWith(assert, open({ ...sealed, _phiseal: 'phe3.' + sealed._phiseal.slice(5) }), ErrorCode.UNSUPPORTED);
});

test('unsigned members may change (and only they)', async () => {
  const { author, clinician } = await setup();
  const schema = { id: 'u', version: 1, fields: { note: true }, unsigned: ['updatedAt'] };
  const sealed = await phiseal.sealRecord({ note: 'x', updatedAt: 1, visit: 2 }, { schema, recordId: 'r', recipients: [clinician.publicKey], author });
  const open = (s) => phiseal.openRecord(s, { schema, recordId: 'r', authors: [author], privateKey: clinician.privateKey });
  assert.deepEqual((await open({ ...sealed, updatedAt: 5 })).record, { note: 'x', updatedAt: 5, visit: 2 });
  await rejectsWith(assert, open({ ...sealed, visit: 3 }), ErrorCode.INVALID_SIGNATURE);
});

test('bad input to sealRecord is a typed error', async () => {
  const { author, clinician } = await setup();
  const base = { schema: SCHEMA, recordId: 'r', recipients: [clinician.publicKey], author, indexKey: await phiseal.generateIndexKey() };
  await rejectsWith(assert, phiseal.sealRecord([1, 2], base), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord({ _phiseal: 'x' }, base), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, indexKey: undefined }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recordId: '' }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recipients: [] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recipients: [clinician.publicKey, clinician.publicKey] }), ErrorCode.INVALID_ARGUMENT, /twice/);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recipients: [{ publicKey: clinician.publicKey, groups: ['nope'] }] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recipients: [{ publicKey: clinician.publicKey, groups: ['billing'] }] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord({ patient: 'a string' }, base), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, schema: { id: 'x', version: 1, fields: { 'a[': true } } }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, schema: { id: 'x', version: 1, fields: { a: true, 'a.b': true } } }), ErrorCode.INVALID_ARGUMENT);
  // Encryption contexts: plain objects of strings, within the format's limits (§5.2).
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, context: new Map() }), ErrorCode.INVALID_ARGUMENT, /plain object/);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, context: { n: 1 } }), ErrorCode.INVALID_ARGUMENT, /context\.n must be a string/);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, context: { '': 'x' } }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, context: { a: 'x'.repeat(1025) } }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, context: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) }), ErrorCode.INVALID_ARGUMENT);
});

test('an AuthorKey is not a recipient (it only signs: nothing could open what is wrapped to it)', async () => {
  const { author, clinician } = await setup();
  const base = { schema: SCHEMA, recordId: 'r', author, indexKey: await phiseal.generateIndexKey() };
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recipients: [author] }), ErrorCode.INVALID_ARGUMENT, /AuthorKey only signs/);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recipients: [{ publicKey: author, groups: ['billing'] }, clinician.publicKey] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealIndexKey(base.indexKey, [clinician.publicKey, author], { author }), ErrorCode.INVALID_ARGUMENT);
});

test('compliance: verifyAllPhiEncrypted, redact, rotation', async () => {
  const { sealed, author } = await setup();
  assert.deepEqual(phiseal.verifyAllPhiEncrypted(RECORD, SCHEMA), [
    '/diagnoses/0/code', '/diagnoses/1/code', '/insurance/memberId', '/notes', '/patient/email', '/patient/name', '/patient/ssn',
  ]);
  const leaky = structuredClone(sealed);
  leaky.diagnoses[1].code = 'E11.9';
  assert.deepEqual(phiseal.verifyAllPhiEncrypted(leaky, SCHEMA), ['/diagnoses/1/code']);
  const red = phiseal.redact(RECORD, SCHEMA);
  assert.equal(red.patient.name, '[REDACTED]');
  assert.equal(red.patient.age, 41);
  assert.equal(red.diagnoses[0].code, '[REDACTED]');
  assert.equal(red.insurance.plan, 'gold');
  assert.ok(!JSON.stringify(red).includes('123-45-6789'));
  assert.equal(phiseal.redact(sealed, SCHEMA)._phiseal, '[REDACTED]');
  assert.equal(phiseal.needsRotation(sealed), false);
  const later = new Date(Date.now() + 91 * 86400 * 1000);
  assert.equal(phiseal.needsRotation(sealed, { now: later }), true);
  assert.equal(phiseal.needsRotation(sealed, { now: later, maxAgeDays: 365 }), false);
  assert.deepEqual(phiseal.rotationReport([sealed, RECORD], { now: later }), { total: 2, due: [0, 1] });
  const h = phiseal.inspectRecord(sealed);
  assert.equal(h.recordId, 'rec-1');
  assert.deepEqual(h.context, CONTEXT);
  assert.equal(h.author, author.kid);
  assert.deepEqual([h.version, h.previous, h.epoch], [1, null, 1]);
  assert.match(h.digest, /^[A-Za-z0-9_-]{64}$/, 'the digest of the bytes as stored (authentic once opened)');
  assert.deepEqual(h.groups.map((g) => g.group), ['billing', 'clinical', 'default']);
});
