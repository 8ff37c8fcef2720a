// FHIR benchmark (issue #21): the clinical example resources of the FHIR R4
// specification (npm hl7.fhir.r4.examples 4.0.1, passed in by the caller)
// sealed and opened per second with the phiseal/fhir presets, against the
// hand-written-schema path for the same records: per resource, a `fields`
// schema that names the same values by path (the pointers the preset
// selects, array indices as `[]`, each in the preset's access group), which
// is what a developer writes today for one shape. Both seal to one clinician; `fhirPatientSchema` (no blind
// index) is the like-for-like row, `fhirSchema` adds its three blind
// indexes. Also the AuditEvent export and import of a 1,000-entry log.
//
// What the ratio measures (2026-12-07): selection by resource type costs
// about 0.06 ms per resource more than by path; nearly all of the rest is
// that a record wraps one data key per *schema* group (docs/FORMAT.md §5.2:
// the header lists every group), so the preset's three groups cost three
// HPKE wraps per recipient even for a resource that uses one, where the
// hand-written schema declares only the groups it uses.
// Timings are printed, never asserted.
import * as phiseal from '../js/index.js';
import { fhirPatientSchema, fhirSchema, fromFhirAuditEvents, toFhirAuditEvents } from '../js/fhir.js';

/** A pointer as a fields path (array indices as `[]`). */
function pathOf(pointer) {
  let path = '';
  for (const t of pointer.slice(1).split('/').map((x) => x.replaceAll('~1', '/').replaceAll('~0', '~'))) {
    path += /^(0|[1-9][0-9]*)$/.test(t) ? '[]' : `${path === '' ? '' : '.'}${t}`;
  }
  return path;
}

/**
 * The hand-written equivalent of `schema` for `resource`: a fields schema
 * with the same selections in the same access groups (each pointer's group
 * found by opening with one single-group key per group; setup, not timed).
 */
async function handWritten(resource, schema, i, groupKeys, author) {
  const pointers = phiseal.verifyAllPhiEncrypted(resource, schema);
  const recipients = groupKeys.map(({ group, keys }) => ({ publicKey: keys.publicKey, groups: [group] }));
  const sealed = await phiseal.sealRecord(resource, { schema, recordId: 'probe', recipients, author });
  const groupOf = {};
  for (const { group, keys } of groupKeys) {
    const { locked } = await phiseal.openRecord(sealed, { schema, recordId: 'probe', authors: [author.publicKey], privateKey: keys.privateKey });
    const closed = new Set(locked.map((l) => l.path));
    for (const p of pointers) if (!closed.has(p)) groupOf[p] = group;
  }
  const fields = {};
  for (const p of pointers) fields[pathOf(p)] = { group: groupOf[p] };
  return { id: `hand-${i}`, version: 1, fields };
}

async function timeAll(items, f) {
  const start = performance.now();
  const out = [];
  for (const item of items) out.push(await f(item));
  return { perSecond: (items.length * 1000) / (performance.now() - start), out };
}

export async function runFhirCases(resources) {
  await phiseal.init();
  const author = await phiseal.generateAuthorKey();
  const clinician = await phiseal.generateKeyPair();
  const indexKey = await phiseal.generateIndexKey();
  const recipients = [clinician.publicKey];
  // Records whose hand-written schema seals (a `[]` path over an array
  // whose elements differ in shape can fail): both sides get the same set.
  const items = [];
  const groupKeys = [];
  for (const group of ['identity', 'clinical', 'billing']) groupKeys.push({ group, keys: await phiseal.generateKeyPair() });
  for (const [i, resource] of resources.entries()) {
    const hand = await handWritten(resource, fhirPatientSchema, i, groupKeys, author);
    if (Object.keys(hand.fields).length === 0) continue;
    try {
      await phiseal.sealRecord(resource, { schema: hand, recordId: 'probe', recipients, author });
      items.push({ resource, hand, id: `r-${i}` });
    } catch {
      // not expressible as one fields schema: left out of both sides
    }
  }
  const open = (schema, withIndex) => (s) =>
    phiseal.openRecord(s.sealed, { schema: schema ?? s.schema, recordId: s.id, authors: [author.publicKey], privateKey: clinician.privateKey, ...(withIndex ? { indexKey } : {}) });
  const seal = (schema, withIndex) => (it) =>
    phiseal.sealRecord(it.resource, { schema: schema ?? it.hand, recordId: it.id, recipients, author, ...(withIndex ? { indexKey } : {}) }).then((sealed) => ({ sealed, id: it.id, schema: schema ?? it.hand }));
  const hand = await timeAll(items, seal(null, false));
  const preset = await timeAll(items, seal(fhirPatientSchema, false));
  const indexed = await timeAll(items, seal(fhirSchema, true));
  const handOpen = await timeAll(hand.out, open(null, false));
  const presetOpen = await timeAll(preset.out, open(fhirPatientSchema, false));
  const indexedOpen = await timeAll(indexed.out, open(fhirSchema, true));
  // The audit log through FHIR: 1,000 entries and a checkpoint, exported and read back.
  const signingKey = phiseal.SigningKey.generate();
  const log = new phiseal.AuditLog({ logId: 'bench.example/audit', signingKey, checkpointEvery: 1000 });
  for (let i = 0; i < 1000; i++) log.append({ actor: { id: 'dr-lee', role: 'clinician' }, action: 'view', patientId: `p-${i % 50}`, resource: `record-${i}` });
  const jsonl = log.toJsonl();
  const t0 = performance.now();
  const bundle = toFhirAuditEvents(jsonl);
  const exportMs = performance.now() - t0;
  const t1 = performance.now();
  const back = fromFhirAuditEvents(bundle);
  const importMs = performance.now() - t1;
  const t2 = performance.now();
  if (back.jsonl !== jsonl || !phiseal.verifyLog(back.jsonl, [signingKey.publicKey]).valid) throw new Error('AuditEvent round trip failed');
  const verifyMs = performance.now() - t2;
  const n = items.length;
  return [
    { metric: `FHIR seal, ${n} example resources, fhirPatientSchema`, phiseal: preset.perSecond, peer: 'hand-written', peerValue: hand.perSecond, unit: 'res/s' },
    { metric: 'FHIR open, same, fhirPatientSchema', phiseal: presetOpen.perSecond, peer: 'hand-written', peerValue: handOpen.perSecond, unit: 'res/s' },
    { metric: 'FHIR seal, fhirSchema (3 blind indexes)', phiseal: indexed.perSecond, peer: 'hand-written', peerValue: hand.perSecond, unit: 'res/s' },
    { metric: 'FHIR open, fhirSchema (3 blind indexes)', phiseal: indexedOpen.perSecond, peer: 'hand-written', peerValue: handOpen.perSecond, unit: 'res/s' },
    { metric: 'AuditEvent export, 1,000 entries (per second)', phiseal: 1000 / (exportMs / 1000), peer: 'verifyLog', peerValue: 1000 / (verifyMs / 1000), unit: 'entry/s' },
    { metric: 'AuditEvent import, 1,000 entries (per second)', phiseal: 1000 / (importMs / 1000), peer: 'verifyLog', peerValue: 1000 / (verifyMs / 1000), unit: 'entry/s' },
  ];
}
