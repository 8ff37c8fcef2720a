// The TypeScript declarations against the code (issue "first hour"): for
// every entry point of package.json `exports`, each value its .d.ts declares
// is exported at run time, and each run-time export is declared as a value.
// (A declared value that is not exported type-checks, then fails the
// bundler with MISSING_EXPORT; an undeclared export is an API nobody can
// find.) The declared names come from the TypeScript compiler's own view of
// each module, so `export *` and re-exports are followed as tsc follows them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { init } from '../../js/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const ts = createRequire(import.meta.url)(`${root}node_modules/typescript`);
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

const entries = Object.entries(pkg.exports)
  .filter(([, t]) => typeof t === 'object' && t.types)
  .map(([name, t]) => ({ name: name === '.' ? 'phiseal' : `phiseal/${name.slice(2)}`, types: `${root}${t.types.slice(2)}`, code: `${root}${t.default.slice(2)}` }));

const program = ts.createProgram(
  entries.map((e) => e.types),
  { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'], noEmit: true },
);
const checker = program.getTypeChecker();

/** The names a declaration file exports as values (functions, classes, consts, lets), following re-exports. */
function declaredValues(file) {
  const source = program.getSourceFile(file);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const names = new Set();
  for (const sym of checker.getExportsOfModule(moduleSymbol)) {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if (target.flags & ts.SymbolFlags.Value) names.add(sym.name);
  }
  return names;
}

test('the declaration files compile on their own (no diagnostics)', () => {
  const diagnostics = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, []);
});

await init();
for (const e of entries) {
  test(`${e.name}: every declared value is exported, every export is declared`, async () => {
    const declared = declaredValues(e.types);
    const runtime = new Set(Object.keys(await import(e.code)));
    const missing = [...declared].filter((n) => !runtime.has(n)).sort();
    const undeclared = [...runtime].filter((n) => !declared.has(n)).sort();
    assert.deepEqual({ missing, undeclared }, { missing: [], undeclared: [] }, `${e.types} vs ${e.code}`);
    assert.ok(declared.size > 0, 'the check saw the declarations');
  });
}

// The signed-record API is in both record entries, declared and at run time
// (a name dropped from both would pass the check above).
const SIGNED_RECORDS = ['AuthorKey', 'generateAuthorKey', 'importAuthorKey', 'VersionStore', 'MemoryVersionStore'];
for (const e of entries.filter((x) => x.name === 'phiseal' || x.name === 'phiseal/fields')) {
  test(`${e.name}: exports the signed-record API (${SIGNED_RECORDS.join(', ')})`, async () => {
    const declared = declaredValues(e.types);
    const runtime = await import(e.code);
    for (const name of SIGNED_RECORDS) {
      assert.ok(declared.has(name), `${e.types} declares ${name}`);
      assert.equal(typeof runtime[name], 'function', `${e.code} exports ${name}`);
    }
  });
}

