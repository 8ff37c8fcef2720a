// Field encryption through the npm surface.
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

async function setup() {
  const clinician = await phiseal.generateKeyPair();
  const billing = await phiseal.generateKeyPair();
  const outsider = await phiseal.generateKeyPair();
  const indexKey = await phiseal.generateIndexKey();
  const recipients = [clinician.publicKey, { publicKey: billing.publicKey, groups: ['billing'] }];
  const sealed = await phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'rec-1', recipients, indexKey });
  return { clinician, billing, outsider, indexKey, recipients, sealed };
}

test('seal keeps the shape, opens back to the same values and types', async () => {
  const { clinician, indexKey, sealed } = await setup();
  assert.equal(sealed.visit, 7);
  assert.equal(sealed.patient.age, 41);
  assert.match(sealed.patient.name, /^phs1\./);
  assert.match(sealed.patient.ssn, /^phb1\.[A-Za-z0-9_-]{3}\./);
  assert.match(sealed.patient.email, /^phd1\./);
  assert.match(sealed.diagnoses[1].code, /^phs1\./);
  assert.match(sealed._phiseal, /^phe1\./);
  assert.deepEqual(phiseal.verifyAllPhiEncrypted(sealed, SCHEMA), []);
  const opened = await phiseal.openRecord(JSON.parse(JSON.stringify(sealed)), { schema: SCHEMA, privateKey: clinician.privateKey, indexKey });
  assert.deepEqual(opened.locked, []);
  assert.deepEqual(opened.record, RECORD);
});

test('a recipient of some groups gets those fields and a list of locked ones', async () => {
  const { billing, outsider, sealed, indexKey } = await setup();
  const opened = await phiseal.openRecord(sealed, { schema: SCHEMA, privateKey: billing.privateKey, indexKey });
  assert.equal(opened.record.insurance.memberId, 998877);
  assert.equal(opened.record.patient.ssn, sealed.patient.ssn);
  assert.deepEqual(opened.locked.map((l) => [l.path, l.reason]).sort(), [
    ['/diagnoses/0/code', 'clinical'], ['/diagnoses/1/code', 'clinical'], ['/notes', 'clinical'],
    ['/patient/email', 'default'], ['/patient/name', 'default'], ['/patient/ssn', 'clinical'],
  ]);
  await rejectsWith(assert, phiseal.openRecord(sealed, { schema: SCHEMA, privateKey: outsider.privateKey }), ErrorCode.NOT_RECIPIENT);
});

test('searchable modes: deterministic equality and blind-index prefixes across records', async () => {
  const { clinician, indexKey, recipients } = await setup();
  const items = [1, 2, 3].map((i) => ({ recordId: `r${i}`, record: { ...RECORD, patient: { ...RECORD.patient, email: i === 3 ? 'x@y.z' : 'same@example.org' } } }));
  const sealed = await phiseal.sealRecords(items, { schema: SCHEMA, recipients, indexKey });
  assert.equal(sealed[0].patient.email, sealed[1].patient.email);
  assert.notEqual(sealed[0].patient.email, sealed[2].patient.email);
  assert.notEqual(sealed[0].patient.name, sealed[1].patient.name);
  const token = phiseal.searchToken('same@example.org', { schema: SCHEMA, path: 'patient.email', indexKey });
  assert.equal(token, sealed[0].patient.email);
  const prefix = phiseal.searchToken('123-45-6789', { schema: SCHEMA, path: 'patient.ssn', indexKey });
  assert.ok(sealed.every((s) => s.patient.ssn.startsWith(prefix)));
  const opened = await phiseal.openRecords(sealed, { schema: SCHEMA, privateKey: clinician.privateKey, indexKey });
  assert.deepEqual(opened.map((o) => o.record.patient.email), ['same@example.org', 'same@example.org', 'x@y.z']);
  const withoutIndexKey = await phiseal.openRecord(sealed[0], { schema: SCHEMA, privateKey: clinician.privateKey });
  assert.deepEqual(withoutIndexKey.locked, [{ path: '/patient/email', reason: 'indexKey' }]);
});

test('index keys travel sealed to recipients', async () => {
  const { clinician, outsider, indexKey } = await setup();
  const sealedKey = await phiseal.sealIndexKey(indexKey, [clinician.publicKey]);
  assert.match(sealedKey, /^phk1\./);
  const back = await phiseal.openIndexKey(sealedKey, clinician.privateKey);
  assert.equal(back.id, indexKey.id);
  assert.equal(phiseal.searchToken('v', { schema: SCHEMA, path: 'patient.email', indexKey: back }),
    phiseal.searchToken('v', { schema: SCHEMA, path: 'patient.email', indexKey }));
  await rejectsWith(assert, phiseal.openIndexKey(sealedKey, outsider.privateKey), ErrorCode.NOT_RECIPIENT);
});

