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

// ---------------------------------------------------------------- tree, kept checkpoints, witnesses, alerts

/** A log of `n` entries signed by `signingKey`, checkpoint every `every`; `fork` changes entries from that seq on. */
function buildLog(signingKey, n, every, { logId = 'tab-js', fork = Infinity } = {}) {
  let now = 1_700_000_000_000;
  const log = new phiseal.AuditLog({ logId, signingKey, checkpointEvery: every, clock: () => now++ });
  for (let i = 1; i <= n; i++) log.append({ actor, action: i >= fork ? 'forged' : 'view', patientId: `p-${i % 4}` });
  return log.toJsonl();
}
const linesOf = (jsonl) => jsonl.trimEnd().split('\n');
/** The log up to and including its checkpoint of tree size `size`. */
const cutAt = (jsonl, size) => {
  const ls = linesOf(jsonl);
  const i = ls.findIndex((l) => l.includes('"checkpoint"') && phiseal.parseCheckpoint(JSON.parse(l).note).size === size);
  return ls.slice(0, i + 1).join('\n') + '\n';
};
const lastNote = (jsonl) => JSON.parse(linesOf(jsonl).findLast((l) => l.includes('"checkpoint"'))).note;

test('checkpoints are C2SP signed notes; the positional and options forms agree', () => {
  const key = phiseal.SigningKey.generate();
  const jsonl = buildLog(key, 12, 5);
  const note = lastNote(jsonl);
  const body = phiseal.parseCheckpoint(note);
  assert.deepEqual([body.origin, body.size], ['tab-js', 10]);
  assert.match(note, /^tab-js\n10\n[A-Za-z0-9+/]{43}=\nphiseal-time-ms \d+\n\n\u2014 tab-js [A-Za-z0-9+/]+=*\n$/);
  const a = phiseal.verifyLog(jsonl, [key.publicKey]);
  const b = phiseal.verifyLog(jsonl, { trusted: [key.publicKey] });
  assert.deepEqual(a, b);
  assert.deepEqual([a.valid, a.authenticated, a.lastCheckpointSeq, a.unsignedTail, a.checkpoint], [true, true, 10, 2, note]);
  assert.equal(a.root, phiseal.AuditTree.fromLog(jsonl).root());
  // Without keys: the chain only, nothing authenticated.
  const none = phiseal.verifyLog(jsonl, []);
  assert.deepEqual([none.valid, none.authenticated, none.checkpoints, none.unsignedTail], [true, false, 0, 12]);
});

test('attacks: cut back to an earlier checkpoint, fork, server key, missing witness are refused', () => {
  const key = phiseal.SigningKey.generate();
  const trusted = [key.publicKey];
  const jsonl = buildLog(key, 30, 10);
  const kept = phiseal.verifyLog(jsonl, trusted).checkpoint;
  const cut = cutAt(jsonl, 20);
  assert.equal(phiseal.verifyLog(cut, trusted).valid, true, 'alone, a cut at a checkpoint looks whole');
  assert.equal(phiseal.verifyLog(cut, { trusted, since: kept }).problem.code, 'ROLLED_BACK');
  assert.equal(phiseal.verifyLog(jsonl, { trusted, since: kept }).valid, true);
  const fork = buildLog(key, 30, 10, { fork: 7 });
  assert.equal(phiseal.verifyLog(fork, trusted).valid, true, 'a fork by the writer key verifies alone');
  assert.equal(phiseal.verifyLog(fork, { trusted, since: kept }).problem.code, 'FORKED');
  const server = phiseal.SigningKey.generate();
  assert.equal(phiseal.verifyLog(buildLog(server, 30, 10, { fork: 7 }), trusted).problem.code, 'UNTRUSTED_KEY');
  const witnessKey = phiseal.SigningKey.generate();
  const witness = new phiseal.Witness({ name: 'witness.example/w1', signingKey: witnessKey, logKeys: trusted });
  const witnesses = { keys: [witness.publicKey], required: 1 };
  assert.equal(phiseal.verifyLog(jsonl, { trusted, witnesses }).problem.code, 'NOT_WITNESSED');
  const at20 = cutAt(jsonl, 20);
  const cosig = witness.cosign(lastNote(at20), [], 1_700_000_000);
  const cosigned = at20 + phiseal.checkpointLine(lastNote(at20) + cosig) + '\n';
  const r = phiseal.verifyLog(cosigned, { trusted, witnesses });
  assert.deepEqual([r.valid, r.witnessed, r.lastCheckpointSeq], [true, 1, 20], JSON.stringify(r));
  // The witness refuses the fork and the cut; it cosigns the extension with its proof.
  assert.throws(() => witness.cosign(lastNote(cutAt(jsonl, 10))), (e) => e.code === ErrorCode.STALE_VERSION);
  const forkTree = phiseal.AuditTree.fromLog(fork);
  assert.throws(() => witness.cosign(lastNote(fork), forkTree.consistencyProof(20, 30)), (e) => e.code === ErrorCode.STALE_VERSION);
  assert.throws(() => witness.cosign(lastNote(buildLog(server, 30, 10))), (e) => e.code === ErrorCode.UNTRUSTED_AUTHOR);
  const tree = phiseal.AuditTree.fromLog(jsonl);
  assert.match(witness.cosign(lastNote(jsonl), tree.consistencyProof(20, 30)), /^\u2014 witness\.example\/w1 /);
  assert.equal(witness.last('tab-js').size, 30);
});