// Return shapes as declared: byte outputs are Uint8Array over a plain
// ArrayBuffer (Uint8Array<ArrayBuffer>: they go into Blob, fetch and
// crypto.subtle without a copy); wraps are plain JSON.
test('return shapes match the declarations', async () => {
  const phiseal = await import('../../js/index.js');
  const media = await import('../../js/media.js');
  const isBytes = (b) => b instanceof Uint8Array && b.buffer instanceof ArrayBuffer;
  const { privateKey, publicKey } = await phiseal.generateKeyPair({ extractable: true });
  const sealed = await phiseal.hpkeSeal(publicKey, new Uint8Array([1, 2, 3]));
  assert.deepEqual(Object.keys(sealed).sort(), ['ciphertext', 'enc']);
  assert.ok(isBytes(sealed.enc) && isBytes(sealed.ciphertext));
  assert.ok(isBytes(await phiseal.hpkeOpen(privateKey, sealed.enc, sealed.ciphertext)));
  assert.ok(isBytes(publicKey.toSpki()) && isBytes(publicKey.toSec1()) && isBytes(await privateKey.exportPkcs8()));
  const schema = phiseal.defineSchema({ id: 's', version: 1, fields: { 'a.b': { mode: 'random' } } });
  const author = await phiseal.generateAuthorKey();
  assert.ok(author instanceof phiseal.AuthorKey && author.publicKey instanceof phiseal.PublicKey);
  const record = await phiseal.sealRecord({ a: { b: 'x' }, c: 1 }, { schema, recordId: 'r', recipients: [publicKey], author, context: { patientId: 'p' } });
  const opened = await phiseal.openRecord(record, { schema, privateKey, recordId: 'r', context: { patientId: 'p' }, authors: [author.publicKey] });
  assert.deepEqual(Object.keys(opened).sort(), ['author', 'header', 'locked', 'record']);
  assert.deepEqual(opened.record, { a: { b: 'x' }, c: 1 });
  assert.deepEqual(opened.author, { kid: author.kid });
  // OpenedHeader (js/index.d.ts): RecordHeader plus digest; inspectRecord gives the same, unauthenticated.
  const headerKeys = ['author', 'context', 'created', 'epoch', 'groups', 'indexKeyId', 'previous', 'recordId', 'schemaId', 'schemaVersion', 'version'];
  assert.deepEqual(Object.keys(opened.header).sort(), [...headerKeys, 'digest'].sort());
  assert.deepEqual(Object.keys(phiseal.inspectRecord(record)).sort(), [...headerKeys, 'digest'].sort());
  assert.equal(typeof opened.header.digest, 'string');
  assert.match(await phiseal.sealIndexKey(await phiseal.generateIndexKey(), [publicKey], { author }), /^phk2\./);
  const versions = new phiseal.MemoryVersionStore();
  assert.equal(await versions.advance('k', { version: 1, digest: opened.header.digest }), undefined);
  assert.deepEqual(await versions.get('k'), { version: 1, digest: opened.header.digest });
  const wraps = await media.wrapBaseKey(media.generateBaseKey(), [publicKey], { senderKey: privateKey, call: 'c', senderId: 1 });
  assert.deepEqual(JSON.parse(JSON.stringify(wraps)), wraps, 'wraps survive JSON');
  const unwrapped = await media.unwrapBaseKey(privateKey, JSON.parse(JSON.stringify(wraps)), { sender: publicKey, call: 'c' });
  assert.deepEqual(Object.keys(unwrapped).sort(), ['baseKey', 'epoch', 'senderId', 'suite']);
  assert.ok(isBytes(unwrapped.baseKey));
  const log = new phiseal.AuditLog({ signingKey: phiseal.SigningKey.generate(), checkpointEvery: 1 });
  const appended = log.append({ actor: { id: 'a', role: 'r' }, action: 'view' });
  assert.deepEqual(Object.keys(appended).sort(), ['entry', 'lines']);
  const report = phiseal.verifyLog(log.toJsonl(), []);
  assert.deepEqual(Object.keys(report).sort(), ['authenticated', 'checkpoint', 'checkpoints', 'entries', 'lastCheckpointSeq', 'problem', 'root', 'unsignedTail', 'valid', 'witnessed']);
});

// Inputs that used to be changed silently, and errors that now say what to do.
test('no silent coercion; errors name the fix', async () => {
  const phiseal = await import('../../js/index.js');
  const { privateKey, publicKey } = await phiseal.generateKeyPair();
  const schema = phiseal.defineSchema({ id: 's', version: 1, fields: { note: true } });
  const author = await phiseal.generateAuthorKey();
  const seal = (record, recipients = [publicKey]) => phiseal.sealRecord(record, { schema, recordId: 'r', recipients, author });
  const refused = async (p, pattern) => {
    await assert.rejects(p, (e) => e instanceof phiseal.PhisealError && e.code === 'INVALID_ARGUMENT' && pattern.test(e.message));
  };
  await refused(seal({ note: 'x', dose: undefined }), /record at \/dose is undefined/);
  await refused(seal({ note: 'x', visit: new Date() }), /Date: store date.toISOString\(\)/);
  await refused(seal({ note: 'x', n: NaN }), /NaN/);
  await refused(seal({ note: 'x', list: [1, , 3] }), /hole at index 1/);
  await refused(seal({ note: 'x' }, [privateKey]), /pass privateKey.publicKey/);
  await refused(seal({ note: 'x' }, [publicKey.toJwk()]), /importPublicKey\(jwk\)/);
  assert.throws(() => phiseal.importPublicKey(JSON.stringify(publicKey.toJwk())), /JSON text, not a PEM string/);
  assert.throws(() => new phiseal.AuditLog({ checkpointEvery: 0 }), /checkpointEvery must be a whole number/);
  const badSchema = { id: 's', version: 1, fields: { note: true, 'patient..ssn': { mode: 'blindIndex' } } };
  await refused(phiseal.sealRecord({ note: 'x' }, { schema: badSchema, recordId: 'r', recipients: [publicKey], author }), /^schema field "patient\.\.ssn": /);
  // The keys of the signed-record API: the wrong kind of key says which one to pass.
  await refused(phiseal.sealRecord({ note: 'x' }, { schema, recordId: 'r', recipients: [publicKey] }), /author is required: the AuthorKey .*generateAuthorKey\(\)/);
  await refused(phiseal.sealRecord({ note: 'x' }, { schema, recordId: 'r', recipients: [publicKey], author: privateKey }), /not an HPKE PrivateKey/);
  const sealed = await seal({ note: 'x' });
  await refused(phiseal.openRecord(sealed, { schema, privateKey, recordId: 'r', authors: [author.publicKey.toJwk()] }), /must be a PublicKey \(authorKey\.publicKey\)/);
  await refused(phiseal.openRecord(sealed, { schema, privateKey, recordId: 'r', authors: author.publicKey }), /authors is required: a non-empty array/);
  await refused(phiseal.openRecord(sealed, { schema, privateKey, authors: [author] }), /recordId is required/);
});
