import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { BlobServiceClient } from '@azure/storage-blob';
import type { CatalogFaults } from '../dev/catalog-simulator';
import type { EntityShape } from '../dev/catalog-simulator/catalogData';
import { startVaultEmulator, type VaultEmulator } from '../dev/vault-emulator';
import { BENCH_SIGNING_KEY_NAME } from './benchOptions';

/** Shared plumbing of the benchmarks: the simulator's process, registered fleets, run records, results. */

/** What the simulator saw of one measured run (bench/simulatorProcess.ts computes it from its request log). */
export interface CatalogRunStats {
  requests: number;
  profileRequests: number;
  listRequests: number;
  byStatus: Record<string, number>;
  faults: Record<string, number>;
  maxInFlight: number;
  connections: number;
  /** Epoch ms of the first arrival and of the last response's end: the catalog phase of the run. */
  firstArrivalMs: number;
  lastFinishMs: number;
  /** Sum over requests of (finishedAt - arrivedAt): integrated over the phase, the mean in flight. */
  busyMs: number;
  /** busyMs / (lastFinishMs - firstArrivalMs). */
  meanInFlight: number;
  /** Milliseconds of the phase spent with exactly i requests in flight, for i = 0, 1, 2... */
  msAtLevel: number[];
  /**
   * Where the phase was below its full budget (the most in flight it reached): from the first request
   * until it first reached it, between (hand-overs, a busy client), and after it last left it.
   */
  gaps: { budget: number; startMs: number; middleMs: number; tailMs: number } | undefined;
}

export interface SimulatorSetup {
  seed: number;
  authors: Array<{ authorId: string; entities: number; unlistedRatio?: number }>;
  faults?: CatalogFaults;
  /** How the entities look and how many list items come wrapped (see {@link BenchCatalogShape}). */
  catalog?: BenchCatalogShape;
}

/**
 * The entities the bench's catalog serves: `documented` (the default) as the catalog documentation
 * describes them, HTML descriptions with unicode and escapes, a few of 200 KB, `entity_type` as integer
 * or string, and `wrapRate` of the list items wrapped as `{"entity": {...}}`; `compact` the small
 * entities of the earlier sessions (`--entity-shape compact`), for comparing with them.
 */
export interface BenchCatalogShape {
  shape: EntityShape;
  wrapRate: number;
}

