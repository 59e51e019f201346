import { join } from 'node:path';
import {
  cpuMs,
  productCommand,
  runMeasured,
  userEnvironment,
  type Launcher,
  type MeasuredCommand,
  type Product,
} from '../measuredProcess';
import {
  deleteContainer,
  MIB,
  readRunRecords,
  round,
  say,
  spread,
  uniqueName,
  type CatalogRunStats,
  type SimulatorProcess,
} from '../support';

/** Where a measured run's dependencies listen. */
export interface Endpoints {
  catalogUrl: string;
  vaultUrl: string;
  storage: string;
}

/**
 * The settings a user sets, and nothing else: the connection settings the contract requires, and the two
 * the issue names (CATALOG_CONCURRENCY=16, CATALOG_PAGE_SIZE=100). No AUTHOR_CONCURRENCY, no hidden knob.
 */
export function contractSettings(
  endpoints: Endpoints,
  container: string,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return {
    CATALOG_BASE_URL: endpoints.catalogUrl,
    KEY_VAULT_URL: endpoints.vaultUrl,
    EXPORT_STORAGE: endpoints.storage,
    EXPORT_CONTAINER: container,
    CATALOG_CONCURRENCY: '16',
    CATALOG_PAGE_SIZE: '100',
    ...extra,
  };
}

/** One `gallery-export run` as the catalog, storage and the process itself saw it. */
export interface ProductRun {
  product: string;
  repetition: number;
  exitCode: number | null;
  /** The run record's status, read from storage afterwards. */
  status: string;
  authors: number;
  entities: number;
  /** From spawn to exit: process start (and npx, when it is the launcher) included. */
  wallS: number;
  /** The gallery-export process alone, from its start to its exit. */
  processS: number;
  cpuS: number;
  userCpuS: number;
  systemCpuS: number;
  peakRssMiB: number;
  requests: number;
  profileRequests: number;
  listRequests: number;
  maxInFlight: number;
  /** Integrated from the simulator's request log over the catalog phase (first arrival to last answer). */
  meanInFlight: number;
  catalogPhaseS: number;
  /** Where the catalog phase was below the budget (see CatalogRunStats.gaps). */
  gaps?: CatalogRunStats['gaps'];
  connections: number;
  byStatus: Record<string, number>;
  error?: string;
}

export async function measureProductRun(
  product: Product,
  launcher: Launcher,
  simulator: SimulatorProcess,
  endpoints: Endpoints,
  repetition: number,
  options: { cpuProfileDir?: string | undefined } = {},
): Promise<ProductRun> {
  const container = uniqueName(`run-${product.label}`);
  await simulator.resetStats();
  const run = await runMeasured(
    productCommand(product, launcher, ['run']),
    userEnvironment(contractSettings(endpoints, container, product.settings)),
    { cpuProfileDir: options.cpuProfileDir && join(options.cpuProfileDir, `${product.label}-${repetition}`) },
  );
  const stats = await simulator.stats();
  const records = await readRunRecords(endpoints.storage, container).catch((error: unknown) => {
    say(`  could not read the run record: ${String(error)}`);
    return [];
  });
  await deleteContainer(endpoints.storage, container).catch((error: unknown) =>
    say(`  could not delete container ${container}: ${String(error)}`),
  );
  const record = records[0];
  const result: ProductRun = {
    product: product.label,
    repetition,
    exitCode: run.code,
    status: record?.status ?? 'no run record',
    authors: record?.authors.length ?? 0,
    entities: record?.authors.reduce((sum, author) => sum + (author.counts?.entities ?? 0), 0) ?? 0,
    wallS: round(run.wallMs / 1000, 3),
    processS: round((run.meter?.lifetimeMs ?? NaN) / 1000, 3),
    cpuS: round(cpuMs(run.meter) / 1000, 3),
    userCpuS: round((run.meter?.userCpuMs ?? NaN) / 1000, 3),
    systemCpuS: round((run.meter?.systemCpuMs ?? NaN) / 1000, 3),
    peakRssMiB: round((run.meter?.maxRssBytes ?? NaN) / MIB, 1),
    ...catalogFigures(stats),
  };
  if (run.code !== 0 || record?.status !== 'complete') {
    result.error = `exit ${String(run.code)}${run.signal ? ` (${run.signal})` : ''}, run ${result.status}: ${run.stderrTail}`;
    say(`  ${product.label}: FAILED ${result.error}`);
  }
  return result;
}

export function catalogFigures(
  stats: CatalogRunStats,
): Pick<
  ProductRun,
  | 'requests'
  | 'profileRequests'
  | 'listRequests'
  | 'maxInFlight'
  | 'meanInFlight'
  | 'catalogPhaseS'
  | 'gaps'
  | 'connections'
  | 'byStatus'
> {
  return {
    requests: stats.requests,
    profileRequests: stats.profileRequests,
    listRequests: stats.listRequests,
    maxInFlight: stats.maxInFlight,
    meanInFlight: round(stats.meanInFlight, 2),
    catalogPhaseS: round((stats.lastFinishMs - stats.firstArrivalMs) / 1000, 3),
    gaps: stats.gaps,
    connections: stats.connections,
    byStatus: stats.byStatus,
  };
}

/**
 * Process start, measured as the brief says: `gallery-export --version` started the same way, a few
 * times; the median is what a run's wall is reduced by for the "start taken out" figures.
 */
export async function measureStart(
  product: Product,
  launcher: Launcher,
  samples: number,
): Promise<{ medianS: number; samplesS: number[] }> {
  const samplesS: number[] = [];
  for (let index = 0; index < samples; index++) {
    samplesS.push(round((await timeOnce(productCommand(product, launcher, ['--version']))) / 1000, 3));
  }
  return { medianS: spread(samplesS).median, samplesS };
}

async function timeOnce(command: MeasuredCommand): Promise<number> {
  const run = await runMeasured(command, userEnvironment({}));
  if (run.code !== 0)
    throw new Error(`${command.args.join(' ')} exited ${String(run.code)}: ${run.stderrTail}`);
  return run.wallMs;
}

/** Products in turn, the order flipped every repetition, so a drift of the machine favours neither. */
export function inTurn<T>(items: readonly T[], repetition: number): T[] {
  return repetition % 2 === 0 ? [...items] : [...items].reverse();
}

export function describeRun(run: ProductRun): string {
  const gaps = run.gaps
    ? `; below ${run.gaps.budget}: ${run.gaps.startMs} ms at the start, ${run.gaps.middleMs} ms between, ${run.gaps.tailMs} ms in the tail`
    : '';
  return `wall ${run.wallS.toFixed(2)} s, CPU ${run.cpuS.toFixed(2)} s, ${run.requests} requests, mean in flight ${run.meanInFlight.toFixed(1)} (max ${run.maxInFlight}${gaps}), peak RSS ${run.peakRssMiB.toFixed(0)} MiB, ${run.entities} entities, ${run.status}`;
}
