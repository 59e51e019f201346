import { app, type HttpRequest, type HttpResponseInit } from '@azure/functions';
import { describeHttpApi } from '../contract/openApi';
import { GENERATOR } from '../version';

/** GET /api/openapi.json (function key): the whole HTTP API, for a service desk or a Logic App to import. */
export function openApiDocument(request: HttpRequest): Promise<HttpResponseInit> {
  return Promise.resolve({
    status: 200,
    headers: { 'content-type': 'application/json' },
    jsonBody: describeHttpApi({
      version: GENERATOR.version,
      serverUrl: `${new URL(request.url).origin}/api`,
    }),
  });
}

app.http('openApi', {
  route: 'openapi.json',
  methods: ['GET'],
  authLevel: 'function',
  handler: openApiDocument,
});
