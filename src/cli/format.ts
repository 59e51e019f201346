import Table from 'cli-table3';
import type { AuthorOutcome, RunRecord } from '../contract/formats';
import { authorCell } from './authorNames';

/**
 * What the CLI prints for people: tables that fit the terminal. On a terminal a table takes its width
 * from the terminal (or COLUMNS); cells too long for it (paths, IDs, messages) wrap over several lines
 * inside their column (at spaces, after a slash in a path, inside a word only when it is wider than the
 * column), so nothing is ever cut off and no line is wider than the terminal; when even that cannot fit,
 * each row is printed as a block of "header  value" lines whose values wrap the same way. When the
 * output is not a terminal (a pipe, a file, a CI log) every cell stays on one line, since scripts and
 * people searching logs read those, unless COLUMNS asks for a width. `--json` is never wrapped.
 */

export interface TableLayoutOptions {
  /**
   * Columns the output may use (see {@link terminalWidth}); undefined means no limit and one line per cell.
   * @default undefined
   */
  width?: number | undefined;
  /**
   * Columns never wrapped while the table can fit by wrapping the others (an author ID a person copies):
   * when it cannot, the rows become blocks, where such a value starts on a line of its own.
   * @default []
   */
  unbroken?: readonly number[];
}

/**
 * A wrapped column keeps at least this many columns (and its whole header): a table narrower than that is
 * no longer readable, so rows are printed as blocks instead.
 */
export const MIN_TABLE_COLUMN_WIDTH = 24;

/**
 * The width to lay tables out for: COLUMNS when it is a positive number (as `ls` and most tools
 * honour it), else the terminal's width, else undefined (not a terminal: no limit).
 */
export function terminalWidth(
  stream: { isTTY?: boolean; columns?: number },
  env: Readonly<Record<string, string | undefined>> = {},
): number | undefined {
  const columns = Number(env.COLUMNS);
  if (Number.isSafeInteger(columns) && columns > 0) return columns;
  if (stream.isTTY && typeof stream.columns === 'number' && stream.columns > 0) return stream.columns;
  return undefined;
}

export function renderTable(head: string[], rows: string[][], options: TableLayoutOptions = {}): string {
  const header = head.map(terminalSafe);
  const body = rows.map((row) => header.map((_, index) => terminalSafe(row[index] ?? '')));
  const { width } = options;
  if (width === undefined) return drawTable(header, body);
  const natural = header.map((title, index) =>
    Math.max(1, displayWidth(title), ...body.map((row) => displayWidth(row[index]!))),
  );
  // cli-table3 draws a border between and around the columns, and one space of padding on each side.
  const budget = width - (3 * header.length + 1);
  const unbroken = new Set(options.unbroken ?? []);
  const least = header.map((title, index) =>
    unbroken.has(index)
      ? natural[index]!
      : Math.min(natural[index]!, Math.max(MIN_TABLE_COLUMN_WIDTH, displayWidth(title))),
  );
  const widths = fitColumns(natural, budget, least);
  if (!widths) return renderBlocks(header, body, width);
  const wrap = (cells: string[]): string[] =>
    cells.map((cell, index) => wrapText(cell, widths[index]).join('\n'));
  return drawTable(header, body.map(wrap), widths);
}

/** The columns a table needs to show every cell whole. */
export function naturalTableWidth(head: readonly string[], rows: readonly string[][]): number {
  const columns = head.map((title, index) =>
    Math.max(
      1,
      displayWidth(terminalSafe(title)),
      ...rows.map((row) => displayWidth(terminalSafe(row[index] ?? ''))),
    ),
  );
  return columns.reduce((sum, value) => sum + value, 0) + 3 * head.length + 1;
}

/**
 * Column widths that fit `budget`: the widest columns give way first, none below its `least` width;
 * undefined when that is not enough.
 */
