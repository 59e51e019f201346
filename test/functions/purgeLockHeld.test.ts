import { BlobRunLock } from '../../src/snapshots/BlobRunLock';
import { runCli } from '../support/cliHarness';
import { startSlowProxy, throughProxy } from '../support/slowProxy';
import { createWorld, useAzuriteAndVault, waitFor } from '../support/world';
import { blobsUnder } from '../support/blobs';

/**
 * A purge keeps the run lock however long it takes (issue 11): with 15 s leases, a purge of 40 s is never
 * overtaken. In a file of its own because it takes 40 s by design: jest runs it beside the other suites.
 */
const servers = useAzuriteAndVault();

test('a purge that takes 40 s with RUN_LOCK_SECONDS=15 holds the lock all along', async () => {
  const world = await createWorld(servers, 1, { env: { RUN_LOCK_SECONDS: '15' } });
  const proxy = await startSlowProxy(`http://127.0.0.1:${servers.azurite.blobPort}`, 0);
  try {
    const author = world.authorIds[0]!;
    expect((await runCli(['run'], world.env)).code).toBe(0);
    // 200 blobs of the author, each delete taking 200 ms through the proxy: about 40 s of erasing.
    const [folder] = await blobsUnder(world.container, `snapshots/${author}/`);
    const prefix = folder!.replace(/[^/]+$/, '');
    await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        world.container.getBlockBlobClient(`${prefix}extra-${index}.json`).upload('{}', 2),
      ),
    );
    proxy.delayMs = 200;
    const slowEnv = {
      ...world.env,
      EXPORT_STORAGE: throughProxy(servers.azurite.connectionString, proxy, servers.azurite.blobPort),
    };
    const startedAt = performance.now();
    const purging = runCli(['purge', '--author', author, '--yes'], slowEnv);
    await waitFor(() => proxy.requests.some((request) => request.method === 'DELETE'), 'the purge to erase');
    const takeovers: number[] = [];
    let done = false;
    void purging.finally(() => (done = true));
    const rival = new BlobRunLock(world.container, 15);
    // The purge releases the lock once its erasure record is stored, a moment before its process exits
    // (longer on a busy machine): a lease taken after that is not a takeover.
    const recordStored = async (): Promise<boolean> => {
      for await (const blob of world.container.listBlobsFlat({ prefix: 'erasures/' })) {
        if (/^erasures\/[^/]+\.json$/.test(blob.name) && !blob.name.endsWith('.signature.json')) return true;
      }
      return false;
    };
    while (!done) {
      const lease = await rival.acquire().catch(() => undefined);
      if (lease) {
        if (!(await recordStored())) takeovers.push(Math.round(performance.now() - startedAt));
        await rival.release(lease);
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const purge = await purging;
    const tookMs = performance.now() - startedAt;
    expect(purge.code).toBe(0);
    expect(tookMs).toBeGreaterThan(35_000);
    expect(takeovers).toEqual([]);
    expect(await blobsUnder(world.container, `snapshots/${author}/`)).toEqual([]);
  } finally {
    await proxy.close();
    await world.catalog.close();
  }
}, 120_000);
