// Keysets (primary / enabled / disabled) and index-key rotation without
// downtime: lookups query old and new tokens while a resumable job moves
// records to the new key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { phiseal, rejectsWith } from './helpers.mjs';

const { ErrorCode, Keyset, IndexKeyset } = phiseal;
await phiseal.init();

const SCHEMA = {
  id: 'rotation',
  version: 1,
  fields: { name: true, email: { mode: 'deterministic' }, ssn: { mode: 'blindIndex', bits: 16 } },
};
const author = await phiseal.generateAuthorKey();
const rec = (i) => ({ name: `patient ${i}`, email: i % 2 ? 'odd@example.org' : 'even@example.org', ssn: `000-00-000${i}`, n: i });

test('a recipient keyset opens records across a key rotation; disabled keys open nothing', async () => {
  const k1 = (await phiseal.generateKeyPair()).privateKey;
  const keyset = new Keyset([k1]);
  const old = await phiseal.sealRecord({ name: 'a' }, { schema: { id: 's', version: 1, fields: { name: true } }, recordId: 'r1', recipients: [keyset.primaryPublicKey], author });
  const k2 = (await phiseal.generateKeyPair()).privateKey;
  keyset.add(k2, { primary: true });
  assert.equal(keyset.primary, k2);
  assert.deepEqual(keyset.list().map((e) => e.status), ['enabled', 'primary']);
  const fresh = await phiseal.sealRecord({ name: 'b' }, { schema: { id: 's', version: 1, fields: { name: true } }, recordId: 'r2', recipients: [keyset.primaryPublicKey], author });
  const schema = { id: 's', version: 1, fields: { name: true } };
  assert.equal((await phiseal.openRecord(old, { schema, recordId: 'r1', authors: [author], privateKey: keyset })).record.name, 'a');
  assert.equal((await phiseal.openRecord(fresh, { schema, recordId: 'r2', authors: [author], privateKey: keyset })).record.name, 'b');
  keyset.disable(k1.kid);
  await rejectsWith(assert, phiseal.openRecord(old, { schema, recordId: 'r1', authors: [author], privateKey: keyset }), ErrorCode.NOT_RECIPIENT);
  keyset.enable(k1.kid);
  assert.equal((await phiseal.openRecord(old, { schema, recordId: 'r1', authors: [author], privateKey: keyset })).record.name, 'a');
  await rejectsWith(assert, () => keyset.disable(k2.kid), ErrorCode.INVALID_ARGUMENT);
  await rejectsWith(assert, () => keyset.add(k2), ErrorCode.INVALID_ARGUMENT);
});

