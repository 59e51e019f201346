import type { RunRecord } from '../../src/contract/formats';
import { displayWidth, renderRunSummary, renderTable, wrapText } from '../../src/cli/format';

/**
 * Issue 27: tables fit the terminal by wrapping long cells over several lines, never by cutting them
 * with "…": a person copies IDs, paths and reasons from them.
 */
const AUTHOR = '561F69B4BBE31D07C1152F5470CB789546C158D036FEE7611449AC722B9C3B67';
const OTHER = 'E788EA2014693DCDB86767ACEB3860A432FC626C6477A6C53016AFF40726842B';
const RUN = '20261203T170437Z-750e07';
const SNAPSHOT = `snapshots/${AUTHOR}/2026/12/03/${RUN}/`;
const CONFIG_MESSAGE =
  'Secret "gallery-author-malformed-author" is not valid JSON: expected {"authorId":"<64 hex>","accessToken":"<token or null>"}';
const NOT_FOUND_MESSAGE = `The catalog has no author ${OTHER} (GET /users answered 404)`;

const record: RunRecord = {
  schemaVersion: 1,
  runId: RUN,
  trigger: 'cli',
  startedAt: '2026-12-03T17:04:37.000Z',
  completedAt: '2026-12-03T17:04:39.000Z',
  status: 'partial',
  settings: { AUTHOR_SECRET_PREFIX: 'gallery-author-' },
  counts: { authors: 4, complete: 1, failed: 2, skipped: 1, pending: 0 },
  authors: [
    {
      secretName: 'gallery-author-zoe-muller',
      authorId: AUTHOR,
      status: 'complete',
      tokenStatus: 'valid',
      counts: { entities: 260, unlisted: 52, reportedByCatalog: 260 },
      snapshot: SNAPSHOT,
    },
    {
      secretName: 'gallery-author-malformed-author',
      authorId: null,
      status: 'failed',
      error: { code: 'AUTHOR_CONFIG', message: CONFIG_MESSAGE },
    },
    {
      secretName: 'gallery-author-unknown-author',
      authorId: OTHER,
      status: 'failed',
      error: { code: 'CATALOG_NOT_FOUND', message: NOT_FOUND_MESSAGE },
    },
    {
      secretName: 'gallery-author-disabled-author',
      authorId: AUTHOR,
      status: 'skipped',
      reason: 'the secret is disabled',
    },
  ],
};

function widest(text: string): number {
  return Math.max(...text.split('\n').map(displayWidth));
}

/**
 * A drawn table's cells, each row's wrapped lines joined back together column by column, without spaces
 * (blocks, whose values wrap under themselves, only lose their spaces): what a reader pieces together.
 */
function unwrapped(text: string): string {
  if (!text.startsWith('┌')) return text.replace(/\s/g, '');
  const columns = (text.split('\n')[1] ?? '').split('│').length - 2;
  return Array.from({ length: columns }, (_, column) => columnCells(text, column).join('|'))
    .join('|')
    .replace(/\s/g, '');
}

/** The text of one column of a drawn table, each row's wrapped lines joined back together. */
function columnCells(table: string, column: number): string[] {
  const cells: string[] = [];
  let current: string[] = [];
  for (const line of table.split('\n')) {
    if (/^[├└]/.test(line)) {
      cells.push(current.join(''));
      current = [];
      continue;
    }
    if (!line.startsWith('│')) continue;
    current.push((line.split('│')[column + 1] ?? '').trim());
  }
  return cells;
}

describe.each([80, 100, 120])('the run summary at %i columns', (width) => {
  const text = renderRunSummary(record, { width });

  test('no line is wider than the terminal and nothing is cut with an ellipsis', () => {
    expect(widest(text)).toBeLessThanOrEqual(width);
    expect(text).not.toContain('…');
  });

  test("every snapshot path and failure reason is there whole, wrapped over lines; every author's label", () => {
    const joined = unwrapped(text);
    expect(joined).toContain(SNAPSHOT);
    expect(joined).toContain(`AUTHOR_CONFIG:${CONFIG_MESSAGE.replace(/\s/g, '')}`);
    expect(joined).toContain(`CATALOG_NOT_FOUND:${NOT_FOUND_MESSAGE.replace(/\s/g, '')}`);
    for (const label of ['zoe-muller', 'malformed-author', 'unknown-author', 'disabled-author'])
      expect(text).toContain(label);
  });
});

test('at 120 columns the run summary is a table whose long cells wrap, each row whole in its column', () => {
  const text = renderRunSummary(record, { width: 120 });
  expect(text.split('\n')[0]).toMatch(/^┌─+┬/);
  const header = text.split('\n')[1]!;
  const snapshotColumn = header.split('│').findIndex((cell) => cell.trim() === 'snapshot / reason') - 1;
  const cells = columnCells(text, snapshotColumn);
  expect(cells).toContain('snapshot / reason');
  expect(cells).toContain(SNAPSHOT);
});

test('a wrapped path breaks after a slash, so an author ID inside it stays on one line when it can', () => {
  expect(wrapText(SNAPSHOT, 80)).toEqual([`snapshots/${AUTHOR}/2026/`, `12/03/${RUN}/`]);
  expect(wrapText(`see ${SNAPSHOT}`, 70)).toEqual(['see snapshots/', `${AUTHOR}/2026/`, `12/03/${RUN}/`]);
  for (const line of wrapText(`see ${SNAPSHOT} for it`, 30))
    expect(displayWidth(line)).toBeLessThanOrEqual(30);
});

test('a table too wide even when wrapped becomes blocks whose values wrap under themselves', () => {
  const text = renderTable(
    ['label', 'author ID', 'token'],
    [['ada-lovelace', AUTHOR, 'valid, expires 2026-12-08T09:56:00Z']],
    { width: 60, unbroken: [1] },
  );
  expect(widest(text)).toBeLessThanOrEqual(60);
  expect(text).not.toContain('…');
  expect(unwrapped(text)).toContain(AUTHOR);
});

test('a column kept unbroken (an ID) is never wrapped while the table can fit by wrapping others', () => {
  const text = renderTable(
    ['label', 'author ID', 'last snapshot'],
    [['ada-lovelace', AUTHOR, `${RUN} completed 2026-12-03T17:04:39Z with 320 entities`]],
    { width: 120, unbroken: [1] },
  );
  expect(widest(text)).toBeLessThanOrEqual(120);
  expect(text).toContain(AUTHOR);
  expect(text.split('\n')[0]).toMatch(/^┌/);
});

test('very narrow terminals still get every character, and no line wider than they are', () => {
  for (const width of [30, 12, 5, 1]) {
    const text = renderRunSummary(record, { width });
    expect(widest(text)).toBeLessThanOrEqual(width);
    expect(text).not.toContain('…');
    expect(unwrapped(text)).toContain(SNAPSHOT);
  }
});

test('without a width (a pipe, a file) every cell stays on one line', () => {
  const text = renderRunSummary(record);
  expect(text).toContain(SNAPSHOT);
  expect(text).toContain(CONFIG_MESSAGE);
  expect(text).not.toContain('…');
});
