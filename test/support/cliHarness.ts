import { PassThrough } from 'node:stream';
import { registerLocalStackCommands } from '../../dev/cli/localStackCommands';
import { main } from '../../src/cli/main';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the gallery-export CLI in-process with its own settings and captured output. */
export async function runCli(
  argv: string[],
  env: Record<string, string | undefined>,
  options: { signal?: AbortSignal; stdin?: string } = {},
): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const stdin = new PassThrough();
  stdin.end(options.stdin ?? '');
  const code = await main(
    argv,
    {
      env,
      stdout,
      stderr,
      signal: options.signal ?? new AbortController().signal,
      stdin,
    },
    [registerLocalStackCommands],
  );
  return { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
