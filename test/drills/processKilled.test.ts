import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { RunRecord } from '../../src/contract/formats';
import { expectArchiveSound, fingerprintSnapshots } from '../support/archive';
import { runCli } from '../support/cliHarness';
import { createWorld, runOnceUnlocked, useAzuriteAndVault, waitFor } from '../support/world';

/** Drill: the export process is killed (SIGKILL: no cleanup at all) in the middle of a run. */
const servers = useAzuriteAndVault();

test('SIGKILL mid-run: nothing looks complete unless it is, the lock is recovered after it expires, the next run completes', async () => {
  const world = await createWorld(servers, 10, {
    simulator: { faults: { latencyMs: 100 } },
    env: { RUN_LOCK_SECONDS: '15' },
  });
  try {
    expect((await runCli(['run'], world.env)).code).toBe(0);
    const earlier = await fingerprintSnapshots(world.container);

    // One author answers so slowly that the run cannot end before the kill: the kill lands mid-run
    // whatever the machine's speed, and the others have written their snapshots by then.
    const slow = world.authorIds[0]!;
    world.catalog.setFaults({ perAuthor: { [slow]: { latencyMs: 600_000 } } });
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
    // Kill it once the others are complete (their manifests written), while the slow one still pages.
    const others = world.authorIds.length - 1;
    await waitFor(
      async () => (await fingerprintSnapshots(world.container)).size >= earlier.size + 3 * others,
      'the child to write every other author',
      60_000,
    );
    child.kill('SIGKILL');
    await exited;
    world.catalog.clearFaults();

    await expectArchiveSound(world.container, earlier);
    const blocked = await runCli(['run'], world.env);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('Another export run is in progress');

    const next = await runOnceUnlocked(['--json'], world.env);
    expect(next.code).toBe(0);
    expect((JSON.parse(next.stdout) as RunRecord).counts).toMatchObject({ complete: 10, failed: 0 });
    await expectArchiveSound(world.container, earlier);
  } finally {
    await world.catalog.close();
  }
}, 90_000);
