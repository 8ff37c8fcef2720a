// Field-level encryption of PHI records (docs/FORMAT.md §5): seal a record
// field by field before it leaves the browser, open it with a recipient key.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';
import { init, isA, options, privateKeyArg, providerArg, requireInit, schemaArg, wasm } from './internal.js';
import { IndexKeyset, Keyset } from './keysets.js';
import { unlockKey } from './lifecycle.js';

export { IndexKeyset, Keyset };


function jsonArg(value, name) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch {
    throw invalidArgument(`${name} must be JSON-serializable`);
  }
  if (typeof text !== 'string') throw invalidArgument(`${name} must be a JSON value`);
  return text;
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
      const key = isA(r, 'PublicKey') ? r : r?.publicKey;
      if (!isA(key, 'PublicKey')) throw invalidArgument('each recipient must be a PublicKey or {publicKey, groups}');
      const groups = isA(r, 'PublicKey') ? undefined : r.groups;
      if (groups !== undefined && (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))) {
        throw invalidArgument('recipient groups must be an array of strings');
      }
      return { jwk: key.toJwk(), groups: groups ?? null };
    }),
  );
}

function secondsArg(value, name) {
  if (value === undefined) return Math.floor(Date.now() / 1000);
  const ms = value instanceof Date ? value.getTime() : value;
  if (!Number.isFinite(ms) || ms < 0) throw invalidArgument(`${name} must be a Date or Unix milliseconds`);
  return Math.floor(ms / 1000);
}

/** A fresh tenant index key for deterministic and blind-index fields. */
export async function generateIndexKey() {
  await init();
  return wasm.IndexKey.generate();
}

/**
 * Seals the tenant index key to recipients (HPKE); store the `phk1.` string.
 * @returns {Promise<string>}
 */
export async function sealIndexKey(indexKey, recipients, opts) {
  const o = options(opts, 'options');
  const ik = indexKeyArg(indexKey);
  if (!ik) throw invalidArgument('indexKey is required');
  const r = recipientsArg(recipients);
  const provider = providerArg(o.provider);
  await init();
  return wasm.sealIndexKey(ik, r, provider);
}

/** Opens a sealed index key with a recipient's private key. */
export async function openIndexKey(sealed, privateKey) {
  if (typeof sealed !== 'string') throw invalidArgument('sealed index key must be a string');
  const sk = privateKeyArg(privateKey, 'privateKey');
  await init();
  return wasm.openIndexKey(sealed, sk);
}

/**
 * Seals the PHI fields of `record` named by `schema`.
 * @param {object} record a JSON object
 * @param {{schema: object, recordId: string, recipients: Array, indexKey?: IndexKey, created?: Date|number, provider?: string}} opts
 * @returns {Promise<object>} the record, same shape, PHI replaced by sealed strings, plus `_phiseal`
 */
export async function sealRecord(record, opts) {
  const o = options(opts, 'options');
  if (typeof o.recordId !== 'string') throw invalidArgument('recordId must be a string');
  const text = jsonArg(record, 'record');
  const recipients = recipientsArg(o.recipients);
  const ik = indexKeyArg(o.indexKey);
  const created = secondsArg(o.created, 'created');
  const provider = providerArg(o.provider);
  await init();
  const schema = schemaArg(o.schema);
  return JSON.parse(await wasm.sealRecord(text, schema, o.recordId, recipients, created, ik?.clone(), provider));
}

/**
 * Opens a sealed record. Fields of groups the key was not granted (or
 * deterministic fields without the index key) stay sealed and are listed in
 * `locked` as `{path, reason}` (path is a JSON Pointer).
 * @returns {Promise<{record: object, locked: Array<{path: string, reason: string}>}>}
 */
export async function openRecord(sealed, opts) {
  const o = options(opts, 'options');
  const text = jsonArg(sealed, 'sealed');
  await init();
  const sk = await openerArg(o.privateKey, sealed);
  const ik = indexKeyArg(o.indexKey, sealed);
  const schema = schemaArg(o.schema);
  return JSON.parse(await wasm.openRecord(text, schema, sk, ik?.clone()));
}

/**
 * Seals many records: `items` is an array of `{record, recordId}`.
 * The public-key work runs concurrently (WebCrypto queues it natively).
 */
