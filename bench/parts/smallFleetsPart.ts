import { fork } from 'node:child_process';
import { join } from 'node:path';
import { startAzurite } from '../../dev/azurite';
import type { VaultEmulator } from '../../dev/vault-emulator';
import type { BenchOptions } from '../benchOptions';
import type { FanOutHostResult, FanOutHostSetup } from '../fanOutHost';
import { userEnvironment, type Product } from '../measuredProcess';
import {
  fleetAuthorIds,
  MIB,
  round,
  say,
  startFleetVault,
  startCountingProxy,
  startSimulatorProcess,
  stopChild,
  type ProxiedRequest,
  uniqueName,
  type SimulatorProcess,
} from '../support';
import {
  catalogFigures,
  contractSettings,
  describeRun,
  inTurn,
  measureProductRun,
  type Endpoints,
  type ProductRun,
} from './productRun';

/**
 * How cost grows with the number of authors (issue 14, rows 8 and 9): two fleets of small authors (4
 * entities each, latency 10 ms), exported by `gallery-export run` (CLI scale) and through the Functions
 * handlers as the host runs them (fan-out: the timer, then every queue message, 16 invocations at a time,
 * in one worker process: bench/fanOutHost.ts).
 */
export interface FleetRun extends ProductRun {
  fleet: number;
}

export interface FanOutRun {
  product: string;
  fleet: number;
  /** Epoch ms of the deliveries: from the timer invocation's end to the drain's. */
  window?: { from: number; to: number };
  /** Blob requests during the deliveries (at a counting proxy), over the authors recorded. */
  blobOperationsPerAuthor?: number;
  /** The same requests by kind (method and `comp`), in all. */
  blobOperationsByKind?: Record<string, number>;
  drainS: number;
  timerS: number;
  finalised: boolean;
  status: string | undefined;
  outcomes: number;
  pending: number;
  invocations: number;
  failedInvocations: number;
  poisonInvocations: number;
  maxActive: number;
  meanActive: number;
  warnings: number;
  messages: string[];
  /** The worker process (the product's handlers and this bench's small host loop). */
  cpuS: number;
  peakRssMiB: number;
  requests: number;
  meanInFlight: number;
  maxInFlight: number;
  error?: string;
}

export interface SmallFleetsResults {
  fleets: readonly [number, number];
  entitiesPerAuthor: number;
  latencyMs: number;
  launcher: string;
  cli: FleetRun[];
  fanOut: FanOutRun[];
}

export async function smallFleetsPart(
  options: BenchOptions,
  parts: { cli: boolean; fanOut: boolean },
): Promise<SmallFleetsResults> {
  const { fleets, entities, latencyMs } = options.scale;
  const authorIds = fleetAuthorIds('small', Math.max(...fleets));
  say(`small fleets: ${fleets.join(' and ')} authors x ${entities} entities, L=${latencyMs} ms...`);
  const simulator = await startSimulatorProcess({
    catalog: options.catalog,
    seed: 1,
    authors: authorIds.map((authorId) => ({ authorId, entities, unlistedRatio: 0.25 })),
    faults: { latencyMs, maxTop: 100 },
  });
  const vaults = new Map<number, VaultEmulator>();
  for (const fleet of fleets) {
    vaults.set(fleet, await startFleetVault(authorIds.slice(0, fleet), simulator.tokens));
  }
  const endpointsOf = (fleet: number, storage: string): Endpoints => ({
    catalogUrl: simulator.url,
    vaultUrl: vaults.get(fleet)!.url,
    storage,
  });
  const results: SmallFleetsResults = {
    fleets,
    entitiesPerAuthor: entities,
    latencyMs,
    launcher: options.launcher,
    cli: [],
    fanOut: [],
  };
  try {
    if (parts.cli) {
      const azurite = await startAzurite({ extentMemoryLimitMb: 4096 });
      try {
        for (let repetition = 0; repetition < options.scale.repetitions; repetition++) {
          for (const fleet of fleets) {
            for (const product of inTurn(options.products, repetition)) {
              say(`  CLI ${fleet} authors, ${product.label}, run ${repetition + 1}...`);
              const endpoints = endpointsOf(fleet, azurite.connectionString);
              const run = await measureProductRun(
                product,
                options.launcher,
                simulator,
                endpoints,
                repetition + 1,
              );
              say(`    ${describeRun(run)}`);
              results.cli.push({ ...run, fleet });
            }
          }
        }
      } finally {
        await azurite.stop();
      }
    }
    if (parts.fanOut) {
      for (const fleet of fleets) {
        for (const product of inTurn(options.products, 0)) {
          say(
            `  fan-out ${fleet} authors, ${product.label} (at most ${options.fanOut.timeoutMs / 1000} s)...`,
          );
          // A storage emulator of its own: a drain that overloads it leaves nothing behind for the next.
          const azurite = await startAzurite({ extentMemoryLimitMb: 4096 });
          let run: FanOutRun;
          // The smaller fleet's blob requests are counted at a proxy: operations per author (issue 28).
          const proxy =
            fleet === fleets[0]
              ? await startCountingProxy(azurite.connectionString, azurite.blobPort)
              : undefined;
          try {
            const endpoints = endpointsOf(fleet, proxy?.connectionString ?? azurite.connectionString);
            run = await measureFanOut(
              options,
              product,
              simulator,
              endpoints,
              fleet,
              proxy && azurite.connectionString,
            );
            if (proxy && run.window) {
              const { from, to } = run.window;
              const during = proxy.requests.filter(
                (request) => request.atEpochMs >= from && request.atEpochMs <= to,
              );
              run.blobOperationsPerAuthor = round(during.length / Math.max(1, run.outcomes), 2);
              run.blobOperationsByKind = countByKind(during);
            }
          } finally {
            await proxy?.close();
            await azurite.stop();
          }
          say(
            `    drained in ${run.drainS.toFixed(2)} s (${run.finalised ? run.status : `not finalised, ${run.pending} pending`}), CPU ${run.cpuS.toFixed(2)} s, ${run.requests} requests, mean in flight ${run.meanInFlight.toFixed(1)}, ${run.invocations} invocations (${run.failedInvocations} failed), mean ${run.meanActive.toFixed(1)} at a time${run.blobOperationsPerAuthor === undefined ? '' : `, ${run.blobOperationsPerAuthor} blob operations per author`}${run.error ? `; ${run.error}` : ''}`,
          );
          results.fanOut.push(run);
        }
      }
    }
    return results;
  } finally {
    await simulator.stop();
    for (const vault of vaults.values()) await vault.close();
  }
}