export interface SimulatorProcess {
  url: string;
  tokens: Record<string, string>;
  stats(): Promise<CatalogRunStats>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

/** The catalog simulator in a process of its own, so its CPU and memory are not the product's. */
export async function startSimulatorProcess(setup: SimulatorSetup): Promise<SimulatorProcess> {
  const child = fork(join(__dirname, 'simulatorProcess.js'), [JSON.stringify(setup)], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    execArgv: ['--max-old-space-size=8192'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the simulator exited with ${String(code)}`)));
  });
  const { url, tokens } = JSON.parse(first) as { url: string; tokens: Record<string, string> };
  const ask = <T>(message: string): Promise<T> =>
    new Promise((resolve) => {
      child.once('message', (answer) => resolve(answer as T));
      child.send(message);
    });
  return {
    url,
    tokens,
    stats: async () => (await ask<{ stats: CatalogRunStats }>('stats')).stats,
    resetStats: async () => {
      await ask('reset');
    },
    stop: () => stopChild(child),
  };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

/** Stable 64-hex author IDs: the same fleet in every session. */
export function fleetAuthorIds(name: string, count: number): string[] {
  return Array.from({ length: count }, (_, index) =>
    createHash('sha256').update(`bench-${name}-${index}`).digest('hex').toUpperCase(),
  );
}

/**
 * A vault emulator holding one secret per author, as the contract has them: `gallery-author-<label>`,
 * JSON `{authorId, accessToken}`, content type application/json, tag authorId, expiresOn the token's exp.
 */
export async function startFleetVault(
  authorIds: readonly string[],
  tokens: Record<string, string>,
): Promise<VaultEmulator> {
  const vault = await startVaultEmulator();
  // Products measured with signing name it; the others never ask for it.
  await vault.createKey(BENCH_SIGNING_KEY_NAME, { size: 3072, keyOps: ['sign', 'verify'] });
  authorIds.forEach((authorId, index) => {
    const accessToken = tokens[authorId] ?? null;
    const expiresOn = accessToken === null ? undefined : jwtExpiry(accessToken);
    vault.setSecret(
      `gallery-author-bench-${String(index).padStart(5, '0')}`,
      JSON.stringify({ authorId, accessToken }),
      {
        contentType: 'application/json',
        tags: { authorId },
        ...(expiresOn ? { expiresOn } : {}),
      },
    );
  });
  return vault;
}

function jwtExpiry(token: string): Date | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  const { exp } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: number };
  return typeof exp === 'number' ? new Date(exp * 1000) : undefined;
}

/** The fields of a run record (the contract's shape) the bench reads. */
export interface RunRecordSummary {
  runId: string;
  status: string;
  startedAt: string;
  completedAt: string | null;
  authors: Array<{ status: string; counts?: { entities: number; unlisted: number } }>;
}

const RUN_RECORD_NAME = /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/;

/** The run records in a container (a measured run has a container of its own, so one). */
export async function readRunRecords(
  connectionString: string,
  container: string,
): Promise<RunRecordSummary[]> {
  const client = BlobServiceClient.fromConnectionString(connectionString).getContainerClient(container);
  const records: RunRecordSummary[] = [];
  if (!(await client.exists())) return records;
  for await (const blob of client.listBlobsFlat({ prefix: 'runs/' })) {
    if (!RUN_RECORD_NAME.test(blob.name)) continue;
    const body = await client.getBlobClient(blob.name).downloadToBuffer();
    records.push(JSON.parse(body.toString('utf8')) as RunRecordSummary);
  }
  return records;
}

/** Frees Azurite's memory between runs (outside any timed part). */
export async function deleteContainer(connectionString: string, container: string): Promise<void> {
  await BlobServiceClient.fromConnectionString(connectionString)
    .getContainerClient(container)
    .deleteIfExists();
}

/** A container or queue name of its own for every measured run (lower case, at most 56 characters). */
export function uniqueName(prefix: string): string {
  // A product's label may hold characters a container name may not ("after+signing").
  const safe = prefix.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
  return `${safe}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * Where a session's results go: bench/results/<date>-<name>.json, or -2, -3... when an earlier session of
 * the same day wrote that one (quick runs go to bench/results/tmp/, which git ignores, and overwrite).
 */
export function resultsPath(name: string, options: { scratch?: boolean } = {}): string {
  const folder = join(__dirname, '..', '..', 'bench', 'results', ...(options.scratch ? ['tmp'] : []));
  const stem = join(folder, `${new Date().toISOString().slice(0, 10)}-${name}`);
  if (options.scratch) return `${stem}.json`;
  for (let index = 1; ; index++) {
    const path = index === 1 ? `${stem}.json` : `${stem}-${index}.json`;
    if (!existsSync(path)) return path;
  }
}

export async function writeResults(path: string, results: unknown): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
  return path;
}

export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return { min: sorted[0] ?? NaN, median: percentile(sorted, 50), max: sorted.at(-1) ?? NaN };
}

/** Nearest-rank percentile of already sorted values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  if (p === 50 && sorted.length % 2 === 0) {
    return (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  }
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

export const MIB = 1024 * 1024;

/** Progress for whoever runs the bench (stderr; the tables go to stdout). */
export function say(message: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

/** A storage request as a counting proxy saw it. */
export interface ProxiedRequest {
  method: string;
  path: string;
  atEpochMs: number;
}

/**
 * A loopback proxy in front of Azurite's blob endpoint that records every request (how storage would
 * bill them), for the fan-out's operations per author. `connectionString` is the given one with its
 * BlobEndpoint through the proxy.
 */
export async function startCountingProxy(
  connectionString: string,
  blobPort: number,
): Promise<{ connectionString: string; requests: ProxiedRequest[]; close(): Promise<void> }> {
  const requests: ProxiedRequest[] = [];
  const server = createServer((incoming, outgoing) => {
    requests.push({ method: incoming.method ?? 'GET', path: incoming.url ?? '/', atEpochMs: Date.now() });
    const forward = httpRequest(
      {
        host: '127.0.0.1',
        port: blobPort,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on('error', () => outgoing.destroy());
    incoming.pipe(forward);
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    connectionString: connectionString.replace(`127.0.0.1:${blobPort}/`, `127.0.0.1:${port}/`),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
