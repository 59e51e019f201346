import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { MeterRecord } from './processMeter';

/**
 * Runs a program as a fresh process, the way a user would, and measures it from outside (wall time from
 * spawn to exit) and from inside (CPU and peak RSS of the node process running a given script, through
 * bench/processMeter.ts).
 */

/** A gallery-export build: a folder with bin/gallery-export.js, dist/ and node_modules/. */
export interface Product {
  /** `before` (the "today") or `after` (the code under work). */
  label: string;
  root: string;
  /** Contract settings this product is run with on top of the bench's own (e.g. SIGNING_KEY_NAME). */
  settings?: Readonly<Record<string, string>>;
}

/** How the product is started: as the harness did (`npx --no-install gallery-export`) or `node bin/...`. */
export type Launcher = 'npx' | 'node';

export interface MeasuredRun {
  code: number | null;
  signal: string | null;
  /** From spawn to exit, as seen from outside: process start included. */
  wallMs: number;
  /** The measured script's own process (the gallery-export process, not npx's npm). */
  meter: MeterRecord | undefined;
  stdout: string;
  /** The last lines of stderr, for a failure's message. */
  stderrTail: string;
}

export interface MeasuredCommand {
  command: string;
  args: string[];
  cwd: string;
  /** The script whose process is metered. */
  script: string;
}

/** `gallery-export <argv>` of a product, started by the launcher. */
export function productCommand(
  product: Product,
  launcher: Launcher,
  argv: readonly string[],
): MeasuredCommand {
  const script = join(product.root, 'bin', 'gallery-export.js');
  if (launcher === 'npx') {
    const npx = join(dirname(process.execPath), 'npx');
    return {
      command: existsSync(npx) ? npx : 'npx',
      args: ['--no-install', 'gallery-export', ...argv],
      cwd: product.root,
      script,
    };
  }
  return { command: process.execPath, args: [script, ...argv], cwd: product.root, script };
}

/** A bench script (dist/bench/<name>.js) in a node process of its own. */
export function benchScriptCommand(name: string, argv: readonly string[] = []): MeasuredCommand {
  const script = join(__dirname, `${name}.js`);
  return { command: process.execPath, args: [script, ...argv], cwd: process.cwd(), script };
}

/**
 * Only what a user's shell would have: PATH and HOME, nothing of the bench's own environment (no
 * AUTHOR_CONCURRENCY, no OTEL_*, no NODE_OPTIONS of the developer's), plus the given settings.
 */
export function userEnvironment(settings: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...settings };
}

let meterFiles = 0;

export async function runMeasured(
  measured: MeasuredCommand,
  env: Readonly<Record<string, string>>,
  options: { timeoutMs?: number; cpuProfileDir?: string | undefined } = {},
): Promise<MeasuredRun> {
  const meterFile = join(tmpdir(), `gallery-export-bench-${process.pid}-${++meterFiles}.jsonl`);
  const started = performance.now();
  // A CPU profile of the process, for `--cpu-prof` (node refuses the flag in NODE_OPTIONS).
  const profile = options.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`] : [];
  if (profile.length > 0 && measured.command !== process.execPath) {
    throw new Error('--cpu-prof needs --launcher node');
  }
  const child = spawn(measured.command, [...profile, ...measured.args], {
    cwd: measured.cwd,
    env: {
      ...env,
      BENCH_METER_FILE: meterFile,
      NODE_OPTIONS: `--require ${join(__dirname, 'processMeter.js')}`,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  let errTail = '';
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => {
    errTail = (errTail + chunk.toString('utf8')).slice(-4000);
  });
  const timer =
    options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  const wallMs = performance.now() - started;
  clearTimeout(timer);
  const meter = await readMeter(meterFile, measured.script);
  await rm(meterFile, { force: true });
  return {
    code,
    signal,
    wallMs,
    meter,
    stdout: Buffer.concat(out).toString('utf8'),
    stderrTail: errTail.split('\n').slice(-12).join('\n'),
  };
}

async function readMeter(file: string, script: string): Promise<MeterRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const wanted = realpathSync(script);
  const records = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as MeterRecord);
  return records.find((record) => resolvesTo(record.script, wanted));
}

function resolvesTo(path: string, wanted: string): boolean {
  try {
    return realpathSync(path) === wanted;
  } catch {
    return false;
  }
}

export function cpuMs(meter: MeterRecord | undefined): number {
  return meter ? meter.userCpuMs + meter.systemCpuMs : NaN;
}
