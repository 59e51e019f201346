import type { RunRecord } from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { createWorld, useAzuriteAndVault } from '../support/world';

/**
 * Retry-After holds for every later request of that URL (issue 12): under the heavy preset of the
 * simulator (20 % 429 with `Retry-After: 1`, 10 % 503, 5 % resets, churn), whichever pass or author asks
 * for a page again, it never arrives before the wait the catalog asked for. The simulator counts it.
 */
const servers = useAzuriteAndVault();

const HEAVY = {
  throttleRate: 0.2,
  retryAfterSeconds: 1,
  serverErrorRate: 0.1,
  resetRate: 0.05,
  churn: { rate: 0.05, maxEventsPerAuthor: 3 },
  latencyMs: 5,
};

test.each([1, 2, 3])(
  "seed %i: no request arrives before its URL's Retry-After has elapsed",
  async (seed) => {
    const world = await createWorld(
      servers,
      Array.from({ length: 8 }, () => ({ entities: 1500 })),
      {
        simulator: { faults: { ...HEAVY, seed } },
        env: { CATALOG_CONCURRENCY: '8' },
      },
    );
    try {
      const result = await runCli(['run', '--json'], world.env);
      const record = JSON.parse(result.stdout) as RunRecord;
      const { stats } = world.catalog;
      expect(stats.faults.throttle).toBeGreaterThan(10);
      // The same URLs were asked for again (retries, and passes read again after churn).
      const targets = world.catalog.requestLog.map(
        (entry) => `${entry.path}?${new URLSearchParams(entry.query).toString()}`,
      );
      expect(new Set(targets).size).toBeLessThan(targets.length);
      expect(stats.beforeRetryAfter).toBe(0);
      expect(record.authors.filter((author) => author.status === 'complete').length).toBeGreaterThan(0);
    } finally {
      await world.catalog.close();
    }
  },
  120_000,
);
