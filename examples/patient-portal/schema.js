// The intake schema, shared by the patient's browser (seals with it), the
// clinician and billing views (open with it) and the server (refuses any
// record in which one of these fields is still plaintext).
//
// Groups decide who can read what: a record's data keys are wrapped per group
// to the recipients of that group, so the billing office, which holds keys
// only for `billing`, never receives the keys of the clinical fields.

export const SCHEMA = Object.freeze({
  id: 'portal-intake',
  version: 1,
  fields: {
    'patient.name': { group: 'clinical' },
    'patient.dob': { group: 'clinical' },
    'patient.ssn': { group: 'billing' },
    'diagnoses[].code': { group: 'clinical' },
    'diagnoses[].description': { group: 'clinical' },
    notes: { group: 'clinical' },
    'insurance.payer': { group: 'billing' },
    'insurance.memberId': { group: 'billing' },
  },
});

/** Which groups each role's key receives when a patient seals a record. */
export const ROLE_GROUPS = Object.freeze({
  clinician: ['clinical', 'billing'],
  billing: ['billing'],
});

/** The demo's care team (identities only: each key is made in that person's browser). */
export const STAFF = Object.freeze({
  clinician: { actor: 'dr-lee', role: 'clinician', name: 'Dr. Maya Lee, MD' },
  billing: { actor: 'billing-ortiz', role: 'billing', name: 'Sam Ortiz, billing office' },
});

/** The name of the portal's key directory (the origin line of its signed checkpoints). */
export const DIRECTORY_ORIGIN = 'directory.portal.example/keys';
