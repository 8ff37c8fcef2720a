// The seven attacks of issue "authentic records", each played as the attacker
// would: a server that stores and relays everything and writes what it likes,
// with nothing but public information (public keys, schemas, stored records),
// or, for 5, one legitimate recipient's own keys. Each must be refused with
// its typed error (docs/FORMAT.md §5.4, §5.5, §8.4). Attack 6 (one stream,
// two content keys) needs a sender that wraps two keys, which the npm API
// never does: it is played in tests/stream.rs
// (attack_one_ciphertext_two_content_keys_is_refused), with the co-recipient
// and forged-author stream attacks beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aes256Gcm, CipherSuite, DhkemP384HkdfSha384, HkdfSha384 } from '@hpke/core';
import { phiseal, rejectsWith, te } from './helpers.mjs';

const { ErrorCode } = phiseal;
const suite = new CipherSuite({ kem: new DhkemP384HkdfSha384(), kdf: new HkdfSha384(), aead: new Aes256Gcm() });

const schema = phiseal.defineSchema({
  id: 'intake',
  version: 1,
  fields: {
    allergies: true,
    diagnosis: { mode: 'random', group: 'clinical' },
    mrn: 'deterministic',
    insurance: { mode: 'random', group: 'billing' },
    payer: { mode: 'blindIndex', group: 'billing' },
  },
});

const b64u = (b) => Buffer.from(b).toString('base64url');
const unb64u = (s) => new Uint8Array(Buffer.from(s, 'base64url'));

// The parties. The patient's browser authors the record; the clinician reads
// every group, billing only its own; the server has its own keys too.
const patient = await phiseal.generateAuthorKey();
const clinician = await phiseal.generateKeyPair();
const billing = await phiseal.generateKeyPair({ provider: 'wasm', extractable: true });
const server = await phiseal.generateAuthorKey();
const indexKey = await phiseal.generateIndexKey();
const context = { patientId: 'p-1' };
const recipients = [clinician.publicKey, { publicKey: billing.publicKey, groups: ['billing'] }];
const record = { patientId: 'p-1', dose: '5 mg', status: 'final', allergies: ['penicillin'], diagnosis: 'benign', mrn: 'MRN-1', insurance: 'INS-9', payer: 'Acme' };
const sealed = await phiseal.sealRecord(record, { schema, recordId: 'rec-1', recipients, author: patient, context, indexKey });
const open = (s, extra = {}) =>
  phiseal.openRecord(s, { schema, privateKey: clinician.privateKey, recordId: 'rec-1', context, authors: [patient.publicKey], indexKey, ...extra });

/** The byte offsets of a phe2. envelope (FORMAT.md §5.2), read as a third party would. */
function layout(env) {
  const b = unb64u(env.slice(5));
  let at = 7;
  const str8 = () => at += 1 + b[at];
  str8(); // record id
  str8(); // schema id
  at += 4 + 8 + 48 + 4 + 8; // schema version, record version, previous, epoch, created
  const nContext = b[at++];
  for (let i = 0; i < nContext; i++) {
    str8();
    at += 2 + ((b[at] << 8) | b[at + 1]);
  }
  const author = at;
  at += 32;
  str8(); // index key
  at += 48; // content digest
  const groups = [];
  const nGroups = b[at++];
  for (let g = 0; g < nGroups; g++) {
    const name = new TextDecoder().decode(b.subarray(at + 1, at + 1 + b[at]));
    str8();
    at += 32; // key commitment
    const n = b[at++];
    groups.push({ name, kids: Array.from({ length: n }, (_, i) => b64u(b.subarray(at + 32 * i, at + 32 * i + 32))) });
    at += 32 * n;
  }
  const headerEnd = at;
  for (const g of groups) {
    g.wraps = g.kids.map(() => {
      const w = { enc: b.slice(at, at + 97), ct: b.slice(at + 97, at + 145) };
      at += 145;
      return w;
    });
  }
  return { bytes: b, author, header: b.subarray(0, headerEnd), groups, signature: at };
}

