import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startAzurite, type RunningAzurite } from '../../dev/azurite';
import { startVaultEmulator, type VaultEmulator } from '../../dev/vault-emulator';
import type { RunRecord } from '../../src/snapshots/formats';
import { expectArchiveSound, fingerprintSnapshots } from '../support/archive';
import { runCli } from '../support/cliHarness';
import { drillWorld, waitFor } from './drillSetup';

/** Drill: the export process is killed (SIGKILL: no cleanup at all) in the middle of a run. */
let azurite: RunningAzurite;
let vault: VaultEmulator;

beforeAll(async () => {
  azurite = await startAzurite();
  vault = await startVaultEmulator();
});
afterAll(async () => {
  await vault?.close();
  await azurite?.stop();
});

test('SIGKILL mid-run: nothing looks complete unless it is, the lock is recovered after it expires, the next run completes', async () => {
  const world = await drillWorld(azurite, vault, 10, { faults: { latencyMs: 100 } });
  try {
    expect((await runCli(['run'], world.env)).code).toBe(0);
    const earlier = await fingerprintSnapshots(world.container);

    const root = join(__dirname, '..', '..');
    const child = spawn(
      process.execPath,
      [join(root, 'test/support/tsChild.js'), join(root, 'test/support/cliChild.ts'), 'run'],
      {
        env: { ...process.env, ...world.env, AUTHOR_CONCURRENCY: '3' },
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Kill it once it has written some of this run's snapshots but not all.
    await waitFor(
      async () => (await fingerprintSnapshots(world.container)).size >= earlier.size + 4,
      'the child to write snapshots',
    );
    child.kill('SIGKILL');
    await exited;

    await expectArchiveSound(world.container, earlier);
    const blocked = await runCli(['run'], world.env);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('Another export run is in progress');

    let next = blocked;
    for (let attempt = 0; next.code !== 0 && attempt < 40; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      next = await runCli(['run', '--json'], world.env);
    }
    expect(next.code).toBe(0);
    expect((JSON.parse(next.stdout) as RunRecord).counts).toMatchObject({ complete: 10, failed: 0 });
    await expectArchiveSound(world.container, earlier);
  } finally {
    await world.catalog.close();
  }
}, 90_000);
