// 'phiseal/fields' alone loads the lean wasm build (pkg/fields/): field
// encryption works, the audit log says UNSUPPORTED, and what it seals the
// full build opens (same format). This file must not import the full entry
// before init() (node --test runs each file in its own process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import * as lean from '../../js/fields-entry.js';
import { loadedBuild } from '../../js/internal.js';

await lean.init();

const SCHEMA = { id: 's', version: 1, fields: { 'patient.name': true, 'patient.ssn': { mode: 'blindIndex' } } };
const RECORD = { patient: { name: 'Ana Souza', ssn: '123-45-6789' }, visit: 7 };

test('the fields entry loads the lean build, which is smaller than the full one', async () => {
  assert.equal(loadedBuild(), 'fields');
  const size = async (p) => gzipSync(await readFile(new URL(p, import.meta.url)), { level: 9 }).length;
  const [leanGz, fullGz] = [await size('../../pkg/fields/phiseal_bg.wasm'), await size('../../pkg/phiseal_bg.wasm')];
  assert.ok(leanGz < fullGz, `lean ${leanGz} B gzipped, full ${fullGz} B`);
  assert.ok((await stat(new URL('../../pkg/fields/phiseal_bg.wasm', import.meta.url))).size > 0);
});

test('field encryption works on the lean build', async () => {
  const { privateKey, publicKey } = await lean.generateKeyPair();
  const author = await lean.generateAuthorKey();
  assert.ok(author instanceof lean.AuthorKey);
  const indexKey = await lean.generateIndexKey();
  const context = { patientId: 'p-1' };
  const sealed = await lean.sealRecord(RECORD, { schema: SCHEMA, recordId: 'r1', context, recipients: [publicKey], indexKey, author });
  assert.notEqual(sealed.patient.name, RECORD.patient.name);
  assert.deepEqual(lean.verifyAllPhiEncrypted(sealed, SCHEMA), []);
  const versions = new lean.MemoryVersionStore();
  const expect = { schema: SCHEMA, recordId: 'r1', context, authors: [author.publicKey], privateKey, indexKey, versions };
  const opened = await lean.openRecord(sealed, expect);
  assert.deepEqual(opened.record, RECORD);
  assert.deepEqual(opened.author, { kid: author.kid });
  // The lean build makes the same checks: signature, author, expectation, version.
  await assert.rejects(lean.openRecord({ ...sealed, visit: 8 }, expect), (e) => e.code === lean.ErrorCode.INVALID_SIGNATURE);
  await assert.rejects(lean.openRecord(sealed, { ...expect, authors: [(await lean.generateAuthorKey()).publicKey] }), (e) => e.code === lean.ErrorCode.UNTRUSTED_AUTHOR);
  await assert.rejects(lean.openRecord(sealed, { ...expect, recordId: 'r2' }), (e) => e.code === lean.ErrorCode.CONTEXT_MISMATCH);
  const next = await lean.sealRecord(opened.record, { schema: SCHEMA, recordId: 'r1', context, recipients: [publicKey], indexKey, author, previous: opened.header });
  assert.equal((await lean.openRecord(next, expect)).header.version, 2);
  await assert.rejects(lean.openRecord(sealed, expect), (e) => e.code === lean.ErrorCode.STALE_VERSION);
  const sealedKey = await lean.sealIndexKey(indexKey, [publicKey], { author });
  assert.equal((await lean.openIndexKey(sealedKey, privateKey, { authors: [author] })).id, indexKey.id);
});

test('the audit log is not in the lean build: UNSUPPORTED, not a TypeError', async () => {
  for (const f of [() => new lean.AuditLog(), () => lean.verifyLog('', [])]) {
    assert.throws(f, (e) => e instanceof lean.PhisealError && e.code === lean.ErrorCode.UNSUPPORTED);
  }
});

test('capabilities() reports the lean build', () => {
  const c = lean.capabilities();
  assert.equal(c.build, 'fields');
  assert.equal(c.audit, false);
  assert.equal(c.media, false);
  assert.equal(c.webCrypto, true);
});

test("a stream entry imported after the lean build is loaded says UNSUPPORTED, not a TypeError", async () => {
  const stream = await import('../../js/stream.js');
  const { publicKey } = await lean.generateKeyPair();
  // At the call, synchronously (not later, as a stream error that new Response() would turn into a TypeError).
  assert.throws(
    () => stream.encryptStream(new Blob([new Uint8Array(10)]).stream(), { recipients: [publicKey] }),
    (e) => e instanceof lean.PhisealError && e.code === lean.ErrorCode.UNSUPPORTED,
  );
});

test('SigningKey on the lean build: UNSUPPORTED, not a TypeError; PublicKey is the real class', () => {
  assert.throws(() => lean.SigningKey.generate(), (e) => e instanceof lean.PhisealError && e.code === lean.ErrorCode.UNSUPPORTED);
  assert.equal({} instanceof lean.SigningKey, false);
  assert.equal(typeof lean.PublicKey.fromJwk, 'function');
});
