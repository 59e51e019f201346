import { createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { runCli } from '../support/cliHarness';

/**
 * Issue 27: `npm start` while `npm run local` runs started a second Azurite on the same data folder, and
 * a second `local` died on Azurite's raw EADDRINUSE. A folder in use is refused, saying how to reach the
 * stack that uses it; a port in use names the port and its option.
 */
let folder: string;
let first: LocalStack;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'stack-in-use-'));
  first = await startLocalStack({ azuriteLocation: join(folder, 'azurite'), signing: false });
}, 60_000);
afterAll(async () => {
  await first?.stop();
  await rm(folder, { recursive: true, force: true });
});

test('a second stack on the folder is refused before it starts anything, naming the running one', async () => {
  const error = await startLocalStack({ azuriteLocation: join(folder, 'azurite'), signing: false }).then(
    () => undefined,
    (reason: unknown) => reason as Error,
  );
  expect(error?.message).toContain(join(folder, 'azurite'));
  expect(error?.message).toContain(String(process.pid));
  expect(error?.message).toContain(`export EXPORT_STORAGE='${first.env.EXPORT_STORAGE}'`);
  expect(error?.message).toContain(`export CATALOG_BASE_URL='${first.env.CATALOG_BASE_URL}'`);
  // The running stack is untouched.
  expect((await runCli(['run'], first.env)).code).toBe(0);
});

test('`local` and the demo (npm start) on a folder in use exit 2 and say how to reach the running stack', async () => {
  const ports = ['--blob-port', '0', '--queue-port', '0', '--catalog-port', '0', '--vault-port', '0'];
  // A `local` that started would run until stopped: these stop it after a while at the latest.
  const local = await runCli(
    ['local', '--data', join(folder, 'azurite'), ...ports],
    {},
    { signal: AbortSignal.timeout(20_000) },
  );
  expect(local.code).toBe(2);
  expect(local.stderr).toContain('in use');
  expect(local.stderr).toContain(`export KEY_VAULT_URL='${first.env.KEY_VAULT_URL}'`);
  expect(local.stderr).not.toContain('EADDRINUSE');
  const demo = await runCli(
    ['demo', '--data', join(folder, 'azurite'), '--copies', join(folder, 'copies')],
    {},
  );
  expect(demo.code).toBe(2);
  expect(demo.stderr).toContain(`export EXPORT_STORAGE='${first.env.EXPORT_STORAGE}'`);
  // On a narrow terminal the message wraps, but not the lines to paste into a shell.
  const narrow = await runCli(
    ['demo', '--data', join(folder, 'azurite')],
    { COLUMNS: '80' },
    { signal: AbortSignal.timeout(20_000) },
  );
  expect(narrow.stderr).toContain(`\n  export EXPORT_STORAGE='${first.env.EXPORT_STORAGE}'\n`);
  for (const line of narrow.stderr.split('\n').filter((candidate) => !candidate.startsWith('  export ')))
    expect(line.length).toBeLessThanOrEqual(80);
}, 60_000);

test('a lock left by a stack that died is taken over', async () => {
  const other = join(folder, 'other');
  await writeFile(`${other}.lock`, JSON.stringify({ pid: 2 ** 22 + 7, startedAt: new Date().toISOString() }));
  const stack = await startLocalStack({ azuriteLocation: other, signing: false });
  await stack.stop();
  // Stopped, it frees the folder for the next start.
  const again = await startLocalStack({ azuriteLocation: other, signing: false });
  await again.stop();
}, 60_000);

test("a port in use names the port and its option, not Azurite's raw EADDRINUSE", async () => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = String((blocker.address() as { port: number }).port);
  try {
    for (const option of ['--blob-port', '--catalog-port', '--vault-port']) {
      const ports: Record<string, string> = {
        '--blob-port': '0',
        '--queue-port': '0',
        '--catalog-port': '0',
        '--vault-port': '0',
        [option]: port,
      };
      const result = await runCli(
        ['local', '--in-memory', ...Object.entries(ports).flat()],
        {},
        { signal: AbortSignal.timeout(20_000) },
      );
      expect([option, result.code]).toEqual([option, 1]);
      expect(result.stderr).toContain(`port ${port} (${option}) is in use`);
      expect(result.stderr).not.toContain('Exit due to unhandled error');
    }
  } finally {
    blocker.close();
  }
}, 120_000);
