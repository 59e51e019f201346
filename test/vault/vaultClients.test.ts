import { inspect } from 'node:util';
import type { TokenCredential } from '@azure/identity';
import { startVaultEmulator, type VaultEmulator } from '../../dev/vault-emulator';
import { KeyVaultAuthorRegistry } from '../../src/authors/KeyVaultAuthorRegistry';
import { GalleryExportError } from '../../src/contract/errors';
import { KeyVaultSigner } from '../../src/signing/KeyVaultSigner';
import { VAULT_THROTTLED } from '../../src/vault/vaultClientOptions';
import type { VaultRetryTuning } from '../../src/vault/vaultClientOptions';
import { VaultRateBudget } from '../../src/vault/VaultRateBudget';

/**
 * The Key Vault clients' one retry layer, through the real SDK clients against the vault emulator: what
 * the vault sees, that waits end with the caller's signal, and that no credential reaches an error.
 */
const BEARER = 'vault-bearer-token-that-must-never-leak';
const ACCESS_TOKEN = 'author-access-token-that-must-never-leak';
const AUTHOR_ID = 'AB'.repeat(32);
const PREFIX = 'gallery-author-';

const credential: TokenCredential = {
  getToken: () => Promise.resolve({ token: BEARER, expiresOnTimestamp: Date.now() + 3600_000 }),
};

let vault: VaultEmulator;
beforeEach(async () => {
  vault = await startVaultEmulator();
  vault.setSecret(`${PREFIX}ada`, JSON.stringify({ authorId: AUTHOR_ID, accessToken: ACCESS_TOKEN }), {
    contentType: 'application/json',
    tags: { authorId: AUTHOR_ID },
  });
});
afterEach(() => vault.close());

/** A registry with a budget of its own, so tests never share one. */
function registryFor(tuning: VaultRetryTuning = {}): KeyVaultAuthorRegistry {
  return new KeyVaultAuthorRegistry({
    vaultUrl: vault.url,
    secretPrefix: PREFIX,
    credential,
    vaultRetry: { budget: new VaultRateBudget(), ...tuning },
  });
}

async function failureOf(promise: Promise<unknown>): Promise<GalleryExportError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GalleryExportError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

/** Every way an error can be written out: its message, JSON, and a deep inspection with its causes. */
function everyRendering(error: GalleryExportError): string {
  return [error.message, JSON.stringify(error), inspect(error, { depth: 10 }), String(error.cause)].join(
    '\n',
  );
}

const authorized = (): number => vault.requests.filter((request) => request.authorized).length;

test('one retry layer: a vault answering 503 sees a call 4 times (1 + 3 retries), not 4 times 3', async () => {
  vault.setOutage('unavailable');
  const registry = registryFor({ retry: { transientBaseDelayMs: 10 } });
  const failure = await failureOf(registry.readAuthor(`${PREFIX}ada`));
  expect(failure.code).toBe('VAULT_UNAVAILABLE');
  expect(failure.message).toContain(`Key Vault ${vault.url}: the vault answered HTTP 503`);
  expect(vault.requests).toHaveLength(4);
});

test('throttled reads wait for the vault and all succeed', async () => {
  vault.setThrottle({ transactionsPerWindow: 2, windowMs: 500 });
  const registry = registryFor();
  const authors = await Promise.all(Array.from({ length: 6 }, () => registry.readAuthor(`${PREFIX}ada`)));
  expect(authors.map((author) => author.authorId)).toEqual(Array(6).fill(AUTHOR_ID));
  expect(vault.requests.some((request) => request.status === 429)).toBe(true);
});

describe('a wait for a throttled vault', () => {
  beforeEach(() => {
    // Retry-After of up to 5 minutes: only the signal (or the time limit) can end the wait.
    vault.setThrottle({ transactionsPerWindow: 1, windowMs: 300_000 });
  });

  test('ends at once when the caller’s signal fires, after one 429', async () => {
    const registry = registryFor();
    await registry.readAuthor(`${PREFIX}ada`);
    const before = authorized();
    const failure = await failureOf(registry.readAuthor(`${PREFIX}ada`, AbortSignal.timeout(200)));
    expect(failure.code).toBe('ABORTED');
    expect(authorized() - before).toBe(1);
    expect(everyRendering(failure)).not.toContain(BEARER);
  });

  test('ends with the vault named and the throttling said when a call without a deadline runs out of time', async () => {
    const registry = registryFor({ retry: { maxElapsedMs: 1500 } });
    await registry.readAuthor(`${PREFIX}ada`);
    const failure = await failureOf(registry.readAuthor(`${PREFIX}ada`));
    expect(failure).toMatchObject({ code: 'VAULT_UNAVAILABLE', statusCode: 429 });
    expect(failure.message).toBe(
      `Could not read secret "${PREFIX}ada" in Key Vault ${vault.url}: ${VAULT_THROTTLED}`,
    );
    const written = everyRendering(failure);
    expect(written).not.toContain(BEARER);
    expect(written).not.toContain(ACCESS_TOKEN);
  });

  test('of a signature ends at once with the signal, and the error names the key, not the credential', async () => {
    await vault.createKey('signing', { size: 3072, keyOps: ['sign', 'verify'] });
    const signer = new KeyVaultSigner({
      vaultUrl: vault.url,
      keyName: 'signing',
      credential,
      vaultRetry: { budget: new VaultRateBudget() },
    });
    vault.setThrottle(undefined);
    await signer.sign(Buffer.from('first'), 'manifest.json');
    vault.setThrottle({ transactionsPerWindow: 1, windowMs: 300_000 });
    await signer.sign(Buffer.from('second'), 'manifest.json');
    const failure = await failureOf(
      signer.sign(Buffer.from('third'), 'manifest.json', AbortSignal.timeout(200)),
    );
    expect(failure.code).toBe('ABORTED');
    expect(everyRendering(failure)).not.toContain(BEARER);

    const limited = new KeyVaultSigner({
      vaultUrl: vault.url,
      keyName: 'signing',
      credential,
      vaultRetry: { budget: new VaultRateBudget(), retry: { maxElapsedMs: 1000 } },
    });
    const throttled = await failureOf(limited.sign(Buffer.from('fourth'), 'manifest.json'));
    expect(throttled).toMatchObject({ code: 'VAULT_UNAVAILABLE', statusCode: 429 });
    expect(throttled.message).toBe(`Could not read key ${vault.url}/keys/signing: ${VAULT_THROTTLED}`);
    expect(everyRendering(throttled)).not.toContain(BEARER);
  });
});

