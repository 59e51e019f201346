import { SecretClient } from '@azure/keyvault-secrets';
import { startAzurite, type RunningAzurite } from '../../dev/azurite';
import { startVaultEmulator, type VaultThrottleOptions } from '../../dev/vault-emulator';
import type { RunRecord } from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { uniqueName } from '../support/storage';
import { createWorld } from '../support/world';

/**
 * Key Vault throttling (issue 26, item 4): a fleet of signed exports against a vault that serves a small
 * budget per window completes every author, signed. The vault emulator enforces the budget in a sliding
 * window and answers the rest 429; its window is shortened to 1 s so the fleet takes seconds, not minutes
 * (the service's behaviour, scaled). Each test has a vault of its own: the process keeps one rate budget
 * per vault, and a fresh one must learn the limit from the 429s.
 */
const credential: ConstructorParameters<typeof SecretClient>[1] = {
  getToken: () => Promise.resolve({ token: 'other-app', expiresOnTimestamp: Date.now() + 3600_000 }),
};

let azurite: RunningAzurite | undefined;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(() => azurite?.stop());

async function signedFleet(
  authors: number,
  options: Pick<VaultThrottleOptions, 'retryAfter'> & { verify: boolean },
): Promise<void> {
  const vault = await startVaultEmulator();
  const world = await createWorld(
    { azurite: azurite!, vault },
    Array.from({ length: authors }, () => ({ entities: 2 })),
  );
  try {
    const keyName = uniqueName('sign');
    await vault.createKey(keyName, { size: 3072, keyOps: ['sign', 'verify'] });
    const env = {
      ...world.env,
      SIGNING_KEY_NAME: keyName,
      AUTHOR_CONCURRENCY: String(authors),
      CATALOG_CONCURRENCY: '32',
    };
    // Each author costs two transactions (its secret, its manifest's signature), all authors start at
    // once, and the run needs several windows' worth. The window is full when the run starts (another
    // app's traffic), so the run meets 429s however slowly this machine sends.
    vault.setThrottle({ transactionsPerWindow: 20, windowMs: 1000, retryAfter: options.retryAfter });
    const otherApp = new SecretClient(vault.url, credential, {
      allowInsecureConnection: true,
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
    });
    await Promise.all(Array.from({ length: 20 }, () => otherApp.getSecret(`${world.prefix}a0`)));
    const result = await runCli(['run', '--json'], env);
    if (!result.stdout.trim())
      throw new Error(`The run recorded nothing (exit ${result.code}): ${result.stderr}`);
    const record = JSON.parse(result.stdout) as RunRecord;
    const failures = record.authors
      .filter((author) => author.status !== 'complete')
      .map((author) => `${author.secretName}: ${author.status} ${author.error?.message ?? ''}`);
    expect(failures).toEqual([]);
    expect(record.authors).toHaveLength(authors);
    expect(result.code).toBe(0);
    // The vault did throttle the run: the test would prove nothing otherwise.
    expect(vault.requests.filter((request) => request.status === 429).length).toBeGreaterThan(0);

    const names = new Set<string>();
    for await (const blob of world.container.listBlobsFlat()) names.add(blob.name);
    expect([...names].filter((path) => path.endsWith('/signature.json'))).toHaveLength(authors);
    for (const author of record.authors) expect(names.has(`${author.snapshot}signature.json`)).toBe(true);

    if (options.verify) {
      // Verifying reads the key's public part from the same throttled vault.
      expect((await runCli(['verify'], env)).code).toBe(0);
    }
  } finally {
    vault.setThrottle(undefined);
    await world.catalog.close();
    await vault.close();
  }
}

test('a fleet of 80 signed exports against a vault that throttles with Retry-After completes every author', async () => {
  await signedFleet(80, { retryAfter: true, verify: false });
}, 60_000);

test('a fleet of 40 signed exports completes, and verifies, when the 429s carry no Retry-After (backoff with jitter)', async () => {
  await signedFleet(40, { retryAfter: false, verify: true });
}, 60_000);
