import { PassThrough } from 'node:stream';
import { CliContext } from '../../src/cli/CliContext';
import { RunProgress } from '../../src/cli/RunProgress';
import type { AuthorOutcome, CatalogFigures, RunRecord } from '../../src/contract/formats';
import type { RunEvent } from '../../src/export/runInProcess';

/**
 * Issue 27: the progress of a run. A failed author's bar was drawn full, authors at 0/0 showed full bars
 * while still working, throttling and retries never showed, and no time was shown. Fed the run's events
 * directly, on a terminal (TTY, 120 columns) and on a pipe.
 */
const A = 'A1'.repeat(32);
const B = 'B2'.repeat(32);
const C = 'C3'.repeat(32);

const planned: RunRecord = {
  schemaVersion: 1,
  runId: '20261208T020000Z-abc123',
  trigger: 'cli',
  startedAt: new Date().toISOString(),
  completedAt: null,
  status: 'running',
  settings: { AUTHOR_SECRET_PREFIX: 'gallery-author-' },
  counts: { authors: 3, complete: 0, failed: 0, skipped: 0, pending: 3 },
  authors: [],
};

function output(tty: boolean): { cli: CliContext; text: () => string } {
  const stderr = Object.assign(new PassThrough(), { isTTY: tty, columns: 120 });
  const chunks: Buffer[] = [];
  stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  const cli = new CliContext({
    env: {},
    stdout: new PassThrough(),
    stderr,
    signal: new AbortController().signal,
  });
  return { cli, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** What the terminal last shows on each line that names `label`: escape sequences out, redraws split. */
function lastLineOf(text: string, label: string): string {
  const lines = text
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
    .split(/[\r\n]/)
    .filter((line) => line.includes(label));
  return lines[lines.length - 1] ?? '';
}

function figures(retries: number, throttled: number): CatalogFigures {
  return { requests: 10 + retries, retries, throttled, pages: 3, passes: 1 };
}

function events(): RunEvent[] {
  const failed: AuthorOutcome = {
    secretName: 'gallery-author-unknown',
    authorId: B,
    status: 'failed',
    error: { code: 'CATALOG_NOT_FOUND', message: `The catalog has no author ${B} (GET /users answered 404)` },
    durationMs: 40,
  };
  return [
    { type: 'run-planned', record: planned },
    { type: 'author-started', secretName: 'gallery-author-ada', authorId: A },
    { type: 'author-started', secretName: 'gallery-author-unknown', authorId: B },
    { type: 'author-started', secretName: 'gallery-author-quiet', authorId: C },
    {
      type: 'author-progress',
      secretName: 'gallery-author-ada',
      // The live counters of the author's catalog calls ride along with its progress.
      progress: { pass: 1, entities: 40, expected: undefined, catalog: figures(2, 1) },
    },
    {
      type: 'author-progress',
      secretName: 'gallery-author-unknown',
      progress: { pass: 1, entities: 5, expected: 100 },
    },
    { type: 'author-finished', outcome: failed },
  ];
}

describe('on a terminal', () => {
  test('a failed author is marked failed, its bar not drawn full', () => {
    const { cli, text } = output(true);
    const progress = new RunProgress(cli);
    for (const event of events()) progress.onEvent(event);
    progress.stop();
    const line = lastLineOf(text(), 'unknown');
    expect(line).toMatch(/FAILED/);
    expect(line).toContain('CATALOG_NOT_FOUND');
    expect(line).not.toMatch(/█{20}/);
  });

  test('an unknown total is shown as unknown, never as a full bar; retries, throttling and time show', () => {
    const { cli, text } = output(true);
    const progress = new RunProgress(cli);
    for (const event of events()) progress.onEvent(event);
    progress.stop();
    const ada = lastLineOf(text(), 'ada');
    expect(ada).toContain('40/?');
    expect(ada).not.toMatch(/█{20}/);
    expect(ada).toMatch(/2 retries/);
    expect(ada).toMatch(/1 throttled/);
    expect(ada).toMatch(/\d+(\.\d)? s\b|\d+ ms\b/);
    // An author with no progress yet is working, not done.
    const quiet = lastLineOf(text(), 'quiet');
    expect(quiet).toContain('0/?');
    expect(quiet).not.toMatch(/█{20}/);
    for (const line of text().split(/[\r\n]/)) {
      // eslint-disable-next-line no-control-regex
      expect(line.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '').length).toBeLessThanOrEqual(120);
    }
  });
});

describe('on a pipe', () => {
  test('each finished author says how it ended and how long it took; throttling is reported', () => {
    const { cli, text } = output(false);
    const progress = new RunProgress(cli);
    for (const event of events()) progress.onEvent(event);
    progress.onEvent({
      type: 'author-finished',
      outcome: {
        secretName: 'gallery-author-ada',
        authorId: A,
        status: 'complete',
        counts: { entities: 40, unlisted: 4, reportedByCatalog: 40 },
        snapshot: `snapshots/${A}/2026/12/08/${planned.runId}/`,
        durationMs: 1234,
        catalog: figures(2, 1),
      },
    });
    progress.stop();
    expect(text()).toMatch(/^unknown: FAILED in 40 ms: CATALOG_NOT_FOUND/m);
    expect(text()).toMatch(/^ada: complete, 40 entities in 1\.2 s \(2 retries, 1 throttled\)/m);
  });
});
