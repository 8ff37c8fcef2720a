// docs/FORMAT.md §5 (version 2) is enough to read and write phiseal sealed
// records and sealed index keys: an independent implementation here (no
// phiseal code: @hpke/core for HPKE, WebCrypto for ECDSA P-384, SHA-384,
// HKDF, HMAC, AES-GCM and, through AES-CBC / AES-CTR, RFC 5297 AES-SIV; the
// format written out by hand from FORMAT.md alone) opens what phiseal seals
// and seals what phiseal opens, and both refuse the same tampering with the
// same error codes. phiseal is imported only as the other side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aes256Gcm, CipherSuite, DhkemP384HkdfSha384, HkdfSha384 } from '@hpke/core';
import { phiseal, rejectsWith } from './helpers.mjs';

const suite = new CipherSuite({ kem: new DhkemP384HkdfSha384(), kdf: new HkdfSha384(), aead: new Aes256Gcm() });
const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });
const subtle = globalThis.crypto.subtle;
const random = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n));

// ---- the format, from docs/FORMAT.md §1, §2, §4 and §5, nothing else ----

/** A §4 error: `code` is the stable code the format names for the failure. */
class FormatError extends Error {
  constructor(code, message) {
    super(`${code}: ${message}`);
    this.code = code;
  }
}
const fail = (code, message) => {
  throw new FormatError(code, message);
};

// §5.1 notation.
const cat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const utf8 = (s) => te.encode(s);
const u8 = (n) => Uint8Array.of(n);
const u16 = (n) => Uint8Array.of(n >> 8, n & 255);
const u32 = (n) => Uint8Array.of((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
const u64 = (n) => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
};
const str8 = (b) => (b.length <= 255 ? cat(u8(b.length), b) : fail('INVALID_ARGUMENT', 'str8 longer than 255 bytes'));
const str16 = (b) => (b.length <= 65535 ? cat(u16(b.length), b) : fail('INVALID_ARGUMENT', 'str16 longer than 65535 bytes'));
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const compareBytes = (a, b) => {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
};
const byUtf8 = (a, b) => compareBytes(utf8(a), utf8(b));
const b64u = (b) => Buffer.from(b).toString('base64url');
/** Canonical base64url only: no padding, no whitespace, unused bits zero. */
function unb64u(s, code = 'MALFORMED_INPUT') {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) fail(code, 'not base64url');
  const out = new Uint8Array(Buffer.from(s, 'base64url'));
  if (b64u(out) !== s) fail(code, 'non-canonical base64url');
  return out;
}
const ab = (b) => b.slice().buffer; // an ArrayBuffer copy, for @hpke/core

function reader(bytes) {
  let pos = 0;
  const take = (n) => {
    if (pos + n > bytes.length) fail('MALFORMED_INPUT', 'truncated');
    const out = bytes.slice(pos, pos + n);
    pos += n;
    return out;
  };
  const big = (n) => take(n).reduce((a, b) => a * 256n + BigInt(b), 0n);
  const text = (b) => {
    try {
      return td.decode(b);
    } catch {
      return fail('MALFORMED_INPUT', 'invalid UTF-8');
    }
  };
  return {
    take,
    text,
    u8: () => Number(big(1)),
    u16: () => Number(big(2)),
    u32: () => Number(big(4)),
    u64: () => big(8),
    str8: () => take(Number(big(1))),
    str16: () => take(Number(big(2))),
    pos: () => pos,
    end: () => pos === bytes.length || fail('MALFORMED_INPUT', 'trailing bytes'),
  };
}

// Primitives (WebCrypto).
const sha = async (name, data) => new Uint8Array(await subtle.digest(name, data));
async function hkdf(salt, ikm, info, length) {
  const key = await subtle.importKey('raw', ikm, 'HKDF', false, ['deriveBits']);
  return new Uint8Array(await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-384', salt, info }, key, length * 8));
}
async function hmac384(key, data) {
  const k = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-384' }, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', k, data));
}
const ECDSA = { name: 'ECDSA', namedCurve: 'P-384' };
const ECDSA_SHA384 = { name: 'ECDSA', hash: 'SHA-384' };
const publicJwk = ({ kty, crv, x, y }) => ({ kty, crv, x, y });

/** §1: the RFC 7638 thumbprint, raw 32 bytes. */
const thumbprint = (jwk) => sha('SHA-256', utf8(`{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`));

// RFC 5297 AES-SIV-CMAC from WebCrypto: the AES block function is one
// AES-CBC block under a zero IV, CMAC is CBC-MAC with the RFC 4493 subkeys.
const dbl = (block) => {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = ((block[i] << 1) | (i < 15 ? block[i + 1] >> 7 : 0)) & 255;
  if (block[0] & 0x80) out[15] ^= 0x87;
  return out;
};
const xor = (a, b) => a.map((x, i) => x ^ b[i]);
async function cbcMac(key, blocks) {
  const ct = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(16) }, key, blocks));
  return ct.slice(blocks.length - 16, blocks.length);
}
async function cmac(key, message) {
  const k1 = dbl(await cbcMac(key, new Uint8Array(16)));
  const n = Math.max(1, Math.ceil(message.length / 16));
  const complete = message.length > 0 && message.length % 16 === 0;
  const m = new Uint8Array(n * 16);
  m.set(message);
  if (!complete) m[message.length] = 0x80;
  const k = complete ? k1 : dbl(k1);
  for (let i = 0; i < 16; i++) m[(n - 1) * 16 + i] ^= k[i];
  return cbcMac(key, m);
}
async function s2v(key, ad, plaintext) {
  const d = xor(dbl(await cmac(key, new Uint8Array(16))), await cmac(key, ad));
  if (plaintext.length >= 16) {
    const t = plaintext.slice();
    for (let i = 0; i < 16; i++) t[t.length - 16 + i] ^= d[i];
    return cmac(key, t);
  }
  const padded = new Uint8Array(16);
  padded.set(plaintext);
  padded[plaintext.length] = 0x80;
  return cmac(key, xor(dbl(d), padded));
}
async function sivKeys(key) {
  const half = key.length / 2;
  return {
    mac: await subtle.importKey('raw', key.slice(0, half), 'AES-CBC', false, ['encrypt']),
    ctr: await subtle.importKey('raw', key.slice(half), 'AES-CTR', false, ['encrypt']),
  };
}
const sivCounter = (v) => {
  const q = v.slice();
  q[8] &= 0x7f;
  q[12] &= 0x7f;
  return q;
};
/** AES-SIV with one associated-data string: V ‖ C. */
async function sivSeal(key, ad, plaintext) {
  const k = await sivKeys(key);
  const v = await s2v(k.mac, ad, plaintext);
  const c = new Uint8Array(await subtle.encrypt({ name: 'AES-CTR', counter: sivCounter(v), length: 128 }, k.ctr, plaintext));
  return cat(v, c);
}
async function sivOpen(key, ad, data) {
  if (data.length < 16) fail('DECRYPT_FAILED', 'short SIV ciphertext');
  const k = await sivKeys(key);
  const v = data.slice(0, 16);
  const p = new Uint8Array(await subtle.encrypt({ name: 'AES-CTR', counter: sivCounter(v), length: 128 }, k.ctr, data.slice(16)));
  if (!equal(await s2v(k.mac, ad, p), v)) fail('DECRYPT_FAILED', 'SIV tag');
  return p;
}