test('index-key rotation: old and new tokens during the move, resumable job, idempotent', async () => {
  const clinician = await phiseal.generateKeyPair();
  const ik1 = await phiseal.generateIndexKey();
  const indexKeys = new IndexKeyset([ik1]);
  const records = await phiseal.sealRecords([0, 1, 2, 3, 4].map((i) => ({ record: rec(i), recordId: `r${i}`, context: { patientId: `p-${i}` } })), {
    schema: SCHEMA, recipients: [clinician.publicKey], indexKey: indexKeys, author,
  });
  const before = records.map((r) => phiseal.inspectRecord(r));
  const originals = [...records];
  const ik2 = await phiseal.generateIndexKey();
  indexKeys.add(ik2, { primary: true });
  const [newTok, oldTok] = phiseal.searchTokens('odd@example.org', { schema: SCHEMA, path: 'email', indexKeys });
  assert.notEqual(newTok, oldTok);
  const matches = (tokens) => records.filter((r) => tokens.includes(r.email)).map((r) => r.n);
  assert.deepEqual(matches([newTok, oldTok]), [1, 3]);

  const digests = (await phiseal.openRecords(records.map((sealed, i) => ({ sealed, recordId: `r${i}`, context: { patientId: `p-${i}` } })), {
    schema: SCHEMA, privateKey: clinician.privateKey, indexKey: indexKeys, authors: [author],
  })).map((o) => o.header.digest);

  const progress = [];
  // The job verifies each record (signed by `author`) and signs the new version with its own key.
  const rotator = await phiseal.generateAuthorKey();
  const opts = {
    schema: SCHEMA, privateKey: clinician.privateKey, indexKeys, directory: [clinician.publicKey], author: rotator, authors: [author],
    onProgress: (p) => progress.push(p.done),
  };
  // Records by an author the job does not trust are refused, never re-signed; so is a job without its own key.
  await rejectsWith(assert, phiseal.reencryptRecords(records, { ...opts, authors: [rotator], save: () => assert.fail('saved') }), ErrorCode.UNTRUSTED_AUTHOR);
  await rejectsWith(assert, phiseal.reencryptRecords(records, { ...opts, author: undefined, save: () => assert.fail('saved') }), ErrorCode.INVALID_ARGUMENT, /author is required/);
  progress.length = 0;
  const first = await phiseal.reencryptRecords(records, { ...opts, limit: 2 });
  assert.deepEqual(first, { reencrypted: 2, skipped: 0, next: 2, total: 5, done: false });
  assert.deepEqual(matches([newTok, oldTok]), [1, 3], 'lookups keep working mid-rotation');
  const rest = await phiseal.reencryptRecords(records, { ...opts, start: first.next });
  assert.deepEqual(rest, { reencrypted: 3, skipped: 0, next: 5, total: 5, done: true });
  assert.deepEqual(progress, [1, 2, 3, 4, 5]);
  assert.deepEqual(matches([newTok]), [1, 3]);
  assert.ok(records.every((r) => phiseal.inspectRecord(r).indexKeyId === ik2.id));
  // Each moved record is the next version of itself: same id and context, linked, signed by the job.
  const after = records.map((r) => phiseal.inspectRecord(r));
  assert.deepEqual(after.map((h) => [h.recordId, h.context, h.version, h.author]), before.map((h) => [h.recordId, h.context, 2, rotator.kid]));
  const prefix = phiseal.searchTokens('000-00-0003', { schema: SCHEMA, path: 'ssn', indexKeys })[0];
  assert.deepEqual(records.filter((r) => r.ssn.startsWith(prefix)).map((r) => r.n), [3]);
  const again = await phiseal.reencryptRecords(records, opts);
  assert.deepEqual(again, { reencrypted: 0, skipped: 5, next: 5, total: 5, done: true });
  // A job with a version store that saw the new versions is handed the old
  // ones (still under the old index key): refused, never re-signed.
  const seen = new phiseal.MemoryVersionStore();
  for (const [i, r] of records.entries()) {
    await phiseal.openRecord(r, { schema: SCHEMA, privateKey: clinician.privateKey, indexKey: indexKeys, recordId: `r${i}`, context: { patientId: `p-${i}` }, authors: [rotator], versions: seen });
  }
  await rejectsWith(assert, phiseal.reencryptRecords(originals, { ...opts, versions: seen, save: () => assert.fail('saved') }), ErrorCode.STALE_VERSION, /rollback/);
  // Without the store the same job would re-sign them as a fork.
  assert.equal((await phiseal.reencryptRecords([originals[0]], { ...opts, limit: 1 })).reencrypted, 1);
  const items = records.map((sealed, i) => ({ sealed, recordId: `r${i}`, context: { patientId: `p-${i}` } }));
  const readOpts = { schema: SCHEMA, privateKey: clinician.privateKey, indexKey: indexKeys, authors: [author, rotator] };
  const opened = await phiseal.openRecords(items, readOpts);
  assert.deepEqual(opened.map((o) => o.record), [0, 1, 2, 3, 4].map(rec));
  assert.deepEqual(opened.map((o) => o.header.previous), digests, 'linked to the versions they replace');
  await rejectsWith(assert, phiseal.openRecords(items, { ...readOpts, authors: [author] }), ErrorCode.UNTRUSTED_AUTHOR);
  indexKeys.disable(ik1.id);
  assert.equal(phiseal.searchTokens('x', { schema: SCHEMA, path: 'email', indexKeys }).length, 1);
});
