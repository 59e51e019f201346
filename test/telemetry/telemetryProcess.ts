import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

export interface TelemetryProcess {
  /** The first JSON line printed that has this key (waiting for it). */
  line<T extends object>(key: string, timeoutMs?: number): Promise<T>;
  /** Sends a line to the process's standard input. */
  send(line: string): void;
  /** The exit code, and the time from `send` (or start) to the exit. */
  exit: Promise<{ code: number | null; msSinceLastSend: number }>;
  stderr(): string;
}

/**
 * test/telemetry/telemetryChild.ts in its own Node process, with only the given environment (none of
 * the machine's OTEL_* variables leak in).
 */
export function startTelemetryProcess(
  mode: 'run' | 'modules',
  env: Record<string, string>,
): TelemetryProcess {
  const child = spawn(
    process.execPath,
    [join(root, 'test/support/tsChild.js'), join(root, 'test/telemetry/telemetryChild.ts'), mode],
    { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const lines: Array<Record<string, unknown>> = [];
  const waiting: Array<() => void> = [];
  let buffered = '';
  let errors = '';
  let lastSend = performance.now();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, end)) as Record<string, unknown>);
      buffered = buffered.slice(end + 1);
      for (const wake of waiting.splice(0)) wake();
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  const exit = new Promise<{ code: number | null; msSinceLastSend: number }>((resolve) =>
    child.once('exit', (code) => {
      for (const wake of waiting.splice(0)) wake();
      resolve({ code, msSinceLastSend: performance.now() - lastSend });
    }),
  );
  let exited = false;
  void exit.then(() => (exited = true));
  return {
    line: async <T extends object>(key: string, timeoutMs = 30_000): Promise<T> => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = lines.find((line) => key in line);
        if (found) return found as T;
        if (exited || performance.now() > deadline) {
          throw new Error(`The telemetry process printed no "${key}" (stderr: ${errors.slice(0, 2000)})`);
        }
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
    send: (line) => {
      lastSend = performance.now();
      child.stdin.write(`${line}\n`);
    },
    exit,
    stderr: () => errors,
  };
}
