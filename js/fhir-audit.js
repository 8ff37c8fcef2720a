// The audit log as FHIR R4 AuditEvent resources (docs/FORMAT.md §6.12), in
// plain JavaScript: no wasm, so the exporter costs the browser builds
// nothing. The Rust core has the same mapping (phiseal::audit::fhir, for
// native and server use); both must give the same bytes for the same log
// (tests/support/audit-fhir-*.json, checked from both sides).
//
// Nothing here verifies anything: fromFhirAuditEvents rebuilds the log's
// lines, verifyLog (in 'phiseal') checks the chain, the tree and the
// signatures, and parses each line strictly.

import { ErrorCode, PhisealError, invalidArgument } from './errors.js';

/** The extension that carries an event's audit line. */
export const AUDIT_CHAIN_EXTENSION = 'https://phiseal.dev/fhir/StructureDefinition/audit-chain';
/** The code system of phiseal's audit actions and of the checkpoint event type. */
export const AUDIT_ACTION_SYSTEM = 'https://phiseal.dev/fhir/CodeSystem/audit-action';

const HL7 = 'http://terminology.hl7.org/CodeSystem/';
const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const LAST_INSTANT = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

const coding = (system, code, display) => ({ system, code, display });
const identified = (value) => ({ identifier: { value } });
const malformed = (message) => new PhisealError(message, ErrorCode.MALFORMED_INPUT);

const REST = coding(`${HL7}audit-event-type`, 'rest', 'RESTful Operation');
const SECURITY_ALERT = coding(DCM, '110113', 'Security Alert');
const rest = (code, display, action) => [REST, coding(RESTFUL, code, display), action];
const ACTIONS = {
  view: rest('read', 'read', 'R'),
  read: rest('read', 'read', 'R'),
  open: rest('read', 'read', 'R'),
  decrypt: rest('read', 'read', 'R'),
  create: rest('create', 'create', 'C'),
  seal: rest('create', 'create', 'C'),
  update: rest('update', 'update', 'U'),
  delete: rest('delete', 'delete', 'D'),
  search: rest('search-type', 'search type', 'E'),
  export: [coding(DCM, '110106', 'Export'), null, 'R'],
  import: [coding(DCM, '110107', 'Import'), null, 'C'],
  login: [coding(DCM, '110114', 'User Authentication'), null, 'E'],
  logout: [coding(DCM, '110114', 'User Authentication'), null, 'E'],
  'break-glass': [SECURITY_ALERT, null, 'E'],
  'capture-attempt': [SECURITY_ALERT, null, 'E'],
  'watermark-tamper': [SECURITY_ALERT, null, 'E'],
  'key-rotate': [SECURITY_ALERT, null, 'E'],
  grant: [SECURITY_ALERT, null, 'E'],
  revoke: [SECURITY_ALERT, null, 'E'],
};
const OTHER = [coding(DCM, '110100', 'Application Activity'), null, 'E'];

function instant(ms) {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > LAST_INSTANT) {
    throw invalidArgument('an audit time after the year 9999 is not a FHIR instant');
  }
  return new Date(ms).toISOString();
}

function head(line, members) {
  const extension = [{ url: 'line', valueString: line }, ...members.map(([url, valueString]) => ({ url, valueString }))];
  return { resourceType: 'AuditEvent', extension: [{ url: AUDIT_CHAIN_EXTENSION, extension }] };
}

const source = (site, observer, kind) => ({ site, observer: { display: observer }, type: [kind] });

const isStr = (v) => typeof v === 'string';
const optStr = (v) => v === undefined || v === null || isStr(v);

/** The line's parsed members, checked enough to build its view (verifyLog checks it fully). */
function parseLine(text) {
  let l;
  try {
    l = JSON.parse(text);
  } catch {
    throw malformed('not a valid audit line');
  }
  if (l === null || typeof l !== 'object' || Array.isArray(l)) throw malformed('not a valid audit line');
  if (l.type === 'entry') {
    const c = l.client;
    const ok =
      isStr(l.log) && Number.isSafeInteger(l.seq) && Number.isSafeInteger(l.time) && isStr(l.action) && isStr(l.outcome) &&
      isStr(l.hash) && l.actor && isStr(l.actor.id) && isStr(l.actor.role) && c && typeof c === 'object' &&
      optStr(c.ip) && optStr(c.device) && [l.patientId, l.resource, l.fieldPath, l.reason].every(optStr);
    if (!ok) throw malformed('not a valid audit line (or a seq or time above 2^53, which JavaScript cannot carry exactly)');
    return l;
  }
  if (l.type === 'checkpoint' && isStr(l.note)) {
    const body = l.note.split('\n');
    const time = /^phiseal-time-ms (0|[1-9][0-9]*)$/.exec(body[3] ?? '');
    if (!/^(0|[1-9][0-9]*)$/.test(body[1] ?? '') || !time) throw malformed('not a valid checkpoint note');
    return { type: 'checkpoint', origin: body[0], size: Number(body[1]), time: Number(time[1]) };
  }
  if (l.type === 'checkpoint' && isStr(l.log) && Number.isSafeInteger(l.seq) && Number.isSafeInteger(l.time)) {
    return { type: 'checkpoint', origin: l.log, size: l.seq, time: l.time };
  }
  throw malformed('not a valid audit line');
}