function withEnvelope(s, edit) {
  const bytes = unb64u(s._phiseal.slice(5));
  edit(bytes);
  return { ...s, _phiseal: `phe2.${b64u(bytes)}` };
}

test('attack 1: a record forged from public keys is refused (own author key, or a relabelled one)', async () => {
  // The server seals a fabricated intake form to the real recipients, and copies
  // the real patient's deterministic MRN string into it.
  const forged = await phiseal.sealRecord(
    { ...record, diagnosis: 'malignant', allergies: [] },
    { schema, recordId: 'rec-1', recipients, author: server, context, indexKey: await phiseal.generateIndexKey() },
  );
  forged.mrn = sealed.mrn;
  await rejectsWith(assert, open(forged), ErrorCode.UNTRUSTED_AUTHOR);
  // Claiming to be the patient: the header names the patient's kid, the signature is the server's.
  const at = layout(forged._phiseal).author;
  const relabelled = withEnvelope(forged, (b) => b.set(unb64u(patient.kid), at));
  await rejectsWith(assert, open(relabelled), ErrorCode.INVALID_SIGNATURE);
  // Honest control: the real record opens.
  assert.equal((await open(sealed)).record.diagnosis, 'benign');
});

test('attack 2: editing, adding or removing a clear member is refused', async () => {
  for (const edit of [{ dose: '50 mg' }, { status: 'draft' }, { patientId: 'p-2' }, { extra: 1 }]) {
    await rejectsWith(assert, open({ ...sealed, ...edit }), ErrorCode.INVALID_SIGNATURE, /content/);
  }
  const { status, ...without } = sealed;
  assert.equal(status, 'final');
  await rejectsWith(assert, open(without), ErrorCode.INVALID_SIGNATURE);
  // Only members the schema lists as unsigned may change, and the schema says so.
  const loose = { ...schema, unsigned: ['status'] };
  const s2 = await phiseal.sealRecord(record, { schema: loose, recordId: 'rec-1', recipients, author: patient, context, indexKey });
  const edited = await phiseal.openRecord({ ...s2, status: 'draft' }, { schema: loose, privateKey: clinician.privateKey, recordId: 'rec-1', context, authors: [patient.publicKey], indexKey });
  assert.equal(edited.record.status, 'draft');
  await rejectsWith(assert, phiseal.openRecord({ ...s2, dose: '50 mg' }, { schema: loose, privateKey: clinician.privateKey, recordId: 'rec-1', context, authors: [patient.publicKey], indexKey }), ErrorCode.INVALID_SIGNATURE);
});

test('attack 3: a record moved to another row or another patient is refused', async () => {
  // Served under another record id.
  await rejectsWith(assert, open(sealed, { recordId: 'rec-2' }), ErrorCode.CONTEXT_MISMATCH, /record id/);
  // Served as another patient's record (same id in another patient's table).
  await rejectsWith(assert, open(sealed, { context: { patientId: 'p-2' } }), ErrorCode.CONTEXT_MISMATCH, /context/);
  // Under another schema (another table).
  const other = { ...schema, id: 'labs' };
  await rejectsWith(assert, phiseal.openRecord(sealed, { schema: other, privateKey: clinician.privateKey, recordId: 'rec-1', context, authors: [patient.publicKey] }), ErrorCode.CONTEXT_MISMATCH);
  // The authenticated header is what the opener gets back.
  const { header, author } = await open(sealed);
  assert.deepEqual([header.recordId, header.context, author.kid], ['rec-1', context, patient.kid]);
});