test('a signer’s shared key lookup outlives the caller that started it: one author’s deadline fails no other', async () => {
  await vault.createKey('signing', { size: 3072, keyOps: ['sign', 'verify'] });
  const signer = new KeyVaultSigner({
    vaultUrl: vault.url,
    keyName: 'signing',
    credential,
    vaultRetry: { budget: new VaultRateBudget() },
  });
  // The window is full when the lookup starts: it waits about 2 s for the vault.
  vault.setThrottle({ transactionsPerWindow: 1, windowMs: 1500 });
  await registryFor().readAuthor(`${PREFIX}ada`);
  const first = signer.sign(Buffer.from('a'), 'manifest.json', AbortSignal.timeout(100));
  const second = signer.sign(Buffer.from('b'), 'manifest.json');
  expect((await failureOf(first)).code).toBe('ABORTED');
  const signature = await second;
  expect(signature.keyId).toMatch(new RegExp(`^${vault.url}/keys/signing/`));
});

describe('a signer’s caller waiting for what another caller started', () => {
  let signer: KeyVaultSigner;
  beforeEach(async () => {
    await vault.createKey('signing', { size: 3072, keyOps: ['sign', 'verify'] });
    signer = new KeyVaultSigner({
      vaultUrl: vault.url,
      keyName: 'signing',
      credential,
      vaultRetry: { budget: new VaultRateBudget() },
    });
  });

  /** Starts the other caller's work, then this caller's: this one's deadline comes first. */
  async function settleOrder(other: Promise<unknown>, mine: Promise<unknown>): Promise<string[]> {
    const order: string[] = [];
    const settled = (who: string) => (error: unknown) => {
      order.push(`${who} ${error instanceof GalleryExportError ? error.code : String(error)}`);
    };
    await Promise.all([other.catch(settled('other')), mine.catch(settled('mine'))]);
    return order;
  }

  test('for the key lookup ends its wait with its own signal', async () => {
    // The window is full for 5 minutes: the lookup waits on the vault's Retry-After.
    vault.setThrottle({ transactionsPerWindow: 1, windowMs: 300_000 });
    await registryFor().readAuthor(`${PREFIX}ada`);
    const other = signer.sign(Buffer.from('a'), 'manifest.json', AbortSignal.timeout(1500));
    const mine = signer.sign(Buffer.from('b'), 'manifest.json', AbortSignal.timeout(100));
    expect(await settleOrder(other, mine)).toEqual(['mine ABORTED', 'other ABORTED']);
  });

  test('for the first signature ends its wait with its own signal', async () => {
    await signer.latest();
    vault.setThrottle({ transactionsPerWindow: 1, windowMs: 300_000 });
    await registryFor().readAuthor(`${PREFIX}ada`);
    const other = signer.sign(Buffer.from('a'), 'manifest.json', AbortSignal.timeout(1500));
    const mine = signer.sign(Buffer.from('b'), 'manifest.json', AbortSignal.timeout(100));
    expect(await settleOrder(other, mine)).toEqual(['mine ABORTED', 'other ABORTED']);
  });
});

test('a first signature that fails leaves no unhandled rejection behind (it would end the process)', async () => {
  const unhandled: unknown[] = [];
  const record = (reason: unknown): void => {
    unhandled.push(reason);
  };
  process.on('unhandledRejection', record);
  try {
    await vault.createKey('signing', { size: 3072, keyOps: ['sign', 'verify'] });
    vault.setKeyEnabled('signing', undefined, false);
    const signer = new KeyVaultSigner({
      vaultUrl: vault.url,
      keyName: 'signing',
      credential,
      vaultRetry: { budget: new VaultRateBudget() },
    });
    await expect(signer.sign(Buffer.from('a'), 'manifest.json')).rejects.toMatchObject({
      code: 'SIGNING_FAILED',
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', record);
  }
});
