import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SecretClient } from '@azure/keyvault-secrets';
import type { ErasureRecord, RunRecord } from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { startHoldingProxy } from '../support/holdingProxy';
import { createWorld, useAzuriteAndVault, waitFor } from '../support/world';

/**
 * Drill (issue 25, review): a purge reads a disabled secret by enabling it for the moment. Killed in that
 * moment, the secret must still export no one, and the next purge must find it and finish.
 */
const servers = useAzuriteAndVault();

test('killed while a disabled secret is enabled for reading: no run uses it, the next purge deletes it', async () => {
  const world = await createWorld(servers, 1, { uniqueAuthorIds: true, env: { RUN_LOCK_SECONDS: '15' } });
  const vault = await startHoldingProxy(servers.vault.url);
  try {
    const [author] = world.authorIds as [string];
    const hidden = `${world.prefix}hidden`;
    const client = new SecretClient(
      servers.vault.url,
      { getToken: () => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3600_000 }) },
      { allowInsecureConnection: true, disableChallengeResourceVerification: true },
    );
    await client.setSecret(hidden, JSON.stringify({ authorId: author, accessToken: null }), {
      enabled: false,
      contentType: 'application/json',
    });
    expect((await runCli(['run'], world.env)).code).toBe(0);
    let held = false;
    // The read of the disabled secret's value: it has just been enabled.
    vault.holdIf = (request) => request.method === 'GET' && request.path.startsWith(`/secrets/${hidden}/`);
    vault.onHeld = () => {
      held = true;
    };
    const root = join(__dirname, '..', '..');
    const child = spawn(
      process.execPath,
      [
        join(root, 'test/support/tsChild.js'),
        join(root, 'test/support/cliChild.ts'),
        'purge',
        '--author',
        author,
        '--yes',
      ],
      { env: { ...process.env, ...world.env, KEY_VAULT_URL: vault.url }, stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await waitFor(() => held, 'the purge to read the disabled secret', 60_000);
    child.kill('SIGKILL');
    await exited;
    await world.container
      .getBlobLeaseClient()
      .breakLease(0)
      .catch(() => undefined);

    // Enabled for the read, and left so by the kill, but not valid yet: a run skips it.
    const properties = servers.vault.getSecret(hidden)!.at(-1)!;
    expect(properties.enabled).toBe(true);
    const run = JSON.parse((await runCli(['run', '--json'], world.env)).stdout) as RunRecord;
    expect(run.authors.find((entry) => entry.secretName === hidden)?.status).toBe('skipped');

    const again = await runCli(['purge', '--author', author, '--yes', '--json'], world.env);
    expect([again.code, again.stderr]).toEqual([0, '']);
    const { record } = JSON.parse(again.stdout) as { record: ErasureRecord };
    expect(record.registration?.secretsRemoved).toEqual([`${world.prefix}a0`, hidden]);
    expect(servers.vault.listSecretNames().filter((name) => name.startsWith(world.prefix))).toEqual([]);
  } finally {
    await vault.close();
    await world.catalog.close();
  }
}, 120_000);

test('a disabled secret that names someone else is read and left disabled, valid from when it was made', async () => {
  const world = await createWorld(servers, 2, { uniqueAuthorIds: true });
  try {
    const [author, other] = world.authorIds as [string, string];
    const client = new SecretClient(
      servers.vault.url,
      { getToken: () => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3600_000 }) },
      { allowInsecureConnection: true, disableChallengeResourceVerification: true },
    );
    expect((await runCli(['run'], world.env)).code).toBe(0);
    const name = `${world.prefix}paused`;
    await client.setSecret(name, JSON.stringify({ authorId: other, accessToken: null }), {
      enabled: false,
      contentType: 'application/json',
    });
    const purge = await runCli(['purge', '--author', author, '--yes'], world.env);
    expect([purge.code, purge.stderr]).toEqual([0, '']);
    const after = servers.vault.getSecret(name)!.at(-1)!;
    expect(after.enabled).toBe(false);
    expect(Object.keys(after.tags ?? {})).toEqual([]);
    expect((after.notBefore ?? new Date(0)).getTime()).toBeLessThanOrEqual(Date.now());
  } finally {
    await world.catalog.close();
  }
}, 90_000);
