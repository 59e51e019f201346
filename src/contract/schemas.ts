import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import erasureMarkerSchema from '../../schemas/erasure-marker.schema.json';
import erasurePlanSchema from '../../schemas/erasure-plan.schema.json';
import erasureRecordSchema from '../../schemas/erasure-record.schema.json';
import manifestSchema from '../../schemas/manifest.schema.json';
import runRecordSchema from '../../schemas/run-record.schema.json';
import signatureSchema from '../../schemas/signature.schema.json';

/**
 * The JSON Schemas of the documents gallery-export writes (schemas/*.schema.json), compiled once. `verify`
 * checks manifests with them, and the test suite checks every document it produces.
 */
export type DocumentKind =
  'manifest' | 'run' | 'outcome' | 'erasure' | 'erasure-marker' | 'erasure-plan' | 'signature';

// strictRequired is off: the if/then blocks require properties defined one level up, which is valid JSON Schema.
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv);
ajv.addSchema(runRecordSchema);

const validators: Record<DocumentKind, ValidateFunction> = {
  manifest: ajv.compile(manifestSchema),
  run: ajv.getSchema(runRecordSchema.$id)!,
  outcome: ajv.compile({ $ref: `${runRecordSchema.$id}#/$defs/authorOutcome` }),
  erasure: ajv.compile(erasureRecordSchema),
  'erasure-marker': ajv.compile(erasureMarkerSchema),
  'erasure-plan': ajv.compile(erasurePlanSchema),
  signature: ajv.compile(signatureSchema),
};

/** The problems of a document against its schema, as readable lines; empty when it is valid. */
export function schemaProblems(kind: DocumentKind, document: unknown): string[] {
  const validate = validators[kind];
  if (validate(document)) return [];
  return (validate.errors ?? []).map(
    (error: ErrorObject) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`,
  );
}