test('attack 4: rolling back to an older version is refused (version store, minimum version)', async () => {
  const v1 = await open(sealed);
  const v2sealed = await phiseal.sealRecord({ ...record, allergies: ['penicillin', 'latex'] }, { schema, recordId: 'rec-1', recipients, author: patient, context, indexKey, previous: v1.header });
  const versions = new phiseal.MemoryVersionStore();
  const v2 = await open(v2sealed, { versions });
  assert.equal(v2.header.version, 2);
  assert.equal(v2.header.previous, v1.header.digest);
  // Without outside state an old version is authentic and opens (FORMAT.md §5.6 says so) ...
  assert.deepEqual((await open(sealed)).record.allergies, ['penicillin']);
  // ... with the store, or a minimum version, it is refused.
  await rejectsWith(assert, open(sealed, { versions }), ErrorCode.STALE_VERSION, /rollback/);
  await rejectsWith(assert, open(sealed, { minVersion: 2 }), ErrorCode.STALE_VERSION);
  // After billing is removed by a re-key, the server serves current readers the
  // old version billing can still read: refused.
  const v3sealed = await phiseal.removeRecipient(v2sealed, { schema, privateKey: clinician.privateKey, recordId: 'rec-1', context, authors: [patient.publicKey], author: patient, recipient: billing.publicKey, directory: [clinician.publicKey, billing.publicKey] });
  assert.equal((await open(v3sealed, { versions })).header.version, 3);
  await rejectsWith(assert, open(v2sealed, { versions }), ErrorCode.STALE_VERSION);
  // A fork: another version 3 (here by re-keying v2 again) is refused too.
  const fork = await phiseal.rekeyRecord(v2sealed, { schema, privateKey: clinician.privateKey, recordId: 'rec-1', context, authors: [patient.publicKey], author: patient, recipients: [clinician.publicKey] });
  await rejectsWith(assert, open(fork, { versions }), ErrorCode.STALE_VERSION, /fork/);
  // A fork numbered higher: a second version 2 made from v1 (billing still a
  // reader), then its version 3 and 4. A reader that saw the real v2 is handed
  // the forked v3, the very next number: it does not link to the v2 seen,
  // refused, and the store does not move; the same for the forked v4 once the
  // real v3 was seen.
  const rekey = (s) => phiseal.rekeyRecord(s, { schema, privateKey: clinician.privateKey, recordId: 'rec-1', context, authors: [patient.publicKey], author: patient, recipients });
  const fork2 = await rekey(sealed);
  const fork3 = await rekey(fork2);
  const fork4 = await rekey(fork3);
  const seen = new phiseal.MemoryVersionStore();
  assert.equal((await open(v2sealed, { versions: seen })).header.version, 2);
  await rejectsWith(assert, open(fork3, { versions: seen }), ErrorCode.STALE_VERSION, /does not follow/);
  assert.equal((await open(v3sealed, { versions: seen })).header.version, 3);
  await rejectsWith(assert, open(fork4, { versions: seen }), ErrorCode.STALE_VERSION, /does not follow/);
  // What remains (FORMAT.md §5.6): across a gap the chain between is not
  // seen, so a reader that last saw v1 takes the forked v3.
  const lastSawV1 = new phiseal.MemoryVersionStore();
  await open(sealed, { versions: lastSawV1 });
  assert.equal((await open(fork3, { versions: lastSawV1 })).header.version, 3);
});

test("attack 5: a billing recipient re-encrypting its own group's fields is refused for everyone", async () => {
  // Billing unwraps its data key with its own private key (any HPKE library) ...
  const l = layout(sealed._phiseal);
  const g = l.groups.find((x) => x.name === 'billing');
  const wrap = g.wraps[g.kids.indexOf(billing.privateKey.kid)];
  const recipientKey = await suite.kem.importKey('jwk', await billing.privateKey.exportJwk(), false);
  const info = new Uint8Array([14, ...te.encode('phiseal-dek-v2'), 7, ...te.encode('billing')]);
  const dek = new Uint8Array(await suite.open({ recipientKey, enc: wrap.enc, info }, wrap.ct, l.header));
  // ... and re-encrypts the insurance field exactly as FORMAT.md §5.3 says.
  const u32 = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  const label = te.encode('phiseal-field-v1');
  const aad = new Uint8Array([label.length, ...label, 1, 5, ...te.encode('rec-1'), 6, ...te.encode('intake'), ...u32(1), 0, 10, ...te.encode('/insurance'), ...u32(1), 0]);
  const key = await crypto.subtle.importKey('raw', dek, 'AES-GCM', false, ['encrypt', 'decrypt']);
  // Control: the AAD is right (billing can open the real string with it).
  const real = unb64u(sealed.insurance.slice(5));
  await crypto.subtle.decrypt({ name: 'AES-GCM', iv: real.subarray(0, 12), additionalData: aad }, key, real.subarray(12));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, te.encode('"NONE"')));
  const rewritten = { ...sealed, insurance: `phs1.${b64u(new Uint8Array([...iv, ...ct]))}` };
  await rejectsWith(assert, open(rewritten), ErrorCode.INVALID_SIGNATURE);
  await rejectsWith(
    assert,
    phiseal.openRecord(rewritten, { schema, privateKey: billing.privateKey, recordId: 'rec-1', context, authors: [patient.publicKey], indexKey }),
    ErrorCode.INVALID_SIGNATURE,
  );
});

