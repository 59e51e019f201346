import type { Readable } from 'node:stream';
import { HttpRequest, type HttpResponseInit } from '@azure/functions';
import { QueueServiceClient, type QueueClient } from '@azure/storage-queue';
import { fromBuffer, type Entry, type ZipFile } from 'yauzl';
import { useEnvironment } from '../../src/functions/runtime';
import { runCli } from './cliHarness';
import { readAllBlobs, uniqueName } from './storage';
import { createWorld, type SharedServers, type World } from './world';

/** The data-subject routes as the host calls them: a deployment, principals, requests, zips, audit entries. */

export interface Deployment extends World {
  queue: QueueClient;
  poison: QueueClient;
}

/** A world with built-in authentication on, signing on, its own queue, and one export run done. */
export async function deployDsar(
  servers: SharedServers,
  signingKey: string,
  authors: number,
  env: Record<string, string> = {},
): Promise<Deployment> {
  const world = await createWorld(servers, authors, { uniqueAuthorIds: true });
  const queueName = uniqueName('dsar');
  world.env = {
    ...world.env,
    EXPORT_QUEUE: queueName,
    SIGNING_KEY_NAME: signingKey,
    WEBSITE_AUTH_ENABLED: 'True',
    ...env,
  };
  await useEnvironment(world.env);
  expect((await runCli(['run'], world.env)).code).toBe(0);
  const queues = QueueServiceClient.fromConnectionString(servers.azurite.connectionString);
  return {
    ...world,
    queue: queues.getQueueClient(queueName),
    poison: queues.getQueueClient(`${queueName}-poison`),
  };
}
/** What App Service built-in authentication injects for a caller with these app roles. */
export function principal(roles: string[], objectId = 'a1b2c3d4-0000-4000-8000-00000000000a'): string {
  return Buffer.from(
    JSON.stringify({
      auth_typ: 'aad',
      name_typ: 'name',
      role_typ: 'roles',
      claims: [
        { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: objectId },
        { typ: 'name', val: 'Privacy Office Logic App' },
        ...roles.map((role) => ({ typ: 'roles', val: role })),
      ],
    }),
  ).toString('base64');
}

export function get(url: string, headers: Record<string, string> = {}): HttpRequest {
  const parsed = new URL(url, 'https://gallery-export.example');
  const params: Record<string, string> = {};
  const match = /\/api\/(?:authors\/([^/]+)|erasures\/([^/?]+))/.exec(parsed.pathname);
  if (match?.[1]) params.authorId = match[1];
  if (match?.[2]) params.erasureId = match[2];
  return new HttpRequest({ url: parsed.toString(), method: 'GET', headers, params });
}

export function post(url: string, body: unknown, headers: Record<string, string> = {}): HttpRequest {
  const parsed = new URL(url, 'https://gallery-export.example');
  const authorId = /\/api\/authors\/([^/]+)\//.exec(parsed.pathname)?.[1] ?? '';
  return new HttpRequest({
    url: parsed.toString(),
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    params: { authorId },
    body: { string: JSON.stringify(body) },
  });
}

export async function readZip(response: HttpResponseInit): Promise<Map<string, Buffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of response.body as Readable) chunks.push(Buffer.from(chunk as Buffer));
  const zip = await new Promise<ZipFile>((resolve, reject) =>
    fromBuffer(Buffer.concat(chunks), { lazyEntries: true }, (error, file) =>
      error ? reject(error) : resolve(file),
    ),
  );
  const files = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: Entry) => {
      zip.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        const parts: Buffer[] = [];
        stream.on('data', (part: Buffer) => parts.push(part));
        stream.on('end', () => {
          files.set(entry.fileName, Buffer.concat(parts));
          zip.readEntry();
        });
      });
    });
    zip.on('end', resolve);
    zip.on('error', reject);
    zip.readEntry();
  });
  return files;
}

export async function audits(world: World): Promise<Array<Record<string, unknown>>> {
  const blobs = await readAllBlobs(world.container, 'audit/');
  return [...blobs.values()].map((blob) => JSON.parse(blob.body.toString()) as Record<string, unknown>);
}
