import { GalleryExportError } from '../../src/contract/errors';
import { VaultRateBudget, type VaultGrant } from '../../src/vault/VaultRateBudget';

/**
 * The process's rate budget for one vault. Arithmetic runs on a clock the test sets; waits run on small
 * real delays, and what is asserted is order and lower bounds (a wait never ends early), never speed.
 */

/** Lets every already-settled promise run its callbacks. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resolves with `promise`, or rejects if it is still pending after `ms` (far below the waits at stake). */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

test("hands out a second's worth of burst at once, then paces the rest in order", async () => {
  const budget = new VaultRateBudget({ transactionsPer10s: 50 });
  const order: number[] = [];
  const all = Array.from({ length: 7 }, (_, index) => budget.acquire().then(() => order.push(index)));
  await settle();
  expect(order).toEqual([0, 1, 2, 3, 4]);
  expect(budget.waiting).toBe(2);
  await Promise.all(all);
  expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
});

test('a 429 to one caller pauses every caller until the wait the vault asked for is over', async () => {
  const budget = new VaultRateBudget();
  const throttledGrant = await budget.acquire();
  const throttledAt = performance.now();
  budget.onThrottled(throttledGrant, 300);
  const grants = await Promise.all([budget.acquire(), budget.acquire(), budget.acquire(undefined, true)]);
  for (const grant of grants) expect(grant.grantedAt).toBeGreaterThanOrEqual(throttledAt + 300);
  expect(budget.throttleSignals).toBe(1);
});

test('an aborted signal ends a wait at once, with ABORTED or the signal’s own error, and leaves no waiter', async () => {
  const budget = new VaultRateBudget();
  budget.onThrottled(await budget.acquire(), 60_000);

  const controller = new AbortController();
  const waiting = budget.acquire(controller.signal);
  await settle();
  expect(budget.waiting).toBe(1);
  setTimeout(() => controller.abort(), 20);
  await expect(within(5000, waiting)).rejects.toMatchObject({ name: 'GalleryExportError', code: 'ABORTED' });
  expect(budget.waiting).toBe(0);

  const lockLost = new GalleryExportError('RUN_LOCK_LOST', 'The run lock was lost');
  const lost = new AbortController();
  const retrying = budget.acquire(lost.signal, true);
  lost.abort(lockLost);
  await expect(within(5000, retrying)).rejects.toBe(lockLost);
  await expect(budget.acquire(AbortSignal.abort())).rejects.toMatchObject({ code: 'ABORTED' });
  expect(budget.waiting).toBe(0);
});

test('calls that are retrying are served before first attempts', async () => {
  const budget = new VaultRateBudget({ transactionsPer10s: 100 });
  await Promise.all(Array.from({ length: 10 }, () => budget.acquire()));
  const order: string[] = [];
  const first = budget.acquire().then(() => order.push('first attempt'));
  const retry = budget.acquire(undefined, true).then(() => order.push('retry'));
  await Promise.all([first, retry]);
  expect(order).toEqual(['retry', 'first attempt']);
});

describe('the rate', () => {
  function clocked(options: ConstructorParameters<typeof VaultRateBudget>[0] = {}): {
    budget: VaultRateBudget;
    at: (ms: number) => void;
  } {
    let now = 0;
    const budget = new VaultRateBudget({ ...options, now: () => now });
    return { budget, at: (ms) => (now = ms) };
  }

  test('drops to 70 % of what was sent in the last second, and climbs back by half of that per 10 s', async () => {
    const { budget, at } = clocked();
    expect(budget.transactionsPer10s).toBe(1000);
    const grants = await Promise.all(Array.from({ length: 40 }, () => budget.acquire()));
    at(500);
    budget.onThrottled(grants[0]!, 1000);
    // 40 in the last second: 400 per 10 s, of which 70 %.
    expect(budget.transactionsPer10s).toBeCloseTo(280);
    at(10_500);
    expect(budget.transactionsPer10s).toBeCloseTo(420);
    at(60_000);
    expect(budget.transactionsPer10s).toBe(1000);
  });

  test('one burst of 429s lowers it once; a 429 to a request sent after the decrease lowers it again', () => {
    const { budget, at } = clocked({ transactionsPer10s: 1000 });
    const sentAt = (grantedAt: number): VaultGrant => ({ grantedAt });
    at(100);
    budget.onThrottled(sentAt(0), 0);
    const lowered = budget.transactionsPer10s;
    expect(lowered).toBeLessThan(1000);
    at(120);
    budget.onThrottled(sentAt(50), 0);
    budget.onThrottled(sentAt(99), 0);
    expect(budget.decreases).toBe(1);
    at(200);
    budget.onThrottled(sentAt(150), 0);
    expect(budget.decreases).toBe(2);
    expect(budget.transactionsPer10s).toBeLessThan(lowered);
    expect(budget.throttleSignals).toBe(4);
  });

  test('never drops below a quarter of itself per 429, nor below the floor', () => {
    const { budget, at } = clocked({ transactionsPer10s: 1000, minTransactionsPer10s: 100 });
    // Nothing sent in the last second: the vault is busy with other apps' traffic.
    at(5000);
    budget.onThrottled({ grantedAt: 5000 }, 0);
    expect(budget.transactionsPer10s).toBe(250);
    budget.onThrottled({ grantedAt: 5000 }, 0);
    expect(budget.transactionsPer10s).toBe(100);
    budget.onThrottled({ grantedAt: 5000 }, 0);
    expect(budget.transactionsPer10s).toBe(100);
  });
});
