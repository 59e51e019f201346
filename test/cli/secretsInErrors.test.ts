import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cliHarness';

/**
 * No secret in an error, and spool hygiene (issue 12): what the CLI prints about bad input names the
 * problem without its value when the value may be a credential; EXPORT_SPOOL_DIR is checked before a run
 * starts, and spool folders a crashed process left behind are removed at the next start.
 */
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJhdXRob3JfaWQiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA';

test.each([
  [['run', `--token=${TOKEN}`]],
  [['run', '--token', TOKEN]],
  [['list', `--access-token=${TOKEN}`]],
  [['register-author', '--label', 'x', '--author-id', 'A'.repeat(64), `--token=${TOKEN}`]],
])('an unknown option is named without its value: %j', async (argv) => {
  const result = await runCli(argv, {});
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/unknown option '--(token|access-token)'/);
  expect(result.stdout + result.stderr).not.toContain(TOKEN);
  expect(result.stdout + result.stderr).not.toContain('c2lnbmF0dXJlLXNlY3JldA');
});

test('a setting that may hold a credential is not echoed when it is malformed', async () => {
  const secret = 'QWNjb3VudEtleVNlY3JldA==';
  const result = await runCli(['run'], {
    KEY_VAULT_URL: `DefaultEndpointsProtocol=https;AccountName=a;AccountKey=${secret}`,
    EXPORT_STORAGE: 'UseDevelopmentStorage=true',
  });
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('KEY_VAULT_URL');
  expect(result.stderr).not.toContain(secret);
});

describe('EXPORT_SPOOL_DIR', () => {
  const base = { KEY_VAULT_URL: 'http://127.0.0.1:1', EXPORT_STORAGE: 'UseDevelopmentStorage=true' };

  test('a folder that does not exist, or is a file, is a configuration error before anything starts', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'spool-check-'));
    try {
      const file = join(folder, 'a-file');
      await writeFile(file, 'x');
      for (const spool of [join(folder, 'missing'), file]) {
        const result = await runCli(['run'], { ...base, EXPORT_SPOOL_DIR: spool });
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/EXPORT_SPOOL_DIR/);
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });

  test('spool folders left by a crashed process are removed at the next start, live ones are kept', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'spool-left-'));
    try {
      // A process id that cannot be alive (above the kernel's pid_max), and this process's own.
      const dead = join(folder, 'gallery-export-spool-4194305-abc123');
      const live = join(folder, `gallery-export-spool-${process.pid}-def456`);
      const unrelated = join(folder, 'something-else');
      for (const path of [dead, live, unrelated]) await mkdir(path);
      await writeFile(join(dead, 'entities.spool'), 'left behind');
      // The run fails on the unreachable vault; the clean-up happened before it.
      await runCli(['run'], { ...base, EXPORT_SPOOL_DIR: folder });
      expect((await readdir(folder)).sort()).toEqual(
        ['something-else', `gallery-export-spool-${process.pid}-def456`].sort(),
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
