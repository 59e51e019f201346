import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { HttpRequest } from '@azure/functions';
import { describeHttpApi } from '../../src/contract/openApi';
import { openApiDocument } from '../../src/functions/openApi';

/** GET /api/openapi.json (issue 29): a valid OpenAPI 3.1 document of every route, from the handlers' schemas. */
test('the document validates as OpenAPI 3.1 and describes every HTTP route the app registers', async () => {
  const response = await openApiDocument(
    new HttpRequest({ url: 'https://gallery-export.example/api/openapi.json', method: 'GET' }),
  );
  expect(response.status).toBe(200);
  const document = response.jsonBody as { openapi: string; paths: Record<string, Record<string, unknown>> };
  expect(document.openapi).toBe('3.1.0');
  // @seriousme/openapi-schema-validator checks it against the OpenAPI 3.1 specification's own schema.
  const checked = spawnSync(process.execPath, [join(__dirname, 'openApiValidator.mjs')], {
    input: JSON.stringify(document),
    encoding: 'utf8',
  });
  expect(checked.stderr).toBe('');
  const result = JSON.parse(checked.stdout) as { valid: boolean; errors: unknown[] };
  expect(result.errors).toEqual([]);
  expect(result.valid).toBe(true);
  // Every app.http(...) of src/functions, by route and method.
  const folder = join(__dirname, '..', '..', 'src', 'functions');
  const registered: string[] = [];
  for (const file of await readdir(folder)) {
    const source = await readFile(join(folder, file), 'utf8');
    for (const match of source.matchAll(
      /app\.http\('[^']+',\s*\{\s*route:\s*'([^']+)',\s*methods:\s*\[([^\]]+)\]/g,
    )) {
      for (const method of match[2]!.match(/[A-Z]+/g)!)
        registered.push(`${method.toLowerCase()} /${match[1]}`);
    }
  }
  expect(registered.length).toBeGreaterThanOrEqual(8);
  const described = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => `${method} ${path}`),
  );
  expect(described.sort()).toEqual(registered.sort());
});

test('request bodies are described by the schemas the handlers validate with', () => {
  const document = describeHttpApi({ version: 'test' }) as {
    components: { schemas: Record<string, { $id?: string }> };
  };
  expect(document.components.schemas['erasure-request']?.$id).toBe(
    'https://gallery-export/schemas/erasure-request.schema.json',
  );
  expect(document.components.schemas['export-request']?.$id).toBe(
    'https://gallery-export/schemas/export-request.schema.json',
  );
});
