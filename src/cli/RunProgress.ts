import { MultiBar, type SingleBar } from 'cli-progress';
import type { AuthorOutcome, CatalogFigures } from '../contract/formats';
import type { RunEvent } from '../export/runInProcess';
import { labelOf } from './authorNames';
import type { CliContext } from './CliContext';
import { describeOutcome, displayWidth, formatDuration } from './format';

/** One author's export as the progress display knows it. */
interface AuthorProgress {
  label: string;
  state: 'exporting' | 'complete' | 'failed' | 'skipped';
  entities: number;
  /** The catalog's total_count of the pass, when it sent one. */
  expected: number | undefined;
  pass: number;
  /** The live counters of the author's catalog calls (retries, 429s), when the catalog client shares them. */
  catalog: Readonly<CatalogFigures> | undefined;
  startedAt: number;
  finishedAt: number | undefined;
  /** An error code (failed) or a reason (skipped). */
  why: string | undefined;
  /** What the plain-lines display last said about retries, and when. */
  reported: { retries: number; throttled: number; at: number };
}

const BAR_WIDTH = 20;
/** Labels are padded to the longest one, up to this: the bars line up. */
const MAX_LABEL_PAD = 30;
/** The plain-lines display says at most this often that an author's catalog calls are being retried. */
const RETRY_REPORT_INTERVAL_MS = 5000;

/**
 * Progress of a run on stderr: on a terminal a line per author (its state, a bar when the catalog gave a
 * total and "?" when it did not, the time it has taken, and its retries and 429s as they happen) under a
 * line for the run; otherwise (CI logs, pipes) plain lines: when each author starts and ends, how long it
 * took, and, every few seconds at most, that the catalog is being retried.
 */
export class RunProgress {
  private readonly authors = new Map<string, AuthorProgress>();
  private readonly bars = new Map<string, SingleBar>();
  private readonly multibar: MultiBar | undefined;
  private readonly ticker: NodeJS.Timeout | undefined;
  private runId = '';
  private secretPrefix = '';
  private readonly startedAt = Date.now();

  constructor(private readonly cli: CliContext) {
    const stream = cli.io.stderr;
    if (stream.isTTY) {
      this.multibar = new MultiBar({
        stream,
        format: (_options, params, payload: { secretName?: string }) =>
          this.renderLine(payload.secretName, params.maxWidth),
        hideCursor: true,
        clearOnComplete: false,
        stopOnComplete: false,
        linewrap: false,
        fps: 5,
      });
      this.multibar.create(1, 0, {});
    } else {
      this.ticker = setInterval(() => this.reportRetries(), 1000);
      this.ticker.unref();
    }
  }

