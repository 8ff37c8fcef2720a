// The intake schema, shared by the patient's browser (seals with it), the
// clinician and billing views (open with it) and the server (refuses any
// record in which one of its fields is still plaintext).
//
// An intake is stored as FHIR R4 (issue #21): one record, a Bundle of type
// `collection` holding the patient's Patient resource and a
// QuestionnaireResponse with their answers (intake-fhir.js builds it and
// reads it back). It is sealed with phiseal's FHIR preset in the variant
// without blind indexes (`fhirPatientSchema`, docs/FHIR.md): a blind index
// needs the tenant index key, which a patient's browser must never hold.
//
// Groups decide who can read what: a record's data keys are wrapped per group
// to the recipients of that group. The preset's groups are `identity` (who
// the patient is: name, birth date, identifiers, including the SSN and the
// insurance member number), `clinical` (the answers: diagnoses, notes) and
// `billing` (only Encounter.account and MedicationRequest.insurance, which an
// intake does not have). The billing office receives identity and billing,
// as docs/FHIR.md's table grants billing staff, never the clinical keys.

import { fhirPatientSchema } from '../../js/fhir.js';

export const SCHEMA = fhirPatientSchema;

/** Every group of the schema (what the break-glass key receives). */
export const ALL_GROUPS = Object.freeze(['identity', 'clinical', 'billing']);

/** Which groups each role's key receives when a patient seals a record. */
export const ROLE_GROUPS = Object.freeze({
  clinician: ALL_GROUPS,
  billing: ['identity', 'billing'],
});

/**
 * The demo's staff (identities only: each key is made in that person's
 * browser), keyed by the page each one uses. `careTeam: false`: a member
 * patients do not seal to. Dr. Okafor works in the emergency department: her
 * key is certified like any clinician's, but she is not on the patients' care
 * team, so she opens a patient's records only through the break-glass escrow
 * (escrow.mjs, emergency.html).
 */
export const STAFF = Object.freeze({
  clinician: { actor: 'dr-lee', role: 'clinician', name: 'Dr. Maya Lee, MD' },
  billing: { actor: 'billing-ortiz', role: 'billing', name: 'Sam Ortiz, billing office' },
  emergency: { actor: 'dr-okafor', role: 'clinician', name: 'Dr. Femi Okafor, MD, emergency department', careTeam: false },
});

/**
 * Break-glass (escrow.mjs): each patient has one emergency key pair at a
 * time, made and kept by the organisation's escrow, certified by the root
 * for every group under this subject and role, and published in the
 * directory. The patient's browser seals every intake to it as well.
 */
export const breakGlassSubject = (patientId) => `break-glass:${patientId}`;
export const BREAK_GLASS_ROLE = 'break-glass';
export const BREAK_GLASS_SUBJECT = /^break-glass:patient-[0-9a-f-]{36}$/;

/** The name of the portal's key directory (the origin line of its signed checkpoints). */
export const DIRECTORY_ORIGIN = 'directory.portal.example/keys';