function entryEvent(e, text) {
  const [kind, restful, action] = Object.hasOwn(ACTIONS, e.action) ? ACTIONS[e.action] : OTHER;
  const ev = head(text, [['log', e.log], ['seq', String(e.seq)], ['hash', e.hash]]);
  ev.type = kind;
  ev.subtype = [...(restful ? [restful] : []), { system: AUDIT_ACTION_SYSTEM, code: e.action }];
  ev.action = action;
  ev.recorded = instant(e.time);
  ev.outcome = e.outcome === 'success' ? '0' : e.outcome === 'denied' ? '4' : '8';
  if (e.outcome !== 'success') ev.outcomeDesc = e.outcome;
  if (isStr(e.reason)) ev.purposeOfEvent = [{ text: e.reason }];
  const agent = { type: { coding: [coding(`${HL7}v3-ParticipationType`, 'IRCP', 'information recipient')] } };
  if (e.actor.role !== '') agent.role = [{ text: e.actor.role }];
  agent.who = identified(e.actor.id);
  agent.requestor = true;
  if (isStr(e.client.ip)) agent.network = { address: e.client.ip, type: '2' };
  ev.agent = [agent];
  ev.source = source(e.log, isStr(e.client.device) ? e.client.device : 'phiseal', coding(`${HL7}security-source-type`, '1', 'User Device'));
  const entity = [];
  if (isStr(e.patientId)) {
    entity.push({ what: identified(e.patientId), type: coding(`${HL7}audit-entity-type`, '1', 'Person'), role: coding(`${HL7}object-role`, '1', 'Patient') });
  }
  if (isStr(e.resource) || isStr(e.fieldPath)) {
    const object = {};
    if (isStr(e.resource)) object.what = identified(e.resource);
    object.type = coding(`${HL7}audit-entity-type`, '2', 'System Object');
    if (isStr(e.fieldPath)) object.detail = [{ type: 'fieldPath', valueString: e.fieldPath }];
    entity.push(object);
  }
  if (entity.length > 0) ev.entity = entity;
  return ev;
}

function checkpointEvent(c, text) {
  const ev = head(text, [['log', c.origin], ['size', String(c.size)]]);
  ev.type = coding(AUDIT_ACTION_SYSTEM, 'checkpoint', 'audit log checkpoint');
  ev.action = 'E';
  ev.recorded = instant(c.time);
  ev.outcome = '0';
  ev.agent = [{ type: { coding: [coding(DCM, '110153', 'Source Role ID')] }, who: identified(c.origin), requestor: false }];
  ev.source = source(c.origin, 'phiseal', coding(`${HL7}security-source-type`, '4', 'Application Server'));
  return ev;
}

function eventOf(text) {
  const l = parseLine(text);
  return l.type === 'entry' ? entryEvent(l, text) : checkpointEvent(l, text);
}

/**
 * The log as a FHIR R4 Bundle of AuditEvents (docs/FORMAT.md §6.12), one per
 * line in log order, each carrying its line in the `audit-chain` extension;
 * `{transaction: true}` makes it a transaction Bundle (each entry a POST) for
 * a FHIR server. Export the lines phiseal wrote (AuditLog.toJsonl()):
 * nothing is verified or rewritten here.
 */
export function toFhirAuditEvents(jsonl, opts) {
  if (typeof jsonl !== 'string') throw invalidArgument('log must be JSON Lines text');
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw invalidArgument('options must be an object');
  const transaction = opts?.transaction === true;
  const entry = [];
  for (const raw of jsonl.split('\n')) {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') continue;
    const e = { resource: eventOf(text) };
    if (transaction) e.request = { method: 'POST', url: 'AuditEvent' };
    entry.push(e);
  }
  return { resourceType: 'Bundle', type: transaction ? 'transaction' : 'collection', entry };
}

