// The intake as FHIR R4 (issue #21): what the intake page builds from its
// form, and where the staff views find each part again.
//
// One record: a Bundle of type `collection` with
//   - a Patient: `name[0].text` (the form asks one full name), `birthDate`,
//     the SSN as an identifier of system http://hl7.org/fhir/sid/us-ssn, and
//     the insurance as an identifier of type MB (member number, HL7 v2 table
//     0203) whose `value` is the member id and `assigner.display` the plan;
//   - a QuestionnaireResponse about that Patient: one answer (`valueCoding`,
//     ICD-10-CM) per diagnosis under linkId `diagnoses`, the notes
//     (`valueString`) under linkId `notes`.
// The visit type is not PHI and stays in the clear, as a code of the
// Bundle's `meta.tag`.
//
// Sealed with the preset (schema.js), the Patient's identifiers, name and
// birth date are `identity`; every answer, each item's text and `authored`
// are `clinical`. Insurance sits in the Patient (identity) because the
// preset's `billing` group covers only Encounter.account and
// MedicationRequest.insurance, which an intake does not have (docs/FHIR.md).
// In the clear: resourceType, the Bundle's type, fullUrls and references
// (random urn:uuid values), identifier systems and types, the
// Questionnaire's canonical URL, status and linkIds.

export const SSN_SYSTEM = 'http://hl7.org/fhir/sid/us-ssn';
export const ICD10_SYSTEM = 'http://hl7.org/fhir/sid/icd-10-cm';
export const IDENTIFIER_TYPES = 'http://terminology.hl7.org/CodeSystem/v2-0203';
export const MEMBER_SYSTEM = 'http://portal.example/fhir/sid/member-id';
export const VISIT_TYPE_SYSTEM = 'http://portal.example/fhir/CodeSystem/visit-type';
export const QUESTIONNAIRE = 'http://portal.example/fhir/Questionnaire/intake';

/** A FHIR string: trimmed; absent when empty (FHIR has no empty strings). */
const str = (v) => {
  const s = String(v ?? '').trim();
  return s === '' ? undefined : s;
};
/** `o` without its undefined members. */
const compact = (o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

/**
 * The intake Bundle of the form's values: {name, dob, ssn, diagnoses:
 * [{code, description}], notes, payer, memberId, visitType}.
 */
export function intakeBundle(form) {
  const patientUrl = `urn:uuid:${crypto.randomUUID()}`;
  const identifier = [];
  if (str(form.ssn)) identifier.push({ system: SSN_SYSTEM, value: str(form.ssn) });
  if (str(form.memberId) || str(form.payer)) {
    identifier.push(compact({
      type: { coding: [{ system: IDENTIFIER_TYPES, code: 'MB' }], text: 'Member Number' },
      system: MEMBER_SYSTEM,
      value: str(form.memberId),
      assigner: str(form.payer) && { display: str(form.payer) },
    }));
  }
  const patient = compact({
    resourceType: 'Patient',
    identifier: identifier.length ? identifier : undefined,
    name: str(form.name) && [{ use: 'official', text: str(form.name) }],
    birthDate: str(form.dob),
  });
  const diagnoses = (form.diagnoses ?? [])
    .map((d) => compact({ system: ICD10_SYSTEM, code: str(d.code), display: str(d.description) }))
    .filter((c) => c.code || c.display)
    .map((valueCoding) => ({ valueCoding }));
  const item = [];
  if (diagnoses.length) item.push({ linkId: 'diagnoses', text: 'Diagnoses (ICD-10)', answer: diagnoses });
  if (str(form.notes)) item.push({ linkId: 'notes', text: 'Notes for your clinician', answer: [{ valueString: str(form.notes) }] });
  const response = compact({
    resourceType: 'QuestionnaireResponse',
    questionnaire: QUESTIONNAIRE,
    status: 'completed',
    subject: { reference: patientUrl },
    authored: new Date().toISOString(),
    item: item.length ? item : undefined,
  });
  return compact({
    resourceType: 'Bundle',
    meta: str(form.visitType) && { tag: [{ system: VISIT_TYPE_SYSTEM, code: str(form.visitType) }] },
    type: 'collection',
    entry: [
      { fullUrl: patientUrl, resource: patient },
      { fullUrl: `urn:uuid:${crypto.randomUUID()}`, resource: response },
    ],
  });
}

/**
 * What a staff view shows of an (opened) intake Bundle, in order:
 * [label, JSON Pointer, format?]. Pointers are those the preset seals, so
 * a value the viewer's groups do not open is one of `locked`; found by
 * resourceType, system, type and linkId (all in the clear).
 */
export function intakeRows(bundle) {
  const rows = [];
  const entries = Array.isArray(bundle?.entry) ? bundle.entry : [];
  const at = (type) => {
    const i = entries.findIndex((e) => e?.resource?.resourceType === type);
    return i < 0 ? null : { i, r: entries[i].resource, ptr: `/entry/${i}/resource` };
  };
  const patient = at('Patient');
  if (patient) {
    rows.push(['Name', `${patient.ptr}/name/0/text`], ['Date of birth', `${patient.ptr}/birthDate`]);
    (patient.r.identifier ?? []).forEach((id, j) => {
      const p = `${patient.ptr}/identifier/${j}`;
      if (id?.system === SSN_SYSTEM) rows.push(['SSN', `${p}/value`]);
      else if (id?.type?.coding?.some((c) => c.system === IDENTIFIER_TYPES && c.code === 'MB')) {
        rows.push(['Insurance plan', `${p}/assigner/display`], ['Member id', `${p}/value`]);
      }
    });
  }
  const response = at('QuestionnaireResponse');
  (response?.r.item ?? []).forEach((it, j) => {
    const p = `${response.ptr}/item/${j}`;
    if (it?.linkId === 'diagnoses') {
      (it.answer ?? []).forEach((_, a) => rows.push([`Diagnosis ${a + 1}`, `${p}/answer/${a}/valueCoding`, (c) => [c.code, c.display].filter(Boolean).join(' · ')]));
    } else if (it?.linkId === 'notes') {
      rows.push(['Notes', `${p}/answer/0/valueString`]);
    }
  });
  const tags = bundle?.meta?.tag ?? [];
  const visit = tags.findIndex((t) => t?.system === VISIT_TYPE_SYSTEM);
  if (visit >= 0) rows.push(['Visit type (in the clear)', `/meta/tag/${visit}/code`]);
  return rows;
}
