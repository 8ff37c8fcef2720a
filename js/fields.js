// Field-level encryption of PHI records (docs/FORMAT.md §5): seal a record
// field by field before it leaves the browser, open it with a recipient key.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { certifiedAuthors, certifiedRecipients, identityOf, trustArg } from './trust.js';
import { authorsArg, isA, options, privateKeyArg, providerArg, recipientKeyArg, requireInit, schemaArg, wasm } from './internal.js';
import { IndexKeyset, Keyset } from './keysets.js';
import { unlockKey } from './lifecycle.js';
import { follows } from './versions.js';

export { IndexKeyset, Keyset };
export { MemoryVersionStore, VersionStore } from './versions.js';

/**
 * The JSON text of `value`, refusing what JSON.stringify would silently
 * change or drop: undefined, functions, symbols, BigInt, NaN and infinities,
 * Dates and other class instances (Map, Set, typed arrays), sparse arrays,
 * cycles. The error names the member (a JSON Pointer) and what to do.
 */
function jsonArg(value, name) {
  const seen = new Set();
  const walk = (v, path) => {
    const at = path === '' ? name : `${name} at ${path}`;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalidArgument(`${at} is ${v}, which JSON cannot hold (it would become null)`);
      return;
    }
    if (v === undefined) throw invalidArgument(`${at} is undefined: remove the member or set it to null`);
    if (typeof v !== 'object') throw invalidArgument(`${at} is a ${typeof v}, not a JSON value`);
    if (v instanceof Date) throw invalidArgument(`${at} is a Date: store date.toISOString() (a string) or getTime() (a number)`);
    if (seen.has(v)) throw invalidArgument(`${at} refers back to itself (a cycle)`);
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        if (!(i in v)) throw invalidArgument(`${at} has a hole at index ${i} (a sparse array)`);
        walk(v[i], `${path}/${i}`);
      }
    } else {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw invalidArgument(`${at} is a ${proto?.constructor?.name ?? 'non-plain'} object, not a plain JSON object`);
      }
      for (const [k, child] of Object.entries(v)) walk(child, `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
    }
    seen.delete(v);
  };
  walk(value, '');
  return JSON.stringify(value);
}

/** An IndexKey, or for an IndexKeyset the key a sealed record names (or the primary, to seal). */
function indexKeyArg(value, sealed) {
  if (value === undefined || value === null) return undefined;
  if (isA(value, 'IndexKey')) return value;
  if (value instanceof IndexKeyset) {
    if (sealed === undefined) return value.primary;
    const id = inspectRecord(sealed).indexKeyId;
    return id ? value.find(id) : undefined;
  }
  throw invalidArgument('indexKey must be an IndexKey or IndexKeyset (generateIndexKey, openIndexKey)');
}

/** A PrivateKey, or for a Keyset the enabled key that is a recipient of `sealed`. */
async function openerArg(value, sealed) {
  const unlocked = await unlockKey(value);
  if (unlocked !== value) return privateKeyArg(unlocked, 'privateKey');
  if (!(value instanceof Keyset)) return privateKeyArg(value, 'privateKey');
  const kids = new Set(inspectRecord(sealed).groups.flatMap((g) => g.recipients));
  const key = value.enabled().find((k) => kids.has(k.kid));
  if (!key) throw new PhisealError('no enabled key of the keyset is a recipient of the record', ErrorCode.NOT_RECIPIENT);
  return key;
}

/** Recipients: PublicKey or {publicKey, groups?}, to the JSON the wasm side reads. */
function recipientsArg(recipients) {
  if (!Array.isArray(recipients) || recipients.length === 0) throw invalidArgument('recipients must be a non-empty array');
  return JSON.stringify(
    recipients.map((r) => {
      const key = recipientKeyArg(r, 'a PublicKey or {publicKey, groups}');
      const groups = isA(r, 'PublicKey') ? undefined : r.groups;
      if (groups !== undefined && (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))) {
        throw invalidArgument('recipient groups must be an array of strings');
      }
      return { jwk: key.toJwk(), groups: groups ?? null };
    }),
  );
}

/** The AuthorKey that signs what is sealed. */
function authorArg(value) {
  if (isA(value, 'AuthorKey')) return value;
  if (isA(value, 'PrivateKey') || isA(value, 'SigningKey')) {
    throw invalidArgument('author must be an AuthorKey (ECDSA P-384: generateAuthorKey()), not an HPKE PrivateKey or an audit SigningKey');
  }
  throw invalidArgument('author is required: the AuthorKey that signs it (generateAuthorKey(), KeyStore.getAuthorKey)');
}

/** An encryption context: a plain object of string values (default: empty). */
function contextArg(value) {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) {
    throw invalidArgument('context must be a plain object of string values, e.g. {patientId: "p-1"}');
  }
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalidArgument(`context.${k} must be a string (context values are compared exactly)`);
  }
  return value;
}

/**
 * With trust, an UNTRUSTED_AUTHOR for a record signed by an author whose
 * certificate was refused becomes that refusal (KEY_EXPIRED, KEY_REVOKED, ...).
 */
function refusedAuthor(e, certified, authorOf = () => null) {
  if (!certified || e?.code !== ErrorCode.UNTRUSTED_AUTHOR) return e;
  let kid = null;
  try {
    kid = authorOf();
  } catch {
    return e;
  }
  // The kid the record claims (not yet proven): the refusal of that author's certificate explains the failure.
  const why = kid === null ? undefined : certified.refused.get(kid);
  if (why === undefined) return e;
  return new PhisealError(`the record names author ${kid}, whose certificate was refused: ${why.message}`, why.code);
}

/** What openRecord / rewrapRecord expect, as JSON text for the wasm side. */
function expectedArg(o, certified = null) {
  if (typeof o.recordId !== 'string') throw invalidArgument('recordId is required: the id of the record you asked for (a record served under another id is refused)');
  const minVersion = o.minVersion ?? 0;
  if (!Number.isSafeInteger(minVersion) || minVersion < 0) throw invalidArgument('minVersion must be a non-negative integer');
  return JSON.stringify({ recordId: o.recordId, context: contextArg(o.context), authors: authorsArg(o.authors, certified), minVersion });
}

/** `previous`: the header of the opened version this one replaces (openRecord(...).header). */
function previousArg(value) {
  if (value === undefined || value === null) return { version: 1, previous: null };
  if (typeof value !== 'object' || !Number.isSafeInteger(value.version) || typeof value.digest !== 'string') {
    throw invalidArgument('previous must be the header of the opened previous version (openRecord(...).header: {version, digest})');
  }
  return { version: value.version + 1, previous: value.digest };
}

/**
 * Refuses a rollback or a fork through `versions` (a VersionStore, or any
 * object with `advance(key, {version, digest, previous})`): the store keeps
 * the highest version seen per record and answers what it held before.
 */
async function checkFreshness(versions, header) {
  if (versions === undefined || versions === null) return;
  if (typeof versions.advance !== 'function') throw invalidArgument('versions must be a VersionStore (or have advance(key, seen))');
  const key = JSON.stringify([header.schemaId, header.recordId]);
  const seen = { version: header.version, digest: header.digest, previous: header.previous ?? null };
  const before = await versions.advance(key, seen);
  if (before && before.version === header.version && before.digest === header.digest) return;
  if (before && !follows(before, seen)) {
    throw new PhisealError(
      before.version > header.version
        ? `record ${header.recordId} is version ${header.version}, but version ${before.version} was already seen (rollback)`
        : before.version === header.version
          ? `record ${header.recordId} version ${header.version} differs from the one already seen (fork)`
          : `record ${header.recordId} version ${header.version} does not follow the version ${before.version} already seen (fork)`,
      ErrorCode.STALE_VERSION,
    );
  }
}

function secondsArg(value, name) {
  if (value === undefined) return Math.floor(Date.now() / 1000);
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms) || ms < 0) throw invalidArgument(`${name} must be a Date or Unix milliseconds`);
  return Math.floor(ms / 1000);
}

/**
 * Returns `schema` unchanged (typed with its literal modes in TypeScript);
 * throws INVALID_ARGUMENT when it is not `{id, version, fields}` (with
 * `resources`, `fields` may be left out: docs/FORMAT.md §5.11).
 * @template S
 * @param {S} schema
 * @returns {S}
 */
export function defineSchema(schema) {
  const s = options(schema, 'schema');
  const map = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const fieldsOk = s.fields === undefined ? map(s.resources) : map(s.fields) && (s.resources === undefined || map(s.resources));
  if (typeof s.id !== 'string' || !Number.isSafeInteger(s.version) || !fieldsOk) {
    throw invalidArgument('a schema is {id: string, version: integer, fields: {path: spec}} and/or resources: {resourceType: {path: spec}}');
  }
  return schema;
}

/** A fresh tenant index key for deterministic and blind-index fields. */
export async function generateIndexKey() {
  requireInit();
  return wasm.IndexKey.generate();
}

/**
 * Seals the tenant index key to recipients (HPKE), signed by `author`; store the `phk2.` string.
 * @returns {Promise<string>}
 */
export async function sealIndexKey(indexKey, recipients, opts) {
  requireInit();
  const o = options(opts, 'options');
  const ik = indexKeyArg(indexKey);
  if (!ik) throw invalidArgument('indexKey is required');
  const trust = trustArg(o.trust);
  if (trust && (!Array.isArray(o.groups) || o.groups.length === 0 || o.groups.some((g) => typeof g !== 'string'))) {
    // The index key alone decrypts deterministic fields of every group it serves.
    throw invalidArgument('with trust, sealIndexKey needs groups: the access groups whose deterministic and blind-index fields this key serves (every recipient must be certified for all of them)');
  }
  const r = recipientsArg(trust ? await certifiedRecipients(trust, recipients, [], o.groups) : recipients);
  const provider = providerArg(o.provider);
  const author = authorArg(o.author);
  return wasm.sealIndexKey(ik, r, provider, author);
}

/**
 * Opens a sealed index key with a recipient's private key; `authors` are
 * the PublicKeys whose signatures you trust (UNTRUSTED_AUTHOR otherwise).
 * With `id` (the current key's id, kept by the caller) an authentic key of
 * another id, such as one from before a rotation, is refused with
 * CONTEXT_MISMATCH.
 */
export async function openIndexKey(sealed, privateKey, opts) {
  requireInit();
  if (typeof sealed !== 'string') throw invalidArgument('sealed index key must be a string');
  const o = options(opts, 'options');
  const sk = privateKeyArg(privateKey, 'privateKey');
  if (o.id !== undefined && typeof o.id !== 'string') throw invalidArgument('id must be the expected index key id (a string)');
  const trust = trustArg(o.trust);
  const certified = trust ? await certifiedAuthors(trust, o.authors) : null;
  let key;
  try {
    key = await wasm.openIndexKey(sealed, sk, JSON.stringify(authorsArg(certified ? certified.ok.map((c) => c.publicKey) : o.authors, certified)));
  } catch (e) {
    throw refusedAuthor(e, certified);
  }
  if (o.id !== undefined && key.id !== o.id) {
    const got = key.id;
    key.free();
    throw new PhisealError(`the sealed index key is ${got}, not the expected ${o.id}`, ErrorCode.CONTEXT_MISMATCH);
  }
  return key;
}

/**
 * Seals the PHI fields of `record` named by `schema`, signed by `author`.
 * @param {object} record a JSON object
 * @param {{schema: object, recordId: string, recipients: Array, author: AuthorKey, context?: Record<string, string>,
 *          previous?: {version: number, digest: string}, indexKey?: IndexKey, created?: Date|number, provider?: string}} opts
 * @returns {Promise<object>} the record, same shape, PHI replaced by sealed strings, plus `_phiseal`
 */
export async function sealRecord(record, opts) {
  requireInit();
  const o = options(opts, 'options');
  if (typeof o.recordId !== 'string') throw invalidArgument('recordId must be a string');
  const text = jsonArg(record, 'record');
  const trust = trustArg(o.trust);
  const schema = schemaArg(o.schema);
  const recipients = recipientsArg(trust ? await certifiedRecipients(trust, o.recipients, schema.groups) : o.recipients);
  const author = authorArg(o.author);
  const ik = indexKeyArg(o.indexKey);
  const created = secondsArg(o.created, 'created');
  const provider = providerArg(o.provider);
  const sealOpts = JSON.stringify({ recordId: o.recordId, created, context: contextArg(o.context), ...previousArg(o.previous) });
  return JSON.parse(await wasm.sealRecord(text, schema, recipients, sealOpts, ik?.clone(), provider, author));
}

/**
 * Opens a sealed record, refusing anything but what the caller expects: the
 * record `recordId`, sealed with exactly `context`, signed by one of
 * `authors`, at least `minVersion`, and (with `versions`) not older than
 * the newest version already seen. Fields of groups the key was not
 * granted (or deterministic fields without the index key) stay sealed and
 * are listed in `locked` as `{path, reason}` (path is a JSON Pointer).
 * @returns {Promise<{record: object, locked: Array<{path: string, reason: string}>, header: object, author: {kid: string}}>}
 */
export async function openRecord(sealed, opts) {
  requireInit();
  const o = options(opts, 'options');
  const text = jsonArg(sealed, 'sealed');
  const trust = trustArg(o.trust);
  const certified = trust ? await certifiedAuthors(trust, o.authors) : null;
  const expected = expectedArg(certified ? { ...o, authors: certified.ok.map((c) => c.publicKey) } : o, certified);
  const sk = await openerArg(o.privateKey, sealed);
  const ik = indexKeyArg(o.indexKey, sealed);
  const schema = schemaArg(o.schema);
  let opened;
  try {
    opened = JSON.parse(await wasm.openRecord(text, schema, sk, ik?.clone(), expected));
  } catch (e) {
    throw refusedAuthor(e, certified, () => inspectRecord(sealed).author);
  }
  await checkFreshness(o.versions, opened.header);
  if (certified) opened.author = identityOf(certified.ok.find((c) => c.kid === opened.author.kid));
  return opened;
}

/**
 * Seals many records: `items` is an array of `{record, recordId, context?, previous?}`.
 * The public-key work runs concurrently (WebCrypto queues it natively).
 */
export async function sealRecords(items, opts) {
  if (!Array.isArray(items)) throw invalidArgument('items must be an array of {record, recordId}');
  const o = options(opts, 'options');
  return Promise.all(items.map((it) => sealRecord(it?.record, { ...o, recordId: it?.recordId, context: it?.context ?? o.context, previous: it?.previous })));
}

/**
 * Opens many sealed records with one key: `items` is an array of
 * `{sealed, recordId, context?}` (each record is checked against its own id).
 */
export async function openRecords(items, opts) {
  if (!Array.isArray(items)) throw invalidArgument('items must be an array of {sealed, recordId}');
  const o = options(opts, 'options');
  return Promise.all(items.map((it) => openRecord(it?.sealed, { ...o, recordId: it?.recordId, context: it?.context ?? o.context })));
}

/**
 * Changes the recipients of a sealed record without re-encrypting its
 * fields: the next version (version + 1, linked to this one), signed by
 * `author`. The record is first checked as openRecord does (`recordId`,
 * `context`, `authors`). `privateKey` must be a recipient of every group.
 */
export async function rewrapRecord(sealed, opts) {
  return rewrap(sealed, opts, false);
}

/**
 * Re-keys a record: fresh data keys (epoch + 1), fields re-encrypted, wrapped
 * to `recipients`, as the next version signed by `author`. Use it when
 * access must be revoked (and refuse older versions with `versions` or
 * `minVersion`: the removed recipient can still read those).
 */
export async function rekeyRecord(sealed, opts) {
  return rewrap(sealed, opts, true);
}

async function rewrap(sealed, opts, rekey) {
  requireInit();
  const o = options(opts, 'options');
  const text = jsonArg(sealed, 'sealed');
  const recipients = recipientsArg(o.recipients);
  const provider = providerArg(o.provider);
  const expected = expectedArg(o);
  const author = authorArg(o.author);
  const sk = await openerArg(o.privateKey, sealed);
  const schema = schemaArg(o.schema);
  const now = secondsArg(o.now, 'now');
  const next = JSON.parse(await wasm.rewrapRecord(text, schema, sk, recipients, rekey, now, provider, expected, author));
  if (o.versions !== undefined && o.versions !== null) {
    // The rewrap authenticated the old version: refuse it if a newer one was
    // seen (a server handing an old version to re-sign), then record the new one.
    await checkFreshness(o.versions, inspectRecord(sealed));
    await checkFreshness(o.versions, inspectRecord(next));
  }
  return next;
}

/** The recipients of `sealed` as {publicKey, groups}, resolved through `directory` (PublicKeys). */
function currentRecipients(sealed, directory, except) {
  if (!Array.isArray(directory)) throw invalidArgument('directory must be an array of PublicKeys');
  const header = inspectRecord(sealed);
  const byKid = new Map(directory.map((k) => [isA(k, 'PublicKey') ? k.kid : undefined, k]));
  const groupsByKid = new Map();
  for (const { group, recipients } of header.groups) {
    for (const kid of recipients) groupsByKid.set(kid, [...(groupsByKid.get(kid) ?? []), group]);
  }
  groupsByKid.delete(except);
  return [...groupsByKid].map(([kid, groups]) => {
    const publicKey = byKid.get(kid);
    if (!publicKey) throw invalidArgument(`recipient ${kid} is not in the directory`);
    return { publicKey, groups };
  });
}

/**
 * Adds a recipient (all groups unless `groups`): a rewrap, no field is
 * re-encrypted. `directory` holds the public keys of the current recipients.
 */
export async function addRecipient(sealed, opts) {
  requireInit();
  const o = options(opts, 'options');
  const recipients = currentRecipients(sealed, o.directory);
  recipients.push(isA(o.recipient, 'PublicKey') ? { publicKey: o.recipient } : o.recipient);
  return rewrapRecord(sealed, { ...o, recipients });
}

/**
 * Removes a recipient (by PublicKey or kid) and re-keys the record, since the
 * removed recipient may have kept the old data keys.
 */
export async function removeRecipient(sealed, opts) {
  requireInit();
  const o = options(opts, 'options');
  const kid = isA(o.recipient, 'PublicKey') ? o.recipient.kid : o.recipient;
  if (typeof kid !== 'string') throw invalidArgument('recipient must be a PublicKey or a kid');
  // The removed recipient need not be in the directory.
  const recipients = currentRecipients(sealed, o.directory, kid);
  return rekeyRecord(sealed, { ...o, recipients });
}

/**
 * The organisation's recovery policy (docs/FORMAT.md §9.4): throws
 * NOT_RECIPIENT unless `recoveryKey` (the recovery PublicKey the
 * organisation pinned) is a recipient of every group of `sealed`. Reads the
 * header only, no key: run it wherever records are stored, as
 * verifyAllPhiEncrypted.
 */
export function checkRecoverable(sealed, recoveryKey) {
  const kid = recipientKeyArg(recoveryKey, 'a PublicKey (the recovery key)').kid;
  const missing = inspectRecord(sealed).groups.filter((g) => !g.recipients.includes(kid)).map((g) => g.group);
  if (missing.length > 0) {
    throw new PhisealError(`the recovery key is not a recipient of the group(s) ${missing.join(', ')} of this record`, ErrorCode.NOT_RECIPIENT);
  }
}

/** The (unauthenticated) header of a sealed record: ids, version, epoch, created, context, author, groups and recipient kids. */
export function inspectRecord(sealed) {
  requireInit();
  return JSON.parse(wasm.inspectRecord(jsonArg(sealed, 'sealed')));
}

/** Whether a sealed record's keys are older than `maxAgeDays` (default 90). */
export function needsRotation(sealed, opts) {
  requireInit();
  const o = options(opts, 'options');
  const now = secondsArg(o.now, 'now');
  return wasm.needsRotation(jsonArg(sealed, 'sealed'), o.maxAgeDays ?? 90, now);
}

/** Bulk rotation report: which records (by index) need rotation. */
export function rotationReport(sealedRecords, opts) {
  if (!Array.isArray(sealedRecords)) throw invalidArgument('sealedRecords must be an array');
  const due = [];
  sealedRecords.forEach((s, i) => {
    if (needsRotation(s, opts)) due.push(i);
  });
  return { total: sealedRecords.length, due };
}

/** PHI paths (JSON Pointers) present in plaintext; empty when compliant. */
export function verifyAllPhiEncrypted(record, schema) {
  requireInit();
  return JSON.parse(wasm.verifyAllPhiEncrypted(jsonArg(record, 'record'), schemaArg(schema)));
}

/** A log-safe copy: every PHI value replaced by "[REDACTED]". */
export function redact(record, schema) {
  requireInit();
  return JSON.parse(wasm.redact(jsonArg(record, 'record'), schemaArg(schema)));
}

/**
 * The search token of `value` for a deterministic field (match the stored
 * string exactly) or a blind-index field (match it as a prefix).
 */
export function searchToken(value, opts) {
  requireInit();
  const o = options(opts, 'options');
  if (o.indexKey instanceof IndexKeyset) throw invalidArgument('with an IndexKeyset use searchTokens (one token per enabled key)');
  const ik = indexKeyArg(o.indexKey);
  if (!ik) throw invalidArgument('indexKey is required');
  if (typeof o.path !== 'string') throw invalidArgument('path must be a string');
  return wasm.searchToken(schemaArg(o.schema), o.path, jsonArg(value, 'value'), ik);
}

/**
 * Search tokens of `value` under every enabled key of an IndexKeyset (primary
 * first): during an index-key rotation, query old and new at once.
 */
export function searchTokens(value, opts) {
  const o = options(opts, 'options');
  if (!(o.indexKeys instanceof IndexKeyset)) throw invalidArgument('indexKeys must be an IndexKeyset');
  return o.indexKeys.enabled().map((indexKey) => searchToken(value, { ...o, indexKey }));
}

/**
 * Resumable bulk re-encryption: moves sealed records to the primary key of
 * `indexKeys` (and fresh data keys), e.g. after an index-key rotation.
 * Records already on the primary index key are skipped, so the job can be
 * stopped and resumed at any point (`start`), and run again safely.
 *
 * @param {object[]} records sealed records
 * @param {{schema, privateKey, indexKeys: IndexKeyset, directory: PublicKey[], author: AuthorKey, authors: PublicKey[], start?: number, limit?: number,
 *          save?: (index: number, sealed: object) => void|Promise<void>, onProgress?: (p: {done: number, total: number}) => void}} opts
 * @returns {Promise<{reencrypted: number, skipped: number, next: number, total: number, done: boolean}>}
 */
export async function reencryptRecords(records, opts) {
  requireInit();
  if (!Array.isArray(records)) throw invalidArgument('records must be an array');
  const o = options(opts, 'options');
  if (!(o.indexKeys instanceof IndexKeyset)) throw invalidArgument('indexKeys must be an IndexKeyset');
  const start = o.start ?? 0;
  const limit = o.limit ?? records.length;
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(limit) || limit < 0) throw invalidArgument('start and limit must be non-negative integers');
  const target = o.indexKeys.primary;
  let reencrypted = 0;
  let skipped = 0;
  let i = start;
  for (; i < records.length && i < start + limit; i++) {
    const sealed = records[i];
    const header = inspectRecord(sealed);
    if (header.indexKeyId === target.id) {
      skipped++;
    } else {
      // Re-encryption keeps each record's id and context; the record is still
      // checked (author, signature, every field) before it is re-signed.
      const opened = await openRecord(sealed, {
        schema: o.schema, privateKey: o.privateKey, indexKey: o.indexKeys, recordId: header.recordId, context: header.context, authors: o.authors, versions: o.versions,
      });
      if (opened.locked.length > 0) throw new PhisealError('re-encryption needs a key of every group and the old index key', ErrorCode.MISUSE);
      const recipients = currentRecipients(sealed, o.directory);
      const next = await sealRecord(opened.record, {
        schema: o.schema, recordId: header.recordId, context: header.context, previous: opened.header, recipients, indexKey: target, provider: o.provider, author: o.author,
      });
      await checkFreshness(o.versions, inspectRecord(next));
      if (o.save) await o.save(i, next);
      else records[i] = next;
      reencrypted++;
    }
    o.onProgress?.({ done: i + 1, total: records.length });
  }
  return { reencrypted, skipped, next: i, total: records.length, done: i >= records.length };
}
