import type { Writable } from 'node:stream';
import { loadConfig, type Config, type LoadConfigOptions } from '../config';
import { GalleryExportError } from '../contract/errors';
import type { Logger } from '../export/ports';
import { createServices, type AppServices } from '../services';

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

  config(options?: LoadConfigOptions): Config {
    return loadConfig(this.io.env, options);
  }

  /** Core log lines: warnings and errors always, the machine-oriented ones only with --verbose. */
  logger(): Logger {
    return {
      info: (message) => {
        if (this.verbose) this.err(message);
      },
      warn: (message) => {
        if (this.verbose || !message.startsWith('GalleryExport.')) this.err(`warning: ${message}`);
      },
      error: (message) => this.err(`error: ${message}`),
    };
  }

  async withServices<T>(work: (services: AppServices) => Promise<T>): Promise<T> {
    const services = createServices(this.config(), { logger: this.logger() });
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
