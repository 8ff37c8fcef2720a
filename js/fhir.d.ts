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

/** The extension that carries an event's audit line (docs/FORMAT.md §6.12). */
export declare const AUDIT_CHAIN_EXTENSION: 'https://phiseal.dev/fhir/StructureDefinition/audit-chain';
/** The code system of phiseal's audit actions and of the checkpoint event type. */
export declare const AUDIT_ACTION_SYSTEM: 'https://phiseal.dev/fhir/CodeSystem/audit-action';
/** A FHIR R4 resource as JSON (phiseal reads and writes the elements of docs/FORMAT.md §6.12). */
export type FhirResource = { resourceType: string; [element: string]: unknown };
/** A FHIR R4 Bundle of AuditEvents. */
export interface FhirAuditBundle {
  resourceType: 'Bundle';
  type: 'collection' | 'transaction' | 'searchset' | string;
  entry?: { resource?: FhirResource; request?: { method: string; url: string }; [element: string]: unknown }[];
  [element: string]: unknown;
}
/** The log as a FHIR R4 Bundle of AuditEvents, one per line, each carrying its line (FORMAT §6.12). */
export declare function toFhirAuditEvents(jsonl: string, options?: { transaction?: boolean }): FhirAuditBundle;
/**
 * AuditEvents (a Bundle, an array or one event, any order) back to the log's lines for verifyLog.
 * INVALID_SIGNATURE: an event's elements differ from its line; STALE_VERSION: two entries with one seq;
 * INVALID_ARGUMENT: several logs and no logId.
 */
export declare function fromFhirAuditEvents(
  events: FhirAuditBundle | FhirResource | FhirResource[],
  options?: { logId?: string },
): { jsonl: string; entries: number; checkpoints: number; skipped: number };
