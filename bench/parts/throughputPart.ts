import { startAzurite } from '../../dev/azurite';
import type { BenchOptions } from '../benchOptions';
import { benchScriptCommand, cpuMs, runMeasured, userEnvironment } from '../measuredProcess';
import {
  deleteContainer,
  fleetAuthorIds,
  MIB,
  round,
  say,
  startFleetVault,
  startSimulatorProcess,
  uniqueName,
} from '../support';
import {
  catalogFigures,
  describeRun,
  inTurn,
  measureProductRun,
  measureStart,
  type Endpoints,
  type ProductRun,
} from './productRun';

/**
 * Throughput (issue 14, rows 1 to 6): A authors x E entities (10 % unlisted, valid tokens), the catalog
 * answering every request after L = 100 ms and serving at most 100 items a page, the product started as a
 * user would with CATALOG_CONCURRENCY=16 and CATALOG_PAGE_SIZE=100 only. Each run is set against the bound
 * ceil(requests / 16) x L and against the naive sequential exporter measured in the same session.
 */
export interface ThroughputRun extends ProductRun {
  /** Median `--version` time of this product and launcher in this session. */
  startS: number;
  boundS: number;
  ratioToBound: number;
  ratioToBoundWithoutStart: number;
  speedupOverNaive: number;
  /** This run's CPU (user + sys) over the naive exporter's, measured in the same session. */
  cpuOverNaive: number;
  /** The same integral over the whole wall (process start and the final writes included). */
  meanInFlightOverWall: number;
}

export interface NaiveRun {
  wallS: number;
  cpuS: number;
  peakRssMiB: number;
  requests: number;
  connections: number;
  meanInFlight: number;
  exitCode: number | null;
}

export interface ThroughputResults {
  authors: number;
  /** The entities served (see BenchCatalogShape). */
  catalog: BenchOptions['catalog'];
  entitiesPerAuthor: number;
  latencyMs: number;
  concurrency: number;
  maxTop: number;
  launcher: string;
  start: Record<string, { medianS: number; samplesS: number[] }>;
  naive: NaiveRun;
  runs: ThroughputRun[];
}

export async function throughputPart(options: BenchOptions): Promise<ThroughputResults> {
  const { authors, entities, latencyMs, concurrency } = options.throughput;
  const authorIds = fleetAuthorIds('throughput', authors);
  say(
    `throughput: ${authors} authors x ${entities} ${options.catalog.shape} entities (${options.catalog.wrapRate * 100} % wrapped), L=${latencyMs} ms, maxTop 100...`,
  );
  const azurite = await startAzurite({ extentMemoryLimitMb: 4096 });
  const simulator = await startSimulatorProcess({
    catalog: options.catalog,
    seed: 1,
    authors: authorIds.map((authorId) => ({ authorId, entities, unlistedRatio: 0.1 })),
    faults: { latencyMs, maxTop: 100 },
  });
  const vault = await startFleetVault(authorIds, simulator.tokens);
  const endpoints: Endpoints = {
    catalogUrl: simulator.url,
    vaultUrl: vault.url,
    storage: azurite.connectionString,
  };
  try {
    const start: ThroughputResults['start'] = {};
    for (const product of options.products) {
      start[product.label] = await measureStart(product, options.launcher, options.startSamples);
      say(
        `  ${product.label}: process start (${options.launcher}, --version) ${start[product.label]!.medianS} s`,
      );
    }

    say('  naive sequential exporter...');
    const naiveContainer = uniqueName('naive');
    await simulator.resetStats();
    const naiveProcess = await runMeasured(
      benchScriptCommand('naiveExporter'),
      userEnvironment({
        CATALOG_BASE_URL: endpoints.catalogUrl,
        KEY_VAULT_URL: endpoints.vaultUrl,
        EXPORT_STORAGE: endpoints.storage,
        EXPORT_CONTAINER: naiveContainer,
        CATALOG_PAGE_SIZE: '100',
      }),
    );
    const naiveStats = catalogFigures(await simulator.stats());
    await deleteContainer(endpoints.storage, naiveContainer);
    const naive: NaiveRun = {
      wallS: round(naiveProcess.wallMs / 1000, 3),
      cpuS: round(cpuMs(naiveProcess.meter) / 1000, 3),
      peakRssMiB: round((naiveProcess.meter?.maxRssBytes ?? NaN) / MIB, 1),
      requests: naiveStats.requests,
      connections: naiveStats.connections,
      meanInFlight: naiveStats.meanInFlight,
      exitCode: naiveProcess.code,
    };
    say(
      `  naive: wall ${naive.wallS} s, CPU ${naive.cpuS} s, ${naive.requests} requests, peak RSS ${naive.peakRssMiB} MiB`,
    );
    if (naiveProcess.code !== 0) say(`  naive: FAILED ${naiveProcess.stderrTail}`);

    const runs: ThroughputRun[] = [];
    for (let repetition = 0; repetition < options.repetitions; repetition++) {
      for (const product of inTurn(options.products, repetition)) {
        say(`  ${product.label}, run ${repetition + 1} of ${options.repetitions}...`);
        const run = await measureProductRun(product, options.launcher, simulator, endpoints, repetition + 1, {
          cpuProfileDir: options.cpuProfileDir,
        });
        const startS = start[product.label]!.medianS;
        const boundS = (Math.ceil(run.requests / concurrency) * latencyMs) / 1000;
        const figures: ThroughputRun = {
          ...run,
          startS,
          boundS,
          ratioToBound: round(run.wallS / boundS, 3),
          ratioToBoundWithoutStart: round((run.wallS - startS) / boundS, 3),
          speedupOverNaive: round(naive.wallS / run.wallS, 2),
          cpuOverNaive: round(run.cpuS / naive.cpuS, 3),
          meanInFlightOverWall: round((run.meanInFlight * run.catalogPhaseS) / run.wallS, 2),
        };
        say(
          `    ${describeRun(run)}; ${figures.ratioToBound}x the bound (${figures.ratioToBoundWithoutStart}x without start), ${figures.speedupOverNaive}x naive, CPU ${figures.cpuOverNaive}x naive's`,
        );
        runs.push(figures);
      }
    }
    return {
      authors,
      catalog: options.catalog,
      entitiesPerAuthor: entities,
      latencyMs,
      concurrency,
      maxTop: 100,
      launcher: options.launcher,
      start,
      naive,
      runs,
    };
  } finally {
    await simulator.stop();
    await vault.close();
    await azurite.stop();
  }
}
