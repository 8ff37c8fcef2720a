// Audit logs through FHIR R4 AuditEvent and back (docs/FORMAT.md §6.12), in
// the npm package: the log of an AuditLog with a checkpoint, exported, mixed
// with the FHIR R4 specification's own AuditEvent examples (npm
// hl7.fhir.r4.examples 4.0.1: a FHIR server's search returns its own events
// too), shuffled and given server ids, imports and verifies again; an edited
// element is refused. And the patient-side preset (fhirPatientSchema) seals
// without the tenant index key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { phiseal, rejectsWith } from './helpers.mjs';
import { fhirPatientSchema, fhirSchema, fromFhirAuditEvents, toFhirAuditEvents } from '../../js/fhir.js';

const DIR = fileURLToPath(new URL('../../node_modules/hl7.fhir.r4.examples/', import.meta.url));

function specAuditEvents() {
  return readdirSync(DIR)
    .filter((f) => f.startsWith('AuditEvent-') && f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(DIR + f, 'utf8')));
}

function log(start = 1_700_000_000_000) {
  const signingKey = phiseal.SigningKey.generate();
  let t = start;
  const l = new phiseal.AuditLog({ logId: 'clinic.example/audit-7', signingKey, checkpointEvery: 3, clock: () => t++ });
  const lines = [];
  lines.push(...l.append({ actor: { id: 'dr-lee', role: 'clinician' }, action: 'view', patientId: 'p-17', resource: 'record/1' }).lines);
  lines.push(...l.append({ actor: { id: 'billing-7', role: 'billing' }, action: 'export', outcome: 'denied', client: { ip: '203.0.113.9' } }).lines);
  lines.push(...l.append({ actor: { id: 'dr-ray', role: 'clinician' }, action: 'break-glass', patientId: 'p-9', reason: 'ER' }).lines);
  lines.push(...l.append({ actor: { id: 'dr-lee', role: 'clinician' }, action: 'update', patientId: 'p-17', fieldPath: '/notes' }).lines);
  lines.push(l.checkpoint());
  return { jsonl: lines.join('\n') + '\n', key: signingKey };
}

test('an AuditLog exported as FHIR AuditEvents and read back from a server verifies again', () => {
  const { jsonl, key } = log();
  const bundle = toFhirAuditEvents(jsonl);
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.entry.length, 6, '4 entries, 2 checkpoints');
  const events = bundle.entry.map((e) => e.resource);
  assert.equal(events[0].subtype[0].code, 'read');
  assert.equal(events[0].agent[0].who.identifier.value, 'dr-lee');
  assert.equal(events[0].entity[0].what.identifier.value, 'p-17');
  assert.equal(events[1].outcome, '4');
  assert.equal(events[1].agent[0].network.address, '203.0.113.9');
  assert.equal(events[2].purposeOfEvent[0].text, 'ER');
  assert.equal(events[3].type.code, 'checkpoint');
  const spec = specAuditEvents();
  assert.ok(spec.length >= 5, 'the specification ships AuditEvent examples');
  // A server's search result: its own events mixed in, everything in reverse, with ids.
  const served = [...events.map((e, i) => ({ ...e, id: `ae-${i}`, meta: { versionId: '1' } })), ...spec].reverse();
  const back = fromFhirAuditEvents({ resourceType: 'Bundle', type: 'searchset', entry: served.map((resource) => ({ resource })) });
  assert.deepEqual([back.entries, back.checkpoints, back.skipped], [4, 2, spec.length]);
  assert.equal(back.jsonl, jsonl);
  const report = phiseal.verifyLog(back.jsonl, [key.publicKey]);
  assert.ok(report.valid && report.authenticated, JSON.stringify(report.problem));
  // As JSON text through a FHIR server and back: the same.
  assert.equal(fromFhirAuditEvents(JSON.parse(JSON.stringify(toFhirAuditEvents(jsonl, { transaction: true })))).jsonl, jsonl);
});

