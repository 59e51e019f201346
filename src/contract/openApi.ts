import { API_SCHEMAS } from './schemas';

/**
 * The HTTP API described in OpenAPI 3.1, built from the very JSON Schemas the handlers validate requests
 * with and the documents they answer with (schemas/*.schema.json), so the description cannot drift from
 * what is checked. OpenAPI 3.1 takes JSON Schema 2020-12 as it is: each schema keeps its `$id`, so its own
 * `#/$defs/...` references resolve inside it.
 */
export function describeHttpApi(options: { version: string; serverUrl?: string }): Record<string, unknown> {
  const ref = (name: keyof typeof API_SCHEMAS | 'error') => ({ $ref: `#/components/schemas/${name}` });
  const json = (schema: unknown) => ({ 'application/json': { schema } });
  const error = {
    description: 'What was wrong, and what to do',
    content: json(ref('error')),
  };
  /** Answers of every route besides its own: App Service's 401, a dependency down, a bug. */
  const common = {
    '401': { description: 'No valid Entra ID access token (App Service built-in authentication, when on)' },
    '500': error,
    '503': {
      description: 'Storage, the vault or the queue could not be reached; try again',
      content: json(ref('error')),
    },
  };
  const authorId = {
    name: 'authorId',
    in: 'path',
    required: true,
    description: "The author's ID: 64 hexadecimal characters",
    schema: { type: 'string', pattern: '^[0-9A-Fa-f]{64}$' },
  };
  const dsar = (role: string) => ({
    security: [{ entraId: [] }],
    description: `Needs the Entra app role ${role} (an app role of the app registration, checked by the app from the principal App Service authenticated). No function key.`,
    'x-required-app-role': role,
  });
  // With App Service authentication on (entraAuthClientId), the key routes need a token too.
  const functionKey = { security: [{ functionKey: [] }, { functionKey: [], entraId: [] }] };
  return {
    openapi: '3.1.0',
    info: {
      title: 'gallery-export',
      version: options.version,
      description:
        'Exports of Azure AI Gallery author data as signed, verifiable snapshots, and data-subject requests (a proven bundle, an erasure) by Entra app role.',
    },
    ...(options.serverUrl ? { servers: [{ url: options.serverUrl }] } : {}),
    paths: {
      '/exports': {
        post: {
          operationId: 'startExport',
          summary: 'Start an export run for every registered author, or for the listed ones',
          ...functionKey,
          requestBody: { required: false, content: json(ref('export-request')) },
          responses: {
            ...common,
            '202': {
              description: 'The run is queued: follow it at statusUrl',
              headers: { location: { schema: { type: 'string' }, description: 'statusUrl' } },
              content: json({
                type: 'object',
                required: ['runId', 'statusUrl'],
                properties: { runId: { type: 'string' }, statusUrl: { type: 'string' } },
              }),
            },
            '400': error,
            '409': error,
          },
        },
      },
      '/exports/{runId}': {
        get: {
          operationId: 'getExport',
          summary: "A run's record: each author's state, counts and errors",
          ...functionKey,
          parameters: [{ name: 'runId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            ...common,
            '200': { description: 'The run record', content: json(ref('run-record')) },
            '404': error,
          },
        },
      },
      '/authors/{authorId}/snapshots': {
        get: {
          operationId: 'listAuthorSnapshots',
          summary: "An author's complete snapshots, newest first",
          ...functionKey,
          parameters: [authorId],
          responses: {
            ...common,
            '200': { description: 'The snapshots', content: json({ type: 'object' }) },
            '400': error,
          },
        },
      },
      '/authors/{authorId}/bundle': {
        get: {
          operationId: 'downloadBundle',
          summary: 'The proven subject-access bundle of a snapshot, as a zip',
          ...dsar('Dsar.Read'),
          parameters: [
            authorId,
            {
              name: 'run',
              in: 'query',
              required: false,
              description: 'A run ID, or latest',
              schema: { type: 'string', default: 'latest' },
            },
          ],
          responses: {
            ...common,
            '200': {
              description:
                "The snapshot's files, signature.json when signed, README.txt, SHA256SUMS and report.html: exactly what gallery-export get writes",
              headers: {
                'content-disposition': {
                  schema: { type: 'string' },
                  description: 'attachment; filename="gallery-export-<authorId>-<runId>.zip"',
                },
                'x-gallery-export-run': {
                  schema: { type: 'string' },
                  description: 'The run of the snapshot handed out',
                },
              },
              content: {
                'application/zip': { schema: { type: 'string', contentMediaType: 'application/zip' } },
              },
            },
            '400': error,
            '403': error,
            '404': error,
            '409': {
              description: 'The snapshot fails its proof: each problem, with the next step',
              content: json(ref('error')),
            },
          },
        },
      },
      '/authors/{authorId}/erasure': {
        post: {
          operationId: 'requestErasure',
          summary: "Erase an author's snapshots and registration, as purge --yes does (runs off the request)",
          ...dsar('Dsar.Erase'),
          parameters: [authorId],
          requestBody: { required: true, content: json(ref('erasure-request')) },
          responses: {
            ...common,
            '202': {
              description: 'The erasure is queued: follow it at statusUrl',
              headers: { location: { schema: { type: 'string' }, description: 'statusUrl' } },
              content: json({
                type: 'object',
                required: ['erasureId', 'statusUrl'],
                properties: {
                  erasureId: { type: 'string' },
                  statusUrl: { type: 'string' },
                  joined: {
                    type: 'boolean',
                    description: 'It finishes an erasure of the author that had begun',
                  },
                },
              }),
            },
            '400': error,
            '403': error,
          },
        },
      },
      '/erasures/{erasureId}': {
        get: {
          operationId: 'getErasure',
          summary:
            "An erasure's state: running, complete (with its record) or failed (why, and what finishes it)",
          ...dsar('Dsar.Read'),
          parameters: [{ name: 'erasureId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            ...common,
            '200': { description: 'Its state', content: json(ref('erasure-status')) },
            '400': error,
            '403': error,
            '404': error,
          },
        },
      },
      '/authors/{authorId}/erasures': {
        get: {
          operationId: 'listErasures',
          summary: "An author's erasure records, and an erasure that began and did not finish",
          ...dsar('Dsar.Read'),
          parameters: [authorId],
          responses: {
            ...common,
            '200': {
              description: 'The records',
              content: json({
                type: 'object',
                properties: {
                  authorId: { type: 'string' },
                  erasures: {
                    type: 'array',
                    items: {
                      type: 'object',
                      required: ['record', 'path', 'signature'],
                      additionalProperties: false,
                      properties: {
                        record: ref('erasure-record'),
                        path: { type: 'string' },
                        signature: { enum: ['verified', 'not-checked', 'unsigned', 'invalid'] },
                      },
                    },
                  },
                  unfinished: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        erasureId: { type: 'string' },
                        requestedAt: { type: 'string' },
                        requestedBy: { type: 'string' },
                      },
                    },
                  },
                },
              }),
            },
            '400': error,
            '403': error,
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This description',
          ...functionKey,
          responses: {
            ...common,
            '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) },
          },
        },
      },
    },
    components: {
      schemas: {
        ...API_SCHEMAS,
        error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' } },
            },
            problems: { type: 'array', items: { type: 'object' } },
          },
        },
      },
      securitySchemes: {
        functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key' },
        entraId: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'An Entra ID access token for the app registration (audience api://<appId>; a managed identity or client credentials use the scope api://<appId>/.default), validated by App Service built-in authentication. The data-subject routes also need the app role they name (Dsar.Read, Dsar.Erase): app roles are granted by assignment, not requested as scopes.',
        },
      },
    },
  };
}
