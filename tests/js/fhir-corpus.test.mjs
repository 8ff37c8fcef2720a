// The FHIR R4 specification's own examples (npm hl7.fhir.r4.examples 4.0.1,
// CC0), sealed with the phiseal/fhir preset (docs/FHIR.md): every example of
// the seven clinical resource types and every Bundle. Each must leave no
// selected value in the clear (verifyAllPhiEncrypted), keep no identifier
// value of the original anywhere in the sealed JSON text, and open back to
// the original, deep-equal. Prints counts per resource type and the sealed
// size overhead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { phiseal } from './helpers.mjs';
import { FhirSearch, fhirSchema } from '../../js/fhir.js';

const DIR = fileURLToPath(new URL('../../node_modules/hl7.fhir.r4.examples/', import.meta.url));
const CLINICAL = ['Patient', 'Observation', 'Condition', 'MedicationRequest', 'Encounter', 'DocumentReference', 'QuestionnaireResponse'];

function corpus() {
  const out = [];
  for (const file of readdirSync(DIR).sort()) {
    if (!file.endsWith('.json') || file === 'package.json') continue;
    const text = readFileSync(DIR + file, 'utf8');
    const resource = JSON.parse(text);
    if (CLINICAL.includes(resource.resourceType) || resource.resourceType === 'Bundle') out.push({ file, resource });
  }
  return out;
}

/** Every Identifier value in `v` (identifier, masterIdentifier, groupIdentifier, ...; any depth). */
function identifierValues(v, out = []) {
  if (Array.isArray(v)) v.forEach((x) => identifierValues(x, out));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (/^(identifier|[a-z]+Identifier)$/.test(k)) {
        for (const id of Array.isArray(x) ? x : [x]) if (id && typeof id.value === 'string') out.push(id.value);
      }
      identifierValues(x, out);
    }
  }
  return out;
}

// Members the preset keeps in the clear by design (docs/FHIR.md): a FHIR
// server routes by ids, references and canonical URLs, and terminology codes
// of resources other than the clinical seven are public. Some examples reuse
// an identifier value as the resource's logical id, canonical URL or LOINC
// code; those occurrences are counted and printed, and the identifier must
// not survive anywhere else.
const ROUTING = new Set(['id', 'fullUrl', 'reference', 'url', 'valueSet', 'code']);

/** `v` without the values of ROUTING members. */
function withoutRouting(v) {
  if (Array.isArray(v)) return v.map(withoutRouting);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, ROUTING.has(k) && typeof x === 'string' ? '' : withoutRouting(x)]));
}

/** resourceType -> count, for every resource at any depth (Bundle entries, contained, ...). */
function resourceTypes(v, out = {}) {
  if (Array.isArray(v)) v.forEach((x) => resourceTypes(x, out));
  else if (v !== null && typeof v === 'object') {
    if (typeof v.resourceType === 'string') out[v.resourceType] = (out[v.resourceType] ?? 0) + 1;
    Object.values(v).forEach((x) => resourceTypes(x, out));
  }
  return out;
}