export async function sealRecords(items, opts) {
  if (!Array.isArray(items)) throw invalidArgument('items must be an array of {record, recordId}');
  const o = options(opts, 'options');
  return Promise.all(items.map((it) => sealRecord(it?.record, { ...o, recordId: it?.recordId })));
}

/** Opens many sealed records with one key. */
export async function openRecords(sealedRecords, opts) {
  if (!Array.isArray(sealedRecords)) throw invalidArgument('sealedRecords must be an array');
  return Promise.all(sealedRecords.map((s) => openRecord(s, opts)));
}

/**
 * Changes the recipients of a sealed record without re-encrypting its
 * fields. `privateKey` must be a recipient of every group.
 */
export async function rewrapRecord(sealed, opts) {
  return rewrap(sealed, opts, false);
}

/**
 * Re-keys a record: fresh data keys (epoch + 1), fields re-encrypted, wrapped
 * to `recipients`. Use it when access must be revoked.
 */
export async function rekeyRecord(sealed, opts) {
  return rewrap(sealed, opts, true);
}

async function rewrap(sealed, opts, rekey) {
  const o = options(opts, 'options');
  const text = jsonArg(sealed, 'sealed');
  const recipients = recipientsArg(o.recipients);
  const provider = providerArg(o.provider);
  await init();
  const sk = await openerArg(o.privateKey, sealed);
  const schema = schemaArg(o.schema);
  const now = secondsArg(o.now, 'now');
  return JSON.parse(await wasm.rewrapRecord(text, schema, sk, recipients, rekey, now, provider));
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
  const o = options(opts, 'options');
  await init();
  const recipients = currentRecipients(sealed, o.directory);
  recipients.push(isA(o.recipient, 'PublicKey') ? { publicKey: o.recipient } : o.recipient);
  return rewrapRecord(sealed, { ...o, recipients });
}

/**
 * Removes a recipient (by PublicKey or kid) and re-keys the record, since the
 * removed recipient may have kept the old data keys.
 */
export async function removeRecipient(sealed, opts) {
  const o = options(opts, 'options');
  await init();
  const kid = isA(o.recipient, 'PublicKey') ? o.recipient.kid : o.recipient;
  if (typeof kid !== 'string') throw invalidArgument('recipient must be a PublicKey or a kid');
  // The removed recipient need not be in the directory.
  const recipients = currentRecipients(sealed, o.directory, kid);
  return rekeyRecord(sealed, { ...o, recipients });
}

/** The (unauthenticated) header of a sealed record: ids, epoch, created, groups and recipient kids. */
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
 * @param {{schema, privateKey, indexKeys: IndexKeyset, directory: PublicKey[], start?: number, limit?: number,
 *          save?: (index: number, sealed: object) => void|Promise<void>, onProgress?: (p: {done: number, total: number}) => void}} opts
 * @returns {Promise<{reencrypted: number, skipped: number, next: number, total: number, done: boolean}>}
 */
export async function reencryptRecords(records, opts) {
  if (!Array.isArray(records)) throw invalidArgument('records must be an array');
  const o = options(opts, 'options');
  if (!(o.indexKeys instanceof IndexKeyset)) throw invalidArgument('indexKeys must be an IndexKeyset');
  const start = o.start ?? 0;
  const limit = o.limit ?? records.length;
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(limit) || limit < 0) throw invalidArgument('start and limit must be non-negative integers');
  await init();
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
      const opened = await openRecord(sealed, { schema: o.schema, privateKey: o.privateKey, indexKey: o.indexKeys });
      if (opened.locked.length > 0) throw new PhisealError('re-encryption needs a key of every group and the old index key', ErrorCode.MISUSE);
      const recipients = currentRecipients(sealed, o.directory);
      const next = await sealRecord(opened.record, { schema: o.schema, recordId: header.recordId, recipients, indexKey: target, provider: o.provider });
      if (o.save) await o.save(i, next);
      else records[i] = next;
      reencrypted++;
    }
    o.onProgress?.({ done: i + 1, total: records.length });
  }
  return { reencrypted, skipped, next: i, total: records.length, done: i >= records.length };
}
