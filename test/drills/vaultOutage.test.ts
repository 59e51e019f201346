import { startVaultEmulator } from '../../dev/vault-emulator';
import type { RunRecord } from '../../src/contract/formats';
import { expectArchiveSound, fingerprintSnapshots } from '../support/archive';
import { runCli } from '../support/cliHarness';
import { readAllBlobs } from '../support/storage';
import { createWorld, useAzuriteAndVault } from '../support/world';

/** Drill: the vault cannot be reached. */
const servers = useAzuriteAndVault();

test.each([
  ['refuses connections', 'closed' as const],
  ['answers 503', 'unavailable' as const],
])(
  'a vault that %s fails the run at once, naming the vault, with a run record saying so',
  async (_, outage) => {
    const world = await createWorld(servers, 2);
    try {
      expect((await runCli(['run'], world.env)).code).toBe(0);
      const earlier = await fingerprintSnapshots(world.container);
      const requests = world.catalog.stats.requests;

      const env = { ...world.env };
      if (outage === 'closed') {
        const gone = await startVaultEmulator();
        env.KEY_VAULT_URL = gone.url;
        await gone.close();
      } else {
        servers.vault.setOutage('unavailable');
      }
      const result = await runCli(['run'], env).finally(() => servers.vault.setOutage(undefined));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Key Vault ${env.KEY_VAULT_URL}`);
      expect(world.catalog.stats.requests).toBe(requests);

      const records = [...(await readAllBlobs(world.container, 'runs/'))]
        .filter(([path]) => /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(path))
        .map(([, blob]) => JSON.parse(blob.body.toString()) as RunRecord);
      const failed = records.find((record) => record.status === 'failed')!;
      expect(failed.error).toMatchObject({
        code: 'VAULT_UNAVAILABLE',
        message: expect.stringContaining(env.KEY_VAULT_URL!) as string,
      });
      expect(failed.completedAt).not.toBeNull();
      await expectArchiveSound(world.container, earlier);
      // Nothing is left locked: the next run proceeds.
      expect((await runCli(['run'], world.env)).code).toBe(0);
    } finally {
      await world.catalog.close();
    }
  },
  30_000,
);