test('every clinical FHIR R4 example and every Bundle seals with the preset, leaves nothing in clear, and opens deep-equal', async () => {
  const items = corpus();
  const author = await phiseal.generateAuthorKey();
  const clinician = await phiseal.generateKeyPair();
  const desk = await phiseal.generateKeyPair();
  const indexKey = await phiseal.generateIndexKey();
  const recipients = [clinician.publicKey, { publicKey: desk.publicKey, groups: ['identity'] }];
  const stats = {};
  const nested = {};
  let identifiers = 0;
  let shortIdentifiers = 0;
  const routing = [];
  const started = performance.now();
  for (const { file, resource } of items) {
    const type = resource.resourceType;
    const recordId = file;
    const sealed = await phiseal.sealRecord(resource, { schema: fhirSchema, recordId, recipients, indexKey, author });
    assert.deepEqual(phiseal.verifyAllPhiEncrypted(sealed, fhirSchema), [], `${file}: a selected value in clear`);
    const text = JSON.stringify(sealed);
    const checked = JSON.stringify(withoutRouting(sealed));
    for (const value of identifierValues(resource)) {
      identifiers++;
      if (checked !== text && text.includes(value) && !checked.includes(value)) routing.push(`${file}: ${value}`);
      // As a whole JSON string anywhere, and as a substring once it is long
      // enough not to occur by chance in base64url text.
      assert.ok(!checked.includes(JSON.stringify(value)), `${file}: identifier ${JSON.stringify(value)} survived`);
      if (value.length >= 8) assert.ok(!checked.includes(value), `${file}: identifier ${JSON.stringify(value)} survived inside a string`);
      else shortIdentifiers++;
    }
    const opened = await phiseal.openRecord(JSON.parse(text), { schema: fhirSchema, recordId, authors: [author.publicKey], privateKey: clinician.privateKey, indexKey });
    assert.deepEqual(opened.locked, [], file);
    assert.deepEqual(opened.record, resource, `${file}: opened differs from the original`);
    const s = (stats[type] ??= { files: 0, clearBytes: 0, sealedBytes: 0 });
    s.files++;
    s.clearBytes += JSON.stringify(resource).length;
    s.sealedBytes += text.length;
    for (const [t, n] of Object.entries(resourceTypes(resource))) nested[t] = (nested[t] ?? 0) + n;
  }
  const seconds = (performance.now() - started) / 1000;
  // Every clinical type is in the package, and the corpus is what 4.0.1 ships.
  for (const type of [...CLINICAL, 'Bundle']) assert.ok(stats[type]?.files > 0, `no ${type} example`);
  const total = Object.values(stats).reduce((a, s) => ({ files: a.files + s.files, clearBytes: a.clearBytes + s.clearBytes, sealedBytes: a.sealedBytes + s.sealedBytes }), { files: 0, clearBytes: 0, sealedBytes: 0 });
  const rows = Object.entries(stats).map(([type, s]) => `${type.padEnd(22)} ${String(s.files).padStart(5)} ${String(s.clearBytes).padStart(11)} ${String(s.sealedBytes).padStart(11)} ${(s.sealedBytes / s.clearBytes).toFixed(2).padStart(6)}x`);
  console.log(['FHIR R4 examples sealed with phiseal/fhir (compact JSON bytes, clear vs sealed, 2 recipients):',
    `${'top-level type'.padEnd(22)} files       clear      sealed  ratio`, ...rows,
    `${'total'.padEnd(22)} ${String(total.files).padStart(5)} ${String(total.clearBytes).padStart(11)} ${String(total.sealedBytes).padStart(11)} ${(total.sealedBytes / total.clearBytes).toFixed(2).padStart(6)}x`,
    `resources at any depth: ${Object.values(nested).reduce((a, b) => a + b, 0)}; of the clinical types: ${CLINICAL.map((t) => `${t} ${nested[t] ?? 0}`).join(', ')}`,
    `identifier values checked: ${identifiers} (${shortIdentifiers} shorter than 8 characters checked as whole strings only); ` +
      `${routing.length} also appear in a clear id, fullUrl, reference, canonical URL or code of the example: ${routing.join('; ')}`,
    `sealed and opened in ${seconds.toFixed(1)} s`].join('\n'));
});

test('the identity group opens who the patient is and keeps clinical content locked', async () => {
  const patient = JSON.parse(readFileSync(`${DIR}Patient-example.json`, 'utf8'));
  const observation = JSON.parse(readFileSync(`${DIR}Observation-example.json`, 'utf8'));
  const author = await phiseal.generateAuthorKey();
  const desk = await phiseal.generateKeyPair();
  const clinician = await phiseal.generateKeyPair();
  const indexKey = await phiseal.generateIndexKey();
  const recipients = [clinician.publicKey, { publicKey: desk.publicKey, groups: ['identity'] }];
  const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: patient }, { resource: observation }] };
  const sealed = await phiseal.sealRecord(bundle, { schema: fhirSchema, recordId: 'b', recipients, indexKey, author });
  const opened = await phiseal.openRecord(sealed, { schema: fhirSchema, recordId: 'b', authors: [author.publicKey], privateKey: desk.privateKey, indexKey });
  assert.deepEqual(opened.record.entry[0].resource.name, patient.name);
  assert.deepEqual(opened.record.entry[0].resource.birthDate, patient.birthDate);
  assert.ok(opened.locked.some((l) => l.path === '/entry/1/resource/valueQuantity' && l.reason === 'clinical'));
  assert.match(opened.record.entry[1].resource.valueQuantity, /^phs1\./);
  // The blind index of Patient.identifier.value is found in the Bundle entry.
  const token = phiseal.searchToken(patient.identifier[0].value, { schema: fhirSchema, path: FhirSearch.identifier, indexKey });
  assert.ok(sealed.entry[0].resource.identifier[0].value.startsWith(token));
  const family = phiseal.searchToken(patient.name[0].family, { schema: fhirSchema, path: FhirSearch.family, indexKey });
  assert.ok(sealed.entry[0].resource.name[0].family.startsWith(family));
  const born = phiseal.searchToken(patient.birthDate, { schema: fhirSchema, path: FhirSearch.birthDate, indexKey });
  assert.ok(sealed.entry[0].resource.birthDate.startsWith(born));
  // The narrative is sealed: its div names the patient.
  assert.match(patient.text.div, /Chalmers/);
  assert.match(sealed.entry[0].resource.text, /^phs1\./);
  assert.ok(!JSON.stringify(sealed).includes('Chalmers'));
});
