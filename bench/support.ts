import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CatalogFaults } from '../dev/catalog-simulator';

/** Shared plumbing of the benchmarks: child processes for the simulator and the exporter, results files. */
export interface SimulatorProcess {
  url: string;
  tokens: Record<string, string>;
  stats(): Promise<{ requests: number; maxInFlight: number; connections: number }>;
  resetStats(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSimulatorProcess(setup: {
  seed: number;
  authors: Array<{ authorId: string; entities: number; unlistedRatio?: number }>;
  faults?: CatalogFaults;
}): Promise<SimulatorProcess> {
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
  return {
    url,
    tokens,
    stats: () =>
      new Promise((resolve) => {
        child.once('message', (message) =>
          resolve(
            (message as { stats: { requests: number; maxInFlight: number; connections: number } }).stats,
          ),
        );
        child.send('stats');
      }),
    resetStats: () =>
      new Promise((resolve) => {
        child.once('message', () => resolve());
        child.send('reset');
      }),
    stop: () => stopChild(child),
  };
}

export interface ExporterResult {
  code: number;
  /** Inside the process, from the command's start. */
  wallMs: number;
  /** From spawning the process to its exit. */
  processWallMs: number;
  maxRssBytes: number;
  /** Peaks of process.memoryUsage(), sampled every 50 ms. */
  memoryPeaks: Record<string, number>;
  output: string;
}

/**
 * Runs `gallery-export <argv>` (or another bench script) in a fresh node process, so its peak RSS is its
 * own and its wall time includes process start.
 */
export async function runExporterProcess(
  argv: string[],
  env: Record<string, string>,
  script = 'exporterProcess.js',
): Promise<ExporterResult> {
  const started = performance.now();
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, join(__dirname, script), ...argv], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise((resolve) => child.once('exit', resolve));
  const text = Buffer.concat(chunks).toString('utf8').trim().split('\n').at(-1) ?? '{}';
  return { ...(JSON.parse(text) as ExporterResult), processWallMs: performance.now() - started };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
  });
}

export async function writeResults(name: string, results: unknown): Promise<string> {
  const folder = join(__dirname, '..', '..', 'bench', 'results');
  await mkdir(folder, { recursive: true });
  const path = join(folder, `${new Date().toISOString().slice(0, 10)}-${name}.json`);
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
  return path;
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
