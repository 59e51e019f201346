import { LeaseKeeper } from '../../src/export/LeaseKeeper';
import type { Logger, RenewableLease } from '../../src/export/ports';

/**
 * The fence's promises, on a clock the test moves: a write is only ever allowed inside the time a
 * renewal the service accepted guarantees (its send time plus the lease, less a third as margin); a
 * refused renewal stops everything; fences asked for together share one renewal, and only then.
 */
const LEASE_SECONDS = 15;
const LEASE_MS = LEASE_SECONDS * 1000;

class ScriptedLease implements RenewableLease {
  renewals = 0;
  held = true;
  /** How long (on the test's clock) each renewal takes to be answered. */
  takesMs = 0;
  constructor(private readonly clock: { ms: number }) {}
  renew(): Promise<boolean> {
    this.renewals++;
    this.clock.ms += this.takesMs;
    return Promise.resolve(this.held);
  }
}

function keeperWith(...leases: ScriptedLease[]): { keeper: LeaseKeeper; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = {
    info: () => undefined,
    warn: (line) => warnings.push(line),
    error: () => undefined,
  };
  const keeper = new LeaseKeeper(
    leases.map((lease, index) => ({ lease, what: index === 0 ? 'the run lock' : 'the claim' })),
    { leaseSeconds: LEASE_SECONDS, logger, now: () => clock.ms },
  );
  return { keeper, warnings };
}

let clock: { ms: number };
beforeEach(() => {
  clock = { ms: 1_000_000 };
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

test('a fence renews every lease, and its write may go out until the renewal plus two thirds of the lease', async () => {
  const run = new ScriptedLease(clock);
  const claim = new ScriptedLease(clock);
  const { keeper } = keeperWith(run, claim);
  const window = await keeper.fence();
  expect([run.renewals, claim.renewals]).toEqual([1, 1]);
  // The margin is counted from when the renewal was sent, not from when its answer came.
  jest.advanceTimersByTime((2 * LEASE_MS) / 3 - 1);
  expect(window.aborted).toBe(false);
  jest.advanceTimersByTime(1);
  expect(window.aborted).toBe(true);
  expect(window.reason).toMatchObject({ code: 'RUN_LOCK_LOST' });
  expect(keeper.signal.aborted).toBe(false); // the lock itself is not lost, only that write's window
});

test('a renewal whose answer took longer than the margin is not trusted for a write', async () => {
  const run = new ScriptedLease(clock);
  run.takesMs = (2 * LEASE_MS) / 3;
  const { keeper } = keeperWith(run);
  await expect(keeper.fence()).rejects.toMatchObject({
    code: 'RUN_LOCK_LOST',
    message: expect.stringContaining('renewing took longer than the lease allows') as unknown,
  });
  expect(keeper.signal.aborted).toBe(true);
});

test('fences asked for together share one renewal; a fence later, or after a lease was added, renews again', async () => {
  const run = new ScriptedLease(clock);
  const { keeper } = keeperWith(run);
  await Promise.all([keeper.fence(), keeper.fence(), keeper.fence()]);
  expect(run.renewals).toBe(1);
  clock.ms += 100;
  await keeper.fence();
  expect(run.renewals).toBe(1);
  clock.ms += 1000;
  await keeper.fence();
  expect(run.renewals).toBe(2);
  // A claim taken now is not proven by a renewal sent before it was kept.
  const claim = new ScriptedLease(clock);
  keeper.add({ lease: claim, what: 'the claim' });
  await keeper.fence();
  expect([run.renewals, claim.renewals]).toEqual([3, 1]);
});

test('a refused renewal stops the holder: its signal fires with RUN_LOCK_LOST and no later fence passes', async () => {
  const run = new ScriptedLease(clock);
  const claim = new ScriptedLease(clock);
  const { keeper, warnings } = keeperWith(run, claim);
  const window = await keeper.fence();
  claim.held = false;
  clock.ms += 1000;
  await expect(keeper.fence()).rejects.toMatchObject({
    code: 'RUN_LOCK_LOST',
    message: expect.stringContaining('the claim was taken or broken') as unknown,
  });
  expect(keeper.signal.aborted).toBe(true);
  expect(window.aborted).toBe(true); // a write still in flight under the earlier fence is cut too
  claim.held = true;
  await expect(keeper.fence()).rejects.toMatchObject({ code: 'RUN_LOCK_LOST' });
  expect(warnings).toHaveLength(1);
});

test('in the background, leases are renewed every third of their length; storage that cannot answer for a whole lease loses them', async () => {
  const run = new ScriptedLease(clock);
  const { keeper, warnings } = keeperWith(run);
  keeper.start();
  const third = LEASE_MS / 3;
  for (let tick = 1; tick <= 3; tick++) {
    clock.ms += third;
    await jest.advanceTimersByTimeAsync(third);
  }
  expect(run.renewals).toBe(3);
  // Storage unreachable from now on: warnings while the lease may still be ours, then lost.
  run.renew = () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:10000'));
  for (let tick = 1; tick <= 3; tick++) {
    clock.ms += third;
    await jest.advanceTimersByTimeAsync(third);
  }
  expect(keeper.signal.aborted).toBe(true);
  expect(keeper.signal.reason).toMatchObject({
    code: 'RUN_LOCK_LOST',
    message: expect.stringContaining(`could not be renewed for ${LEASE_SECONDS} s`) as unknown,
  });
  expect(warnings.filter((line) => line.startsWith('Could not renew'))).toHaveLength(2);
  keeper.stop();
});
