import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { RunEvent } from '../export/runInProcess';
import type { CliContext } from './CliContext';
import { describeOutcome } from './format';

/**
 * Progress of a run on stderr: a live bar per author on a terminal, plain lines otherwise (CI logs,
 * pipes), so output stays readable in both.
 */
export class RunProgress {
  private readonly bars = new Map<string, SingleBar>();
  private readonly multibar: MultiBar | undefined;

  constructor(private readonly cli: CliContext) {
    const stream = cli.io.stderr;
    if (stream.isTTY) {
      this.multibar = new MultiBar(
        {
          stream,
          format: ' {bar} {secret} {value}/{total} entities {state}',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          barsize: 24,
          fps: 10,
        },
        Presets.shades_classic,
      );
    }
  }

  readonly onEvent = (event: RunEvent): void => {
    switch (event.type) {
      case 'run-planned': {
        const { pending, skipped } = event.record.counts;
        this.line(`Run ${event.record.runId}: ${pending} author(s) to export, ${skipped} skipped`);
        break;
      }
      case 'author-started':
        if (this.multibar) {
          this.bars.set(
            event.secretName,
            this.multibar.create(0, 0, { secret: event.secretName, state: '' }),
          );
        } else {
          this.line(`${event.secretName}: exporting`);
        }
        break;
      case 'author-progress': {
        const bar = this.bars.get(event.secretName);
        const { entities, expected, pass } = event.progress;
        if (bar) {
          bar.setTotal(Math.max(expected ?? entities, entities));
          bar.update(entities, { state: pass > 1 ? `(re-reading, pass ${pass})` : '' });
        }
        break;
      }
      case 'author-finished': {
        const { outcome } = event;
        const bar = this.bars.get(outcome.secretName);
        if (bar) {
          bar.update(outcome.counts?.entities ?? bar.getProgress() * bar.getTotal(), {
            state: outcome.status,
          });
          bar.stop();
        } else {
          const counts = outcome.counts ? ` ${outcome.counts.entities} entities,` : '';
          this.line(`${outcome.secretName}: ${outcome.status}${counts} ${describeOutcome(outcome)}`);
        }
        break;
      }
      case 'run-finished':
        this.stop();
        break;
    }
  };

  stop(): void {
    this.multibar?.stop();
  }

  private line(text: string): void {
    if (this.multibar) this.multibar.log(`${text}\n`);
    else this.cli.err(text);
  }
}