test('add and remove recipients; removal re-keys', async () => {
  const { clinician, billing, outsider, sealed, indexKey } = await setup();
  const directory = [clinician.publicKey, billing.publicKey];
  const added = await phiseal.addRecipient(sealed, { schema: SCHEMA, privateKey: clinician.privateKey, directory, recipient: outsider.publicKey });
  assert.equal(added.patient.name, sealed.patient.name, 'rewrap leaves fields alone');
  assert.equal((await phiseal.openRecord(added, { schema: SCHEMA, privateKey: outsider.privateKey, indexKey })).record.notes.text, 'albuterol prn');
  const removed = await phiseal.removeRecipient(added, {
    schema: SCHEMA, privateKey: clinician.privateKey, directory, recipient: outsider.publicKey.kid,
  });
  assert.notEqual(removed.patient.name, sealed.patient.name, 're-key re-encrypts');
  assert.equal(removed.patient.email, sealed.patient.email, 'deterministic fields stay');
  assert.equal(phiseal.inspectRecord(removed).epoch, 2);
  await rejectsWith(assert, phiseal.openRecord(removed, { schema: SCHEMA, privateKey: outsider.privateKey }), ErrorCode.NOT_RECIPIENT);
  assert.deepEqual((await phiseal.openRecord(removed, { schema: SCHEMA, privateKey: clinician.privateKey, indexKey })).record, RECORD);
  await rejectsWith(assert, phiseal.rewrapRecord(sealed, { schema: SCHEMA, privateKey: billing.privateKey, recipients: [billing.publicKey] }), ErrorCode.MISUSE);
});

test('tampering anywhere is DECRYPT_FAILED (or a typed parse error), never a partial record', async () => {
  const { clinician, sealed, indexKey } = await setup();
  const open = (s) => phiseal.openRecord(s, { schema: SCHEMA, privateKey: clinician.privateKey, indexKey });
  const swap = (c) => (c === 'A' ? 'B' : 'A');
  const env = sealed._phiseal;
  for (let i = 5; i < env.length; i++) {
    const bad = { ...sealed, _phiseal: env.slice(0, i) + swap(env[i]) + env.slice(i + 1) };
    await assert.rejects(open(bad), (e) => e instanceof phiseal.PhisealError && ['DECRYPT_FAILED', 'MALFORMED_INPUT', 'UNSUPPORTED', 'NOT_RECIPIENT', 'INVALID_ARGUMENT', 'INVALID_KEY'].includes(e.code), `envelope char ${i}`);
  }
  const name = sealed.patient.name;
  for (let i = 5; i < name.length; i++) {
    const bad = structuredClone(sealed);
    bad.patient.name = name.slice(0, i) + swap(name[i]) + name.slice(i + 1);
    await rejectsWith(assert, open(bad), ErrorCode.DECRYPT_FAILED);
  }
  const swapped = structuredClone(sealed);
  [swapped.diagnoses[0].code, swapped.diagnoses[1].code] = [sealed.diagnoses[1].code, sealed.diagnoses[0].code];
  await rejectsWith(assert, open(swapped), ErrorCode.DECRYPT_FAILED);
  const deleted = structuredClone(sealed);
  delete deleted.notes;
  await rejectsWith(assert, open(deleted), ErrorCode.DECRYPT_FAILED);
  const plain = structuredClone(sealed);
  plain.patient.name = 'Ana Souza';
  await rejectsWith(assert, open(plain), ErrorCode.DECRYPT_FAILED);
  const other = await phiseal.sealRecord(RECORD, { schema: SCHEMA, recordId: 'rec-2', recipients: [clinician.publicKey], indexKey });
  await rejectsWith(assert, open({ ...other, _phiseal: sealed._phiseal }), ErrorCode.DECRYPT_FAILED);
  await rejectsWith(assert, open({ ...sealed, notes: other.notes }), ErrorCode.DECRYPT_FAILED);
  await rejectsWith(assert, open({ ...sealed, _phiseal: sealed._phiseal.slice(0, 100) }), ErrorCode.MALFORMED_INPUT);
  await rejectsWith(assert, open({ ...sealed, _phiseal: 'phe2.' + sealed._phiseal.slice(5) }), ErrorCode.UNSUPPORTED);
  await rejectsWith(assert, phiseal.openRecord(sealed, { schema: { ...SCHEMA, version: 2 }, privateKey: clinician.privateKey }), ErrorCode.INVALID_ARGUMENT);
});

test('bad input to sealRecord is a typed error', async () => {
  const { clinician } = await setup();
  const base = { schema: SCHEMA, recordId: 'r', recipients: [clinician.publicKey], indexKey: await phiseal.generateIndexKey() };
  await rejectsWith(assert, phiseal.sealRecord([1, 2], base), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord({ _phiseal: 'x' }, base), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, indexKey: undefined }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recordId: '' }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recipients: [] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recipients: [{ publicKey: clinician.publicKey, groups: ['nope'] }] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, recipients: [{ publicKey: clinician.publicKey, groups: ['billing'] }] }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord({ patient: 'a string' }, base), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, schema: { id: 'x', version: 1, fields: { 'a[': true } } }), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, phiseal.sealRecord(RECORD, { ...base, schema: { id: 'x', version: 1, fields: { a: true, 'a.b': true } } }), ErrorCode.INVALID_ARGUMENT);
});

test('compliance: verifyAllPhiEncrypted, redact, rotation', async () => {
  const { sealed } = await setup();
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
  assert.deepEqual(h.groups.map((g) => g.group), ['billing', 'clinical', 'default']);
});
