import {
  decideRetry,
  DEFAULT_RETRY_TIMING,
  parseRetryAfter,
  type RetryInput,
} from '../../src/catalog/retryPolicy';

const NOW = Date.parse('2026-11-28T02:00:00Z');

function input(overrides: Partial<RetryInput>): RetryInput {
  return {
    attempt: 1,
    maxRetries: 5,
    outcome: { kind: 'status', status: 503 },
    budgetRemainingMs: 60_000,
    authorRetriesRemaining: 10,
    nowMs: NOW,
    random: () => 0.5,
    timing: DEFAULT_RETRY_TIMING,
    ...overrides,
  };
}

describe('decideRetry', () => {
  test.each([429, 500, 502, 503, 504])('retries HTTP %d', (status) => {
    expect(decideRetry(input({ outcome: { kind: 'status', status } }))).toMatchObject({
      retry: true,
      throttled: status === 429,
    });
  });

  test.each([400, 401, 403, 404, 409, 501])('never retries HTTP %d', (status) => {
    expect(decideRetry(input({ outcome: { kind: 'status', status } }))).toEqual({
      retry: false,
      retryable: false,
      throttled: false,
      reason: `HTTP ${status} is not retryable`,
    });
  });

  test.each([
    'ECONNRESET',
    'ECONNREFUSED',
    'UND_ERR_SOCKET',
    'UND_ERR_HEADERS_TIMEOUT',
    'REQUEST_TIMEOUT',
    'EPIPE',
  ])('retries the connection error %s, also when the code sits on the cause', (code) => {
    const direct = Object.assign(new Error('x'), { code });
    const wrapped = new Error('fetch failed', { cause: direct });
    expect(decideRetry(input({ outcome: { kind: 'error', error: direct } })).retry).toBe(true);
    expect(decideRetry(input({ outcome: { kind: 'error', error: wrapped } })).retry).toBe(true);
  });

  test('does not retry unknown errors (bugs are not transient)', () => {
    expect(decideRetry(input({ outcome: { kind: 'error', error: new TypeError('boom') } }))).toMatchObject({
      retry: false,
      retryable: false,
    });
  });

  test('retries an unusable body', () => {
    expect(decideRetry(input({ outcome: { kind: 'invalid-body' } }))).toMatchObject({
      retry: true,
      reason: 'an unusable response body',
    });
  });

  test('full jitter: a random share of the exponential ceiling', () => {
    expect(decideRetry(input({ attempt: 1, random: () => 0.5 }))).toMatchObject({ delayMs: 100 });
    expect(decideRetry(input({ attempt: 3, random: () => 0.5 }))).toMatchObject({ delayMs: 400 });
    expect(decideRetry(input({ attempt: 3, random: () => 0 }))).toMatchObject({ delayMs: 0 });
  });

  test('the backoff ceiling is capped at maxDelayMs', () => {
    expect(decideRetry(input({ attempt: 5, maxRetries: 20, random: () => 0.999999 }))).toMatchObject({
      delayMs: 3199,
    });
    expect(decideRetry(input({ attempt: 12, maxRetries: 20, random: () => 0.999999 }))).toMatchObject({
      delayMs: 9999,
    });
  });

  test('Retry-After is the wait, never cut short by jitter', () => {
    const decision = decideRetry(
      input({ outcome: { kind: 'status', status: 429, retryAfter: '2' }, random: () => 0 }),
    );
    expect(decision).toEqual({ retry: true, delayMs: 2000, reason: 'HTTP 429', throttled: true });
  });

  test('Retry-After as an HTTP date', () => {
    const at = new Date(NOW + 3000).toUTCString();
    expect(decideRetry(input({ outcome: { kind: 'status', status: 503, retryAfter: at } }))).toMatchObject({
      delayMs: 3000,
    });
  });

  test('a Retry-After longer than the cap fails instead of waiting less than asked', () => {
    const decision = decideRetry(input({ outcome: { kind: 'status', status: 429, retryAfter: '3600' } }));
    expect(decision).toMatchObject({ retry: false, retryable: true, throttled: true });
    expect(decision.reason).toMatch(/asked to wait 3600 s, more than the 60 s cap/);
  });

  test('stops after maxRetries', () => {
    expect(decideRetry(input({ attempt: 5, maxRetries: 5 })).retry).toBe(true);
    expect(decideRetry(input({ attempt: 6, maxRetries: 5 }))).toMatchObject({
      retry: false,
      retryable: true,
      reason: 'HTTP 503: gave up after 6 attempts',
    });
    expect(decideRetry(input({ attempt: 1, maxRetries: 0 })).retry).toBe(false);
  });

  test("stops when the author's retry budget is spent", () => {
    expect(decideRetry(input({ authorRetriesRemaining: 0 }))).toMatchObject({
      retry: false,
      reason: "HTTP 503: the author's retry budget is spent",
    });
  });

  test('stops when the wait would overrun the time budget', () => {
    expect(
      decideRetry(
        input({ outcome: { kind: 'status', status: 429, retryAfter: '5' }, budgetRemainingMs: 4000 }),
      ),
    ).toMatchObject({
      retry: false,
      reason: 'HTTP 429: the retry time budget is spent',
    });
  });

  test('stops once aborted', () => {
    expect(decideRetry(input({ aborted: true }))).toMatchObject({
      retry: false,
      reason: 'aborted',
      retryable: false,
    });
  });
});

describe('parseRetryAfter', () => {
  test.each([
    [undefined, undefined],
    ['', undefined],
    ['soon', undefined],
    ['0', 0],
    ['1', 1000],
    ['1.5', 1500],
  ])('%p -> %p', (header, expected) => {
    expect(parseRetryAfter(header, NOW)).toBe(expected);
  });

  test('an HTTP date in the past means no wait; a date is rounded up to whole seconds', () => {
    expect(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW)).toBe(0);
    expect(parseRetryAfter(new Date(NOW + 2000).toUTCString(), NOW - 300)).toBe(3000);
  });
});