  readonly onEvent = (event: RunEvent): void => {
    switch (event.type) {
      case 'run-planned': {
        const { record } = event;
        this.runId = record.runId;
        this.secretPrefix = String(record.settings.AUTHOR_SECRET_PREFIX ?? '');
        if (!this.multibar) {
          this.cli.errLines(
            `Run ${record.runId}: ${record.counts.pending} author(s) to export, ${record.counts.skipped} skipped`,
          );
        }
        break;
      }
      case 'author-started': {
        const label = labelOf(event.secretName, this.secretPrefix);
        this.authors.set(event.secretName, {
          label,
          state: 'exporting',
          entities: 0,
          expected: undefined,
          pass: 1,
          catalog: undefined,
          startedAt: Date.now(),
          finishedAt: undefined,
          why: undefined,
          reported: { retries: 0, throttled: 0, at: 0 },
        });
        if (this.multibar)
          this.bars.set(event.secretName, this.multibar.create(1, 0, { secretName: event.secretName }));
        else this.cli.errLines(`${label}: exporting`);
        break;
      }
      case 'author-progress': {
        const author = this.authors.get(event.secretName);
        if (!author) break;
        const { entities, expected, pass, catalog } = event.progress;
        Object.assign(author, { entities, expected, pass }, catalog ? { catalog } : {});
        break;
      }
      case 'author-finished':
        this.finish(event.outcome);
        break;
      case 'run-finished':
        this.stop();
        break;
    }
  };

  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.multibar?.stop();
  }

  private finish(outcome: AuthorOutcome): void {
    const author = this.authors.get(outcome.secretName);
    if (!author) return;
    author.state = outcome.status === 'pending' ? 'failed' : outcome.status;
    author.finishedAt = outcome.durationMs !== undefined ? author.startedAt + outcome.durationMs : Date.now();
    if (outcome.catalog) author.catalog = outcome.catalog;
    if (outcome.counts) author.entities = outcome.counts.entities;
    author.why = outcome.error?.code ?? outcome.reason;
    if (this.multibar) return;
    const took = formatDuration(author.finishedAt - author.startedAt);
    const calls = describeCalls(author.catalog);
    const counted = outcome.counts ? `, ${outcome.counts.entities} entities` : '';
    const head =
      author.state === 'failed'
        ? `${author.label}: FAILED in ${took}${calls ? ` (${calls})` : ''}`
        : `${author.label}: ${author.state}${counted} in ${took}${calls ? ` (${calls})` : ''}`;
    this.cli.errLines(`${head}: ${describeOutcome(outcome)}`);
  }

  /** Plain lines only: that an author's catalog calls are being retried, at most every few seconds. */
  private reportRetries(): void {
    const now = Date.now();
    for (const author of this.authors.values()) {
      const { catalog, reported } = author;
      if (author.state !== 'exporting' || !catalog) continue;
      if (catalog.retries === reported.retries && catalog.throttled === reported.throttled) continue;
      if (now - reported.at < RETRY_REPORT_INTERVAL_MS) continue;
      author.reported = { retries: catalog.retries, throttled: catalog.throttled, at: now };
      this.cli.errLines(
        `${author.label}: the catalog is being retried (${describeCalls(catalog)} so far; ${author.entities}/${author.expected ?? '?'} entities after ${formatDuration(now - author.startedAt)})`,
      );
    }
  }

  /** The terminal line of an author (or, without one, of the run), in at most `width` columns. */
  private renderLine(secretName: string | undefined, width: number): string {
    const author = secretName === undefined ? undefined : this.authors.get(secretName);
    const labelWidth = Math.min(
      MAX_LABEL_PAD,
      Math.max(0, ...[...this.authors.values()].map((candidate) => displayWidth(candidate.label))),
    );
    const line = author ? describeAuthor(author, Date.now(), width, labelWidth) : this.describeRun();
    return fitWidth(line, width);
  }

  private describeRun(): string {
    const all = [...this.authors.values()];
    const done = all.filter((author) => author.state !== 'exporting');
    const failed = done.filter((author) => author.state === 'failed').length;
    const elapsed = formatDuration(Date.now() - this.startedAt);
    return `Run ${this.runId || '(planning)'}: ${done.length} of ${all.length} author(s) done${failed ? `, ${failed} FAILED` : ''}, ${elapsed}`;
  }
}

/** "2 retries, 1 throttled": the catalog calls an author needed beyond one each; empty when none. */
function describeCalls(catalog: Readonly<CatalogFigures> | undefined): string {
  if (!catalog || (catalog.retries === 0 && catalog.throttled === 0)) return '';
  return `${catalog.retries} ${catalog.retries === 1 ? 'retry' : 'retries'}, ${catalog.throttled} throttled`;
}

/**
 * `complete   ada-lovelace  ████████████████████  320/320 entities  1.2 s` — the state in words, a bar
 * only where the total is known (a failed author's stays where it stopped), and the notes that matter:
 * the failure's code, the catalog's retries and 429s, a second pass.
 */
function describeAuthor(author: AuthorProgress, now: number, width: number, labelWidth: number): string {
  const state = { exporting: 'exporting', complete: 'complete', failed: 'FAILED', skipped: 'skipped' }[
    author.state
  ];
  const total = author.state === 'complete' ? Math.max(author.entities, 1) : author.expected;
  const share =
    author.state === 'complete' ? 1 : total ? Math.min(1, author.entities / Math.max(total, 1)) : 0;
  const filled = Math.round(share * BAR_WIDTH);
  const bar =
    total === undefined && author.state !== 'complete'
      ? '?'.padEnd(BAR_WIDTH, '·')
      : '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  const count = `${author.entities}/${author.state === 'complete' ? author.entities : (author.expected ?? '?')} entities`;
  const took = formatDuration((author.finishedAt ?? now) - author.startedAt);
  const notes = [
    ...(author.why ? [author.why] : []),
    ...(author.pass > 1 && author.state === 'exporting' ? [`re-reading, pass ${author.pass}`] : []),
    ...(describeCalls(author.catalog) ? [describeCalls(author.catalog)] : []),
  ];
  const head = `${state.padEnd(9)} ${author.label}${' '.repeat(Math.max(0, labelWidth - displayWidth(author.label)))}`;
  const line = `${head}  ${bar}  ${count}  ${took}${notes.length ? `  ${notes.join('; ')}` : ''}`;
  if (displayWidth(line) <= width) return line;
  // Too wide: the bar goes first, then the notes; the state, label, count and time stay.
  return `${head}  ${count}  ${took}${notes.length ? `  ${notes.join('; ')}` : ''}`;
}

/** A progress line never wider than the terminal (cli-progress would let the terminal cut it). */
function fitWidth(line: string, width: number): string {
  if (displayWidth(line) <= width) return line;
  let fitted = '';
  for (const character of line) {
    if (displayWidth(fitted + character) > width) break;
    fitted += character;
  }
  return fitted;
}
