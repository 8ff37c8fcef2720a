// 'phiseal/fhir/attachments': large FHIR attachments through the encrypted
// stream format (docs/FORMAT.md §8) instead of a field string (docs/FHIR.md).
//
//   const { resource: light } = await detachAttachments(resource, { recipients, author, store });
//   const sealed = await sealRecord(light, { schema: fhirSchema, ... });
//   ...
//   const { record } = await openRecord(sealed, { ... });
//   const full = await attachAttachments(record, { privateKey, authors, load });
//
// `Attachment.data` (any object that is not a resource) and `Binary.data`
// above `threshold` decoded bytes leave the resource: each becomes an
// encrypted stream (to the record's recipients of the attachment's group,
// signed by the record's author) that
// `store` keeps wherever large objects go, and the resource keeps, in place
// of `data`, an extension with the stream's reference and its SHA-384. The
// record's seal covers that extension (the FHIR presets seal every
// `extension`, and every schema's signature covers clear members), so a
// server that hands back another stream — another patient's, an older one,
// an edited one — is refused before anything is decrypted (CONTEXT_MISMATCH).
// Uses the full wasm build (as 'phiseal/stream').

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { decryptBlob, encryptBlob } from './stream.js';

/** The extension that replaces a detached `data` (docs/FHIR.md). */
export const SEALED_DATA_EXTENSION = 'https://phiseal.dev/fhir/StructureDefinition/sealed-data';
/** Decoded bytes above which `data` is detached unless `threshold` says otherwise. */
export const DEFAULT_ATTACHMENT_THRESHOLD = 65536;

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromBase64(text) {
  if (text.length % 4 !== 0 || !B64.test(text)) return null;
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toBase64(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

async function sha384(bytes) {
  return toBase64(new Uint8Array(await crypto.subtle.digest('SHA-384', bytes)));
}

/** Every object holding a `data` string that may be detached: {holder, pointer}. */
function holders(value, pointer, inResource, out) {
  if (Array.isArray(value)) {
    value.forEach((v, i) => holders(v, `${pointer}/${i}`, inResource, out));
  } else if (value !== null && typeof value === 'object') {
    const resource = typeof value.resourceType === 'string';
    if (typeof value.data === 'string' && (resource ? value.resourceType === 'Binary' : inResource)) out.push({ holder: value, pointer });
    for (const [k, v] of Object.entries(value)) {
      holders(v, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, inResource || resource, out);
    }
  }
  return out;
}

/** The stream recipients for `group`: a record's recipients (PublicKey or {publicKey, groups}) that receive it. */
function streamRecipients(recipients, group) {
  if (!Array.isArray(recipients) || recipients.length === 0) throw invalidArgument('recipients must be a non-empty array (as for sealRecord)');
  const keys = recipients
    .filter((r) => !(r && typeof r === 'object' && 'groups' in r && Array.isArray(r.groups)) || r.groups.includes(group))
    .map((r) => (r && typeof r === 'object' && 'publicKey' in r && !('certificate' in r) ? r.publicKey : r));
  if (keys.length === 0) throw invalidArgument(`no recipient receives the group ${JSON.stringify(group)} of the attachments`);
  return keys;
}

function thresholdArg(t) {
  const n = t ?? DEFAULT_ATTACHMENT_THRESHOLD;
  if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument('threshold must be a whole number of bytes');
  return n;
}

/**
 * Moves each large `data` of `resource` (a resource or a Bundle; not
 * modified) into an encrypted stream, encrypted to the `recipients` (as for
 * sealRecord) that receive `group` (default `clinical`, the group of
 * attachments in the FHIR presets; a function of the pointer for others:
 * `Patient.photo` is `identity` there). `store(blob, {pointer, contentType})`
 * keeps the stream and resolves to its reference (a URL or an id, a string).
 * Resolves to `{resource, detached}`: the copy to seal, and the pointers
 * moved. `data` that is not canonical base64 stays in place (it is sealed as
 * a field, and opens as it was).
 */
export async function detachAttachments(resource, opts) {
  if (resource === null || typeof resource !== 'object') throw invalidArgument('resource must be a FHIR resource (an object)');
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options must be an object: {recipients, author, store, threshold?}');
  if (typeof opts.store !== 'function') throw invalidArgument('store must be a function (blob, {pointer, contentType}) => Promise<string>');
  const threshold = thresholdArg(opts.threshold);
  const copy = structuredClone(resource);
  const detached = [];
  for (const { holder, pointer } of holders(copy, '', false, [])) {
    if (holder.data.length <= (threshold * 4) / 3) continue; // cheap bound before decoding
    // Canonical base64 travels as its bytes; base64 with whitespace (FHIR
    // allows it, and the specification's own examples have it) as its text,
    // so the resource attaches back exactly as it was; anything else stays.
    let bytes = fromBase64(holder.data);
    let asText = false;
    if (bytes === null || toBase64(bytes) !== holder.data) {
      const decoded = fromBase64(holder.data.replace(/\s+/g, ''));
      if (decoded === null) continue;
      bytes = new TextEncoder().encode(holder.data);
      asText = true;
      if (decoded.length <= threshold) continue;
    } else if (bytes.length <= threshold) continue;
    const group = typeof opts.group === 'function' ? opts.group(`${pointer}/data`) : (opts.group ?? 'clinical');
    if (typeof group !== 'string') throw invalidArgument('group must be a group name, or a function of the pointer returning one');
    const recipients = streamRecipients(opts.recipients, group);
    const sealed = new Uint8Array(await (await encryptBlob(new Blob([bytes]), { recipients, author: opts.author, trust: opts.trust, provider: opts.provider })).arrayBuffer());
    const ref = await opts.store(new Blob([sealed], { type: 'application/octet-stream' }), { pointer: `${pointer}/data`, contentType: holder.contentType });
    if (typeof ref !== 'string' || ref === '') throw invalidArgument('store must resolve to a non-empty string reference');
    delete holder.data;
    const parts = [{ url: 'ref', valueString: ref }, { url: 'sha384', valueBase64Binary: await sha384(sealed) }, { url: 'size', valueString: String(bytes.length) }];
    if (asText) parts.push({ url: 'encoding', valueCode: 'text' });
    const ext = { url: SEALED_DATA_EXTENSION, extension: parts };
    holder.extension = [...(Array.isArray(holder.extension) ? holder.extension : []), ext];
    detached.push(`${pointer}/data`);
  }
  return { resource: copy, detached };
}

function sealedData(holder) {
  if (!Array.isArray(holder.extension)) return null;
  const i = holder.extension.findIndex((x) => x?.url === SEALED_DATA_EXTENSION);
  if (i < 0) return null;
  const parts = Object.fromEntries((holder.extension[i].extension ?? []).map((p) => [p?.url, p]));
  const ref = parts.ref?.valueString;
  const hash = parts.sha384?.valueBase64Binary;
  const size = parts.size?.valueString;
  if (typeof ref !== 'string' || typeof hash !== 'string' || typeof size !== 'string' || !/^(0|[1-9][0-9]*)$/.test(size)) {
    throw new PhisealError('a sealed-data extension needs ref, sha384 and size', ErrorCode.MALFORMED_INPUT);
  }
  const encoding = parts.encoding?.valueCode;
  if (encoding !== undefined && encoding !== 'text') throw new PhisealError('unknown sealed-data encoding', ErrorCode.UNSUPPORTED);
  return { i, ref, hash, size: Number(size), asText: encoding === 'text' };
}

function allObjects(value, out = []) {
  if (Array.isArray(value)) value.forEach((v) => allObjects(v, out));
  else if (value !== null && typeof value === 'object') {
    out.push(value);
    Object.values(value).forEach((v) => allObjects(v, out));
  }
  return out;
}

/**
 * Puts back every detached `data` of an opened record (outside the schema's
 * `unsigned` members, which the signature does not cover): `load(ref)` resolves
 * to the stream's bytes (Blob, ArrayBuffer or Uint8Array); its SHA-384 must
 * be the one the record names (else CONTEXT_MISMATCH: another or an edited
 * stream), then it is decrypted with `privateKey` and must be signed by one
 * of `authors` (UNTRUSTED_AUTHOR, DECRYPT_FAILED, INVALID_SIGNATURE as
 * decryptBlob). Resolves to the resource as it was before detaching (a
 * copy). A sealed-data extension the reader's groups did not open (still a
 * field string) is left as it is.
 */
export async function attachAttachments(resource, opts) {
  if (resource === null || typeof resource !== 'object') throw invalidArgument('resource must be a FHIR resource (an object)');
  if (opts === null || typeof opts !== 'object') throw invalidArgument('options must be an object: {schema, privateKey, authors, load}');
  if (typeof opts.load !== 'function') throw invalidArgument('load must be a function (ref) => Promise<Blob | ArrayBuffer | Uint8Array>');
  if (opts.schema === null || typeof opts.schema !== 'object') throw invalidArgument('schema must be the schema the record was opened with');
  const unsigned = Array.isArray(opts.schema.unsigned) ? opts.schema.unsigned : [];
  const copy = structuredClone(resource);
  // Only what the record's signature covers: a schema's `unsigned` members
  // are the server's to write, so a sealed-data extension there could name
  // another record's stream (its hash would match that stream).
  const holders = unsigned.includes('extension') ? [] : [copy]; // the root's own extension, unless unsigned
  for (const [k, v] of Object.entries(copy)) if (!unsigned.includes(k)) allObjects(v, holders);
  for (const holder of holders) {
    const found = sealedData(holder);
    if (!found) continue;
    const got = await opts.load(found.ref);
    const bytes =
      got instanceof Uint8Array ? got : got instanceof ArrayBuffer ? new Uint8Array(got) : got instanceof Blob ? new Uint8Array(await got.arrayBuffer()) : null;
    if (bytes === null) throw invalidArgument('load must resolve to a Blob, ArrayBuffer or Uint8Array');
    if ((await sha384(bytes)) !== found.hash) {
      throw new PhisealError('the stream is not the one the record names (replaced, edited or from another record)', ErrorCode.CONTEXT_MISMATCH);
    }
    const plain = new Uint8Array(await (await decryptBlob(new Blob([bytes]), { privateKey: opts.privateKey, authors: opts.authors, trust: opts.trust, provider: opts.provider })).arrayBuffer());
    if (plain.length !== found.size) throw new PhisealError('the stream does not have the size the record names', ErrorCode.CONTEXT_MISMATCH);
    holder.extension.splice(found.i, 1);
    if (holder.extension.length === 0) delete holder.extension;
    holder.data = found.asText ? new TextDecoder('utf-8', { fatal: true }).decode(plain) : toBase64(plain);
  }
  return copy;
}
