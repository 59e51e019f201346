import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchOptions } from '../benchOptions';
import {
  benchScriptCommand,
  cpuMs,
  productCommand,
  runMeasured,
  userEnvironment,
  type Product,
} from '../measuredProcess';
import { percentile, round, say } from '../support';

/**
 * What telemetry costs at start-up when no OTEL_* endpoint is configured (issue 17: at most 50 ms more than
 * the code before it): `gallery-export --version`, and `gallery-export run` with no settings (a
 * configuration error, exit 2, before any work), each in many fresh processes, started with
 * `node bin/gallery-export.js` (npx's own start would drown 50 ms). Products alternate process by process.
 */
export interface StartupFigures {
  product: string;
  command: 'version' | 'run-settings-error';
  processes: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  medianCpuMs: number;
  exitCodes: number[];
}

/**
 * Cold start of the Function App (issue 28): each product's deployment package, staged by its own
 * `scripts/package.js`, loaded as the Functions worker loads it (bench/loadPackage.ts) in fresh
 * processes started in the package's folder, products alternating. `load*`: the import of the entry
 * point alone (every function registered); `process*`: the whole process, node's own start included.
 */
export interface PackageLoadFigures {
  product: string;
  files: number;
  bytes: number;
  main: string;
  processes: number;
  functions: number;
  loadMedianCpuMs: number;
  loadP90CpuMs: number;
  loadMedianWallMs: number;
  loadP90WallMs: number;
  processMedianCpuMs: number;
  processMedianWallMs: number;
}

export interface StartupResults {
  processes: number;
  figures: StartupFigures[];
  packages?: PackageLoadFigures[];
}

const COMMANDS = [
  { command: 'version', argv: ['--version'], exitCode: 0 },
  { command: 'run-settings-error', argv: ['run'], exitCode: 2 },
] as const;

export async function startupPart(options: BenchOptions): Promise<StartupResults> {
  const { processes } = options.startup;
  say(`start-up: ${processes} fresh processes per command and product, no OTEL_* settings...`);
  const samples = new Map<string, { wall: number[]; cpu: number[]; codes: Set<number> }>();
  const key = (product: Product, command: string): string => `${product.label}\t${command}`;
  for (let index = 0; index < processes; index++) {
    for (const { command, argv } of COMMANDS) {
      for (const product of index % 2 === 0 ? options.products : [...options.products].reverse()) {
        const run = await runMeasured(productCommand(product, 'node', argv), userEnvironment({}));
        const entry = samples.get(key(product, command)) ?? { wall: [], cpu: [], codes: new Set() };
        entry.wall.push(run.wallMs);
        entry.cpu.push(cpuMs(run.meter));
        entry.codes.add(run.code ?? -1);
        samples.set(key(product, command), entry);
      }
    }
  }
  const figures: StartupFigures[] = [];
  for (const product of options.products) {
    for (const { command, exitCode } of COMMANDS) {
      const entry = samples.get(key(product, command))!;
      const wall = [...entry.wall].sort((a, b) => a - b);
      const cpu = [...entry.cpu].sort((a, b) => a - b);
      const figure: StartupFigures = {
        product: product.label,
        command,
        processes,
        medianMs: round(percentile(wall, 50), 1),
        p90Ms: round(percentile(wall, 90), 1),
        minMs: round(wall[0] ?? NaN, 1),
        medianCpuMs: round(percentile(cpu, 50), 1),
        exitCodes: [...entry.codes],
      };
      if (figure.exitCodes.some((code) => code !== exitCode)) {
        say(`  ${product.label} ${command}: unexpected exit codes ${figure.exitCodes.join(', ')}`);
      }
      say(
        `  ${product.label} ${command}: median ${figure.medianMs} ms, p90 ${figure.p90Ms} ms, CPU ${figure.medianCpuMs} ms`,
      );
      figures.push(figure);
    }
  }
  return { processes, figures, packages: await packageLoadFigures(options, processes) };
}

