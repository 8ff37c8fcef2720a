// Audit log, session keys and break-glass through the npm surface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phiseal, rejectsWith } from './helpers.mjs';

const { ErrorCode } = phiseal;
await phiseal.init();

const actor = { id: 'dr-lee', role: 'clinician' };

test('entries chain, checkpoints sign, verifyLog names the first bad line', async () => {
  let now = 1_700_000_000_000;
  const signingKey = phiseal.SigningKey.generate();
  const log = new phiseal.AuditLog({ logId: 'tab-1', signingKey, checkpointEvery: 10, clock: () => now++ });
  for (let i = 0; i < 25; i++) log.append({ actor, action: 'view', patientId: `p-${i % 4}`, resource: `rec-${i}` });
  log.checkpoint();
  const jsonl = log.toJsonl();
  const report = phiseal.verifyLog(jsonl, [signingKey.publicKey]);
  assert.equal(report.valid, true, JSON.stringify(report));
  assert.deepEqual([report.entries, report.checkpoints, report.unsignedTail], [25, 3, 0]);
  const lines = jsonl.trimEnd().split('\n');
  const bad = [...lines];
  bad[7] = bad[7].replace('"view"', '"export"');
  const r = phiseal.verifyLog(bad.join('\n'), [signingKey.publicKey]);
  assert.equal(r.valid, false);
  assert.equal(r.problem.line, 8);
  const other = phiseal.SigningKey.generate();
  assert.match(phiseal.verifyLog(jsonl, [other.publicKey]).problem.reason, /untrusted/);
});

test('PHI values are refused in entries; field paths are fine', async () => {
  const log = new phiseal.AuditLog({ logId: 't' });
  const schema = { id: 's', version: 1, fields: { 'patient.ssn': true } };
  const record = { patient: { ssn: '123-45-6789' } };
  await rejectsWith(assert, () => log.append({ actor, action: 'view', reason: 'ssn 123-45-6789' }, { record, schema }), ErrorCode.INVALID_ARGUMENT);
  const { entry } = log.append({ actor, action: 'decrypt', fieldPath: '/patient/ssn' }, { record, schema });
  assert.equal(entry.seq, 1);
  await rejectsWith(assert, () => log.append({ action: 'view' }), ErrorCode.INVALID_ARGUMENT);
});

test('session keys expire on a moved clock and renew explicitly', async () => {
  let now = 0;
  const clock = () => now;
  const { privateKey, publicKey } = await phiseal.generateKeyPair();
  const schema = { id: 's', version: 1, fields: { note: true } };
  const sealed = await phiseal.sealRecord({ note: 'x' }, { schema, recordId: 'r', recipients: [publicKey] });
  const session = new phiseal.SessionKey(privateKey, { clock });
  assert.equal(session.expiresAt, 15 * 60 * 1000);
  assert.equal((await phiseal.openRecord(sealed, { schema, privateKey: session })).record.note, 'x');
  now = 15 * 60 * 1000;
  await rejectsWith(assert, phiseal.openRecord(sealed, { schema, privateKey: session }), ErrorCode.KEY_EXPIRED);
  session.renew(60_000);
  assert.equal((await phiseal.openRecord(sealed, { schema, privateKey: session })).record.note, 'x');
});

test('break-glass: the audit entry is written before anything can be decrypted', async () => {
  let now = 1_000;
  const clock = () => now;
  const emergency = await phiseal.generateKeyPair();
  const schema = { id: 's', version: 1, fields: { note: true } };
  const sealed = await phiseal.sealRecord({ note: 'allergy: penicillin' }, { schema, recordId: 'r', recipients: [emergency.publicKey] });
  const log = new phiseal.AuditLog({ logId: 'er', clock });
  const broken = { append: async () => { throw new Error('disk full'); } };
  await assert.rejects(phiseal.breakGlass({ audit: broken, actor, patientId: 'p-1', reason: 'unconscious patient in ER', emergencyKey: emergency.privateKey }), /disk full/);
  await rejectsWith(assert, phiseal.breakGlass({ audit: log, actor, patientId: 'p-1', reason: '', emergencyKey: emergency.privateKey }), ErrorCode.INVALID_ARGUMENT);
  assert.equal(log.seq, 0);
  const key = await phiseal.breakGlass({ audit: log, actor, patientId: 'p-1', reason: 'unconscious patient in ER', emergencyKey: emergency.privateKey, ttlMs: 60_000, clock });
  assert.equal(log.seq, 1);
  assert.match(log.toJsonl(), /"action":"break-glass"/);
  assert.equal((await phiseal.openRecord(sealed, { schema, privateKey: key })).record.note, 'allergy: penicillin');
  now += 60_000;
  await rejectsWith(assert, phiseal.openRecord(sealed, { schema, privateKey: key }), ErrorCode.KEY_EXPIRED);
});
