import { startAzurite } from '../../dev/azurite';
import type { BenchOptions } from '../benchOptions';
import { benchScriptCommand, productCommand, runMeasured, userEnvironment } from '../measuredProcess';
import {
  fleetAuthorIds,
  MIB,
  round,
  say,
  startFleetVault,
  startSimulatorProcess,
  uniqueName,
} from '../support';
import {
  contractSettings,
  describeRun,
  inTurn,
  measureProductRun,
  type Endpoints,
  type ProductRun,
} from './productRun';

/**
 * One very large author (issue 14, row 7): 200,000 entities at latency 0, so the product's own CPU and
 * memory are all there is to see. Peak RSS and wall of the gallery-export process; with `--verify`, also
 * `gallery-export verify` of the result (a process of its own).
 */
export interface LargeAuthorRun extends ProductRun {
  verify?: { exitCode: number | null; wallS: number; peakRssMiB: number };
  /** GET /api/authors/{id}/bundle of the snapshot, through the handler, in a process of its own. */
  bundle?: { exitCode: number | null; wallS: number; peakRssMiB: number; zipMiB: number };
}

export interface LargeAuthorResults {
  entities: number;
  launcher: string;
  runs: LargeAuthorRun[];
}

export async function largeAuthorPart(options: BenchOptions): Promise<LargeAuthorResults> {
  const { entities, verify, bundle } = options.large;
  const authorIds = fleetAuthorIds('large', 1);
  say(`large author: ${entities} entities, latency 0 (generating them in the simulator)...`);
  const azurite = await startAzurite({ extentMemoryLimitMb: 4096 });
  const simulator = await startSimulatorProcess({
    catalog: options.catalog,
    seed: 1,
    authors: authorIds.map((authorId) => ({ authorId, entities, unlistedRatio: 0.1 })),
    faults: { maxTop: 100 },
  });
  const vault = await startFleetVault(authorIds, simulator.tokens);
  const endpoints: Endpoints = {
    catalogUrl: simulator.url,
    vaultUrl: vault.url,
    storage: azurite.connectionString,
  };
  try {
    const runs: LargeAuthorRun[] = [];
    for (const product of inTurn(options.products, 0)) {
      say(`  ${product.label}...`);
      const run: LargeAuthorRun = await measureProductRun(product, options.launcher, simulator, endpoints, 1);
      say(`    ${describeRun(run)}`);
      if (verify) run.verify = await verifyLarge(options, product, endpoints);
      if (bundle && product.label === options.products.at(-1)?.label) {
        run.bundle = await bundleLarge(product, endpoints, authorIds[0]!);
      }
      runs.push(run);
    }
    return { entities, launcher: options.launcher, runs };
  } finally {
    await simulator.stop();
    await vault.close();
    await azurite.stop();
  }
}

/** Exports again into a container that is kept, and verifies it. */
async function verifyLarge(
  options: BenchOptions,
  product: BenchOptions['products'][number],
  endpoints: Endpoints,
): Promise<NonNullable<LargeAuthorRun['verify']>> {
  const env = userEnvironment(contractSettings(endpoints, uniqueName('verify'), product.settings));
  await runMeasured(productCommand(product, options.launcher, ['run']), env);
  const verified = await runMeasured(productCommand(product, options.launcher, ['verify']), env);
  const result = {
    exitCode: verified.code,
    wallS: round(verified.wallMs / 1000, 2),
    peakRssMiB: round((verified.meter?.maxRssBytes ?? NaN) / MIB, 1),
  };
  say(`    verify: exit ${String(result.exitCode)}, ${result.wallS} s, peak RSS ${result.peakRssMiB} MiB`);
  return result;
}

/**
 * Exports again into a kept container, then downloads the author's bundle through the HTTP handler in a
 * process of its own: its peak RSS against a Functions instance's memory (Flex: 2,048 or 4,096 MB).
 */
async function bundleLarge(
  product: BenchOptions['products'][number],
  endpoints: Endpoints,
  authorId: string,
): Promise<NonNullable<LargeAuthorRun['bundle']>> {
  const env = userEnvironment(contractSettings(endpoints, uniqueName('bundle'), product.settings));
  await runMeasured(productCommand(product, 'node', ['run']), env);
  const measured = await runMeasured(benchScriptCommand('bundleChild', [authorId]), env);
  const zipBytes = (JSON.parse(measured.stdout || '{}') as { zipBytes?: number }).zipBytes ?? NaN;
  const result = {
    exitCode: measured.code,
    wallS: round(measured.wallMs / 1000, 2),
    peakRssMiB: round((measured.meter?.maxRssBytes ?? NaN) / MIB, 1),
    zipMiB: round(zipBytes / MIB, 1),
  };
  say(
    `    bundle over HTTP: exit ${String(result.exitCode)}, ${result.wallS} s, peak RSS ${result.peakRssMiB} MiB, zip ${result.zipMiB} MiB`,
  );
  return result;
}
