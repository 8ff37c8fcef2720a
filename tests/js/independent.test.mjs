// docs/FORMAT.md §5 is enough to read and write phiseal sealed records:
// an independent implementation here (no phiseal code: @hpke/core for HPKE,
// WebCrypto for AES-GCM and SHA-384, the format written out by hand) opens a
// record sealed by phiseal, and seals one that phiseal opens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Aes256Gcm, CipherSuite, DhkemP384HkdfSha384, HkdfSha384 } from '@hpke/core';
import { phiseal } from './helpers.mjs';

const suite = new CipherSuite({ kem: new DhkemP384HkdfSha384(), kdf: new HkdfSha384(), aead: new Aes256Gcm() });
const te = new TextEncoder();
const subtle = crypto.subtle;

// ---- the format, from docs/FORMAT.md §5, nothing else ----
const str8 = (b) => [b.length, ...b];
const str16 = (b) => [b.length >> 8, b.length & 255, ...b];
const u32 = (n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u64 = (n) => [...u32(Math.floor(n / 2 ** 32)), ...u32(n >>> 0)];
const b64u = (b) => Buffer.from(b).toString('base64url');
const unb64u = (s) => new Uint8Array(Buffer.from(s, 'base64url'));
const utf8 = (s) => [...te.encode(s)];

function reader(bytes) {
  let pos = 0;
  const take = (n) => {
    assert.ok(pos + n <= bytes.length, 'truncated');
    const out = bytes.slice(pos, pos + n);
    pos += n;
    return out;
  };
  const u = (n) => take(n).reduce((a, b) => a * 256 + b, 0);
  return { take, u8: () => u(1), u16: () => u(2), u32: () => u(4), u64: () => u(8), str8: () => take(u(1)), pos: () => pos };
}

function parseEnvelope(env) {
  assert.ok(env.startsWith('phe1.'));
  const bytes = unb64u(env.slice(5));
  const r = reader(bytes);
  const h = { version: r.u8(), suite: [r.u16(), r.u16(), r.u16()] };
  const dec = new TextDecoder();
  h.recordId = dec.decode(r.str8());
  h.schemaId = dec.decode(r.str8());
  h.schemaVersion = r.u32();
  h.epoch = r.u32();
  h.created = r.u64();
  h.indexKeyId = r.str8();
  h.fieldsDigest = r.take(32);
  h.groups = [];
  for (let n = r.u8(); n > 0; n--) h.groups.push({ name: dec.decode(r.str8()), kids: Array.from({ length: r.u8() }, () => r.take(32)) });
  const header = bytes.slice(0, r.pos());
  for (const g of h.groups) g.wraps = g.kids.map(() => ({ enc: r.take(97), ct: r.take(48) }));
  const macInput = bytes.slice(0, r.pos());
  for (const g of h.groups) g.mac = r.take(32);
  assert.equal(r.pos(), bytes.length);
  return { h, header, macInput };
}

function thumbprint(jwk) {
  return createHash('sha256').update(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })).digest();
}

/** [pointer, value, spec] for every schema field present, in field order. */
function fieldsOf(record, schema) {
  const out = [];
  const paths = Object.keys(schema.fields).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const path of paths) {
    const steps = path.split('.').flatMap((p) => {
      const m = p.match(/^(.*?)((\[\])*)$/);
      return [{ key: m[1] }, ...Array(m[2].length / 2).fill({ each: true })];
    });
    const walk = (v, i, ptr, set) => {
      if (i === steps.length) return out.push([ptr, v, schema.fields[path], set]);
      if (v === null || v === undefined) return;
      if (steps[i].each) v.forEach((c, j) => walk(c, i + 1, `${ptr}/${j}`, (x) => (v[j] = x)));
      else if (steps[i].key in v) walk(v[steps[i].key], i + 1, `${ptr}/${steps[i].key.replace(/~/g, '~0').replace(/\//g, '~1')}`, (x) => (v[steps[i].key] = x));
    };
    walk(record, 0, '', null);
  }
  return out;
}

