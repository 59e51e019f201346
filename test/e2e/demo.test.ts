import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cliHarness';

/** `npm start` (the hidden `demo` command): the README's first command, end to end. */
test('the demo runs the whole stack, checks every demo author did what it should, and leaves checked copies', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'demo-'));
  try {
    const result = await runCli(
      ['demo', '--data', join(folder, 'azurite'), '--copies', join(folder, 'copies')],
      {},
    );
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('EXPECTED');
    expect(result.stdout).toMatch(/Run \S+: partial \(6 complete, 2 failed, 1 skipped\)/);
    const [runFolder] = await readdir(join(folder, 'copies'));
    const copies = await readdir(join(folder, 'copies', runFolder!));
    expect(copies.sort()).toEqual([
      'aasa-odegaard',
      'ada-lovelace',
      'li-wei',
      'quiet-quentin',
      'sofia-ramirez',
      'zoe-muller',
    ]);
    expect((await readdir(join(folder, 'copies', runFolder!, 'ada-lovelace'))).sort()).toEqual([
      'README.txt',
      'SHA256SUMS',
      'entities.json',
      'manifest.json',
      'profile.json',
      'report.html',
      'signature.json',
    ]);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}, 60_000);
