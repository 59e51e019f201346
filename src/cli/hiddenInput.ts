import { usageError } from './CliContext';

/** A terminal's input stream: what reading a line without echo needs of it. */
export interface TerminalInput extends NodeJS.ReadableStream {
  isTTY: boolean;
  setRawMode(mode: boolean): unknown;
}

export interface ReadHiddenLineOptions {
  /** Most bytes accepted; more is a usage error (a token is a few KB). */
  maxBytes: number;
  /** Shows the prompt: called once the echo is off, so nothing typed right after it can be echoed. */
  prompt: () => void;
  signal?: AbortSignal;
}

/**
 * One line typed or pasted at a terminal, with the terminal's echo off (raw mode), so that nothing of it
 * appears on the screen or in a scrollback: Enter (or Ctrl-D) ends it, Backspace removes a character,
 * Ctrl-C cancels (undefined). The terminal is always given back in the mode it was in.
 */
export function readHiddenLine(
  input: TerminalInput,
  options: ReadHiddenLineOptions,
): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let line = '';
    const finish = (result: { line?: string | undefined; error?: Error }): void => {
      input.removeListener('data', onData);
      options.signal?.removeEventListener('abort', onAbort);
      input.setRawMode(false);
      input.pause();
      if (result.error) reject(result.error);
      else resolve(result.line);
    };
    const onAbort = (): void => finish({ line: undefined });
    const onData = (chunk: Buffer | string): void => {
      for (const character of chunk.toString()) {
        if (character === '\r' || character === '\n' || character === '\u0004') {
          finish({ line });
          return;
        }
        if (character === '\u0003') {
          finish({ line: undefined });
          return;
        }
        if (character === '\u007f' || character === '\b') {
          line = Array.from(line).slice(0, -1).join('');
          continue;
        }
        line += character;
        if (Buffer.byteLength(line) > options.maxBytes) {
          finish({ error: usageError(`The token typed is larger than ${options.maxBytes} bytes`) });
          return;
        }
      }
    };
    if (options.signal?.aborted) {
      resolve(undefined);
      return;
    }
    options.signal?.addEventListener('abort', onAbort, { once: true });
    input.setRawMode(true);
    options.prompt();
    input.on('data', onData);
    input.resume();
  });
}
