import {
  DEFAULT_VAULT_RETRY,
  decideVaultRetry,
  retryAfterMs,
  type VaultRetryInput,
} from '../../src/vault/vaultRetry';

/** The retry decision of every Key Vault call, without I/O. */

function input(overrides: Partial<VaultRetryInput>): VaultRetryInput {
  return {
    outcome: { kind: 'status', status: 429 },
    throttledAttempts: 1,
    transientAttempts: 0,
    elapsedMs: 0,
    random: () => 0.5,
    options: DEFAULT_VAULT_RETRY,
    ...overrides,
  };
}

function connectionError(code: string | undefined): Error {
  return Object.assign(new Error('socket hang up'), code === undefined ? {} : { code });
}

describe('a 429', () => {
  test('waits what the vault asked for, however many times it was throttled before', () => {
    for (const throttledAttempts of [1, 5, 50, 500]) {
      expect(
        decideVaultRetry(
          input({ outcome: { kind: 'status', status: 429, retryAfterMs: 7000 }, throttledAttempts }),
        ),
      ).toEqual({ retry: true, delayMs: 7000, throttled: true, reason: 'HTTP 429' });
    }
  });

  test('without Retry-After backs off 1, 2, 4, 8, 16 s (and stays at 16 s), never less than half a step', () => {
    const steps = [1, 2, 3, 4, 5, 6, 9].map((throttledAttempts) => ({
      low: decideVaultRetry(input({ throttledAttempts, random: () => 0 })),
      high: decideVaultRetry(input({ throttledAttempts, random: () => 0.999999 })),
    }));
    expect(steps.map(({ low }) => (low.retry ? low.delayMs : -1))).toEqual([
      500, 1000, 2000, 4000, 8000, 8000, 8000,
    ]);
    expect(steps.map(({ high }) => (high.retry ? high.delayMs : -1))).toEqual([
      999, 1999, 3999, 7999, 15999, 15999, 15999,
    ]);
  });

  test('stops when the wait would end past the time limit of a call without a deadline', () => {
    const options = { ...DEFAULT_VAULT_RETRY, maxElapsedMs: 60_000 };
    const outcome = { kind: 'status' as const, status: 429, retryAfterMs: 10_000 };
    expect(decideVaultRetry(input({ outcome, options, elapsedMs: 50_000 }))).toMatchObject({ retry: true });
    expect(decideVaultRetry(input({ outcome, options, elapsedMs: 50_001 }))).toEqual({
      retry: false,
      throttled: true,
      reason: 'HTTP 429: still failing after 50 s (the limit is 60 s)',
    });
  });
});

describe('transient failures', () => {
  test.each([408, 500, 502, 503, 504])('HTTP %d is retried 3 times, then given up', (status) => {
    const outcome = { kind: 'status' as const, status };
    for (const transientAttempts of [1, 2, 3]) {
      expect(decideVaultRetry(input({ outcome, transientAttempts, throttledAttempts: 0 }))).toMatchObject({
        retry: true,
        throttled: false,
      });
    }
    expect(decideVaultRetry(input({ outcome, transientAttempts: 4, throttledAttempts: 0 }))).toEqual({
      retry: false,
      throttled: false,
      reason: `HTTP ${status}: gave up after 4 attempts`,
    });
  });

  test('back off with full jitter up to 4 s, or as long as a Retry-After asks', () => {
    const outcome = { kind: 'status' as const, status: 503 };
    const options = { ...DEFAULT_VAULT_RETRY, maxTransientRetries: 10 };
    const delays = [1, 2, 3, 4, 5, 8].map((transientAttempts) =>
      decideVaultRetry(input({ outcome, transientAttempts, options, random: () => 0.999999 })),
    );
    expect(delays.map((decision) => (decision.retry ? decision.delayMs : -1))).toEqual([
      499, 999, 1999, 3999, 3999, 3999,
    ]);
    expect(
      decideVaultRetry(
        input({ outcome: { kind: 'status', status: 503, retryAfterMs: 30_000 }, transientAttempts: 1 }),
      ),
    ).toMatchObject({ retry: true, delayMs: 30_000, throttled: false });
  });

  test.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'REQUEST_SEND_ERROR'])(
    'a connection error %s is retried',
    (code) => {
      expect(
        decideVaultRetry(
          input({ outcome: { kind: 'error', error: connectionError(code) }, transientAttempts: 1 }),
        ),
      ).toMatchObject({ retry: true, throttled: false, reason: `connection error ${code}` });
    },
  );

  test('an error without a known code is final', () => {
    expect(
      decideVaultRetry(
        input({ outcome: { kind: 'error', error: connectionError(undefined) }, transientAttempts: 1 }),
      ),
    ).toEqual({ retry: false, throttled: false, reason: 'connection error without a code is final' });
  });
});

test.each([400, 401, 403, 404, 409, 501])('HTTP %d is final', (status) => {
  expect(decideVaultRetry(input({ outcome: { kind: 'status', status }, transientAttempts: 1 }))).toEqual({
    retry: false,
    throttled: false,
    reason: `HTTP ${status} is final`,
  });
});

describe('retryAfterMs', () => {
  const NOW = Date.parse('2026-11-28T02:00:00Z');
  const headers =
    (values: Record<string, string>) =>
    (name: string): string | undefined =>
      values[name];

  test('reads the milliseconds headers first, then Retry-After in seconds or as an HTTP date', () => {
    expect(retryAfterMs(headers({ 'retry-after-ms': '250', 'retry-after': '9' }), NOW)).toBe(250);
    expect(retryAfterMs(headers({ 'x-ms-retry-after-ms': '1500.2' }), NOW)).toBe(1501);
    expect(retryAfterMs(headers({ 'retry-after': '10' }), NOW)).toBe(10_000);
    expect(retryAfterMs(headers({ 'retry-after': '0.5' }), NOW)).toBe(500);
    expect(retryAfterMs(headers({ 'retry-after': 'Sat, 28 Nov 2026 02:00:03 GMT' }), NOW - 400)).toBe(4000);
    expect(retryAfterMs(headers({ 'retry-after': 'Sat, 28 Nov 2026 01:00:00 GMT' }), NOW)).toBe(0);
  });

  test('is undefined when absent or unusable', () => {
    expect(retryAfterMs(headers({}), NOW)).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': 'soon' }), NOW)).toBeUndefined();
    expect(retryAfterMs(headers({ 'retry-after': '-3', 'retry-after-ms': 'x' }), NOW)).toBeUndefined();
  });
});