export function fitColumns(
  natural: readonly number[],
  budget: number,
  least: readonly number[] = natural.map((value) => Math.min(value, MIN_TABLE_COLUMN_WIDTH)),
): number[] | undefined {
  const total = natural.reduce((sum, value) => sum + value, 0);
  if (total <= budget) return [...natural];
  if (least.reduce((sum, value) => sum + value, 0) > budget) return undefined;
  // The highest "water level" at which the capped columns still fit, then the spare columns to the
  // widest ones that were capped.
  const capped = (level: number): number[] =>
    natural.map((value, index) => Math.max(least[index]!, Math.min(value, level)));
  const used = (widths: number[]): number => widths.reduce((sum, value) => sum + value, 0);
  let low = 0;
  let high = Math.max(...natural);
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (used(capped(middle)) <= budget) low = middle;
    else high = middle - 1;
  }
  const widths = capped(low);
  let spare = budget - used(widths);
  for (let index = 0; spare > 0 && index < widths.length; index++) {
    if (widths[index]! < natural[index]!) {
      widths[index]!++;
      spare--;
    }
  }
  return widths;
}

/**
 * Each row as a block: its first cell as a title, then one indented "header  value" line per cell, each
 * value wrapped under itself; on a terminal too narrow even for the labels, "header: value" wrapped.
 */
function renderBlocks(header: string[], body: string[][], width: number): string {
  const labelWidth = Math.max(...header.slice(1).map(displayWidth), 0);
  const lines: string[] = [];
  for (const row of body) {
    if (lines.length > 0) lines.push('');
    lines.push(...wrapText(`${header[0]}: ${row[0]}`, width, '', '  '));
    row.slice(1).forEach((cell, index) => {
      const label = header[index + 1]!;
      const prefix = `  ${label}${' '.repeat(labelWidth - displayWidth(label))}  `;
      const room = width - displayWidth(prefix);
      if (room >= Math.min(MIN_TABLE_COLUMN_WIDTH, displayWidth(cell))) {
        const [first = '', ...rest] = wrapText(cell, room);
        lines.push(
          `${prefix}${first}`.trimEnd(),
          ...rest.map((line) => `${' '.repeat(displayWidth(prefix))}${line}`),
        );
      } else {
        lines.push(...wrapText(`  ${label}: ${cell}`, width, '', '    '));
      }
    });
  }
  return lines.join('\n');
}

function drawTable(head: string[], rows: string[][], widths?: number[]): string {
  const table = new Table({
    head,
    style: { head: [], border: [] },
    ...(widths ? { colWidths: widths.map((value) => value + 2), wordWrap: false } : { wordWrap: true }),
  });
  table.push(...rows);
  return table.toString();
}

/**
 * Text that cannot upset a terminal: line breaks and tabs become spaces (a cell is one line), other
 * control characters and bidirectional overrides become "?" (an ESC from a catalog value or an error
 * message must never reach the terminal as an escape sequence).
 */
export function terminalSafe(text: string): string {
  return text.replace(/\r\n|[\n\r\t]/g, ' ').replace(/[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu, '?');
}

const graphemes = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** The columns a string takes in a terminal: wide East Asian characters and emoji take two. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const { segment } of graphemes.segment(text)) width += graphemeWidth(segment);
  return width;
}

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}]+$/u;
const EMOJI = /\p{Emoji_Presentation}|\p{Extended_Pictographic}\ufe0f/u;

function graphemeWidth(grapheme: string): number {
  if (ZERO_WIDTH.test(grapheme)) return 0;
  if (EMOJI.test(grapheme)) return 2;
  const code = grapheme.codePointAt(0)!;
  return isWide(code) ? 2 : 1;
}

/** East Asian Wide and Fullwidth ranges (Unicode 15), the ones that occur in real text. */
function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0x303e) ||
    (code >= 0x3041 && code <= 0x33ff) ||
    (code >= 0x3400 && code <= 0x4dbf) ||
    (code >= 0x4e00 && code <= 0x9fff) ||
    (code >= 0xa000 && code <= 0xa4cf) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

export function describeOutcome(author: AuthorOutcome): string {
  switch (author.status) {
    case 'complete':
      return author.snapshot ?? '';
    case 'skipped':
      return author.reason ?? 'skipped';
    case 'failed':
      return author.error ? `${author.error.code}: ${author.error.message}` : 'failed';
    case 'pending':
      return 'not finished';
  }
}

