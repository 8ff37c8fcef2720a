// Large FHIR attachments through the encrypted stream format
// (phiseal/fhir/attachments, docs/FHIR.md): every example of the FHIR R4
// specification (npm hl7.fhir.r4.examples 4.0.1) that carries `data` above
// the threshold detaches, seals with the preset, opens and attaches back
// deep-equal; the server that swaps, edits or replays a stream is refused
// before anything is decrypted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { phiseal, rejectsWith } from './helpers.mjs';
import { fhirSchema } from '../../js/fhir.js';
import { decryptBlob } from '../../js/stream.js';
import { attachAttachments, detachAttachments, SEALED_DATA_EXTENSION } from '../../js/fhir-attachments.js';

const DIR = fileURLToPath(new URL('../../node_modules/hl7.fhir.r4.examples/', import.meta.url));

function withData() {
  const out = [];
  for (const file of readdirSync(DIR).sort()) {
    if (!file.endsWith('.json') || file === 'package.json') continue;
    const text = readFileSync(DIR + file, 'utf8');
    if (text.includes('"data"')) out.push({ file, resource: JSON.parse(text) });
  }
  return out;
}

async function keys() {
  return {
    author: await phiseal.generateAuthorKey(),
    clinician: await phiseal.generateKeyPair(),
    desk: await phiseal.generateKeyPair(),
    indexKey: await phiseal.generateIndexKey(),
  };
}

/** A server's blob store. */
function blobStore() {
  const blobs = new Map();
  return {
    blobs,
    store: async (blob) => {
      const ref = `blob-${blobs.size + 1}`;
      blobs.set(ref, new Uint8Array(await blob.arrayBuffer()));
      return ref;
    },
    load: async (ref) => blobs.get(ref),
  };
}

test('every FHIR R4 example with large data detaches, seals, opens and attaches back deep-equal', async () => {
  const k = await keys();
  const recipients = [k.clinician.publicKey, { publicKey: k.desk.publicKey, groups: ['identity'] }];
  const s = blobStore();
  let files = 0;
  let moved = 0;
  let movedBytes = 0;
  const types = {};
  for (const { file, resource } of withData()) {
    const { resource: light, detached } = await detachAttachments(resource, { recipients, author: k.author, store: s.store });
    if (detached.length === 0) continue;
    files++;
    moved += detached.length;
    types[resource.resourceType] = (types[resource.resourceType] ?? 0) + 1;
    const sealed = await phiseal.sealRecord(light, { schema: fhirSchema, recordId: file, recipients, indexKey: k.indexKey, author: k.author });
    assert.deepEqual(phiseal.verifyAllPhiEncrypted(sealed, fhirSchema), [], file);
    const text = JSON.stringify(sealed);
    assert.ok(text.length < JSON.stringify(resource).length, `${file}: the sealed record is smaller than the original`);
    assert.ok(!text.includes(SEALED_DATA_EXTENSION), `${file}: the stream reference is sealed with the record`);
    const opened = await phiseal.openRecord(JSON.parse(text), { schema: fhirSchema, recordId: file, authors: [k.author.publicKey], privateKey: k.clinician.privateKey, indexKey: k.indexKey });
    const full = await attachAttachments(opened.record, { schema: fhirSchema, privateKey: k.clinician.privateKey, authors: [k.author.publicKey], load: s.load });
    assert.deepEqual(full, resource, `${file}: not the original`);
  }
  for (const b of s.blobs.values()) movedBytes += b.length;
  assert.ok(files >= 5 && types.Binary && types.DiagnosticReport, JSON.stringify(types));
  console.log(`FHIR R4 examples with data above 64 KiB: ${files} files (${Object.entries(types).map(([t, n]) => `${t} ${n}`).join(', ')}), ${moved} data detached into ${movedBytes} bytes of encrypted streams`);
});

