import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

export interface TerminalResult {
  code: number | null;
  /** Everything the terminal was sent, escape sequences included. */
  raw: string;
  /** Each line as it is drawn: escape sequences removed, split at line feeds and carriage returns. */
  lines: string[];
}

/**
 * Runs `gallery-export <args>` (from the sources, through tsChild.js) in a pseudo-terminal of `columns`
 * x 40 made by util-linux `script`, as a person at a terminal would: stdout and stderr are that terminal.
 */
export function runInTerminal(
  args: string[],
  env: Record<string, string>,
  columns = 120,
): Promise<TerminalResult> {
  const command = [
    process.execPath,
    join(root, 'test/support/tsChild.js'),
    join(root, 'test/support/processEntry.ts'),
    ...args,
  ]
    .map((part) => `'${part.replace(/'/g, "'\\''")}'`)
    .join(' ');
  const child = spawn('script', ['-qfec', `stty cols ${columns} rows 40; ${command}`, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', TERM: 'xterm-256color', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(deadline);
      const raw = Buffer.concat(chunks).toString('utf8');
      const lines = raw
        // A cursor move (a redraw going back to a line, or to its start) ends the text drawn before it;
        // other escape sequences (clearing, colours, modes) draw nothing.
        // eslint-disable-next-line no-control-regex
        .replace(/\u001b\[[0-9;?]*[ABEFGH]/g, '\n')
        // eslint-disable-next-line no-control-regex
        .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007|\u001b[()][0-9A-Za-z]/g, '')
        .split(/\r\n|\r|\n/);
      resolve({ code, raw, lines });
    }),
  );
}