/** JSON equality, members in any order. */
function same(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
}

function carriedLine(ev) {
  if (!Array.isArray(ev.extension)) return null;
  const chain = ev.extension.filter((x) => x?.url === AUDIT_CHAIN_EXTENSION);
  if (chain.length === 0) return null;
  if (chain.length > 1) throw malformed('an AuditEvent with two audit-chain extensions');
  const lines = Array.isArray(chain[0].extension) ? chain[0].extension.filter((p) => p?.url === 'line') : [];
  if (lines.length !== 1 || typeof lines[0].valueString !== 'string') throw malformed('an audit-chain extension needs exactly one line');
  return lines[0].valueString;
}

const te = new TextEncoder();
function byBytes(a, b) {
  const x = te.encode(a);
  const y = te.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** The line as JSON with members sorted at every level: two texts of one line (members reordered) are equal. */
function canonical(text) {
  const sort = (v) => (Array.isArray(v) ? v.map(sort) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v);
  return JSON.stringify(sort(JSON.parse(text)));
}

/** [[n, line]] sorted by (n, line bytes), one line per canonical form (a server that delivered a line twice, or reordered its members). */
function sortedUnique(list) {
  list.sort((a, b) => a[0] - b[0] || byBytes(a[1], b[1]));
  const seen = new Set();
  return list.filter(([n, line]) => {
    const key = `${n}:${canonical(line)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * AuditEvents back to a log (docs/FORMAT.md §6.12): a Bundle (a search
 * result, the export), an array of resources or one AuditEvent, in any order,
 * with whatever id, meta and text a server added. Returns the log's lines in
 * chain order for verifyLog: `{jsonl, entries, checkpoints, skipped}`
 * (skipped: other resources, a server's own AuditEvents, other logs'). An
 * event whose FHIR elements differ from the line it carries is
 * INVALID_SIGNATURE; two different entries with one seq STALE_VERSION (a
 * fork); events of several logs need `{logId}` (INVALID_ARGUMENT).
 */
export function fromFhirAuditEvents(events, opts) {
  if (events === null || typeof events !== 'object') {
    throw invalidArgument('events must be a FHIR Bundle, an AuditEvent or an array of them');
  }
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) throw invalidArgument('options must be an object');
  const logId = opts?.logId;
  if (logId !== undefined && typeof logId !== 'string') throw invalidArgument('logId must be a string');
  let resources;
  if (Array.isArray(events)) resources = events;
  else if (events.resourceType === 'Bundle') {
    if (events.entry !== undefined && events.entry !== null && !Array.isArray(events.entry)) throw malformed('Bundle.entry must be an array');
    resources = (events.entry ?? []).filter((e) => e?.resource !== undefined).map((e) => e.resource);
  } else resources = [events];
  const entries = [];
  const checkpoints = [];
  const logs = new Set();
  let skipped = 0;
  for (const ev of resources) {
    if (ev === null || typeof ev !== 'object' || Array.isArray(ev)) throw malformed('a resource must be a JSON object');
    const text = ev.resourceType === 'AuditEvent' ? carriedLine(ev) : null;
    if (text === null) {
      skipped++;
      continue;
    }
    const l = parseLine(text);
    const [log, n] = l.type === 'entry' ? [l.log, l.seq] : [l.origin, l.size];
    if (logId !== undefined && log !== logId) {
      skipped++;
      continue;
    }
    const { id, meta, text: narrative, ...kept } = ev;
    if (!same(kept, eventOf(text))) {
      throw new PhisealError("an AuditEvent's FHIR elements differ from the audit line it carries (edited after export)", ErrorCode.INVALID_SIGNATURE);
    }
    logs.add(log);
    (l.type === 'entry' ? entries : checkpoints).push([n, text]);
  }
  if (logs.size > 1) throw invalidArgument('the events belong to several logs: pass the log id to read one');
  const es = sortedUnique(entries);
  if (es.some((e, i) => i > 0 && e[0] === es[i - 1][0])) {
    throw new PhisealError('two different audit entries with the same seq (a fork)', ErrorCode.STALE_VERSION);
  }
  const cs = sortedUnique(checkpoints);
  const out = [];
  let c = 0;
  for (const [seq, line] of es) {
    while (c < cs.length && cs[c][0] < seq) out.push(cs[c++][1]);
    out.push(line);
  }
  while (c < cs.length) out.push(cs[c++][1]);
  return { jsonl: out.map((l) => `${l}\n`).join(''), entries: es.length, checkpoints: cs.length, skipped };
}
