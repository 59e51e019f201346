import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { runCli } from '../support/cliHarness';
import { uniqueName } from '../support/storage';
import { createWorld, useAzuriteAndVault, type World } from '../support/world';

/**
 * Issue 27: no warning the user did not cause. Many Azure SDK calls at once on one AbortSignal made Node
 * print `MaxListenersExceededWarning: Possible EventTarget memory leak detected. 11 abort listeners added
 * to [AbortSignal]` on every `list` of more than 10 snapshots, and once per timer run of the Functions
 * app. Each runs in a child process that reports every process warning (test/support/warningWatch.ts).
 */
const root = join(__dirname, '..', '..');
const servers = useAzuriteAndVault();
let world: World;

beforeAll(async () => {
  world = await createWorld(
    servers,
    Array.from({ length: 30 }, () => ({ entities: 3 })),
  );
  const run = await runCli(['run', '--json'], world.env);
  expect(run.code).toBe(0);
}, 120_000);
afterAll(async () => {
  await world?.catalog.close();
});

function child(
  entry: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const process_ = spawn(
    process.execPath,
    [join(root, 'test/support/tsChild.js'), join(root, entry), ...args],
    {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  process_.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  process_.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolve) =>
    process_.once('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    ),
  );
}

function warningsIn(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('process-warning '));
}

test('list over 30 snapshots prints them all and no MaxListenersExceededWarning', async () => {
  const result = await child('test/support/cliWarningsChild.ts', ['list', '--json'], world.env);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toHaveLength(30);
  expect(warningsIn(result.stderr)).toEqual([]);
  expect(result.stderr).not.toContain('MaxListenersExceededWarning');
}, 60_000);

test.each(['queue', 'inline'])(
  'a timer run over 30 authors (EXPORT_MODE=%s) prints no MaxListenersExceededWarning',
  async (mode) => {
    const result = await child('test/support/timerRunChild.ts', [], {
      ...world.env,
      EXPORT_MODE: mode,
      // A container of its own: a queued run holds its container's lock until its messages are handled.
      EXPORT_CONTAINER: uniqueName(`timer-${mode}`),
      EXPORT_QUEUE: `q-${mode}-${world.prefix.replace(/[^a-z0-9]/g, '')}`.slice(0, 40),
    });
    expect(result.stderr).not.toContain('timer run failed');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(mode === 'queue' ? /30 author\(s\) queued/ : /30 complete/);
    expect(warningsIn(result.stderr)).toEqual([]);
    expect(result.stderr).not.toContain('MaxListenersExceededWarning');
  },
  120_000,
);