test('inclusion and consistency proofs: generated, verified, refused when modified', () => {
  const key = phiseal.SigningKey.generate();
  const jsonl = buildLog(key, 40, 100);
  const tree = phiseal.AuditTree.fromLog(jsonl);
  const entry = linesOf(jsonl)[16];
  const at = { size: 40, root: tree.root() };
  const proof = tree.inclusionProof(17);
  assert.equal(phiseal.verifyInclusion(entry, at, proof), true);
  assert.throws(() => phiseal.verifyInclusion(entry.replace('"view"', '"export"'), at, proof), (e) => e.code === ErrorCode.INVALID_SIGNATURE);
  const old = { size: 25, root: tree.root(25) };
  assert.equal(phiseal.verifyConsistency(old, at, tree.consistencyProof(25, 40)), true);
  const fork = phiseal.AuditTree.fromLog(buildLog(key, 40, 100, { fork: 10 }));
  assert.throws(() => phiseal.verifyConsistency(old, { size: 40, root: fork.root() }, fork.consistencyProof(25, 40)), (e) => e.code === ErrorCode.INVALID_SIGNATURE);
});

test('access alerts run on a verified log only and name the lines', () => {
  const key = phiseal.SigningKey.generate();
  const day = Date.UTC(2026, 10, 23);
  let now = day + 10 * 3600e3;
  const log = new phiseal.AuditLog({ logId: 'alerts-js', signingKey: key, checkpointEvery: 1000, clock: () => now });
  for (let i = 0; i < 10; i++, now += 20_000) log.append({ actor, action: 'view', patientId: `p${i}` });
  now = day + 23 * 3600e3;
  for (let i = 0; i < 4; i++) log.append({ actor: { id: 'dr-x', role: 'billing' }, action: 'decrypt', outcome: 'denied' });
  log.checkpoint();
  const jsonl = log.toJsonl();
  const { report, alerts } = phiseal.accessAlerts(jsonl, { trusted: [key.publicKey], rules: { hoursByRole: { billing: [20, 24] } } });
  assert.equal(report.valid, true);
  assert.deepEqual(alerts.map((a) => [a.kind, a.actorId, a.seqs]), [
    ['distinct-patients', 'dr-lee', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    ['failed-attempts', 'dr-x', [11, 12, 13, 14]],
  ]);
  assert.deepEqual(alerts[1].lines, [11, 12, 13, 14]);
  assert.throws(() => phiseal.accessAlerts(jsonl.replace('"p3"', '"p4"'), { trusted: [key.publicKey] }), (e) => e.code === ErrorCode.INVALID_SIGNATURE);
  assert.throws(() => phiseal.accessAlerts(jsonl, { trusted: [] }), (e) => e.code === ErrorCode.INVALID_SIGNATURE);
});

test('a resumed log keeps its tree: checkpoints after a reload verify', () => {
  const key = phiseal.SigningKey.generate();
  const first = new phiseal.AuditLog({ logId: 'resume-js', signingKey: key });
  first.append({ actor, action: 'view' });
  first.append({ actor, action: 'view' });
  const next = new phiseal.AuditLog({ logId: 'resume-js', signingKey: key, resume: { seq: first.seq, head: first.head, tree: first.treeState } });
  next.append({ actor, action: 'export' });
  next.checkpoint();
  assert.equal(phiseal.verifyLog(first.toJsonl() + next.toJsonl(), [key.publicKey]).valid, true);
  const blind = new phiseal.AuditLog({ logId: 'resume-js', signingKey: key, resume: { seq: first.seq, head: first.head } });
  assert.throws(() => blind.checkpoint(), (e) => e.code === ErrorCode.MISUSE);
});

test('verifyLog options: witnesses.required defaults to every key; options that need keys refuse without them', () => {
  const key = phiseal.SigningKey.generate();
  const jsonl = buildLog(key, 5, 5);
  const note = lastNote(jsonl);
  const w1 = new phiseal.Witness({ name: 'w.example/1', signingKey: phiseal.SigningKey.generate(), logKeys: [key.publicKey] });
  const w2 = new phiseal.Witness({ name: 'w.example/2', signingKey: phiseal.SigningKey.generate(), logKeys: [key.publicKey] });
  const one = jsonl + phiseal.checkpointLine(note + w1.cosign(note)) + '\n';
  const keys = [w1.publicKey, w2.publicKey];
  assert.equal(phiseal.verifyLog(one, { trusted: [key.publicKey], witnesses: { keys } }).problem.code, 'NOT_WITNESSED');
  assert.equal(phiseal.verifyLog(one, { trusted: [key.publicKey], witnesses: { keys, required: 1 } }).valid, true);
  const both = jsonl + phiseal.checkpointLine(note + w1.cosign(note) + w2.cosign(note)) + '\n';
  assert.equal(phiseal.verifyLog(both, { trusted: [key.publicKey], witnesses: { keys } }).witnessed, 2);
  assert.throws(() => phiseal.verifyLog(one, { trusted: [], witnesses: { keys } }), (e) => e.code === ErrorCode.INVALID_ARGUMENT);
  assert.throws(() => phiseal.verifyLog(one, { trusted: [], since: note }), (e) => e.code === ErrorCode.INVALID_ARGUMENT);
  assert.throws(() => phiseal.verifyLog(one, { trusted: [key.publicKey], since: 'not a note' }), (e) => e.code === ErrorCode.MALFORMED_INPUT);
  assert.throws(() => phiseal.verifyLog(one, { trusted: [key.publicKey], witnesses: { keys, required: 3 } }), (e) => e.code === ErrorCode.INVALID_ARGUMENT);
});

test('checkpointWith: an AuthorKey (WebCrypto) signs checkpoints that verify under its public key; a draft taken before an append is refused', async () => {
  const signer = await phiseal.generateAuthorKey();
  assert.equal(signer.provider, 'webcrypto');
  const log = new phiseal.AuditLog({ logId: 'author-signed' });
  const actor = { id: 'dr-lee', role: 'clinician' };
  log.append({ actor, action: 'view-record', resource: 'r-1' });
  const line = JSON.parse(await log.checkpointWith(signer));
  assert.equal(line.type, 'checkpoint');
  log.append({ actor, action: 'view-record', resource: 'r-2' });
  const report = phiseal.verifyLog(log.toJsonl(), { trusted: [signer.publicKey] });
  assert.ok(report.valid && report.lastCheckpointSeq === 1 && report.unsignedTail === 1, JSON.stringify(report));
  const stranger = await phiseal.generateAuthorKey();
  assert.equal(phiseal.verifyLog(log.toJsonl(), { trusted: [stranger.publicKey] }).problem.code, 'UNTRUSTED_KEY');
  // The signature is made while an append runs: the checkpoint no longer matches the tree and is not added.
  const racing = log.checkpointWith(signer);
  log.append({ actor, action: 'view-record', resource: 'r-3' });
  await rejectsWith(assert, racing, 'MISUSE', /current tree/);
  await rejectsWith(assert, log.checkpointWith(phiseal.SigningKey.generate()), 'INVALID_ARGUMENT');
  await rejectsWith(assert, new phiseal.AuditLog({}).checkpointWith(signer), 'MISUSE', /nothing to checkpoint/);
});
