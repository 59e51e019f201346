import type { RunRecord } from '../../src/contract/formats';
import {
  abbreviateAuthorIds,
  displayWidth,
  fitColumns,
  fitLine,
  renderRunSummary,
  renderTable,
  shortenMiddle,
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
  settings: {},
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

function widest(text: string): number {
  return Math.max(...text.split('\n').map(displayWidth));
}

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

describe('shortenMiddle and displayWidth', () => {
  test('keeps both ends of a path around an ellipsis, in exactly the width', () => {
    const short = shortenMiddle(SNAPSHOT, 40);
    expect(displayWidth(short)).toBe(40);
    expect(short.startsWith('snapshots/561F69')).toBe(true);
    expect(short.endsWith('170437Z-750e07/')).toBe(true);
    expect(short).toContain('…');
    expect(shortenMiddle('short', 40)).toBe('short');
    expect(shortenMiddle('abcdef', 1)).toBe('…');
    expect(shortenMiddle('abcdef', 0)).toBe('');
  });

  test('counts wide characters and emoji as two columns and never splits them', () => {
    expect(displayWidth('李伟 (Li Wei)')).toBe(13);
    expect(displayWidth('Sofía 🚀')).toBe(8);
    expect(displayWidth('👨\u200d👩\u200d👧')).toBe(2);
    expect(displayWidth('e\u0301')).toBe(1);
    const cut = shortenMiddle('李伟李伟李伟李伟李伟', 7);
    expect(displayWidth(cut)).toBeLessThanOrEqual(7);
    expect(cut).toMatch(/^[李伟]+…[李伟]+$/);
    expect(shortenMiddle('👨\u200d👩\u200d👧👨\u200d👩\u200d👧👨\u200d👩\u200d👧', 5)).toBe(
      '👨\u200d👩\u200d👧…👨\u200d👩\u200d👧',
    );
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

describe.each([80, 120])('the run summary at %i columns', (width) => {
  const text = renderRunSummary(record, { width });

  test('no line is wider than the terminal', () => {
    expect(widest(text)).toBeLessThanOrEqual(width);
  });

  test('every author, status and the run line are there; long cells are shortened in the middle', () => {
    for (const author of record.authors) expect(text).toContain(author.status);
    expect(text).toContain(`Run ${RUN}: partial (1 complete, 1 failed, 1 skipped)`);
    expect(text).toContain('…');
    expect(text).toMatch(/snapshots\/561F6.*…/);
    expect(text).toContain('-750e07/');
    expect(text).toContain('valid');
  });
});

test('at 120 columns the summary is a table, at 80 each author is a block of lines', () => {
  const wide = renderRunSummary(record, { width: 120 });
  expect(wide.split('\n')[0]).toMatch(/^┌─+┬/);
  expect(wide).toContain('gallery-author-zoe-muller');
  const narrow = renderRunSummary(record, { width: 80 });
  expect(narrow).not.toContain('┌');
  expect(narrow).toContain('secret: gallery-author-zoe-muller');
  expect(narrow).toMatch(/^ {2}snapshot \/ reason {2}snapshots\/561F69.*…/m);
  expect(narrow).toMatch(/^ {2}token +valid$/m);
});

test('a terminal too narrow for whole paths first shortens the author IDs in them', () => {
  const text = renderRunSummary(record, { width: 160 });
  expect(widest(text)).toBeLessThanOrEqual(160);
  expect(text).toContain(`snapshots/561F69…3B67/2026/12/03/${RUN}/`);
  expect(renderRunSummary(record, { width: 400 })).toContain(SNAPSHOT);
});

test('very narrow terminals still never get a line wider than they are', () => {
  for (const width of [30, 12, 5, 1]) {
    const text = renderRunSummary(record, { width });
    expect(widest(text)).toBeLessThanOrEqual(width);
  }
  expect(renderRunSummary(record, { width: 30 })).toMatch(/^ {2}status +complete$/m);
});

test('without a width (a pipe, a file) every cell stays whole, as before', () => {
  const text = renderRunSummary(record);
  expect(text).toContain(SNAPSHOT);
  expect(text).toContain(record.authors[1]!.error!.message);
  expect(text.replace(/[0-9A-F]{6}…[0-9A-F]{4}/g, '')).not.toContain('…');
});

test('the demo table fits 80 and 120 columns and keeps the start and end of each sentence', () => {
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
    expect(widest(text)).toBeLessThanOrEqual(width);
    expect(text).toContain('as expected');
    expect(text).toMatch(/on purpose: .*…/);
    expect(text).toContain('NOT_FOUND)');
  }
  // Unchanged when everything fits.
  const roomy = renderTable(['secret', 'status'], [['a', 'b']], { width: 120 });
  expect(roomy).toBe(renderTable(['secret', 'status'], [['a', 'b']]));
});

test('author IDs in paths and messages shrink to the form of the author column', () => {
  expect(abbreviateAuthorIds(SNAPSHOT)).toBe(`snapshots/561F69…3B67/2026/12/03/${RUN}/`);
  expect(abbreviateAuthorIds(`no author ${AUTHOR} (404)`)).toBe('no author 561F69…3B67 (404)');
  expect(abbreviateAuthorIds(`x${AUTHOR}0`)).toBe(`x${AUTHOR}0`);
});

test('fitLine shortens a long line only when there is a width', () => {
  const line = `  ${SNAPSHOT}  ->  /tmp/gallery-export-demo/copies/${RUN}/zoe-muller`;
  expect(fitLine(line, undefined)).toBe(line);
  const fitted = fitLine(line, 80);
  expect(displayWidth(fitted)).toBe(80);
  expect(fitted.endsWith('/zoe-muller')).toBe(true);
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