test('attack: a swapped, edited or older stream is CONTEXT_MISMATCH; the desk cannot read a clinical stream', async () => {
  const k = await keys();
  const recipients = [k.clinician.publicKey, { publicKey: k.desk.publicKey, groups: ['identity'] }];
  const pdf = (fill) => btoa(String.fromCharCode(...new Uint8Array(100_000).fill(fill)));
  const doc = (fill) => ({ resourceType: 'DocumentReference', status: 'current', content: [{ attachment: { contentType: 'application/pdf', data: pdf(fill) } }] });
  const s = blobStore();
  const open = async (sealed, id) =>
    (await phiseal.openRecord(sealed, { schema: fhirSchema, recordId: id, authors: [k.author.publicKey], privateKey: k.clinician.privateKey, indexKey: k.indexKey })).record;
  const seal = async (r, id) => {
    const { resource } = await detachAttachments(r, { recipients, author: k.author, store: s.store });
    return phiseal.sealRecord(resource, { schema: fhirSchema, recordId: id, recipients, indexKey: k.indexKey, author: k.author });
  };
  const a = await open(await seal(doc(1), 'a'), 'a'); // blob-1
  await open(await seal(doc(2), 'b'), 'b'); // blob-2: another patient's document, same author
  const attach = (load) => attachAttachments(a, { schema: fhirSchema, privateKey: k.clinician.privateKey, authors: [k.author.publicKey], load });
  assert.deepEqual(await attach(s.load), doc(1));
  // The server hands back patient b's stream for a's record.
  await rejectsWith(assert, attach(async () => s.blobs.get('blob-2')), 'CONTEXT_MISMATCH');
  // One flipped byte.
  const edited = s.blobs.get('blob-1').slice();
  edited[edited.length - 5] ^= 1;
  await rejectsWith(assert, attach(async () => edited), 'CONTEXT_MISMATCH');
  // A stream the server made itself, to the clinician, under its own key.
  const server = await phiseal.generateAuthorKey();
  const { resource: forged } = await detachAttachments(doc(3), { recipients, author: server, store: s.store });
  assert.ok(forged);
  await rejectsWith(assert, attach(async () => s.blobs.get('blob-3')), 'CONTEXT_MISMATCH');
  // A schema with an unsigned member: the server writes there a sealed-data
  // extension it crafted for patient b's stream (it stores the blobs: it can
  // hash them). attachAttachments reads only what the signature covers.
  const loose = { id: 'loose', version: 1, fields: { 'content[].attachment': true }, unsigned: ['meta'] };
  const { resource: mine } = await detachAttachments(doc(5), { recipients: [k.clinician.publicKey], author: k.author, store: s.store });
  const sealedLoose = await phiseal.sealRecord(mine, { schema: loose, recordId: 'c', recipients: [k.clinician.publicKey], author: k.author });
  const bBytes = s.blobs.get('blob-2');
  const hash = btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-384', bBytes))));
  sealedLoose.meta = { extension: [{ url: SEALED_DATA_EXTENSION, extension: [{ url: 'ref', valueString: 'blob-2' }, { url: 'sha384', valueBase64Binary: hash }, { url: 'size', valueString: '100000' }] }] };
  const openedLoose = await phiseal.openRecord(sealedLoose, { schema: loose, recordId: 'c', authors: [k.author.publicKey], privateKey: k.clinician.privateKey });
  const attachedLoose = await attachAttachments(openedLoose.record, { schema: loose, privateKey: k.clinician.privateKey, authors: [k.author.publicKey], load: s.load });
  assert.equal(attachedLoose.meta.data, undefined, "patient b's document was attached to record c");
  assert.deepEqual(attachedLoose.content, doc(5).content);
  await rejectsWith(assert, attachAttachments(openedLoose.record, { privateKey: k.clinician.privateKey, authors: [k.author.publicKey], load: s.load }), 'INVALID_ARGUMENT');
  // The desk (identity group) gets no stream key for clinical attachments.
  const { resource: light } = await detachAttachments(doc(4), { recipients, author: k.author, store: s.store });
  const ref = light.content[0].attachment.extension[0].extension[0].valueString;
  await rejectsWith(assert, decryptBlob(new Blob([s.blobs.get(ref)]), { privateKey: k.desk.privateKey, authors: [k.author.publicKey] }), 'NOT_RECIPIENT');
  // Bad arguments.
  await rejectsWith(assert, detachAttachments(doc(1), { recipients, author: k.author }), 'INVALID_ARGUMENT');
  await rejectsWith(assert, detachAttachments(doc(1), { recipients: [{ publicKey: k.desk.publicKey, groups: ['identity'] }], author: k.author, store: s.store }), 'INVALID_ARGUMENT');
  await rejectsWith(assert, attachAttachments(a, { schema: fhirSchema, privateKey: k.clinician.privateKey, authors: [k.author.publicKey], load: async () => 'text' }), 'INVALID_ARGUMENT');
});

test('small or non-canonical data stays in the record', async () => {
  const k = await keys();
  const s = blobStore();
  const r = { resourceType: 'Binary', contentType: 'text/plain', data: 'aGVsbG8=' };
  assert.deepEqual((await detachAttachments(r, { recipients: [k.clinician.publicKey], author: k.author, store: s.store })).detached, []);
  const broken = { resourceType: 'Binary', contentType: 'text/plain', data: '*'.repeat(100_000) };
  assert.deepEqual((await detachAttachments(broken, { recipients: [k.clinician.publicKey], author: k.author, store: s.store })).detached, []);
  // Base64 with whitespace travels as text and comes back as it was.
  const big = { resourceType: 'Binary', contentType: 'text/plain', data: btoa('x'.repeat(70_000)).replace(/(.{76})/g, '$1 ') };
  const spaced = await detachAttachments(big, { recipients: [k.clinician.publicKey], author: k.author, store: s.store });
  assert.deepEqual(spaced.detached, ['/data']);
  assert.deepEqual(await attachAttachments(spaced.resource, { schema: fhirSchema, privateKey: k.clinician.privateKey, authors: [k.author.publicKey], load: s.load }), big);
  const moved = await detachAttachments({ ...r, data: btoa('y'.repeat(2000)) }, { recipients: [k.clinician.publicKey], author: k.author, store: s.store, threshold: 1000 });
  assert.deepEqual(moved.detached, ['/data']);
  assert.equal(s.blobs.size, 2);
});
