import { generateCatalogData, startCatalogSimulator, type RequestLogEntry } from '../dev/catalog-simulator';
import type { CatalogRunStats, SimulatorSetup } from './support';

/**
 * The catalog simulator in a process of its own, so a benchmark measures the exporter's memory and CPU,
 * not the simulator's. Reads its setup as JSON from argv[2]; prints one JSON line
 * `{"url": ..., "tokens": {authorId: token}}` when it listens, and serves until killed. Over IPC it answers
 * `stats` (a {@link CatalogRunStats} of the requests since the last `reset`) and `reset`.
 */
async function main(): Promise<void> {
  const setup = JSON.parse(process.argv[2] ?? '{}') as SimulatorSetup;
  const simulator = await startCatalogSimulator({
    data: generateCatalogData({ seed: setup.seed, authors: setup.authors, shape: setup.catalog?.shape }),
    faults: setup.faults ?? {},
    wrapRate: setup.catalog?.wrapRate ?? 0,
  });
  simulator.warmUp();
  const tokens = Object.fromEntries(
    setup.authors.map((author) => [author.authorId, simulator.issueToken(author.authorId)]),
  );
  process.stdout.write(`${JSON.stringify({ url: simulator.url, tokens })}\n`);
  process.on('message', (message) => {
    if (message === 'stats') {
      const { stats } = simulator;
      const arrivals = simulator.requestLog.map((entry) => performance.timeOrigin + entry.arrivedAt);
      process.send?.({
        stats: {
          // Everything the simulator counts, and the fields this process always sent, for other harnesses.
          ...stats,
          firstArrival: Math.min(...arrivals),
          lastArrival: Math.max(...arrivals),
          ...inFlightProfile(simulator.requestLog, performance.now()),
          requests: stats.requests,
          profileRequests: simulator.requestLog.filter((entry) => entry.path.startsWith('/users/')).length,
          listRequests: simulator.requestLog.filter((entry) => entry.path === '/entities').length,
          byStatus: stats.byStatus,
          faults: stats.faults,
          maxInFlight: stats.maxInFlight,
          connections: stats.connections,
        } satisfies CatalogRunStats & { firstArrival: number; lastArrival: number },
      });
    }
    if (message === 'reset') {
      simulator.resetStats();
      process.send?.({ reset: true });
    }
  });
  const stop = (): void => {
    void simulator.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('disconnect', stop);
}

/**
 * Requests in flight over the catalog phase (first arrival to last response end), from the request log:
 * exact, not sampled. A request still open counts until `now`.
 */
function inFlightProfile(
  log: readonly RequestLogEntry[],
  now: number,
): Pick<
  CatalogRunStats,
  'firstArrivalMs' | 'lastFinishMs' | 'busyMs' | 'meanInFlight' | 'msAtLevel' | 'gaps'
> {
  if (log.length === 0) {
    return {
      firstArrivalMs: NaN,
      lastFinishMs: NaN,
      busyMs: 0,
      meanInFlight: 0,
      msAtLevel: [],
      gaps: undefined,
    };
  }
  const events: Array<[number, 1 | -1]> = [];
  let busyMs = 0;
  for (const entry of log) {
    const finishedAt = entry.finishedAt ?? now;
    busyMs += finishedAt - entry.arrivedAt;
    events.push([entry.arrivedAt, 1], [finishedAt, -1]);
  }
  // At equal times ends first: a slot handed straight to the next request is not two in flight.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const msAtLevel: number[] = [];
  let level = 0;
  let previous = events[0]![0];
  for (const [time, change] of events) {
    msAtLevel[level] = (msAtLevel[level] ?? 0) + (time - previous);
    previous = time;
    level += change;
  }
  const first = events[0]![0];
  const last = events.at(-1)![0];
  // Where the phase is below the full budget: before it first reaches it, after it last leaves it, and
  // between (author hand-overs, a busy event loop).
  const full = concurrencyOf(events);
  let reachedAt: number | undefined;
  let leftAt = last;
  let below = 0;
  let belowSince: number | undefined = first;
  let current = 0;
  for (const [time, change] of events) {
    current += change;
    if (current >= full) {
      if (belowSince !== undefined && reachedAt !== undefined) below += time - belowSince;
      reachedAt ??= time;
      belowSince = undefined;
    } else if (belowSince === undefined) {
      belowSince = time;
      leftAt = time;
    }
  }
  return {
    gaps: {
      budget: full,
      startMs: Math.round((reachedAt ?? last) - first),
      middleMs: Math.round(below),
      tailMs: Math.round(last - leftAt),
    },
    firstArrivalMs: performance.timeOrigin + first,
    lastFinishMs: performance.timeOrigin + last,
    busyMs,
    meanInFlight: last > first ? busyMs / (last - first) : 0,
    msAtLevel: Array.from(msAtLevel, (ms) => Math.round(ms ?? 0)),
  };
}

/** The highest level the run reached: the budget it was given (16 in the bench). */
function concurrencyOf(events: ReadonlyArray<[number, 1 | -1]>): number {
  let level = 0;
  let highest = 0;
  for (const [, change] of events) {
    level += change;
    highest = Math.max(highest, level);
  }
  return highest;
}

void main();