async function packageLoadFigures(options: BenchOptions, processes: number): Promise<PackageLoadFigures[]> {
  const work = mkdtempSync(join(tmpdir(), 'gallery-export-bench-packages-'));
  try {
    const staged: Array<{ product: Product; folder: string; files: number; bytes: number; main: string }> =
      [];
    const roots = new Set<string>();
    for (const product of options.products) {
      if (roots.has(product.root)) continue;
      roots.add(product.root);
      const folder = join(work, product.label.replace(/[^\w-]+/g, '-'));
      say(`  staging ${product.label}'s deployment package (its scripts/package.js)...`);
      const result = spawnSync(
        process.execPath,
        [join(product.root, 'scripts', 'package.js'), '--out', folder],
        {
          cwd: product.root,
          encoding: 'utf8',
        },
      );
      if (result.status !== 0)
        throw new Error(`${product.label}: scripts/package.js failed: ${result.stderr}`);
      const summary = JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}') as {
        files: number;
        bytes: number;
      };
      const { main } = JSON.parse(
        spawnSync(process.execPath, ['-p', 'JSON.stringify(require("./package.json"))'], {
          cwd: folder,
          encoding: 'utf8',
        }).stdout,
      ) as { main: string };
      staged.push({ product, folder, files: summary.files, bytes: summary.bytes, main });
    }
    const samples = new Map<
      string,
      {
        load: Array<{ cpuMs: number; wallMs: number }>;
        process: Array<{ cpuMs: number; wallMs: number }>;
        functions: number;
      }
    >();
    for (let index = 0; index < processes; index++) {
      for (const entry of index % 2 === 0 ? staged : [...staged].reverse()) {
        const command = { ...benchScriptCommand('loadPackage'), cwd: entry.folder };
        const run = await runMeasured(command, userEnvironment({}));
        if (run.code !== 0)
          throw new Error(`${entry.product.label}: loading its package failed: ${run.stderrTail}`);
        const load = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as {
          cpuMs: number;
          wallMs: number;
          functions: number;
        };
        const sample = samples.get(entry.product.label) ?? {
          load: [],
          process: [],
          functions: load.functions,
        };
        sample.load.push(load);
        sample.process.push({ cpuMs: cpuMs(run.meter), wallMs: run.wallMs });
        samples.set(entry.product.label, sample);
      }
    }
    return staged.map(({ product, files, bytes, main }) => {
      const sample = samples.get(product.label)!;
      const sorted = (values: number[]): number[] => [...values].sort((a, b) => a - b);
      const loadCpu = sorted(sample.load.map((each) => each.cpuMs));
      const loadWall = sorted(sample.load.map((each) => each.wallMs));
      const figures: PackageLoadFigures = {
        product: product.label,
        files,
        bytes,
        main,
        processes,
        functions: sample.functions,
        loadMedianCpuMs: round(percentile(loadCpu, 50), 1),
        loadP90CpuMs: round(percentile(loadCpu, 90), 1),
        loadMedianWallMs: round(percentile(loadWall, 50), 1),
        loadP90WallMs: round(percentile(loadWall, 90), 1),
        processMedianCpuMs: round(percentile(sorted(sample.process.map((each) => each.cpuMs)), 50), 1),
        processMedianWallMs: round(percentile(sorted(sample.process.map((each) => each.wallMs)), 50), 1),
      };
      say(
        `  ${product.label} package (${files} files, ${(bytes / 2 ** 20).toFixed(1)} MiB, main ${main}): loading the entry point ${figures.loadMedianCpuMs} ms CPU, ${figures.loadMedianWallMs} ms wall (median of ${processes}); the whole process ${figures.processMedianCpuMs} ms CPU, ${figures.processMedianWallMs} ms wall; ${figures.functions} functions registered`,
      );
      return figures;
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
