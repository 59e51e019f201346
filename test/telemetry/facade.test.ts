import { GalleryExportError } from '../../src/contract/errors';
import type { AuthorOutcome, RunRecord } from '../../src/contract/formats';
import {
  catalogRetryReason,
  countTokenWindows,
  recordCatalogAttempt,
  recordCatalogRetry,
  recordRunFinished,
} from '../../src/telemetry/instruments';
import {
  bindToTraceContext,
  catalogRouteOf,
  traceAuthor,
  traceBlobWrite,
  traceCatalogAttempt,
  traceRun,
} from '../../src/telemetry/tracing';

/**
 * The facade the core calls, without any SDK (the CLI's default): every helper returns what the work
 * returned and rethrows what it threw, untouched, and recording is a no-op. Plus the pure decisions.
 */

const NOW = new Date('2026-12-03T02:00:00Z');
const day = 24 * 3600_000;

describe('without an SDK', () => {
  test('spans pass results and errors through unchanged', async () => {
    const record = { runId: 'x', status: 'complete', authors: [] } as unknown as RunRecord;
    await expect(traceRun('cli', () => Promise.resolve(record))).resolves.toBe(record);
    const failure = new GalleryExportError('RUN_LOCKED', 'locked');
    await expect(traceRun('timer', () => Promise.reject(failure))).rejects.toBe(failure);
    const result = {
      outcome: { secretName: 's', authorId: null, status: 'skipped' } as AuthorOutcome,
      extra: 1,
    };
    await expect(
      traceAuthor({ runId: 'r', secretName: 's', trigger: 'http' }, () => Promise.resolve(result)),
    ).resolves.toBe(result);
    const response = { status: 503, body: Buffer.alloc(0) };
    const attempt = { route: 'entities' as const, baseUrl: 'not a url', resendCount: 0 };
    await expect(traceCatalogAttempt(attempt, () => Promise.resolve(response))).resolves.toBe(response);
    const reset = Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    await expect(traceCatalogAttempt(attempt, () => Promise.reject(reset))).rejects.toBe(reset);
    await expect(traceBlobWrite('manifest', () => Promise.resolve())).resolves.toBeUndefined();
  });

  test('recording is a no-op that never throws', () => {
    recordCatalogAttempt({ route: 'profile', statusCode: undefined, durationMs: 1 });
    recordCatalogRetry('profile', { kind: 'invalid-body' });
    recordRunFinished({ status: 'running' } as RunRecord);
    recordRunFinished({
      runId: 'r',
      trigger: 'cli',
      status: 'failed',
      startedAt: 'garbage',
      completedAt: null,
      authors: [],
    } as unknown as RunRecord);
  });

  test('a handler keeps its identity when there is no trace context to bind', () => {
    const handler = (input: string): string => input;
    expect(bindToTraceContext(undefined, handler)).toBe(handler);
    expect(bindToTraceContext({ traceParent: null }, handler)).toBe(handler);
    expect(
      bindToTraceContext(
        { traceParent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        handler,
      )('x'),
    ).toBe('x');
  });
});

test('catalog routes and retry reasons are bounded', () => {
  expect(catalogRouteOf('/users/CB9AEF')).toBe('profile');
  expect(catalogRouteOf("/entities?$filter=author/id eq 'CB9AEF'&$top=100&$skip=0")).toBe('entities');
  expect(catalogRetryReason({ kind: 'status', status: 429 })).toBe('throttled');
  expect(catalogRetryReason({ kind: 'status', status: 503 })).toBe('server_error');
  expect(catalogRetryReason({ kind: 'error' })).toBe('network');
  expect(catalogRetryReason({ kind: 'invalid-body' })).toBe('invalid_body');
});

test('token windows: expired, or expiring within 7 days, among authors whose token was read', () => {
  const author = (tokenStatus: AuthorOutcome['tokenStatus'], inMs?: number): AuthorOutcome => ({
    secretName: 's',
    authorId: null,
    status: 'complete',
    tokenStatus,
    ...(inMs === undefined ? {} : { tokenExpiresAt: new Date(NOW.getTime() + inMs).toISOString() }),
  });
  const authors = [
    author('expired', -day),
    author('expired'),
    author('valid', -1000), // expired since the author was exported
    author('valid', 1000),
    author('valid', 7 * day),
    author('valid', 7 * day + 1000),
    author('valid'),
    author('absent'),
    author('mismatch', day),
    { secretName: 'f', authorId: null, status: 'failed' } as AuthorOutcome,
  ];
  expect(countTokenWindows(authors, NOW)).toEqual({ expired: 3, '7d': 2 });
  expect(countTokenWindows([], NOW)).toEqual({ expired: 0, '7d': 0 });
});