/**
 * The run's table: each author by its label and the first characters of its ID (what every command's
 * --author accepts), its snapshot or why it failed or was skipped, whole (wrapped on a terminal); then
 * the run's line, with its duration.
 */
export function renderRunSummary(record: RunRecord, options: TableLayoutOptions = {}): string {
  const secretPrefix = String(record.settings.AUTHOR_SECRET_PREFIX ?? '');
  const head = ['author', 'status', 'entities', 'token', 'snapshot / reason'];
  const rows = record.authors.map((author) => [
    authorCell(author.secretName, author.authorId, secretPrefix),
    author.status,
    author.counts ? `${author.counts.entities} (${author.counts.unlisted} unlisted)` : '-',
    author.tokenStatus ?? '-',
    describeOutcome(author),
  ]);
  const { complete, failed, skipped } = record.counts;
  const took = record.completedAt
    ? ` in ${formatDuration(Date.parse(record.completedAt) - Date.parse(record.startedAt))}`
    : '';
  const line = `Run ${record.runId}: ${record.status} (${complete} complete, ${failed} failed, ${skipped} skipped)${took}${record.error ? ` - ${record.error.code}: ${record.error.message}` : ''}`;
  return [renderTable(head, rows, options), ...wrapText(line, options.width, '', '  ')].join('\n');
}

/** A duration for people: "850 ms", "12.3 s", "4 min 05 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * `text` as lines of at most `width` columns (undefined: one line), broken at spaces; a word wider than a
 * line (a path, a hash) is broken after a slash where it can, and between characters only where it
 * cannot: nothing is ever cut off, and spacing within a line is kept. Every line starts with `indent`;
 * lines after the first with `hanging` instead.
 */
export function wrapText(text: string, width: number | undefined, indent = '', hanging = indent): string[] {
  const safe = terminalSafe(text);
  if (width === undefined) return [`${indent}${safe}`];
  // An indent as wide as the line leaves no room for text: a very narrow terminal goes without.
  if (displayWidth(indent) >= width) indent = '';
  if (displayWidth(hanging) >= width) hanging = '';
  const lines: string[] = [];
  let line = indent;
  let lineWidth = displayWidth(indent);
  let empty = true;
  const newLine = (): void => {
    lines.push(line.trimEnd());
    line = hanging;
    lineWidth = displayWidth(hanging);
    empty = true;
  };
  const append = (piece: string, pieceWidth: number): void => {
    line += piece;
    lineWidth += pieceWidth;
    empty = false;
  };
  const room = Math.max(1, width - displayWidth(hanging));
  // Each word with the spaces before it; at a break the spaces go.
  for (const [, spaces = '', word = ''] of safe.matchAll(/( *)([^ ]+)/g)) {
    const wordWidth = displayWidth(word);
    const gap = empty ? '' : spaces;
    // A word that fits on a line of its own goes there whole; a longer one starts where the line is.
    if (!empty && lineWidth + gap.length + wordWidth > width && wordWidth <= room) newLine();
    const lead = empty ? (lines.length === 0 ? spaces : '') : spaces;
    if (lineWidth + lead.length + wordWidth <= width) {
      append(lead, lead.length);
      append(word, wordWidth);
      continue;
    }
    if (lineWidth + lead.length < width) append(lead, lead.length);
    else if (!empty) newLine();
    // Wider than a line: after each slash where the next piece fits, else between characters.
    for (const piece of word.split(/(?<=\/)/)) {
      const pieceWidth = displayWidth(piece);
      if (!empty && lineWidth + pieceWidth > width && pieceWidth <= room) newLine();
      if (lineWidth + pieceWidth <= width) {
        append(piece, pieceWidth);
        continue;
      }
      for (const { segment } of graphemes.segment(piece)) {
        const next = graphemeWidth(segment);
        if (lineWidth + next > width && !empty) newLine();
        append(segment, next);
      }
    }
  }
  if (!empty || lines.length === 0) lines.push(line.trimEnd());
  return lines;
}