const fieldAad = (h, mode, pointer, index = []) => new Uint8Array([
  ...str8(utf8('phiseal-field-v1')), mode, ...str8(utf8(h.recordId)), ...str8(utf8(h.schemaId)),
  ...u32(h.schemaVersion), ...str16(utf8(pointer)), ...u32(h.epoch), ...str8(index),
]);
const dekInfo = (group) => new Uint8Array([...str8(utf8('phiseal-dek-v1')), ...str8(utf8(group))]);
async function envelopeMac(dek, data) {
  const ikm = await subtle.importKey('raw', dek, 'HKDF', false, ['deriveBits']);
  const info = te.encode('phiseal-envelope-mac-v1');
  const k = await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-384', salt: new Uint8Array(0), info }, ikm, 384);
  const hk = await subtle.importKey('raw', k, { name: 'HMAC', hash: 'SHA-384' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', hk, data)).slice(0, 32);
}
async function digest(pointers) {
  const bytes = new Uint8Array([...u32(pointers.length), ...pointers.flatMap((p) => str16(utf8(p)))]);
  return new Uint8Array(await subtle.digest('SHA-384', bytes)).slice(0, 32);
}
const sortKeys = (v) => Array.isArray(v) ? v.map(sortKeys) : v && typeof v === 'object'
  ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])])) : v;

const SCHEMA = {
  id: 'intake',
  version: 2,
  fields: {
    'patient.ssn': { mode: 'blindIndex', bits: 16, group: 'clinical' },
    'patient.name': 'random',
    'diagnoses[].code': { group: 'clinical' },
    notes: { group: 'clinical' },
    'billing.card': { group: 'billing' },
  },
};
const RECORD = {
  patient: { name: 'Ana Souza', ssn: '123-45-6789', age: 41 },
  diagnoses: [{ code: 'J45.20', since: 2019 }, { code: 'E11.9', since: 2021 }],
  notes: { text: 'albuterol prn', flags: [1, 2.5, null, true] },
  billing: { card: 4111111111111111, plan: 'gold' },
  visit: 7,
};

test('a record sealed by phiseal opens with @hpke/core + WebCrypto only', async () => {
  const clinician = await phiseal.generateKeyPair({ extractable: true, provider: 'wasm' });
  const billing = await phiseal.generateKeyPair({ provider: 'wasm' });
  const indexKey = await phiseal.generateIndexKey();
  const sealed = await phiseal.sealRecord(RECORD, {
    schema: SCHEMA, recordId: 'rec-001', indexKey,
    recipients: [clinician.publicKey, { publicKey: billing.publicKey, groups: ['billing'] }],
  });
  const json = JSON.parse(JSON.stringify(sealed));

  // Independent opener.
  const jwk = await clinician.privateKey.exportJwk();
  const recipientKey = await suite.kem.importKey('jwk', jwk, false);
  const { h, header, macInput } = parseEnvelope(json._phiseal);
  assert.deepEqual([h.version, ...h.suite], [1, 0x11, 2, 2]);
  assert.deepEqual([h.recordId, h.schemaId, h.schemaVersion, h.epoch], ['rec-001', 'intake', 2, 1]);
  const mine = thumbprint(jwk);
  const deks = {};
  for (const g of h.groups) {
    const i = g.kids.findIndex((k) => Buffer.compare(Buffer.from(k), mine) === 0);
    if (i < 0) continue;
    const dek = await suite.open({ recipientKey, enc: g.wraps[i].enc.buffer.slice(0), info: dekInfo(g.name) }, g.wraps[i].ct, header);
    assert.deepEqual(await envelopeMac(dek, macInput), g.mac);
    deks[g.name] = await subtle.importKey('raw', dek, 'AES-GCM', false, ['decrypt']);
  }
  assert.deepEqual(Object.keys(deks).sort(), ['billing', 'clinical', 'default']);
  const record = structuredClone(json);
  delete record._phiseal;
  const fields = fieldsOf(record, SCHEMA);
  assert.deepEqual(await digest(fields.map(([p]) => p)), h.fieldsDigest);
  for (const [pointer, value, spec, set] of fields) {
    const group = spec.group ?? 'default';
    let plaintext;
    if (value.startsWith('phs1.')) {
      const data = unb64u(value.slice(5));
      plaintext = await subtle.decrypt({ name: 'AES-GCM', iv: data.slice(0, 12), additionalData: fieldAad(h, 1, pointer) }, deks[group], data.slice(12));
    } else {
      assert.ok(value.startsWith('phb1.'));
      const [index, ct] = value.slice(5).split('.');
      const data = unb64u(ct);
      plaintext = await subtle.decrypt({ name: 'AES-GCM', iv: data.slice(0, 12), additionalData: fieldAad(h, 3, pointer, [...unb64u(index)]) }, deks[group], data.slice(12));
      assert.equal(unb64u(index).length, 2);
    }
    set(JSON.parse(new TextDecoder().decode(plaintext)));
  }
  assert.deepEqual(record, RECORD);
});

