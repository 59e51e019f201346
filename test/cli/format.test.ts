import type { RunRecord } from '../../src/contract/formats';
import {
  displayWidth,
  fitColumns,
  formatDuration,
  renderRunSummary,
  renderTable,
  terminalSafe,
  terminalWidth,
  wrapText,
} from '../../src/cli/format';

const AUTHOR = '561F69B4BBE31D07C1152F5470CB789546C158D036FEE7611449AC722B9C3B67';
const RUN = '20261203T170437Z-750e07';
const SNAPSHOT = `snapshots/${AUTHOR}/2026/12/03/${RUN}/`;

/** The demo's run: long snapshot paths, a long error message, a skipped author. */
const record: RunRecord = {
  schemaVersion: 1,
  runId: RUN,
  trigger: 'cli',
  startedAt: '2026-12-03T17:04:37.000Z',
  completedAt: '2026-12-03T17:04:39.000Z',
  status: 'partial',
  settings: { AUTHOR_SECRET_PREFIX: 'gallery-author-' },
  counts: { authors: 3, complete: 1, failed: 1, skipped: 1, pending: 0 },
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
      error: {
        code: 'AUTHOR_CONFIG',
        message:
          'Secret "gallery-author-malformed-author" is not valid JSON: expected {"authorId":"<64 hex>","accessToken":"<token or null>"}',
      },
    },
    {
      secretName: 'gallery-author-disabled-author',
      authorId: AUTHOR,
      status: 'skipped',
      reason: 'the secret is disabled',
    },
  ],
};

describe('terminalWidth', () => {
  test('a terminal gives its columns; a pipe gives no limit; COLUMNS wins over both', () => {
    expect(terminalWidth({ isTTY: true, columns: 97 })).toBe(97);
    expect(terminalWidth({ isTTY: false, columns: 97 })).toBeUndefined();
    expect(terminalWidth({})).toBeUndefined();
    expect(terminalWidth({}, { COLUMNS: '100' })).toBe(100);
    expect(terminalWidth({ isTTY: true, columns: 97 }, { COLUMNS: '60' })).toBe(60);
    expect(terminalWidth({ isTTY: true, columns: 97 }, { COLUMNS: 'wide' })).toBe(97);
    expect(terminalWidth({ isTTY: true, columns: 0 })).toBeUndefined();
  });
});

describe('displayWidth and terminalSafe', () => {
  test('counts wide characters and emoji as two columns, and wrapping never splits them', () => {
    expect(displayWidth('李伟 (Li Wei)')).toBe(13);
    expect(displayWidth('Sofía 🚀')).toBe(8);
    expect(displayWidth('👨\u200d👩\u200d👧')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
    const lines = wrapText('李伟李伟李伟李伟李伟', 7);
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(7);
    expect(lines.join('')).toBe('李伟李伟李伟李伟李伟');
    const family = '👨\u200d👩\u200d👧';
    expect(wrapText(family.repeat(3), 5)).toEqual([family.repeat(2), family]);
  });

  test('control characters never reach the terminal', () => {
    expect(terminalSafe('a\u001b[31mred\u0007\nnext\ttab\u202e')).toBe('a?[31mred? next tab?');
  });
});

describe('fitColumns', () => {
  test('leaves columns that fit alone and makes the widest give way first', () => {
    expect(fitColumns([5, 10, 20], 40)).toEqual([5, 10, 20]);
    expect(fitColumns([5, 10, 40], 40)).toEqual([5, 10, 25]);
    expect(fitColumns([30, 8, 40], 50, [10, 8, 10])).toEqual([21, 8, 21]);
    expect(fitColumns([30, 8, 40], 51, [10, 8, 10])).toEqual([22, 8, 21]);
    // By default no column is cut below MIN_TABLE_COLUMN_WIDTH: then it does not fit.
    expect(fitColumns([30, 8, 40], 50)).toBeUndefined();
    expect(fitColumns([30, 30, 30], 20)).toBeUndefined();
  });
});

test('at 120 columns the summary is a table, at 80 each author is a block of lines', () => {
  const wide = renderRunSummary(record, { width: 120 });
  expect(wide.split('\n')[0]).toMatch(/^┌─+┬/);
  expect(wide).toContain('zoe-muller 561F69B4BBE3');
  const narrow = renderRunSummary(record, { width: 80 });
  expect(narrow).not.toContain('┌');
  expect(narrow).toContain('author: zoe-muller 561F69B4BBE3');
  expect(narrow).toMatch(/^ {2}snapshot \/ reason {2}snapshots\/561F69/m);
  expect(narrow).toMatch(/^ {2}token +valid$/m);
});

test('the demo table fits 80 and 120 columns and keeps every sentence whole', () => {
  const rows = [
    [
      'gallery-author-unknown-author',
      'failed',
      'as expected',
      'on purpose: the catalog has no such author (404, CATALOG_NOT_FOUND)',
    ],
    ['gallery-author-ada-lovelace', 'complete', 'as expected', 'valid token: public and unlisted entities'],
  ];
  for (const width of [80, 120]) {
    const text = renderTable(['secret', 'status', 'check', 'why'], rows, { width });
    expect(Math.max(...text.split('\n').map(displayWidth))).toBeLessThanOrEqual(width);
    expect(text).toContain('as expected');
    const why = text.startsWith('┌') ? text.split('\n').map((line) => line.split('│')[4] ?? '') : [text];
    expect(why.join('').replace(/\s/g, '')).toContain(rows[0]![3]!.replace(/\s/g, ''));
  }
  // Unchanged when everything fits.
  const roomy = renderTable(['secret', 'status'], [['a', 'b']], { width: 120 });
  expect(roomy).toBe(renderTable(['secret', 'status'], [['a', 'b']]));
});

test('durations read as people say them', () => {
  expect(formatDuration(850)).toBe('850 ms');
  expect(formatDuration(12_340)).toBe('12.3 s');
  expect(formatDuration(245_000)).toBe('4 min 05 s');
});

describe('wrapText', () => {
  test('breaks at spaces within the width, keeps spacing inside a line, and cuts only a word wider than a line', () => {
    const hash = 'ab'.repeat(32);
    const lines = wrapText(
      `  OK         run-1  changed: stored with SHA-256 ${hash} and more words`,
      40,
      '',
      '    ',
    );
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(40);
    expect(lines[0]).toBe('  OK         run-1  changed: stored with');
    expect(lines.join('').replace(/ /g, '')).toBe(`OKrun-1changed:storedwithSHA-256${hash}andmorewords`);
    expect(wrapText('as it is', undefined, '> ')).toEqual(['> as it is']);
  });
});
