import type { Writable } from 'node:stream';
import { loadConfig, type Config, type LoadConfigOptions } from '../config';
import { GalleryExportError } from '../contract/errors';
import type { Logger } from '../export/ports';
import { createServices, type AppServices } from '../services';
import { terminalWidth, wrapText } from './format';

/** Exit codes of the contract: 0 success, 1 the work failed, 2 usage or configuration error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** Where a command reads settings and writes output; tests pass their own. */
export interface CliIo {
  env: Readonly<Record<string, string | undefined>>;
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /** Aborted on Ctrl-C. */
  signal: AbortSignal;
  stdin?: NodeJS.ReadableStream;
}

export class CliContext {
  verbose = false;

  constructor(readonly io: CliIo) {}

  out(line = ''): void {
    this.io.stdout.write(`${line}\n`);
  }

  err(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /**
   * A message for people on stderr, every line wrapped to the terminal's width (stderr's, or COLUMNS);
   * a wrapped line continues under its own indentation. Shell lines to paste (`export NAME='value'`) are
   * left whole.
   */
  errLines(text: string): void {
    this.writeWrapped(this.io.stderr, text, (line) => this.err(line));
  }

  /** Sentences for people on stdout, wrapped as {@link errLines} wraps them (never JSON: that stays whole). */
  outLines(text: string): void {
    this.writeWrapped(this.io.stdout, text, (line) => this.out(line));
  }

  private writeWrapped(
    stream: { isTTY?: boolean; columns?: number },
    text: string,
    write: (line: string) => void,
  ): void {
    const width = terminalWidth(stream, this.io.env);
    for (const line of text.split('\n')) {
      // `export NAME='value'` is there to be pasted into a shell: a line break inside would break it.
      if (/^\s*export [A-Z_][A-Z0-9_]*=/.test(line)) {
        write(line);
        continue;
      }
      // "  - EXPORT_STORAGE is required: ..." continues under "EXPORT_STORAGE"; other lines 2 further in.
      const hanging = `${/^ */.exec(line)![0]}  `.slice(0, 12);
      for (const wrapped of wrapText(line, width, '', hanging)) write(wrapped);
    }
  }

  config(options: LoadConfigOptions = {}): Config {
    return loadConfig(this.io.env, { needsExport: false, needsTimer: false, ...options });
  }

  /** Core log lines: warnings and errors always, the machine-oriented ones only with --verbose. */
  logger(): Logger {
    return {
      info: (message) => {
        if (this.verbose) this.err(message);
      },
      warn: (message) => {
        if (this.verbose || !message.startsWith('GalleryExport.')) this.errLines(`warning: ${message}`);
      },
      error: (message) => this.errLines(`error: ${message}`),
    };
  }

  /** An export's services (`run`, the demo), over settings checked for an export. */
  async withServices<T>(work: (services: AppServices) => Promise<T>): Promise<T> {
    const services = createServices(this.config({ needsExport: true }), { logger: this.logger() });
    try {
      return await work(services);
    } finally {
      await services.close();
    }
  }
}

export function usageError(message: string): GalleryExportError {
  return new GalleryExportError('USAGE', message);
}
