// 'phiseal/fhir': a ready schema for FHIR R4 resources (docs/FHIR.md).
//
// No wasm: pass `fhirSchema` to sealRecord / openRecord of 'phiseal' or
// 'phiseal/fields'; toFhirAuditEvents / fromFhirAuditEvents move an audit
// log (of 'phiseal') to and from FHIR AuditEvents. The preset seals the
// HIPAA Safe Harbor identifiers (45 CFR 164.514(b)(2)) where FHIR R4
// carries them and the clinical content
// of Patient, Observation, Condition, MedicationRequest, Encounter,
// DocumentReference and QuestionnaireResponse, wherever those resources sit
// (top level, Bundle entries, contained, nested): docs/FORMAT.md §5.11.
// docs/FHIR.md says, element by element, what is sealed and why, and what
// stays in the clear.

export { AUDIT_ACTION_SYSTEM, AUDIT_CHAIN_EXTENSION, fromFhirAuditEvents, toFhirAuditEvents } from './fhir-audit.js';

/** The access groups of the preset, as a clinic would grant them. */
export const FhirGroup = Object.freeze({
  /** Who the patient is: names, identifiers, birth date, contact details, addresses, photos, relatives. */
  IDENTITY: 'identity',
  /** What is wrong and what is done: codes, values, notes, medications, dates of care, attachments, answers. */
  CLINICAL: 'clinical',
  /** Who pays: the accounts and insurance an encounter or prescription is billed to. */
  BILLING: 'billing',
});

const { IDENTITY, CLINICAL, BILLING } = FhirGroup;

/** The qualified paths of the preset's blind indexes (searchToken's `path`). */
export const FhirSearch = Object.freeze({
  /** Patient.identifier.value (MRN, SSN, member numbers): 32-bit index. */
  identifier: '[Patient]identifier[].value',
  /** Patient.birthDate: 12-bit index (about 9 birth dates per bucket over a century). */
  birthDate: '[Patient]birthDate',
  /** Patient.name.family: 16-bit index. */
  family: '[Patient]name[].family',
});

// Descendant rules for every resource type: wherever these members occur in
// the resource (outside its contained and nested resources, which have their
// own rules). `main` is the group of the resource's own content.
function everywhere(main) {
  return {
    '**.identifier': IDENTITY,
    '**.valueIdentifier': IDENTITY,
    '**.masterIdentifier': IDENTITY,
    '**.groupIdentifier': IDENTITY,
    '**.accessionIdentifier': IDENTITY,
    '**.preAdmissionIdentifier': IDENTITY,
    '**.name': IDENTITY,
    '**.telecom': IDENTITY,
    '**.address': IDENTITY,
    '**.photo': IDENTITY,
    '**.birthDate': IDENTITY,
    '**.text': main,
    '**.display': main,
    '**.note': main,
    '**.description': main,
    '**.comment': main,
    '**.extension': main,
    '**.modifierExtension': main,
    '**.period': main,
    '**.data': main,
  };
}

// A resource type's set: its own paths, each with the `_name` member that
// carries a primitive's id and extensions (FHIR JSON §2.6.2), then the
// descendant rules.
function resource(main, paths) {
  const set = {};
  for (const [path, spec] of Object.entries(paths)) {
    set[path] = typeof spec === 'string' ? { group: spec } : spec;
    const dot = path.lastIndexOf('.');
    if (!path.endsWith('[]')) set[`${path.slice(0, dot + 1)}_${path.slice(dot + 1)}`] = { group: set[path].group };
  }
  for (const [path, group] of Object.entries(everywhere(main))) set[path] = { group };
  return set;
}

const clinical = (paths) => resource(CLINICAL, { text: CLINICAL, ...paths });

/**
 * The FHIR R4 preset: schema id `phiseal/fhir-r4`, version 1, groups
 * `billing`, `clinical`, `identity`; blind indexes on Patient identifier
 * values, birth date and family name (FhirSearch), so sealing needs the
 * tenant index key.
 */
export const fhirSchema = deepFreeze(preset('phiseal/fhir-r4', true));

/**
 * The same preset without blind indexes: schema id `phiseal/fhir-r4-patient`,
 * version 1. For records a patient's own browser seals (a portal's intake):
 * a blind index needs the tenant index key, which must never reach patients'
 * browsers (whoever holds it can test guesses against every patient's
 * index). The three indexed elements are sealed with random nonces instead;
 * nothing else differs.
 */
export const fhirPatientSchema = deepFreeze(preset('phiseal/fhir-r4-patient', false));

function preset(id, indexed) {
  const index = (bits) => (indexed ? { mode: 'blindIndex', bits, group: IDENTITY } : IDENTITY);
  return {
    id,
    version: 1,
    resources: {
      Patient: resource(IDENTITY, {
        text: IDENTITY,
        'identifier[].value': index(32),
        birthDate: index(12),
        'name[].family': index(16),
        'name[].given': IDENTITY,
        'name[].prefix': IDENTITY,
        'name[].suffix': IDENTITY,
        'deceased[x]': IDENTITY,
        'multipleBirth[x]': IDENTITY,
        maritalStatus: IDENTITY,
        contact: IDENTITY,
        communication: IDENTITY,
      }),
      Observation: clinical({
        code: CLINICAL,
        'value[x]': CLINICAL,
        dataAbsentReason: CLINICAL,
        interpretation: CLINICAL,
        bodySite: CLINICAL,
        method: CLINICAL,
        referenceRange: CLINICAL,
        component: CLINICAL,
        'effective[x]': CLINICAL,
        issued: CLINICAL,
      }),
      Condition: clinical({
        code: CLINICAL,
        severity: CLINICAL,
        bodySite: CLINICAL,
        stage: CLINICAL,
        evidence: CLINICAL,
        'onset[x]': CLINICAL,
        'abatement[x]': CLINICAL,
        recordedDate: CLINICAL,
      }),
      MedicationRequest: clinical({
        'medication[x]': CLINICAL,
        dosageInstruction: CLINICAL,
        dispenseRequest: CLINICAL,
        substitution: CLINICAL,
        reasonCode: CLINICAL,
        courseOfTherapyType: CLINICAL,
        authoredOn: CLINICAL,
        insurance: BILLING,
      }),
      Encounter: clinical({
        type: CLINICAL,
        serviceType: CLINICAL,
        priority: CLINICAL,
        reasonCode: CLINICAL,
        diagnosis: CLINICAL,
        hospitalization: CLINICAL,
        length: CLINICAL,
        account: BILLING,
      }),
      DocumentReference: clinical({
        type: CLINICAL,
        category: CLINICAL,
        date: CLINICAL,
        'content[].attachment': CLINICAL,
        context: CLINICAL,
      }),
      QuestionnaireResponse: clinical({
        authored: CLINICAL,
        '**.answer[].value[x]': CLINICAL,
      }),
      Bundle: resource(IDENTITY, {
        timestamp: IDENTITY,
        'link[].url': IDENTITY,
        'entry[].request.url': IDENTITY,
        'entry[].request.ifNoneExist': IDENTITY,
        signature: IDENTITY,
      }),
      // Every other resource type (Practitioner, Organization, Medication,
      // RelatedPerson, conformance resources, ...): identifiers, names,
      // contact details, narrative and free text wherever they occur.
      '*': resource(IDENTITY, {}),
    },
  };
}

function deepFreeze(o) {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object') deepFreeze(v);
  return Object.freeze(o);
}