async function measureFanOut(
  options: BenchOptions,
  product: Product,
  simulator: SimulatorProcess,
  endpoints: Endpoints,
  fleet: number,
  hostStorage?: string,
): Promise<FanOutRun> {
  const container = uniqueName(`fan-${product.label}`);
  const setup: FanOutHostSetup = {
    productRoot: product.root,
    settings: contractSettings(endpoints, container, {
      EXPORT_MODE: 'queue',
      EXPORT_QUEUE: uniqueName(`q-${product.label}`),
      ...product.settings,
    }),
    concurrency: options.fanOut.concurrency,
    timeoutMs: options.fanOut.timeoutMs,
    authors: fleet,
    ...(hostStorage === undefined ? {} : { hostStorage }),
  };
  await simulator.resetStats();
  const child = fork(join(__dirname, '..', 'fanOutHost.js'), [JSON.stringify(setup)], {
    cwd: product.root,
    env: userEnvironment({}),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let errTail = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errTail = (errTail + chunk.toString('utf8')).slice(-2000);
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), options.fanOut.timeoutMs + 120_000);
  const result = await new Promise<FanOutHostResult | undefined>((resolve) => {
    child.once('message', (message) => resolve((message as { result: FanOutHostResult }).result));
    child.once('exit', () => resolve(undefined));
  });
  clearTimeout(guard);
  await stopChild(child);
  const stats = catalogFigures(await simulator.stats());
  if (!result) {
    return {
      ...emptyFanOut(product.label, fleet),
      error: `the fan-out host failed: ${errTail}`,
    };
  }
  return {
    product: product.label,
    fleet,
    drainS: round(result.drainMs / 1000, 3),
    timerS: round(result.timerMs / 1000, 3),
    window: { from: result.timerEndedAtEpochMs, to: result.drainEndedAtEpochMs },
    finalised: result.finalised,
    status: result.status,
    outcomes: result.outcomes,
    pending: result.pending,
    invocations: result.invocations,
    failedInvocations: result.failedInvocations,
    poisonInvocations: result.poisonInvocations,
    maxActive: result.maxActive,
    meanActive: round(result.meanActive, 2),
    warnings: result.warnings,
    messages: result.messages,
    cpuS: round(result.cpuMs / 1000, 3),
    peakRssMiB: round(result.maxRssBytes / MIB, 1),
    requests: stats.requests,
    meanInFlight: stats.meanInFlight,
    maxInFlight: stats.maxInFlight,
  };
}

/** Requests by method and `comp` (lease, list, appendblock...), the way storage bills them. */
function countByKind(requests: readonly ProxiedRequest[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const request of requests) {
    const url = new URL(request.path, 'http://storage');
    const comp = url.searchParams.get('comp');
    const kind = `${request.method}${comp ? ` ${comp}` : ''}`;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

function emptyFanOut(product: string, fleet: number): FanOutRun {
  return {
    product,
    fleet,
    drainS: NaN,
    timerS: NaN,
    finalised: false,
    status: undefined,
    outcomes: 0,
    pending: fleet,
    invocations: 0,
    failedInvocations: 0,
    poisonInvocations: 0,
    maxActive: 0,
    meanActive: 0,
    warnings: 0,
    messages: [],
    cpuS: NaN,
    peakRssMiB: NaN,
    requests: 0,
    meanInFlight: 0,
    maxInFlight: 0,
  };
}
