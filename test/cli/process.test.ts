import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { uniqueName } from '../support/storage';

/**
 * The real process entry point (`runFromProcess`, what bin/gallery-export.js calls): exit codes set on
 * the process, and Ctrl-C (SIGINT) stopping a run cleanly instead of killing it.
 */
const root = join(__dirname, '..', '..');
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ catalog: { faults: { latencyMs: 400 } } });
  await stack.registerDemoAuthors();
});
afterAll(async () => {
  await stack?.stop();
});

function start(
  args: string[],
  env: Record<string, string>,
): { exit: Promise<number | null>; stderr: () => string; kill: (signal: NodeJS.Signals) => void } {
  const child = spawn(
    process.execPath,
    [join(root, 'test/support/tsChild.js'), join(root, 'test/support/processEntry.ts'), ...args],
    { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const chunks: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  return {
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    stderr: () => Buffer.concat(chunks).toString('utf8'),
    kill: (signal) => child.kill(signal),
  };
}

test('a usage error exits 2', async () => {
  const child = start(['run', '--author', 'not/an-id'], {});
  expect(await child.exit).toBe(2);
  expect(child.stderr()).toContain('is not an author ID');
}, 30_000);

test('Ctrl-C stops a run: authors in flight fail as aborted, the process exits 1 on its own', async () => {
  const child = start(['run'], { ...stack.env, EXPORT_CONTAINER: uniqueName('sig') });
  const deadline = Date.now() + 20_000;
  while (!child.stderr().includes('exporting') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGINT');
  expect(await child.exit).toBe(1);
  expect(child.stderr()).toContain('Stopping');
  expect(child.stderr()).toContain('ABORTED');
}, 30_000);

test('output to a reader that is gone (gallery-export ... | head) is dropped: no EPIPE crash', async () => {
  const child = spawn(
    process.execPath,
    [join(root, 'test/support/tsChild.js'), join(root, 'test/support/processEntry.ts'), 'list', '--help'],
    { env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.destroy(); // the reader has gone before the first line is written
  const chunks: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  const stderr = Buffer.concat(chunks).toString('utf8');
  expect(stderr).not.toContain('EPIPE');
  expect(stderr).not.toMatch(/^Error/m);
  expect(code).toBe(0);
}, 30_000);
