import { AdaptiveLimiter } from '../../src/catalog/AdaptiveLimiter';

test('never lets more than the limit run at once, and hands slots over in order', async () => {
  const limiter = new AdaptiveLimiter({ maxConcurrency: 3 });
  let running = 0;
  let peak = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, async (_, index) => {
      const release = await limiter.acquire();
      order.push(index);
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      running--;
      release();
    }),
  );
  expect(peak).toBe(3);
  expect(limiter.peakInFlight).toBe(3);
  expect(order).toEqual([...order].sort((a, b) => a - b));
});

test('a throttle halves the limit for everyone; successes bring it back', () => {
  let now = 0;
  const limiter = new AdaptiveLimiter({ maxConcurrency: 16, decreaseCooldownMs: 100, now: () => now });
  limiter.onThrottled();
  expect(limiter.limit).toBe(8);
  limiter.onThrottled(); // same burst: ignored
  expect(limiter.limit).toBe(8);
  now = 200;
  limiter.onThrottled();
  expect(limiter.limit).toBe(4);
  for (let i = 0; i < 200; i++) limiter.onSuccess();
  expect(limiter.limit).toBe(16);
});

test('the limit never drops below the floor', () => {
  let now = 0;
  const limiter = new AdaptiveLimiter({ maxConcurrency: 4, decreaseCooldownMs: 0, now: () => now++ });
  for (let i = 0; i < 10; i++) limiter.onThrottled();
  expect(limiter.limit).toBe(1);
});

test('waiting for a slot is abortable', async () => {
  const limiter = new AdaptiveLimiter({ maxConcurrency: 1 });
  const release = await limiter.acquire();
  const controller = new AbortController();
  const waiting = limiter.acquire(controller.signal);
  controller.abort();
  await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
  release();
  // The aborted waiter did not take the slot.
  const again = await limiter.acquire();
  expect(limiter.inFlight).toBe(1);
  again();
});