test("attack 7: a sealed index key cannot be swapped for one recipient, nor re-authored", async () => {
  const sealedKey = await phiseal.sealIndexKey(indexKey, [clinician.publicKey, billing.publicKey], { author: patient });
  assert.equal((await phiseal.openIndexKey(sealedKey, clinician.privateKey, { authors: [patient.publicKey] })).id, indexKey.id);
  // The server replaces billing's wrap with a wrap of a key it chose (public key only).
  const b = unb64u(sealedKey.slice(5));
  const aadEnd = 1 + 16 + 32 + 32 + 1 + 2 * 32;
  const recipientPublicKey = await suite.kem.importKey('raw', billing.publicKey.toSec1(false).buffer.slice(0), true);
  const ctx = await suite.createSenderContext({ recipientPublicKey, info: te.encode('phiseal-index-key-v2') });
  const ct = new Uint8Array(await ctx.seal(crypto.getRandomValues(new Uint8Array(32)), b.subarray(0, aadEnd)));
  b.set(new Uint8Array(ctx.enc), aadEnd + 145);
  b.set(ct, aadEnd + 145 + 97);
  const swapped = `phk2.${b64u(b)}`;
  // The forgery is real: billing's slot now opens (with any HPKE library) to the server's key.
  const billingKey = await suite.kem.importKey('jwk', await billing.privateKey.exportJwk(), false);
  const planted = await suite.open({ recipientKey: billingKey, enc: b.slice(aadEnd + 145, aadEnd + 242), info: te.encode('phiseal-index-key-v2') }, b.slice(aadEnd + 242, aadEnd + 290), b.subarray(0, aadEnd));
  assert.equal(planted.byteLength, 32);
  await rejectsWith(assert, phiseal.openIndexKey(swapped, billing.privateKey, { authors: [patient.publicKey] }), ErrorCode.INVALID_SIGNATURE);
  // Or it seals its own key under the same id: signed by the server, not trusted.
  const own = await phiseal.sealIndexKey(await phiseal.generateIndexKey(), [billing.publicKey], { author: server });
  await rejectsWith(assert, phiseal.openIndexKey(own, billing.privateKey, { authors: [patient.publicKey] }), ErrorCode.UNTRUSTED_AUTHOR);
  // And a record names the exact key (id and commitment) its fields were made with.
  const other = await phiseal.generateIndexKey();
  await rejectsWith(assert, open(sealed, { indexKey: other }), ErrorCode.INVALID_ARGUMENT, /another index key/);
  // After a rotation to `other`, the server serves the authentic old sealed
  // key: a reader that keeps the current id refuses it.
  const rotated = await phiseal.sealIndexKey(other, [billing.publicKey], { author: patient });
  assert.equal((await phiseal.openIndexKey(rotated, billing.privateKey, { authors: [patient.publicKey], id: other.id })).id, other.id);
  const old = await phiseal.sealIndexKey(indexKey, [billing.publicKey], { author: patient });
  await rejectsWith(assert, phiseal.openIndexKey(old, billing.privateKey, { authors: [patient.publicKey], id: other.id }), ErrorCode.CONTEXT_MISMATCH, /not the expected/);
});
