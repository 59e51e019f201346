import { HttpRequest, InvocationContext } from '@azure/functions';
import type { Readable } from 'node:stream';
import { downloadBundle } from '../src/functions/dsarApi';
import { useEnvironment } from '../src/functions/runtime';

/**
 * One GET /api/authors/{authorId}/bundle through the real handler, in a process of its own (its peak RSS
 * is what the bench measures), the zip read to its end and counted, as a caller would: argv[2] is the
 * author. The settings come from the environment, with built-in authentication on and a Dsar.Read
 * principal, as App Service would hand the request over.
 */
void (async () => {
  const authorId = process.argv[2]!;
  await useEnvironment({ ...process.env, WEBSITE_AUTH_ENABLED: 'true' });
  const principal = Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      role_typ: 'roles',
      claims: [
        { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: 'bench' },
        { typ: 'roles', val: 'Dsar.Read' },
      ],
    }),
  ).toString('base64');
  const response = await downloadBundle(
    new HttpRequest({
      url: `https://bench.example/api/authors/${authorId}/bundle`,
      method: 'GET',
      headers: { 'x-ms-client-principal': principal },
      params: { authorId },
    }),
    new InvocationContext({ functionName: 'dsarBundle', logHandler: () => undefined }),
  );
  if (response.status !== 200)
    throw new Error(`the bundle answered ${response.status}: ${JSON.stringify(response.jsonBody)}`);
  let bytes = 0;
  for await (const chunk of response.body as Readable) bytes += (chunk as Buffer).length;
  process.stdout.write(JSON.stringify({ zipBytes: bytes }));
  await useEnvironment(undefined);
})().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