// §5.1 JSON: compact, the escapes JSON.stringify makes, canonical = object
// members sorted by UTF-8 bytes, recursively.
function jsonString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0c) out += '\\f';
    else if (c === 0x0d) out += '\\r';
    else if (c < 0x20) out += `\\u00${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0xd800 && c <= 0xdfff) fail('MALFORMED_INPUT', 'lone surrogate');
    else out += ch;
  }
  return `${out}"`;
}
function writeJson(v, sorted) {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  // From JavaScript the input text is JSON.stringify's: ECMAScript Number-to-String.
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : fail('INVALID_ARGUMENT', 'not a JSON number');
  if (typeof v === 'string') return jsonString(v);
  if (Array.isArray(v)) return `[${v.map((x) => writeJson(x, sorted)).join(',')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (sorted) keys.sort(byUtf8);
    return `{${keys.map((k) => `${jsonString(k)}:${writeJson(v[k], sorted)}`).join(',')}}`;
  }
  return fail('INVALID_ARGUMENT', 'not a JSON value');
}
/** The plaintext of a random or blind-index field: compact JSON, record order. */
const plainJson = (v) => writeJson(v, false);
/** The canonical form (blind indexes, deterministic fields, content_digest). */
const canonicalJson = (v) => writeJson(v, true);

// §5.1 schema.
function compileSchema(schema) {
  const bad = (m) => fail('INVALID_ARGUMENT', `schema: ${m}`);
  const name = (s, what) => (typeof s === 'string' && utf8(s).length >= 1 && utf8(s).length <= 255) || bad(`${what} must be 1-255 bytes`);
  for (const k of Object.keys(schema)) if (!['id', 'version', 'fields', 'unsigned'].includes(k)) bad(`unknown member ${k}`);
  name(schema.id, 'id');
  if (!Number.isInteger(schema.version) || schema.version < 0 || schema.version > 0xffffffff) bad('version must be a u32');
  const entries = Object.entries(schema.fields ?? {});
  if (entries.length === 0) bad('at least one field');
  const fields = entries.map(([path, spec]) => {
    name(path, 'path');
    const segments = path.split('.').flatMap((part) => {
      const m = part.match(/^([^.[\]]+)((?:\[\])*)$/) ?? bad(`bad path ${path}`);
      return [{ key: m[1] }, ...Array.from({ length: m[2].length / 2 }, () => ({ each: true }))];
    });
    let mode = 'random';
    let bits;
    let group = 'default';
    if (typeof spec === 'string') mode = spec;
    else if (spec !== true && spec !== null) {
      if (typeof spec !== 'object' || Array.isArray(spec)) bad('a field is true, null, a mode name or an object');
      for (const k of Object.keys(spec)) if (!['mode', 'bits', 'group'].includes(k)) bad(`unknown field member ${k}`);
      mode = spec.mode ?? 'random';
      bits = spec.bits;
      group = spec.group ?? 'default';
    }
    if (!['random', 'deterministic', 'blindIndex'].includes(mode)) bad(`unknown mode ${mode}`);
    if (bits !== undefined && (mode !== 'blindIndex' || !Number.isInteger(bits) || bits < 1 || bits > 128)) bad('bits: blind index only, 1-128');
    name(group, 'group');
    return { path, segments, mode, bits: mode === 'blindIndex' ? (bits ?? 32) : undefined, group };
  });
  fields.sort((a, b) => byUtf8(a.path, b.path));
  const same = (x, y) => (x.each ? y.each : x.key === y.key);
  for (const a of fields) {
    for (const b of fields) {
      if (a !== b && b.segments.length > a.segments.length && a.segments.every((s, i) => same(s, b.segments[i]))) bad(`${b.path} lies inside ${a.path}`);
    }
  }
  const unsigned = schema.unsigned ?? [];
  if (!Array.isArray(unsigned)) bad('unsigned must be an array');
  for (const [i, u] of unsigned.entries()) {
    name(u, 'unsigned member');
    if (u === '_phiseal' || unsigned.indexOf(u) !== i || fields.some((f) => f.segments[0].key === u)) bad(`unsigned ${u}`);
  }
  const groups = [...new Set(fields.map((f) => f.group))].sort(byUtf8);
  return { id: schema.id, version: schema.version, fields, unsigned, groups, needsIndexKey: fields.some((f) => f.mode !== 'random') };
}

const pointerToken = (k) => `/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`;
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Every field present in `record`: {field, pointer, value, set}, in field order, then document order. */
function fieldsOf(record, compiled) {
  const out = [];
  for (const field of compiled.fields) {
    const walk = (v, i, pointer, set) => {
      if (i === field.segments.length) return void out.push({ field, pointer, value: v, set });
      if (v === null) return undefined; // absent
      const step = field.segments[i];
      if (step.each) {
        if (!Array.isArray(v)) fail('INVALID_ARGUMENT', `${pointer || '/'}: an array is expected`);
        v.forEach((c, j) => walk(c, i + 1, `${pointer}/${j}`, (x) => (v[j] = x)));
      } else {
        if (!isObject(v)) fail('INVALID_ARGUMENT', `${pointer || '/'}: an object is expected`);
        if (Object.hasOwn(v, step.key)) walk(v[step.key], i + 1, pointer + pointerToken(step.key), (x) => (v[step.key] = x));
      }
      return undefined;
    };
    walk(record, 0, '', null);
  }
  return out;
}

// §5.3 field strings.
const MODE = { random: 1, deterministic: 2, blindIndex: 3 };
const fieldAad = (h, mode, pointer, index = new Uint8Array(0)) => cat(
  str8(utf8('phiseal-field-v1')), u8(MODE[mode]), str8(utf8(h.recordId)), str8(utf8(h.schemaId)),
  u32(h.schemaVersion), str16(utf8(pointer)), u32(h.epoch), str8(index),
);
const deriveInfo = (label, schemaId, path) => cat(str8(utf8(label)), str8(utf8(schemaId)), str8(utf8(path)));
const kDet = (ik, schemaId, path) => hkdf(ik.id, ik.key, deriveInfo('phiseal-det-v1', schemaId, path), 64);
const kBlind = (ik, schemaId, path) => hkdf(ik.id, ik.key, deriveInfo('phiseal-blind-v1', schemaId, path), 48);
async function blindIndex(ik, schemaId, field, value) {
  const len = Math.ceil(field.bits / 8);
  const index = (await hmac384(await kBlind(ik, schemaId, field.path), utf8(canonicalJson(value)))).slice(0, len);
  index[len - 1] &= (0xff << (len * 8 - field.bits)) & 0xff;
  return index;
}
/** The deterministic field string, also its search token. */
const deterministicField = async (ik, schemaId, field, value) =>
  `phd1.${b64u(await sivSeal(await kDet(ik, schemaId, field.path), deriveInfo('phiseal-det-v1', schemaId, field.path), utf8(canonicalJson(value))))}`;
const blindToken = async (ik, schemaId, field, value) => `phb1.${b64u(await blindIndex(ik, schemaId, field, value))}.`;
async function gcm(op, dek, aad, data) {
  const key = await subtle.importKey('raw', dek, 'AES-GCM', false, [op]);
  if (op === 'encrypt') {
    const nonce = random(12);
    return cat(nonce, new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad }, key, data)));
  }
  if (data.length < 12 + 16) fail('DECRYPT_FAILED', 'short field');
  try {
    return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: data.slice(0, 12), additionalData: aad }, key, data.slice(12)));
  } catch {
    return fail('DECRYPT_FAILED', 'field does not open');
  }
}

// §5.2 envelope.
const SUITE = [0x0011, 0x0002, 0x0002];
const ZERO48 = new Uint8Array(48);
const dekInfo = (group) => cat(str8(utf8('phiseal-dek-v2')), str8(utf8(group)));
const keyCommitment = (dek, group) => hkdf(new Uint8Array(0), dek, cat(str8(utf8('phiseal-record-v2 key commitment')), str8(utf8(group))), 32);
const recordSignatureInput = (signed) => cat(str8(utf8('phiseal-record-v2 signature')), signed);
const versionDigest = (signed) => sha('SHA-384', cat(str8(utf8('phiseal-record-v2 version')), signed));
function contentDigest(record, compiled) {
  const c = { ...record };
  delete c._phiseal;
  for (const u of compiled.unsigned) delete c[u];
  return sha('SHA-384', cat(str8(utf8('phiseal-record-v2 content')), utf8(canonicalJson(c))));
}
const sortedContext = (context) => Object.keys(context).sort(byUtf8).map((k) => [k, context[k]]);

function encodeHeader(h) {
  return cat(
    u8(h.version ?? 2), ...SUITE.map(u16), str8(utf8(h.recordId)), str8(utf8(h.schemaId)), u32(h.schemaVersion),
    u64(h.recordVersion), h.previous ?? ZERO48, u32(h.epoch), u64(h.created),
    u8(h.context.length), ...h.context.flatMap(([k, v]) => [str8(utf8(k)), str16(utf8(v))]),
    h.author, str8(h.indexKey ? cat(h.indexKey.id, h.indexKey.commitment) : new Uint8Array(0)), h.contentDigest,
    u8(h.groups.length), ...h.groups.flatMap((g) => [str8(utf8(g.name)), g.commitment, u8(g.kids.length), ...g.kids]),
  );
}

/** §5.2 byte by byte, with the §5.4 step 1 refusals; `at` are the offsets of the parts. */
function parseEnvelope(env) {
  if (typeof env !== 'string') fail('MALFORMED_INPUT', '_phiseal must be a string');
  if (!env.startsWith('phe2.')) fail(env.startsWith('phe') ? 'UNSUPPORTED' : 'MALFORMED_INPUT', 'not a phe2. envelope');
  const bytes = unb64u(env.slice(5));
  const r = reader(bytes);
  const bad = (m) => fail('MALFORMED_INPUT', m);
  const at = {};
  const h = { version: r.u8() };
  if (h.version !== 2) fail('UNSUPPORTED', 'version');
  if (!equal([r.u16(), r.u16(), r.u16()], SUITE)) fail('UNSUPPORTED', 'suite');
  at.recordId = r.pos();
  h.recordId = r.text(r.str8());
  h.schemaId = r.text(r.str8());
  if (h.recordId === '' || h.schemaId === '') bad('empty record or schema id');
  h.schemaVersion = r.u32();
  at.recordVersion = r.pos();
  h.recordVersion = r.u64();
  h.previous = r.take(48);
  if (h.recordVersion === 0n || (h.recordVersion === 1n) !== equal(h.previous, ZERO48)) bad('previous inconsistent with record_version');
  at.epoch = r.pos();
  h.epoch = r.u32();
  h.created = r.u64();
  at.context = r.pos();
  const nContext = r.u8();
  if (nContext > 64) bad('context too long');
  h.context = [];
  at.contextValues = [];
  for (let i = 0; i < nContext; i++) {
    const k = r.str8();
    at.contextValues.push(r.pos() + 2);
    const v = r.str16();
    if (k.length === 0 || v.length > 1024) bad('context entry');
    if (i > 0 && compareBytes(utf8(h.context[i - 1][0]), k) >= 0) bad('context keys not strictly increasing');
    h.context.push([r.text(k), r.text(v)]);
  }
  at.author = r.pos();
  h.author = r.take(32);
  const ik = r.str8();
  if (ik.length !== 0 && ik.length !== 48) bad('index_key is empty or 48 bytes');
  h.indexKey = ik.length ? { id: ik.slice(0, 16), commitment: ik.slice(16) } : null;
  at.contentDigest = r.pos();
  h.contentDigest = r.take(48);
  const nGroups = r.u8();
  if (nGroups === 0) bad('no groups');
  h.groups = [];
  for (let i = 0; i < nGroups; i++) {
    const name = r.str8();
    if (name.length === 0) bad('empty group name');
    if (i > 0 && compareBytes(utf8(h.groups[i - 1].name), name) >= 0) bad('groups not strictly increasing');
    const commitment = r.take(32);
    const nr = r.u8();
    if (nr === 0) bad('a group without recipients');
    const kids = Array.from({ length: nr }, () => r.take(32));
    if (kids.some((k, j) => kids.findIndex((x) => equal(x, k)) !== j)) bad('a thumbprint twice in a group');
    h.groups.push({ name: r.text(name), commitment, kids });
  }
  const header = bytes.slice(0, r.pos());
  at.wraps = r.pos();
  for (const g of h.groups) g.wraps = g.kids.map(() => ({ enc: r.take(97), ct: r.take(48) }));
  const signed = bytes.slice(0, r.pos());
  at.signature = r.pos();
  const signature = r.take(96);
  r.end();
  return { h, header, signed, signature, bytes, at };
}

/**
 * §5.4, in its order. `authors` are trusted public JWKs, `privateJwk` the
 * reader's HPKE key, `indexKey` {id, key} when the reader has it.
 */
async function openSealed(sealed, { schema, privateJwk, recordId, context = {}, authors, indexKey, minVersion = 0 }) {
  const compiled = compileSchema(schema);
  // 1. Parse.
  if (!isObject(sealed) || !Object.hasOwn(sealed, '_phiseal')) fail('MALFORMED_INPUT', 'no _phiseal member');
  const { h, header, signed, signature } = parseEnvelope(sealed._phiseal);
  // 2. Schema. (§5.2: index_key is present exactly when the schema needs it.)
  if (h.schemaId !== compiled.id || h.schemaVersion !== compiled.version) fail('CONTEXT_MISMATCH', 'another schema');
  if (!equal(h.groups.map((g) => g.name), compiled.groups)) fail('CONTEXT_MISMATCH', 'another set of groups');
  if ((h.indexKey !== null) !== compiled.needsIndexKey) fail('CONTEXT_MISMATCH', 'index_key presence does not fit the schema');
  // 3. Record id and context.
  if (h.recordId !== recordId) fail('CONTEXT_MISMATCH', 'another record id');
  const expected = sortedContext(context);
  if (h.context.length !== expected.length || h.context.some(([k, v], i) => k !== expected[i][0] || v !== expected[i][1])) {
    fail('CONTEXT_MISMATCH', 'another context');
  }
  // 4. Author.
  let authorJwk;
  for (const jwk of authors) if (equal(await thumbprint(jwk), h.author)) authorJwk = jwk;
  if (!authorJwk) fail('UNTRUSTED_AUTHOR', 'author not trusted');
  // 5. Content digest over the record as received.
  const record = structuredClone(sealed);
  delete record._phiseal;
  if (!equal(await contentDigest(record, compiled), h.contentDigest)) fail('INVALID_SIGNATURE', 'content digest');
  // 6. Minimum version.
  if (h.recordVersion < BigInt(minVersion)) fail('STALE_VERSION', 'older than the minimum');
  // 7. Recipient.
  const mine = await thumbprint(privateJwk);
  const myGroups = h.groups.filter((g) => g.kids.some((k) => equal(k, mine)));
  if (myGroups.length === 0) fail('NOT_RECIPIENT', 'not a recipient');
  // 8. Signature (WebCrypto verifies P1363 r ‖ s natively).
  const verifier = await subtle.importKey('jwk', publicJwk(authorJwk), ECDSA, false, ['verify']);
  if (!(await subtle.verify(ECDSA_SHA384, verifier, signature, recordSignatureInput(signed)))) fail('INVALID_SIGNATURE', 'signature');
  // 9. Unwrap and check each key commitment.
  const recipientKey = await suite.kem.importKey('jwk', { kty: 'EC', crv: 'P-384', x: privateJwk.x, y: privateJwk.y, d: privateJwk.d }, false);
  const deks = {};
  for (const g of myGroups) {
    const w = g.wraps[g.kids.findIndex((k) => equal(k, mine))];
    let dek;
    try {
      dek = new Uint8Array(await suite.open({ recipientKey, enc: ab(w.enc), info: dekInfo(g.name) }, ab(w.ct), header));
    } catch {
      fail('DECRYPT_FAILED', 'wrap does not open');
    }
    if (dek.length !== 32 || !equal(await keyCommitment(dek, g.name), g.commitment)) fail('DECRYPT_FAILED', 'key commitment');
    deks[g.name] = dek;
  }
  // 10. Index key, then every readable field.
  let ik = null;
  if (indexKey && h.indexKey) {
    if (!equal(indexKey.id, h.indexKey.id) || !equal(await indexKeyCommitment(indexKey), h.indexKey.commitment)) {
      fail('INVALID_ARGUMENT', 'the record names another index key');
    }
    ik = indexKey;
  }
  const locked = [];
  for (const { field, pointer, value, set } of fieldsOf(record, compiled)) {
    const prefix = { random: 'phs1.', deterministic: 'phd1.', blindIndex: 'phb1.' }[field.mode];
    if (typeof value !== 'string' || !value.startsWith(prefix)) fail('DECRYPT_FAILED', `${pointer} is not a ${prefix} string`);
    const dek = deks[field.group];
    let plaintext;
    if (field.mode === 'random') {
      const data = unb64u(value.slice(5), 'DECRYPT_FAILED');
      if (dek) plaintext = await gcm('decrypt', dek, fieldAad(h, 'random', pointer), data);
    } else if (field.mode === 'blindIndex') {
      const parts = value.slice(5).split('.');
      if (parts.length !== 2) fail('DECRYPT_FAILED', 'blind-index string');
      const index = unb64u(parts[0], 'DECRYPT_FAILED');
      const data = unb64u(parts[1], 'DECRYPT_FAILED');
      if (index.length !== Math.ceil(field.bits / 8)) fail('DECRYPT_FAILED', 'index length');
      if (dek) plaintext = await gcm('decrypt', dek, fieldAad(h, 'blindIndex', pointer, index), data);
      // More than §5.4 asks: with the index key, the index must be the value's.
      if (plaintext && ik && !equal(await blindIndex(ik, h.schemaId, field, JSON.parse(td.decode(plaintext))), index)) {
        fail('DECRYPT_FAILED', 'blind index is not the value\'s');
      }
    } else {
      const data = unb64u(value.slice(5), 'DECRYPT_FAILED');
      // The index key alone decrypts it; like phiseal, keep it locked without the group (policy, §5.3).
      if (ik && dek) plaintext = await sivOpen(await kDet(ik, h.schemaId, field.path), deriveInfo('phiseal-det-v1', h.schemaId, field.path), data);
    }
    if (plaintext === undefined) {
      locked.push({ path: pointer, reason: dek ? 'indexKey' : field.group });
      continue;
    }
    let v;
    try {
      v = JSON.parse(td.decode(plaintext));
    } catch {
      fail('DECRYPT_FAILED', 'plaintext is not JSON');
    }
    set(v);
  }
  return { record, locked, h, digest: await versionDigest(signed) };
}

/**
 * Seals `record` as §5.2–5.3 say. `recipients`: [{jwk, groups?}] (public
 * JWKs); `author`: {privateKey: ECDSA CryptoKey, jwk}. `lie` lets a test
 * wrap another key than the committed one to a recipient, `rawGroups`
 * replaces the recipient lists unchecked, `header` overrides header fields:
 * all still signed by the author.
 */
async function sealIndependent(record, o) {
  const compiled = compileSchema(o.schema);
  if (!isObject(record) || Object.hasOwn(record, '_phiseal')) fail('INVALID_ARGUMENT', 'a record is an object without _phiseal');
  const recordIdLength = utf8(o.recordId ?? '').length;
  if (recordIdLength < 1 || recordIdLength > 255) fail('INVALID_ARGUMENT', 'record id is 1-255 bytes');
  if (compiled.needsIndexKey && !o.indexKey) fail('INVALID_ARGUMENT', 'the schema needs the index key');
  const context = sortedContext(o.context ?? {});
  if (context.length > 64 || context.some(([k, v]) => utf8(k).length < 1 || utf8(k).length > 255 || utf8(v).length > 1024)) {
    fail('INVALID_ARGUMENT', 'context limits');
  }
  const withKid = async (r) => ({ ...r, kid: await thumbprint(r.jwk) });
  const recipients = await Promise.all(o.recipients.map(withKid));
  for (const r of recipients) if (r.groups?.some((g) => !compiled.groups.includes(g))) fail('INVALID_ARGUMENT', 'not a schema group');
  const raw = o.rawGroups && Object.fromEntries(await Promise.all(Object.entries(o.rawGroups).map(async ([g, list]) => [g, await Promise.all(list.map(withKid))])));
  const members = raw ?? Object.fromEntries(compiled.groups.map((g) => {
    const list = recipients.filter((r) => !r.groups || r.groups.includes(g));
    if (list.length === 0) fail('INVALID_ARGUMENT', `group ${g} has no recipient`);
    if (list.some((r, i) => list.findIndex((x) => equal(x.kid, r.kid)) !== i)) fail('INVALID_ARGUMENT', 'a key twice in one group');
    return [g, list];
  }));
  const deks = Object.fromEntries(compiled.groups.map((g) => [g, random(32)]));
  const h = {
    recordId: o.recordId,
    schemaId: compiled.id,
    schemaVersion: compiled.version,
    recordVersion: BigInt(o.previous ? o.previous.version + 1 : 1),
    previous: o.previous ? o.previous.digest : ZERO48,
    epoch: o.epoch ?? 1,
    created: BigInt(o.created ?? Math.floor(Date.now() / 1000)),
    context,
    author: await thumbprint(o.author.jwk),
    indexKey: compiled.needsIndexKey ? { id: o.indexKey.id, commitment: await indexKeyCommitment(o.indexKey) } : null,
    groups: [],
    ...o.header,
  };
  const out = structuredClone(record);
  for (const { field, pointer, value, set } of fieldsOf(out, compiled)) {
    const dek = deks[field.group];
    if (field.mode === 'random') {
      set(`phs1.${b64u(await gcm('encrypt', dek, fieldAad(h, 'random', pointer), utf8(plainJson(value))))}`);
    } else if (field.mode === 'blindIndex') {
      const index = await blindIndex(o.indexKey, h.schemaId, field, value);
      set(`phb1.${b64u(index)}.${b64u(await gcm('encrypt', dek, fieldAad(h, 'blindIndex', pointer, index), utf8(plainJson(value))))}`);
    } else {
      set(await deterministicField(o.indexKey, h.schemaId, field, value));
    }
  }
  h.contentDigest = o.header?.contentDigest ?? await contentDigest(out, compiled);
  for (const g of compiled.groups) h.groups.push({ name: g, commitment: await keyCommitment(deks[g], g), kids: members[g].map((r) => r.kid), members: members[g] });
  const header = encodeHeader(h);
  const wraps = [];
  for (const g of h.groups) {
    for (const [i, r] of g.members.entries()) {
      const recipientPublicKey = await suite.kem.importKey('jwk', publicJwk(r.jwk), true);
      const secret = o.lie?.(g.name, i) ?? deks[g.name];
      const { enc, ct } = await suite.seal({ recipientPublicKey, info: dekInfo(g.name) }, ab(secret), header);
      wraps.push(new Uint8Array(enc), new Uint8Array(ct));
    }
  }
  const signed = cat(header, ...wraps);
  const signature = new Uint8Array(await subtle.sign(ECDSA_SHA384, o.author.privateKey, recordSignatureInput(signed)));
  assert.equal(signature.length, 96);
  out._phiseal = `phe2.${b64u(cat(signed, signature))}`;
  return { sealed: out, digest: await versionDigest(signed), deks };
}

// §5.5 tenant index keys.
const indexKeyCommitment = (ik) => hkdf(ik.id, ik.key, utf8('phiseal-index-key-v2 commitment'), 32);
const indexKeyInfo = utf8('phiseal-index-key-v2');
const indexKeySignatureInput = (signed) => cat(str8(utf8('phiseal-index-key-v2 signature')), signed);

async function sealIndexKeyIndependent(ik, recipientJwks, author, { commitment } = {}) {
  const kids = await Promise.all(recipientJwks.map(thumbprint));
  if (kids.length === 0 || kids.some((k, i) => kids.findIndex((x) => equal(x, k)) !== i)) fail('INVALID_ARGUMENT', 'recipients');
  const before = cat(u8(2), ik.id, commitment ?? await indexKeyCommitment(ik), await thumbprint(author.jwk), u8(kids.length), ...kids);
  const wraps = [];
  for (const jwk of recipientJwks) {
    const recipientPublicKey = await suite.kem.importKey('jwk', publicJwk(jwk), true);
    const { enc, ct } = await suite.seal({ recipientPublicKey, info: indexKeyInfo }, ab(ik.key), before);
    wraps.push(new Uint8Array(enc), new Uint8Array(ct));
  }
  const signed = cat(before, ...wraps);
  const signature = new Uint8Array(await subtle.sign(ECDSA_SHA384, author.privateKey, indexKeySignatureInput(signed)));
  return `phk2.${b64u(cat(signed, signature))}`;
}

async function openIndexKeyIndependent(sealed, privateJwk, authors) {
  if (typeof sealed !== 'string' || !sealed.startsWith('phk2.')) fail(sealed?.startsWith?.('phk') ? 'UNSUPPORTED' : 'MALFORMED_INPUT', 'not phk2.');
  const bytes = unb64u(sealed.slice(5));
  const r = reader(bytes);
  if (r.u8() !== 2) fail('UNSUPPORTED', 'index key version');
  const id = r.take(16);
  const commitment = r.take(32);
  const author = r.take(32);
  const n = r.u8();
  const kids = Array.from({ length: n }, () => r.take(32));
  if (n === 0 || kids.some((k, i) => kids.findIndex((x) => equal(x, k)) !== i)) fail('MALFORMED_INPUT', 'recipients');
  const aad = bytes.slice(0, r.pos());
  const wraps = kids.map(() => ({ enc: r.take(97), ct: r.take(48) }));
  const signed = bytes.slice(0, r.pos());
  const signature = r.take(96);
  r.end();
  let authorJwk;
  for (const jwk of authors) if (equal(await thumbprint(jwk), author)) authorJwk = jwk;
  if (!authorJwk) fail('UNTRUSTED_AUTHOR', 'author not trusted');
  const mine = await thumbprint(privateJwk);
  const i = kids.findIndex((k) => equal(k, mine));
  if (i < 0) fail('NOT_RECIPIENT', 'not a recipient');
  const verifier = await subtle.importKey('jwk', publicJwk(authorJwk), ECDSA, false, ['verify']);
  if (!(await subtle.verify(ECDSA_SHA384, verifier, signature, indexKeySignatureInput(signed)))) fail('INVALID_SIGNATURE', 'signature');
  const recipientKey = await suite.kem.importKey('jwk', { kty: 'EC', crv: 'P-384', x: privateJwk.x, y: privateJwk.y, d: privateJwk.d }, false);
  let key;
  try {
    key = new Uint8Array(await suite.open({ recipientKey, enc: ab(wraps[i].enc), info: indexKeyInfo }, ab(wraps[i].ct), aad));
  } catch {
    fail('DECRYPT_FAILED', 'wrap does not open');
  }
  if (key.length !== 32 || !equal(await indexKeyCommitment({ id, key }), commitment)) fail('DECRYPT_FAILED', 'commitment');
  return { id, key };
}

// ---- fixtures ----

/** A fresh ECDSA P-384 author of the independent side (WebCrypto). */
async function independentAuthor() {
  const { privateKey, publicKey } = await subtle.generateKey(ECDSA, true, ['sign', 'verify']);
  const jwk = publicJwk(await subtle.exportKey('jwk', publicKey));
  return { privateKey, jwk, phiseal: phiseal.importPublicKey(jwk) };
}
/** A phiseal HPKE key pair with its JWKs (so the independent side can read as it). */
async function phisealReader() {
  const pair = await phiseal.generateKeyPair({ extractable: true });
  return { ...pair, jwk: await pair.privateKey.exportJwk(), publicJwk: publicJwk(pair.publicKey.toJwk()) };
}

let fixture;
function keys() {
  fixture ??= (async () => {
    const ind = {
      author: await independentAuthor(),
      // The independent reader's own HPKE key, made by WebCrypto.
      reader: await (async () => {
        const pair = await subtle.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, true, ['deriveBits']);
        const jwk = await subtle.exportKey('jwk', pair.privateKey);
        return { jwk, publicJwk: publicJwk(jwk), phiseal: phiseal.importPublicKey(publicJwk(jwk)) };
      })(),
      indexKey: { id: random(16), key: random(32) },
    };
    const ph = {
      author: await phiseal.generateAuthorKey(),
      reader: await phisealReader(),
      billing: await phisealReader(),
      outsider: await phisealReader(),
      indexKey: await phiseal.generateIndexKey(),
    };
    ph.authorJwk = publicJwk(ph.author.publicKey.toJwk());
    // Each side's index key, sealed by its author to both sides' readers.
    ph.sealedIndexKey = await phiseal.sealIndexKey(ph.indexKey, [ind.reader.phiseal, ph.reader.publicKey], { author: ph.author });
    ind.sealedIndexKey = await sealIndexKeyIndependent(ind.indexKey, [ph.reader.publicJwk, ind.reader.publicJwk], ind.author);
    // Each side's copy of the other's index key.
    ind.phisealIndexKey = await openIndexKeyIndependent(ph.sealedIndexKey, ind.reader.jwk, [ph.authorJwk]);
    ph.independentIndexKey = await phiseal.openIndexKey(ind.sealedIndexKey, ph.reader.privateKey, { authors: [ind.author.phiseal] });
    return { ind, ph };
  })();
  return fixture;
}

const SCHEMA = {
  id: 'intake',
  version: 2,
  fields: {
    'patient.ssn': { mode: 'blindIndex', bits: 13, group: 'clinical' },
    'patient.email': { mode: 'deterministic', group: 'clinical' },
    'patient.name': 'random',
    'patient.middle': true,
    'contact.phone': null,
    'diagnoses[].code': { group: 'clinical' },
    'diagnoses[].notes[].text': { mode: 'blindIndex', group: 'clinical' },
    'vitals[][]': { group: 'clinical' },
    'notes~/x': { group: 'clinical' },
    'billing.card': { group: 'billing' },
  },
  unsigned: ['serverTime'],
};
const RECORD = {
  patient: { name: 'Ana Souza', ssn: '123-45-6789', email: 'ana@example.org', middle: null, age: 41 },
  contact: null,
  diagnoses: [
    { code: 'J45.20', since: 2019, notes: [{ text: 'mild' }, { text: 'albuterol prn', by: 'dr-k' }] },
    { code: 'E11.9', since: 2021, notes: [] },
  ],
  vitals: [[120, 80.5], [], [{ z: 1, a: [true, null], 10: 'x', 9: 'y' }]],
  'notes~/x': { text: 'quote " backslash \\ tab \t nl \n \u0001 \u001f \u2028 é 😀', flags: [1, -2.5e-7, null, false] },
  billing: { card: 4111111111111111, plan: 'gold' },
  // Clear members, signed: key order by UTF-8 bytes differs from JS order and from UTF-16 order.
  meta: { 10: 'ten', 9: 'nine', z: 1, '｡': 'U+FF61', '😀': 'U+1F600', é: { b: [], a: {} } },
  visit: 7,
  serverTime: '2025-01-02T03:04:05Z',
};
const CONTEXT = { tenant: 't-9', patientId: 'p-1', 'zone😀': '', 'Zone': 'ü' };
const CREATED = Date.UTC(2025, 0, 2, 3, 4, 5);

/** A copy of `sealed` with its envelope bytes edited by `edit(bytes, at)`. */
function editEnvelope(sealed, edit) {
  const { bytes, at } = parseEnvelope(sealed._phiseal);
  edit(bytes, at);
  return { ...structuredClone(sealed), _phiseal: `phe2.${b64u(bytes)}` };
}
/** The independent reader refuses with `code`. */
const refuses = (promise, code) => assert.rejects(promise, (e) => {
  assert.ok(e instanceof FormatError, `expected a FormatError ${code}, got ${e}`);
  assert.equal(e.code, code, e.message);
  return true;
});

// ---- tests ----

test('the independent primitives: RFC 5297 A.1 and §5.1 canonical JSON', async () => {
  const hex = (s) => new Uint8Array(Buffer.from(s.replace(/ /g, ''), 'hex'));
  const key = hex('fffefdfc fbfaf9f8 f7f6f5f4 f3f2f1f0 f0f1f2f3 f4f5f6f7 f8f9fafb fcfdfeff');
  const ad = hex('10111213 14151617 18191a1b 1c1d1e1f 20212223 24252627');
  const pt = hex('11223344 55667788 99aabbcc ddee');
  const out = hex('85632d07 c6e8f37f 950acd32 0a2ecc93 40c02b96 90c4dc04 daef7f6a fe5c');
  assert.deepEqual(await sivSeal(key, ad, pt), out);
  assert.deepEqual(await sivOpen(key, ad, out), pt);
  const tampered = out.slice();
  tampered[20] ^= 1;
  await refuses(sivOpen(key, ad, tampered), 'DECRYPT_FAILED');
  // Record order is JSON.stringify's; the canonical order is by UTF-8 bytes.
  assert.equal(plainJson(RECORD), JSON.stringify(RECORD));
  assert.equal(canonicalJson(RECORD.meta), '{"10":"ten","9":"nine","z":1,"é":{"a":{},"b":[]},"｡":"U+FF61","😀":"U+1F600"}');
  assert.equal(jsonString('\b\t\n\f\r\u0000\u007f"\\/'), '"\\b\\t\\n\\f\\r\\u0000\u007f\\"\\\\/"');
});

test('a record sealed by phiseal opens with @hpke/core + WebCrypto only', async () => {
  const { ind, ph } = await keys();
  const sealed = JSON.parse(JSON.stringify(await phiseal.sealRecord(RECORD, {
    schema: SCHEMA, recordId: 'rec-001', indexKey: ph.indexKey, context: CONTEXT, created: CREATED, author: ph.author,
    recipients: [ind.reader.phiseal, ph.reader.publicKey, { publicKey: ph.billing.publicKey, groups: ['billing'] }],
  })));

  // The header, byte by byte (§5.2).
  const { h, bytes, at } = parseEnvelope(sealed._phiseal);
  assert.deepEqual([...bytes.slice(0, 7)], [2, 0x00, 0x11, 0x00, 0x02, 0x00, 0x02]);
  assert.deepEqual([h.recordId, h.schemaId, h.schemaVersion, h.recordVersion, h.epoch], ['rec-001', 'intake', 2, 1n, 1]);
  assert.deepEqual(h.previous, ZERO48);
  assert.equal(h.created, BigInt(CREATED / 1000));
  assert.deepEqual(h.context, [['Zone', 'ü'], ['patientId', 'p-1'], ['tenant', 't-9'], ['zone😀', '']]);
  assert.deepEqual(h.author, await thumbprint(ph.authorJwk));
  assert.equal(b64u(h.author), ph.author.kid);
  assert.equal(b64u(h.indexKey.id), ph.indexKey.id);
  assert.deepEqual(h.indexKey.commitment, await indexKeyCommitment(ind.phisealIndexKey));
  assert.deepEqual(h.groups.map((g) => g.name), ['billing', 'clinical', 'default']);
  const kids = await Promise.all([ind.reader.publicJwk, ph.reader.publicJwk, ph.billing.publicJwk].map(thumbprint));
  assert.deepEqual(h.groups.map((g) => g.kids), [kids, kids.slice(0, 2), kids.slice(0, 2)]);
  assert.equal(at.signature + 96, bytes.length);

  // Every §5.4 step, independently.
  const expect = { schema: SCHEMA, recordId: 'rec-001', context: CONTEXT, authors: [ind.author.jwk, ph.authorJwk] };
  const opened = await openSealed(sealed, { ...expect, privateJwk: ind.reader.jwk, indexKey: ind.phisealIndexKey });
  assert.deepEqual(opened.locked, []);
  assert.deepEqual(opened.record, RECORD);
  // The field strings are what §5.3 says: blind indexes and deterministic strings recomputed.
  const fields = compileSchema(SCHEMA).fields;
  const field = (path) => fields.find((f) => f.path === path);
  assert.ok(sealed.patient.ssn.startsWith(await blindToken(ind.phisealIndexKey, 'intake', field('patient.ssn'), '123-45-6789')));
  assert.equal(sealed.patient.email, await deterministicField(ind.phisealIndexKey, 'intake', field('patient.email'), 'ana@example.org'));
  assert.match(sealed.patient.middle, /^phs1\./); // null is sealed
  assert.equal(sealed.contact, null); // a null container is absent
  assert.deepEqual(sealed.meta, RECORD.meta);

  // Without the index key the deterministic field stays locked; a billing-only key reads billing only.
  const noIndex = await openSealed(sealed, { ...expect, privateJwk: ind.reader.jwk });
  assert.deepEqual(noIndex.locked, [{ path: '/patient/email', reason: 'indexKey' }]);
  const billing = await openSealed(sealed, { ...expect, privateJwk: ph.billing.jwk, indexKey: ind.phisealIndexKey });
  assert.equal(billing.record.billing.card, 4111111111111111);
  assert.deepEqual(billing.locked.map((l) => `${l.path} ${l.reason}`).sort(), [
    '/diagnoses/0/code clinical', '/diagnoses/0/notes/0/text clinical', '/diagnoses/0/notes/1/text clinical',
    '/diagnoses/1/code clinical', '/notes~0~1x clinical', '/patient/email clinical', '/patient/middle default',
    '/patient/name default', '/patient/ssn clinical', '/vitals/0/0 clinical', '/vitals/0/1 clinical', '/vitals/2/0 clinical',
  ]);
  await refuses(openSealed(sealed, { ...expect, privateJwk: ph.outsider.jwk }), 'NOT_RECIPIENT');
  // Unsigned members may change; the rest is what phiseal reads too.
  const moved = { ...structuredClone(sealed), serverTime: 'rewritten by the server' };
  assert.equal((await openSealed(moved, { ...expect, privateJwk: ind.reader.jwk })).record.serverTime, 'rewritten by the server');
  const reference = await phiseal.openRecord(moved, { ...expect, authors: [ph.author.publicKey], privateKey: ph.reader.privateKey, indexKey: ph.indexKey });
  assert.deepEqual(reference.record, { ...RECORD, serverTime: 'rewritten by the server' });
});

test('a record sealed by the independent implementation opens in phiseal', async () => {
  const { ind, ph } = await keys();
  const { sealed, digest } = await sealIndependent(RECORD, {
    schema: SCHEMA, recordId: 'rec-ind-1', context: CONTEXT, created: CREATED / 1000, author: ind.author, indexKey: ind.indexKey,
    recipients: [{ jwk: ph.reader.publicJwk }, { jwk: ph.billing.publicJwk, groups: ['billing'] }, { jwk: ind.reader.publicJwk }],
  });
  const expect = { schema: SCHEMA, recordId: 'rec-ind-1', context: CONTEXT, authors: [ind.author.phiseal] };
  const opened = await phiseal.openRecord(sealed, { ...expect, privateKey: ph.reader.privateKey, indexKey: ph.independentIndexKey });
  assert.deepEqual(opened.locked, []);
  assert.deepEqual(opened.record, RECORD);
  const kid = async (jwk) => b64u(await thumbprint(jwk));
  const kids = [await kid(ph.reader.publicJwk), await kid(ph.billing.publicJwk), await kid(ind.reader.publicJwk)];
  assert.deepEqual(opened.header, {
    recordId: 'rec-ind-1', schemaId: 'intake', schemaVersion: 2, version: 1, previous: null, epoch: 1, created: CREATED / 1000,
    context: CONTEXT, author: await kid(ind.author.jwk), indexKeyId: b64u(ind.indexKey.id),
    groups: [
      { group: 'billing', recipients: kids },
      { group: 'clinical', recipients: [kids[0], kids[2]] },
      { group: 'default', recipients: [kids[0], kids[2]] },
    ],
    digest: b64u(digest),
  });
  assert.deepEqual(opened.author, { kid: await kid(ind.author.jwk) });
  // A billing-only recipient: billing opens, the rest stays sealed.
  const billing = await phiseal.openRecord(sealed, { ...expect, privateKey: ph.billing.privateKey, indexKey: ph.independentIndexKey });
  assert.equal(billing.record.billing.card, 4111111111111111);
  assert.equal(billing.record.patient.name, sealed.patient.name);
  assert.deepEqual(billing.locked.find((l) => l.path === '/notes~0~1x'), { path: '/notes~0~1x', reason: 'clinical' });
  // Searchable fields: phiseal's search tokens match the independent strings.
  const token = (path, value) => phiseal.searchToken(value, { schema: SCHEMA, path, indexKey: ph.independentIndexKey });
  assert.equal(token('patient.email', 'ana@example.org'), sealed.patient.email);
  assert.ok(sealed.patient.ssn.startsWith(token('patient.ssn', '123-45-6789')));
  assert.ok(sealed.diagnoses[0].notes[1].text.startsWith(token('diagnoses[].notes[].text', 'albuterol prn')));
  // And the independent reader reads its own record.
  const mine = await openSealed(sealed, { ...expect, authors: [ind.author.jwk], privateJwk: ind.reader.jwk, indexKey: ind.indexKey });
  assert.deepEqual(mine.record, RECORD);
});

test('versions: digests agree, and each side links to the other\'s version', async () => {
  const { ind, ph } = await keys();
  const schema = { id: 'note', version: 1, fields: { 'body.text': true, 'tags[]': { group: 'clinical' } } };
  const expect = { schema, recordId: 'note-7', context: { patientId: 'p-1' } };
  const recipients = [ind.reader.phiseal, ph.reader.publicKey];
  const asPhiseal = (sealed, extra = {}) => phiseal.openRecord(sealed, { ...expect, privateKey: ph.reader.privateKey, authors: [ph.author.publicKey, ind.author.phiseal], ...extra });
  const asIndependent = (sealed, extra = {}) => openSealed(sealed, { ...expect, privateJwk: ind.reader.jwk, authors: [ph.authorJwk, ind.author.jwk], ...extra });

  // Version 1 by phiseal: both compute the same version digest.
  const v1 = await phiseal.sealRecord({ body: { text: 'first' }, tags: ['a'] }, { ...expect, recipients, author: ph.author });
  const [p1, i1] = [await asPhiseal(v1), await asIndependent(v1)];
  assert.equal(p1.header.version, 1);
  assert.equal(p1.header.previous, null);
  assert.equal(p1.header.digest, b64u(i1.digest));
  assert.deepEqual(i1.digest, await versionDigest(unb64u(v1._phiseal.slice(5)).slice(0, -96)));

  // Version 2 by the independent side, linked to phiseal's version 1.
  const v2 = await sealIndependent({ body: { text: 'second' }, tags: ['a', 'b'] }, {
    ...expect, author: ind.author, previous: { version: 1, digest: i1.digest },
    recipients: [{ jwk: ind.reader.publicJwk }, { jwk: ph.reader.publicJwk }],
  });
  const p2 = await asPhiseal(v2.sealed);
  assert.equal(p2.header.version, 2);
  assert.equal(p2.header.previous, p1.header.digest);
  assert.equal(p2.header.digest, b64u(v2.digest));
  assert.deepEqual(p2.record, { body: { text: 'second' }, tags: ['a', 'b'] });

  // Version 3 by phiseal, linked to the independent version 2.
  const v3 = await phiseal.sealRecord({ body: { text: 'third' }, tags: [] }, { ...expect, recipients, author: ph.author, previous: p2.header });
  const i3 = await asIndependent(v3);
  assert.equal(i3.h.recordVersion, 3n);
  assert.deepEqual(i3.h.previous, v2.digest);
  assert.equal((await asPhiseal(v3)).header.digest, b64u(i3.digest));

  // Older versions are refused by a minimum or by a version store.
  await refuses(asIndependent(v1, { minVersion: 2 }), 'STALE_VERSION');
  await rejectsWith(assert, asPhiseal(v1, { minVersion: 2 }), 'STALE_VERSION');
  const versions = new phiseal.MemoryVersionStore();
  await asPhiseal(v3, { versions });
  await rejectsWith(assert, asPhiseal(v2.sealed, { versions }), 'STALE_VERSION');

  // A header whose previous does not fit its version is malformed, on both sides.
  const broken = await sealIndependent({ body: { text: 'x' } }, {
    ...expect, author: ind.author, header: { recordVersion: 2n, previous: ZERO48 },
    recipients: [{ jwk: ind.reader.publicJwk }, { jwk: ph.reader.publicJwk }],
  });
  await refuses(asIndependent(broken.sealed), 'MALFORMED_INPUT');
  await rejectsWith(assert, asPhiseal(broken.sealed), 'MALFORMED_INPUT');
});

test('sealed index keys (phk2.) both ways, and fields searchable across sides', async () => {
  const { ind, ph } = await keys();
  // phiseal → independent: id, signature, unwrap, commitment (done in the fixture).
  assert.equal(b64u(ind.phisealIndexKey.id), ph.indexKey.id);
  assert.equal(ind.phisealIndexKey.key.length, 32);
  // independent → phiseal.
  assert.equal(ph.independentIndexKey.id, b64u(ind.indexKey.id));

  const schema = { id: 'lookup', version: 3, fields: { mrn: { mode: 'deterministic' }, 'names[]': { mode: 'blindIndex', bits: 20 }, dob: true } };
  const record = { mrn: 'MRN-0042', names: ['Souza', 'Ana'], dob: '1984-02-29' };
  const expect = { schema, recordId: 'lk-1' };
  // phiseal seals with its index key; the independent side reads and searches it with its copy.
  const byPhiseal = await phiseal.sealRecord(record, { ...expect, recipients: [ind.reader.phiseal], author: ph.author, indexKey: ph.indexKey });
  const opened = await openSealed(byPhiseal, { ...expect, privateJwk: ind.reader.jwk, authors: [ph.authorJwk], indexKey: ind.phisealIndexKey });
  assert.deepEqual(opened.record, record);
  const f = Object.fromEntries(compileSchema(schema).fields.map((x) => [x.path, x]));
  assert.equal(byPhiseal.mrn, await deterministicField(ind.phisealIndexKey, 'lookup', f.mrn, 'MRN-0042'));
  assert.ok(byPhiseal.names[1].startsWith(await blindToken(ind.phisealIndexKey, 'lookup', f['names[]'], 'Ana')));
  assert.equal(phiseal.searchToken('Ana', { schema, path: 'names[]', indexKey: ph.indexKey }), await blindToken(ind.phisealIndexKey, 'lookup', f['names[]'], 'Ana'));
  // A record naming another index key is refused by a reader holding this one.
  await refuses(openSealed(byPhiseal, { ...expect, privateJwk: ind.reader.jwk, authors: [ph.authorJwk], indexKey: ind.indexKey }), 'INVALID_ARGUMENT');
  // The independent side seals with its index key; phiseal reads and searches it with its copy.
  const byIndependent = (await sealIndependent(record, { ...expect, recipients: [{ jwk: ph.reader.publicJwk }], author: ind.author, indexKey: ind.indexKey })).sealed;
  const back = await phiseal.openRecord(byIndependent, { ...expect, privateKey: ph.reader.privateKey, authors: [ind.author.phiseal], indexKey: ph.independentIndexKey });
  assert.deepEqual(back.record, record);
  assert.equal(phiseal.searchToken('MRN-0042', { schema, path: 'mrn', indexKey: ph.independentIndexKey }), byIndependent.mrn);
  assert.ok(byIndependent.names[0].startsWith(phiseal.searchToken('Souza', { schema, path: 'names[]', indexKey: ph.independentIndexKey })));
  await rejectsWith(assert, phiseal.openRecord(byIndependent, { ...expect, privateKey: ph.reader.privateKey, authors: [ind.author.phiseal], indexKey: ph.indexKey }), 'INVALID_ARGUMENT');

  // Refusals, on both sides.
  const stranger = await independentAuthor();
  await refuses(openIndexKeyIndependent(ph.sealedIndexKey, ind.reader.jwk, [stranger.jwk]), 'UNTRUSTED_AUTHOR');
  await rejectsWith(assert, phiseal.openIndexKey(ind.sealedIndexKey, ph.reader.privateKey, { authors: [stranger.phiseal] }), 'UNTRUSTED_AUTHOR');
  await refuses(openIndexKeyIndependent(ph.sealedIndexKey, ph.outsider.jwk, [ph.authorJwk]), 'NOT_RECIPIENT');
  await rejectsWith(assert, phiseal.openIndexKey(ind.sealedIndexKey, ph.outsider.privateKey, { authors: [ind.author.phiseal] }), 'NOT_RECIPIENT');
  const flip = (s, i) => {
    const b = unb64u(s.slice(5));
    b[i] ^= 1;
    return `phk2.${b64u(b)}`;
  };
  for (const offset of [1, 17]) { // a byte of the id, of the commitment
    await refuses(openIndexKeyIndependent(flip(ph.sealedIndexKey, offset), ind.reader.jwk, [ph.authorJwk]), 'INVALID_SIGNATURE');
    await rejectsWith(assert, phiseal.openIndexKey(flip(ind.sealedIndexKey, offset), ph.reader.privateKey, { authors: [ind.author.phiseal] }), 'INVALID_SIGNATURE');
  }
  // Signed, but committing to another key than the one wrapped.
  const lying = await sealIndexKeyIndependent(ind.indexKey, [ph.reader.publicJwk, ind.reader.publicJwk], ind.author, { commitment: random(32) });
  await rejectsWith(assert, phiseal.openIndexKey(lying, ph.reader.privateKey, { authors: [ind.author.phiseal] }), 'DECRYPT_FAILED');
  await refuses(openIndexKeyIndependent(lying, ind.reader.jwk, [ind.author.jwk]), 'DECRYPT_FAILED');
  const v1 = `phk1.${ind.sealedIndexKey.slice(5)}`;
  await refuses(openIndexKeyIndependent(v1, ind.reader.jwk, [ind.author.jwk]), 'UNSUPPORTED');
  await rejectsWith(assert, phiseal.openIndexKey(v1, ph.reader.privateKey, { authors: [ind.author.phiseal] }), 'UNSUPPORTED');
});

/** The same tampering, as [name, edit(sealed) → sealed', options change, code]. */
function tamperings(sealed) {
  return [
    ['a flipped byte of a clear member', () => {
      const s = structuredClone(sealed);
      s.billing.plan = String.fromCharCode(s.billing.plan.charCodeAt(0) ^ 1) + s.billing.plan.slice(1);
      return s;
    }, {}, 'INVALID_SIGNATURE'],
    ['a nested clear number changed', () => ({ ...structuredClone(sealed), meta: { ...sealed.meta, z: 2 } }), {}, 'INVALID_SIGNATURE'],
    ['a clear member added', () => ({ ...structuredClone(sealed), extra: true }), {}, 'INVALID_SIGNATURE'],
    ['two field strings swapped', () => {
      const s = structuredClone(sealed);
      [s.diagnoses[0].code, s.diagnoses[1].code] = [s.diagnoses[1].code, s.diagnoses[0].code];
      return s;
    }, {}, 'INVALID_SIGNATURE'],
    ['a field string removed', () => {
      const s = structuredClone(sealed);
      delete s.patient.name;
      return s;
    }, {}, 'INVALID_SIGNATURE'],
    ['a flipped signature byte', () => editEnvelope(sealed, (b, at) => (b[at.signature + 40] ^= 1)), {}, 'INVALID_SIGNATURE'],
    ['a flipped wrap byte', () => editEnvelope(sealed, (b, at) => (b[at.wraps + 120] ^= 1)), {}, 'INVALID_SIGNATURE'],
    ['a flipped epoch byte', () => editEnvelope(sealed, (b, at) => (b[at.epoch + 3] ^= 1)), {}, 'INVALID_SIGNATURE'],
    ['a flipped content-digest byte', () => editEnvelope(sealed, (b, at) => (b[at.contentDigest] ^= 1)), {}, 'INVALID_SIGNATURE'],
    // The context is sorted: Zone, patientId, tenant, zone😀; "p-1" becomes "p-0".
    ['a changed context value in the envelope', () => editEnvelope(sealed, (b, at) => (b[at.contextValues[1] + 2] ^= 1)), {}, 'CONTEXT_MISMATCH'],
    ['another expected context', () => sealed, { context: { ...CONTEXT, patientId: 'p-2' } }, 'CONTEXT_MISMATCH'],
    ['an empty expected context', () => sealed, { context: {} }, 'CONTEXT_MISMATCH'],
    ['a wrong record id', () => sealed, { recordId: 'rec-other' }, 'CONTEXT_MISMATCH'],
    ['another schema version', () => sealed, { schema: { ...SCHEMA, version: 3 } }, 'CONTEXT_MISMATCH'],
    ['an untrusted author', () => sealed, { untrusted: true }, 'UNTRUSTED_AUTHOR'],
    ['an older envelope version', () => ({ ...structuredClone(sealed), _phiseal: `phe1.${sealed._phiseal.slice(5)}` }), {}, 'UNSUPPORTED'],
    ['non-canonical base64url', () => ({ ...structuredClone(sealed), _phiseal: `${sealed._phiseal}=` }), {}, 'MALFORMED_INPUT'],
    ['trailing bytes', () => ({ ...structuredClone(sealed), _phiseal: `phe2.${b64u(cat(unb64u(sealed._phiseal.slice(5)), u8(0)))}` }), {}, 'MALFORMED_INPUT'],
  ];
}

async function refusedByBoth(sealed, side, expect) {
  const { ind, ph } = await keys();
  const stranger = await independentAuthor();
  // Untampered, both read it.
  const base = { ...expect, privateJwk: ind.reader.jwk, indexKey: side.indIndexKey, authors: [side.jwk] };
  assert.deepEqual((await openSealed(sealed, base)).record, RECORD);
  assert.deepEqual((await phiseal.openRecord(sealed, { ...expect, privateKey: ph.reader.privateKey, indexKey: side.phIndexKey, authors: [side.phiseal] })).record, RECORD);
  for (const [name, edit, change, code] of tamperings(sealed)) {
    const { untrusted, ...o } = change;
    const input = edit();
    await refuses(openSealed(input, {
      ...expect, ...o, privateJwk: ind.reader.jwk, indexKey: side.indIndexKey, authors: untrusted ? [stranger.jwk] : [side.jwk],
    }), code).catch((e) => assert.fail(`independent reader, ${name}: ${e.message}`));
    await rejectsWith(assert, phiseal.openRecord(input, {
      ...expect, ...o, privateKey: ph.reader.privateKey, indexKey: side.phIndexKey, authors: untrusted ? [stranger.phiseal] : [side.phiseal],
    }), code).catch((e) => assert.fail(`phiseal, ${name}: ${e.message}`));
  }
}

test('the independent reader (and phiseal) refuse a tampered or misdirected phiseal record', async () => {
  const { ind, ph } = await keys();
  const expect = { schema: SCHEMA, recordId: 'rec-002', context: CONTEXT };
  const sealed = await phiseal.sealRecord(RECORD, { ...expect, indexKey: ph.indexKey, author: ph.author, recipients: [ind.reader.phiseal, ph.reader.publicKey] });
  await refusedByBoth(sealed, { jwk: ph.authorJwk, phiseal: ph.author.publicKey, indIndexKey: ind.phisealIndexKey, phIndexKey: ph.indexKey }, expect);
});

test('phiseal (and the independent reader) refuse a tampered or misdirected independent record', async () => {
  const { ind, ph } = await keys();
  const expect = { schema: SCHEMA, recordId: 'rec-003', context: CONTEXT };
  const recipients = [{ jwk: ind.reader.publicJwk }, { jwk: ph.reader.publicJwk }];
  const { sealed } = await sealIndependent(RECORD, { ...expect, indexKey: ind.indexKey, author: ind.author, recipients });
  const side = { jwk: ind.author.jwk, phiseal: ind.author.phiseal, indIndexKey: ind.indexKey, phIndexKey: ph.independentIndexKey };
  await refusedByBoth(sealed, side, expect);

  // Signed by the author, but one reader's wrap of "clinical" holds another key than the committed
  // one: that reader refuses, the other reads the record. No clinical field is present, so
  // only the key commitment can tell.
  const few = { patient: { name: 'Ana Souza' }, billing: { card: 1 } };
  const lieTo = (reader) => sealIndependent(few, { ...expect, indexKey: ind.indexKey, author: ind.author, recipients, lie: (g, i) => (g === 'clinical' && i === reader ? random(32) : undefined) });
  const asPhiseal = (s) => phiseal.openRecord(s, { ...expect, privateKey: ph.reader.privateKey, authors: [ind.author.phiseal], indexKey: ph.independentIndexKey });
  const asIndependent = (s) => openSealed(s, { ...expect, privateJwk: ind.reader.jwk, authors: [ind.author.jwk], indexKey: ind.indexKey });
  const [toIndependent, toPhiseal] = [await lieTo(0), await lieTo(1)];
  await rejectsWith(assert, asPhiseal(toPhiseal.sealed), 'DECRYPT_FAILED');
  assert.deepEqual((await asIndependent(toPhiseal.sealed)).record, few);
  await refuses(asIndependent(toIndependent.sealed), 'DECRYPT_FAILED');
  assert.deepEqual((await asPhiseal(toIndependent.sealed)).record, few);
  // Signed, but listing a recipient twice in a group: malformed for both.
  const twice = await sealIndependent(RECORD, {
    ...expect, indexKey: ind.indexKey, author: ind.author, recipients,
    rawGroups: { billing: [recipients[0]], clinical: [recipients[1], recipients[0], recipients[1]], default: [recipients[0]] },
  });
  await refuses(openSealed(twice.sealed, { ...expect, privateJwk: ind.reader.jwk, authors: [ind.author.jwk] }), 'MALFORMED_INPUT');
  await rejectsWith(assert, phiseal.openRecord(twice.sealed, { ...expect, privateKey: ph.reader.privateKey, authors: [ind.author.phiseal] }), 'MALFORMED_INPUT');
  // A reader of no group.
  await rejectsWith(assert, phiseal.openRecord(sealed, { ...expect, privateKey: ph.outsider.privateKey, authors: [ind.author.phiseal] }), 'NOT_RECIPIENT');
});