test('attack: an edited AuditEvent element is INVALID_SIGNATURE, a fork STALE_VERSION, mixed logs need logId', async () => {
  const { jsonl } = log();
  const events = toFhirAuditEvents(jsonl).entry.map((e) => e.resource);
  const edited = structuredClone(events);
  edited[0].entity[0].what.identifier.value = 'p-99';
  await rejectsWith(assert, () => fromFhirAuditEvents(edited), 'INVALID_SIGNATURE');
  const outcome = structuredClone(events);
  outcome[1].outcome = '0';
  delete outcome[1].outcomeDesc;
  await rejectsWith(assert, () => fromFhirAuditEvents(outcome), 'INVALID_SIGNATURE');
  const other = log(1_800_000_000_000);
  const mixed = [...events, ...toFhirAuditEvents(other.jsonl).entry.map((e) => e.resource)];
  // Both logs are named clinic.example/audit-7: same seqs, different entries.
  await rejectsWith(assert, () => fromFhirAuditEvents(mixed), 'STALE_VERSION');
  // One entry delivered twice, the second time with its line's members reordered (and the view rebuilt from it):
  // the same line, not a fork (as the Rust importer, which compares canonical lines).
  const line = JSON.parse(events[0].extension[0].extension[0].valueString);
  const reordered = JSON.stringify(Object.fromEntries(Object.entries(line).reverse()));
  const again = toFhirAuditEvents(reordered).entry[0].resource;
  assert.equal(fromFhirAuditEvents([...events, again]).entries, 4);
  await rejectsWith(assert, () => fromFhirAuditEvents('not json'), 'INVALID_ARGUMENT');
  await rejectsWith(assert, () => toFhirAuditEvents(42), 'INVALID_ARGUMENT');
});

test('the JavaScript exporter gives the Rust exporter\'s bytes for the shared vector, and reads it back', () => {
  // tests/support/audit-fhir-*.json: written by phiseal::audit::fhir (tests/audit_fhir.rs).
  const support = new URL('../support/', import.meta.url);
  const jsonl = readFileSync(new URL('audit-fhir-log.jsonl', support), 'utf8');
  const bundle = readFileSync(new URL('audit-fhir-bundle.json', support), 'utf8').trimEnd();
  assert.equal(JSON.stringify(toFhirAuditEvents(jsonl)), bundle);
  assert.equal(fromFhirAuditEvents(JSON.parse(bundle)).jsonl, jsonl);
  assert.ok(phiseal.verifyLog(jsonl, []).valid);
});

test('fhirPatientSchema seals in a patient browser without the tenant index key; fhirSchema needs it', async () => {
  const patient = JSON.parse(readFileSync(`${DIR}Patient-example.json`, 'utf8'));
  const author = await phiseal.generateAuthorKey();
  const clinician = await phiseal.generateKeyPair();
  const opts = { recordId: 'intake-1', recipients: [clinician.publicKey], author };
  const sealed = await phiseal.sealRecord(patient, { ...opts, schema: fhirPatientSchema });
  assert.deepEqual(phiseal.verifyAllPhiEncrypted(sealed, fhirPatientSchema), []);
  assert.ok(!JSON.stringify(sealed).includes(patient.name[0].family));
  const opened = await phiseal.openRecord(sealed, { schema: fhirPatientSchema, recordId: 'intake-1', authors: [author.publicKey], privateKey: clinician.privateKey });
  assert.deepEqual(opened.record, patient);
  // Same elements sealed by both presets, only the mode differs.
  assert.deepEqual(phiseal.verifyAllPhiEncrypted(patient, fhirPatientSchema), phiseal.verifyAllPhiEncrypted(patient, fhirSchema));
  await assert.rejects(phiseal.sealRecord(patient, { ...opts, schema: fhirSchema }), (e) => e instanceof phiseal.PhisealError);
});
