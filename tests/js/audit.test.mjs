// Audit log, session keys and break-glass through the npm surface.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phiseal, rejectsWith } from './helpers.mjs';

const { ErrorCode } = phiseal;
await phiseal.init();

const actor = { id: 'dr-lee', role: 'clinician' };
const author = await phiseal.generateAuthorKey();
/** What a reader of record "r" expects (it was sealed by `author`, no context). */
const expect = { recordId: 'r', authors: [author.publicKey] };

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
  const sealed = await phiseal.sealRecord({ note: 'x' }, { schema, recordId: 'r', recipients: [publicKey], author });
  const session = new phiseal.SessionKey(privateKey, { clock });
  assert.equal(session.expiresAt, 15 * 60 * 1000);
  assert.equal((await phiseal.openRecord(sealed, { ...expect, schema, privateKey: session })).record.note, 'x');
  now = 15 * 60 * 1000;
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...expect, schema, privateKey: session }), ErrorCode.KEY_EXPIRED);
  session.renew(60_000);
  assert.equal((await phiseal.openRecord(sealed, { ...expect, schema, privateKey: session })).record.note, 'x');
});

test('break-glass: the audit entry is written before anything can be decrypted', async () => {
  let now = 1_000;
  const clock = () => now;
  const emergency = await phiseal.generateKeyPair();
  const schema = { id: 's', version: 1, fields: { note: true } };
  const sealed = await phiseal.sealRecord({ note: 'allergy: penicillin' }, { schema, recordId: 'r', recipients: [emergency.publicKey], author });
  const log = new phiseal.AuditLog({ logId: 'er', clock });
  const broken = { durable: true, append: async () => { throw new Error('disk full'); } };
  await rejectsWith(assert, phiseal.breakGlass({ audit: log, actor, patientId: 'p-1', reason: 'unconscious patient in ER', emergencyKey: emergency.privateKey }), ErrorCode.INVALID_ARGUMENT);
  const sink = { durable: true, append: async (e) => log.append(e) };
  await assert.rejects(phiseal.breakGlass({ audit: broken, actor, patientId: 'p-1', reason: 'unconscious patient in ER', emergencyKey: emergency.privateKey }), /disk full/);
  await rejectsWith(assert, phiseal.breakGlass({ audit: sink, actor, patientId: 'p-1', reason: '', emergencyKey: emergency.privateKey }), ErrorCode.INVALID_ARGUMENT);
  assert.equal(log.seq, 0);
  const key = await phiseal.breakGlass({ audit: sink, actor, patientId: 'p-1', reason: 'unconscious patient in ER', emergencyKey: emergency.privateKey, ttlMs: 60_000, clock });
  assert.equal(log.seq, 1);
  assert.match(log.toJsonl(), /"action":"break-glass"/);
  assert.equal((await phiseal.openRecord(sealed, { ...expect, schema, privateKey: key })).record.note, 'allergy: penicillin');
  now += 60_000;
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...expect, schema, privateKey: key }), ErrorCode.KEY_EXPIRED);
});

test('grants: roles, organization, working hours, lifetime; refusals are audited', async () => {
  const day = Date.UTC(2026, 10, 23);
  let now = day + 9 * 3600e3; // 09:00 UTC
  const clock = () => now;
  const { privateKey, publicKey } = await phiseal.generateKeyPair();
  const schema = { id: 's', version: 1, fields: { note: true } };
  const sealed = await phiseal.sealRecord({ note: 'x' }, { schema, recordId: 'r', recipients: [publicKey], author });
  const log = new phiseal.AuditLog({ logId: 'g', clock });
  const grant = new phiseal.Grant({ roles: ['consultant'], organization: 'clinic-a', hours: [8, 18], ttlMs: 4 * 3600e3, clock });
  const key = (ctx) => new phiseal.GrantedKey(privateKey, grant, ctx, { audit: log });
  const mutable = { actorId: 'dr-y', role: 'consultant', organization: 'clinic-a' };
  const held = key(mutable);
  mutable.role = 'billing';
  assert.equal((await phiseal.openRecord(sealed, { ...expect, schema, privateKey: held })).record.note, 'x', 'the context was copied');
  assert.equal(held.privateKey, undefined, 'the key is not handed out');
  assert.throws(() => { grant.expiresAt = Infinity; }, TypeError);
  const ok = { actorId: 'dr-x', role: 'consultant', organization: 'clinic-a' };
  assert.equal((await phiseal.openRecord(sealed, { ...expect, schema, privateKey: key(ok) })).record.note, 'x');
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...expect, schema, privateKey: key({ ...ok, role: 'billing' }) }), ErrorCode.ACCESS_DENIED);
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...expect, schema, privateKey: key({ ...ok, organization: 'clinic-b' }) }), ErrorCode.ACCESS_DENIED);
  now = day + 19 * 3600e3; // 19:00, outside hours, still within the 4 h lifetime? no: 10 h later
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...expect, schema, privateKey: key(ok) }), ErrorCode.KEY_EXPIRED);
  const late = new phiseal.Grant({ hours: [8, 18], clock });
  await rejectsWith(assert, () => late.check({ role: 'x' }), ErrorCode.ACCESS_DENIED);
  const denied = log.toJsonl().trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(denied.length, 3);
  assert.ok(denied.every((e) => e.outcome === 'denied' && e.action === 'decrypt'));
});

test('alert: 10 distinct patients within 5 minutes raises an event, per-role thresholds', () => {
  const alerts = [];
  const rule = new phiseal.AccessAlert({ perRole: { admin: 20 }, onAlert: (a) => alerts.push(a) });
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 9; i++) rule.observe({ actor: { id: 'u1', role: 'clinician' }, patientId: `p${i}`, time: t0 + i * 1000 });
  rule.observe({ actor: { id: 'u1', role: 'clinician' }, patientId: 'p0', time: t0 + 10_000 });
  assert.equal(alerts.length, 0, 'repeat patient does not count twice');
  rule.observe({ actor: { id: 'u1', role: 'clinician' }, patientId: 'p9', time: t0 + 11_000 });
  assert.equal(alerts.length, 1);
  assert.deepEqual([alerts[0].actorId, alerts[0].patients], ['u1', 10]);
  for (let i = 0; i < 10; i++) rule.observe({ actor: { id: 'u2', role: 'clinician' }, patientId: `q${i}`, time: t0 + i * 60_000 });
  assert.equal(alerts.length, 1, 'spread over more than 5 minutes');
  for (let i = 0; i < 15; i++) rule.observe({ actor: { id: 'root', role: 'admin' }, patientId: `r${i}`, time: t0 + i });
  assert.equal(alerts.length, 1, 'admin threshold is 20');
  assert.deepEqual(rule.toJSON(), { rule: 'distinct-patients', distinctPatients: 10, windowMs: 300000, perRole: { admin: 20 } });
});
