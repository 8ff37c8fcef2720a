// 'phiseal/fhir': a ready schema for FHIR R4 resources (docs/FHIR.md).
import type { FieldSpec } from './index.js';

/** The access groups of the preset. */
export declare const FhirGroup: {
  readonly IDENTITY: 'identity';
  readonly CLINICAL: 'clinical';
  readonly BILLING: 'billing';
};

/** The qualified paths of the preset's blind indexes (searchToken's `path`). */
export declare const FhirSearch: {
  readonly identifier: '[Patient]identifier[].value';
  readonly birthDate: '[Patient]birthDate';
  readonly family: '[Patient]name[].family';
};

/** The FHIR R4 preset (docs/FHIR.md): schema id `phiseal/fhir-r4`, version 1. */
export declare const fhirSchema: {
  readonly id: 'phiseal/fhir-r4';
  readonly version: 1;
  readonly resources: { readonly [resourceType: string]: { readonly [path: string]: FieldSpec } };
};

/** The preset without blind indexes, for records a patient's browser seals (no tenant index key there): id `phiseal/fhir-r4-patient`. */
export declare const fhirPatientSchema: {
  readonly id: 'phiseal/fhir-r4-patient';
  readonly version: 1;
  readonly resources: { readonly [resourceType: string]: { readonly [path: string]: FieldSpec } };
};
