import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_AUTHORS } from '../../dev/catalog-simulator';
import { startLocalStack, type LocalStack } from '../../dev/localStack';
import { runCli } from '../support/cliHarness';
import { uniqueName } from '../support/storage';

/**
 * Issue 27: every error names the setting, resource or endpoint concerned and the next step, wrapped to
 * the terminal; one exit-code contract for every command (an existing --out is a usage error for each);
 * a command validates only the settings it uses; a date that does not exist is refused.
 */
let stack: LocalStack;
let env: Record<string, string>;
const ada = DEMO_AUTHORS.find((author) => author.label === 'ada-lovelace')!;
const UNREGISTERED = '0123456789ABCDEF'.repeat(4);

beforeAll(async () => {
  stack = await startLocalStack();
  await stack.registerDemoAuthors();
  env = { ...stack.env, EXPORT_CONTAINER: uniqueName('errors') };
  expect((await runCli(['run', '--author', ada.authorId], env)).code).toBe(0);
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

function unreachableStorage(): string {
  return stack.env
    .EXPORT_STORAGE!.replace(/BlobEndpoint=http:\/\/127\.0\.0\.1:\d+/, 'BlobEndpoint=http://127.0.0.1:9')
    .replace(/QueueEndpoint=http:\/\/127\.0\.0\.1:\d+/, 'QueueEndpoint=http://127.0.0.1:9');
}

describe('errors name what failed, where, and the next step', () => {
  test('a missing container names the container and EXPORT_CONTAINER', async () => {
    const result = await runCli(['list'], { ...env, EXPORT_CONTAINER: 'no-such-container' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no-such-container');
    expect(result.stderr).toContain('EXPORT_CONTAINER');
    expect(result.stderr).toContain('ContainerNotFound');
  });

  test('unreachable storage names the endpoint and EXPORT_STORAGE', async () => {
    const result = await runCli(['list'], { ...env, EXPORT_STORAGE: unreachableStorage() });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('http://127.0.0.1:9');
    expect(result.stderr).toContain('EXPORT_STORAGE');
    expect(result.stderr).toContain('ECONNREFUSED');
    expect(result.stderr).not.toContain('AccountKey');
  }, 60_000);

  test('run --author of an unregistered author points to register-author and authors', async () => {
    const result = await runCli(['run', '--author', UNREGISTERED], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(UNREGISTERED);
    expect(result.stderr).toContain('gallery-export register-author');
    expect(result.stderr).toContain('gallery-export authors');
    expect(result.stderr).not.toMatch(/^Error:/m);
  });

  test('an unreachable vault names KEY_VAULT_URL', async () => {
    const result = await runCli(['authors'], { ...env, KEY_VAULT_URL: 'http://127.0.0.1:9' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('http://127.0.0.1:9');
    expect(result.stderr).toContain('KEY_VAULT_URL');
  }, 60_000);

  test('every line of an error fits the terminal (COLUMNS), a multi-line one too', async () => {
    const result = await runCli(['list'], { COLUMNS: '60' });
    expect(result.code).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(60);
    expect(result.stderr.replace(/\s+/g, ' ')).toContain(
      'EXPORT_STORAGE is required: a connection string, or EXPORT_STORAGE__blobServiceUri',
    );
    const long = await runCli(['list', '--author', 'no-such-label'], { ...env, COLUMNS: '50' });
    expect(long.code).toBe(2);
    for (const line of long.stderr.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(50);
  });
});

describe('one exit-code contract', () => {
  test('--help of the program and of every command shows the exit codes', async () => {
    const program = await runCli(['--help'], {});
    expect(program.code).toBe(0);
    expect(program.stdout).toMatch(/Exit codes/);
    expect(program.stdout).toMatch(/^ +2 +usage or configuration error/m);
    for (const command of [
      'run',
      'list',
      'verify',
      'get',
      'report',
      'purge',
      'erasures',
      'authors',
      'public-key',
      'register-author',
    ]) {
      const help = await runCli([command, '--help'], {});
      expect([command, help.code]).toEqual([command, 0]);
      expect([command, /^Exit: 0 /m.test(help.stdout)]).toEqual([command, true]);
    }
  });

  test('an --out that exists is a usage error (2) for get, report and public-key alike', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'exits-'));
    const file = join(folder, 'taken');
    await writeFile(file, 'already here');
    const get = await runCli(['get', '--author', ada.authorId, '--out', folder], env);
    const report = await runCli(['report', '--author', ada.authorId, '--out', file], env);
    const publicKey = await runCli(['public-key', '--out', file], env);
    expect([get.code, report.code, publicKey.code]).toEqual([2, 2, 2]);
  });

  test('list refuses no setting it does not use (EXPORT_SCHEDULE, EXPORT_MODE, catalog settings)', async () => {
    const unused = {
      EXPORT_SCHEDULE: 'every night',
      EXPORT_MODE: 'sometimes',
      CATALOG_PAGE_SIZE: 'many',
      CATALOG_BASE_URL: 'not a url',
    };
    for (const command of [['list'], ['verify'], ['erasures']]) {
      const result = await runCli(command, { ...env, ...unused });
      expect([command[0], result.code, result.stderr]).toEqual([command[0], 0, expect.any(String)]);
    }
    // run uses the catalog settings, not the schedule.
    const run = await runCli(['run', '--author', ada.authorId], { ...env, EXPORT_SCHEDULE: 'every night' });
    expect(run.code).toBe(0);
    const badCatalog = await runCli(['run'], { ...env, CATALOG_PAGE_SIZE: 'many' });
    expect(badCatalog.code).toBe(2);
    expect(badCatalog.stderr).toContain('CATALOG_PAGE_SIZE');
  });

  test('a date that does not exist is refused, not rolled over to the next month', async () => {
    for (const option of ['--since', '--until']) {
      const result = await runCli(['list', option, '2026-02-30'], env);
      expect([option, result.code]).toEqual([option, 2]);
      expect(result.stderr).toContain('2026-02-30');
    }
    expect((await runCli(['verify', '--since', '2026-13-01'], env)).code).toBe(2);
    expect((await runCli(['list', '--since', '2028-02-29'], env)).code).toBe(0);
  });
});