test('a record sealed by the independent implementation opens in phiseal', async () => {
  const clinician = await phiseal.generateKeyPair({ extractable: true, provider: 'webcrypto' });
  const jwk = clinician.publicKey.toJwk();
  const recipientPublicKey = await suite.kem.importKey('jwk', { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, true);
  const schema = { id: 'intake', version: 2, fields: { 'patient.name': true, 'diagnoses[].code': { group: 'clinical' } } };
  const record = structuredClone(RECORD);
  const groups = ['clinical', 'default'];
  const raw = Object.fromEntries(groups.map((g) => [g, crypto.getRandomValues(new Uint8Array(32))]));
  const fields = fieldsOf(record, schema);
  const h = { recordId: 'rec-ind-1', schemaId: 'intake', schemaVersion: 2, epoch: 1 };
  const header = new Uint8Array([
    1, 0, 0x11, 0, 2, 0, 2, ...str8(utf8(h.recordId)), ...str8(utf8(h.schemaId)), ...u32(2), ...u32(1),
    ...u64(Math.floor(Date.now() / 1000)), 0, ...(await digest(fields.map(([p]) => p))),
    groups.length, ...groups.flatMap((g) => [...str8(utf8(g)), 1, ...thumbprint(jwk)]),
  ]);
  const wraps = [];
  for (const g of groups) {
    const { ct, enc } = await suite.seal({ recipientPublicKey, info: dekInfo(g) }, raw[g], header);
    wraps.push(...new Uint8Array(enc), ...new Uint8Array(ct));
  }
  for (const [pointer, value, spec, set] of fields) {
    const key = await subtle.importKey('raw', raw[spec.group ?? 'default'], 'AES-GCM', false, ['encrypt']);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const pt = te.encode(JSON.stringify(sortKeys(value)));
    const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv, additionalData: fieldAad(h, 1, pointer) }, key, pt));
    set(`phs1.${b64u([...iv, ...ct])}`);
  }
  const macs = [];
  for (const g of groups) macs.push(...(await envelopeMac(raw[g], new Uint8Array([...header, ...wraps]))));
  record._phiseal = `phe1.${b64u([...header, ...wraps, ...macs])}`;
  const opened = await phiseal.openRecord(record, { schema, privateKey: clinician.privateKey });
  assert.deepEqual(opened.locked, []);
  assert.deepEqual(opened.record, RECORD);
  // One changed header byte (the epoch) and nothing opens.
  const tampered = unb64u(record._phiseal.slice(5));
  const epochAt = 7 + 1 + h.recordId.length + 1 + h.schemaId.length + 4;
  assert.deepEqual([...tampered.slice(epochAt, epochAt + 4)], u32(1));
  tampered[epochAt + 3] ^= 3;
  await assert.rejects(phiseal.openRecord({ ...record, _phiseal: `phe1.${b64u(tampered)}` }, { schema, privateKey: clinician.privateKey }), (e) => e.code === 'DECRYPT_FAILED');
});
