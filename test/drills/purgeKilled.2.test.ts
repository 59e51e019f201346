import { useAzuriteAndVault } from '../support/world';
import { KILL_POINTS, killPurgeAfter, SIGNING_KEY } from './purgeKilledDrill';

/** Drill (issue 25): a purge killed after each of its steps, then run again, ends as if never killed (part 2). */
const servers = useAzuriteAndVault();

beforeAll(async () => {
  await servers.vault.createKey(SIGNING_KEY, { size: 3072, keyOps: ['sign', 'verify'] });
});

test.each(KILL_POINTS.filter((_, index) => index % 2 === 2 - 1).map((point) => [point.after, point]))(
  'killed after %s, then purged again',
  async (_after, point) => {
    await killPurgeAfter(servers, point);
  },
  120_000,
);
