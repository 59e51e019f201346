import { setTimeout as sleep } from 'node:timers/promises';
import { GalleryExportError } from '../../src/contract/errors';
import type { AuthorOutcome, RunRecord } from '../../src/contract/formats';
import { recordCatalogRetry, recordRunFinished } from '../../src/telemetry/instruments';
import type { CatalogRoute } from '../../src/telemetry/names';
import { traceAuthor, traceBlobWrite, traceCatalogAttempt, traceRun } from '../../src/telemetry/tracing';

/**
 * A run instrumented the way the integrator instruments the real one (a run span around the run, an
 * author span per work item, a span per catalog attempt and per blob write, the run's metrics where it
 * is finalised), with made-up work in place of the catalog and storage. Two authors export at once
 * and every step awaits timers, so context must follow each author across async boundaries. The
 * authors' token is in the messages of errors thrown inside spans: none of it may be exported.
 */

export const TOKEN =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdXRob3JfaWQiOiJDQjlBRUYiLCJleHAiOjE5MDAwMDAwMDB9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
export const RUN_ID = '20261203T020000Z-a1b2c3';
export const CATALOG_URL = 'http://127.0.0.1:8642';
export const AUTHOR_IDS = ['CB9AEF'.padEnd(64, '0'), 'D00D'.padEnd(64, '1'), 'FACE'.padEnd(64, '2')] as const;

export interface SimulatedRun {
  record: RunRecord;
  /** The catalog attempts, in the order each author made them, by secret name. */
  attempts: Record<string, string[]>;
}

export async function simulateTracedRun(now: Date): Promise<SimulatedRun> {
  const attempts: Record<string, string[]> = { 'gallery-author-a': [], 'gallery-author-b': [] };
  const attempt = async (
    secret: string,
    route: CatalogRoute,
    resendCount: number,
    status: number | Error,
  ) => {
    attempts[secret]!.push(`${route}:${status instanceof Error ? 'error' : status}`);
    return traceCatalogAttempt({ route, baseUrl: CATALOG_URL, resendCount }, async () => {
      await sleep(1);
      return status instanceof Error ? { status: 0, error: status } : { status };
    });
  };
  const base = { startedAt: now.toISOString(), completedAt: now.toISOString(), durationMs: 3 };

  const exportA = () =>
    traceAuthor({ runId: RUN_ID, secretName: 'gallery-author-a', trigger: 'cli' }, async () => {
      await attempt('gallery-author-a', 'profile', 0, 200);
      await attempt('gallery-author-a', 'entities', 0, 429);
      recordCatalogRetry('entities', { kind: 'status', status: 429 });
      await attempt('gallery-author-a', 'entities', 1, 200);
      const profile = await traceBlobWrite('profile', async () => {
        await sleep(1);
        return { name: 'profile.json', bytes: 512 };
      });
      await traceBlobWrite('entities', () =>
        Promise.resolve({ name: 'entities.json', bytes: profile.bytes * 8 }),
      );
      await traceBlobWrite('manifest', () => sleep(1), 321);
      const outcome: AuthorOutcome = {
        secretName: 'gallery-author-a',
        authorId: AUTHOR_IDS[0],
        status: 'complete',
        tokenStatus: 'valid',
        tokenExpiresAt: new Date(now.getTime() + 3 * 24 * 3600_000).toISOString(),
        counts: { entities: 150, unlisted: 15, reportedByCatalog: 150 },
        catalog: { requests: 3, retries: 1, throttled: 1, pages: 2, passes: 1 },
        ...base,
      };
      return { outcome, retryable: false };
    });

  const exportB = () =>
    traceAuthor({ runId: RUN_ID, secretName: 'gallery-author-b', trigger: 'cli' }, async () => {
      await attempt('gallery-author-b', 'profile', 0, 200);
      await attempt('gallery-author-b', 'entities', 0, 503);
      recordCatalogRetry('entities', { kind: 'status', status: 503 });
      const reset = Object.assign(new Error(`socket hang up while sending ${TOKEN}`), { code: 'ECONNRESET' });
      await attempt('gallery-author-b', 'entities', 1, reset);
      recordCatalogRetry('entities', { kind: 'error' });
      let error: GalleryExportError;
      try {
        attempts['gallery-author-b']!.push('entities:thrown');
        await traceCatalogAttempt({ route: 'entities', baseUrl: CATALOG_URL, resendCount: 2 }, async () => {
          await sleep(1);
          throw new GalleryExportError(
            'CATALOG_TOO_LARGE',
            `too large for /users/${AUTHOR_IDS[1]} with ${TOKEN}`,
          );
        });
        throw new Error('unreachable');
      } catch (caught) {
        error = caught as GalleryExportError;
      }
      const outcome: AuthorOutcome = {
        secretName: 'gallery-author-b',
        authorId: AUTHOR_IDS[1],
        status: 'failed',
        error: { code: error.code, message: error.message },
        catalog: { requests: 4, retries: 2, throttled: 0, pages: 1, passes: 1 },
        ...base,
      };
      return { outcome, retryable: false };
    });

  const record = await traceRun('cli', async () => {
    const exported = await Promise.all([exportA(), exportB()]);
    const skipped: AuthorOutcome = {
      secretName: 'gallery-author-c',
      authorId: AUTHOR_IDS[2],
      status: 'skipped',
      reason: 'the secret expired',
    };
    const authors = [...exported.map((result) => result.outcome), skipped];
    const finished: RunRecord = {
      schemaVersion: 1,
      runId: RUN_ID,
      trigger: 'cli',
      startedAt: new Date(now.getTime() - 42_000).toISOString(),
      completedAt: now.toISOString(),
      status: 'partial',
      settings: {},
      counts: { authors: 3, complete: 1, failed: 1, skipped: 1, pending: 0 },
      authors,
    };
    recordRunFinished(finished, now);
    return finished;
  });
  return { record, attempts };
}
