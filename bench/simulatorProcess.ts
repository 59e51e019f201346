import { generateCatalogData, startCatalogSimulator, type CatalogFaults } from '../dev/catalog-simulator';

/**
 * The catalog simulator in a process of its own, so a benchmark measures the exporter's memory and CPU,
 * not the simulator's. Reads its setup as JSON from argv[2]; prints one JSON line
 * `{"url": ..., "tokens": {authorId: token}}` when it listens, and serves until killed.
 */
interface SimulatorSetup {
  seed: number;
  authors: Array<{ authorId: string; entities: number; unlistedRatio?: number }>;
  faults?: CatalogFaults;
}

async function main(): Promise<void> {
  const setup = JSON.parse(process.argv[2] ?? '{}') as SimulatorSetup;
  const simulator = await startCatalogSimulator({
    data: generateCatalogData({ seed: setup.seed, authors: setup.authors }),
    faults: setup.faults ?? {},
  });
  simulator.warmUp();
  const tokens = Object.fromEntries(
    setup.authors.map((author) => [author.authorId, simulator.issueToken(author.authorId)]),
  );
  process.stdout.write(`${JSON.stringify({ url: simulator.url, tokens })}\n`);
  process.on('message', (message) => {
    if (message === 'stats') {
      const arrivals = simulator.requestLog.map((entry) => performance.timeOrigin + entry.arrivedAt);
      process.send?.({
        stats: {
          ...simulator.stats,
          firstArrival: Math.min(...arrivals),
          lastArrival: Math.max(...arrivals),
        },
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

void main();
