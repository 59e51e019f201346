import type { BenchOptions } from '../benchOptions';
import { cpuMs, productCommand, runMeasured, userEnvironment, type Product } from '../measuredProcess';
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

export interface StartupResults {
  processes: number;
  figures: StartupFigures[];
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
  return { processes, figures };
}
