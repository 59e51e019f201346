import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import auditEntrySchema from '../../schemas/audit-entry.schema.json';
import erasureMarkerSchema from '../../schemas/erasure-marker.schema.json';
import erasureRequestEventSchema from '../../schemas/erasure-request-event.schema.json';
import erasureRequestRecordSchema from '../../schemas/erasure-request-record.schema.json';
import erasureRequestSchema from '../../schemas/erasure-request.schema.json';
import erasureStatusSchema from '../../schemas/erasure-status.schema.json';
import exportRequestSchema from '../../schemas/export-request.schema.json';
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
  | 'manifest'
  | 'run'
  | 'outcome'
  | 'erasure'
  | 'erasure-marker'
  | 'erasure-plan'
  | 'signature'
  | 'audit-entry'
  | 'erasure-request'
  | 'erasure-request-record'
  | 'erasure-request-event'
  | 'erasure-status'
  | 'export-request'
  | 'client-principal';

// strictRequired is off: the if/then blocks require properties defined one level up, which is valid JSON Schema.
const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv);
ajv.addSchema(runRecordSchema);
ajv.addSchema(erasureRecordSchema);

/** What App Service built-in authentication injects as `x-ms-client-principal` (base64 of this JSON). */
const clientPrincipalSchema = {
  type: 'object',
  required: ['auth_typ', 'claims'],
  properties: {
    auth_typ: { type: 'string', maxLength: 40 },
    name_typ: { type: 'string', maxLength: 200 },
    role_typ: { type: 'string', maxLength: 200 },
    claims: {
      type: 'array',
      maxItems: 500,
      items: {
        type: 'object',
        required: ['typ', 'val'],
        properties: { typ: { type: 'string', maxLength: 200 }, val: { type: 'string', maxLength: 4000 } },
      },
    },
  },
};

const validators: Record<DocumentKind, ValidateFunction> = {
  manifest: ajv.compile(manifestSchema),
  run: ajv.getSchema(runRecordSchema.$id)!,
  outcome: ajv.compile({ $ref: `${runRecordSchema.$id}#/$defs/authorOutcome` }),
  erasure: ajv.getSchema(erasureRecordSchema.$id)!,
  'erasure-marker': ajv.compile(erasureMarkerSchema),
  'erasure-plan': ajv.compile(erasurePlanSchema),
  signature: ajv.compile(signatureSchema),
  'audit-entry': ajv.compile(auditEntrySchema),
  'erasure-request': ajv.compile(erasureRequestSchema),
  'erasure-request-record': ajv.compile(erasureRequestRecordSchema),
  'erasure-request-event': ajv.compile(erasureRequestEventSchema),
  'erasure-status': ajv.compile(erasureStatusSchema),
  'export-request': ajv.compile(exportRequestSchema),
  'client-principal': ajv.compile(clientPrincipalSchema),
};

/** The problems of a document against its schema, as readable lines; empty when it is valid. */
export function schemaProblems(kind: DocumentKind, document: unknown): string[] {
  const validate = validators[kind];
  if (validate(document)) return [];
  return (validate.errors ?? []).map(
    (error: ErrorObject) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}`,
  );
}

/**
 * The schemas of the documents the HTTP API reads and answers, by kind, for the OpenAPI description: the
 * same objects the validators above were compiled from.
 */
export const API_SCHEMAS = {
  'export-request': exportRequestSchema,
  'erasure-request': erasureRequestSchema,
  'erasure-status': erasureStatusSchema,
  'erasure-record': erasureRecordSchema,
  'run-record': runRecordSchema,
  manifest: manifestSchema,
  'audit-entry': auditEntrySchema,
} as const;
