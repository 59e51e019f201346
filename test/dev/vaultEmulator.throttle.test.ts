import { SecretClient } from '@azure/keyvault-secrets';
import { startVaultEmulator, THROTTLED_BODY, type VaultEmulator } from '../../dev/vault-emulator';
import { VaultThrottle } from '../../dev/vault-emulator/throttle';

/** The emulator's throttling mode: Key Vault's per-vault limit per window, 429 + Retry-After past it. */

const credential: ConstructorParameters<typeof SecretClient>[1] = {
  getToken: () => Promise.resolve({ token: 'local', expiresOnTimestamp: Date.now() + 3600_000 }),
};

function clientFor(vault: VaultEmulator): SecretClient {
  return new SecretClient(vault.url, credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 },
  });
}

let vault: VaultEmulator;
beforeEach(async () => {
  vault = await startVaultEmulator();
  vault.setSecret('a', 'value-a');
});
afterEach(() => vault.close());

/** What the SDK's RestError carries (the package is not a dependency of its own). */
interface VaultRestError {
  statusCode?: number;
  code?: string;
  message: string;
  response?: { headers: { get(name: string): string | undefined } };
}

async function statusOf(promise: Promise<unknown>): Promise<{ status: number; error?: VaultRestError }> {
  try {
    await promise;
    return { status: 200 };
  } catch (caught) {
    const error = caught as VaultRestError;
    if (error.statusCode === undefined) throw caught;
    return { status: error.statusCode, error };
  }
}

describe('vault emulator throttling', () => {
  it('serves the budget of a window, then answers 429 with Retry-After and Key Vault’s Throttled body', async () => {
    // A window far longer than the test: every request below falls into the same one.
    vault.setThrottle({ transactionsPerWindow: 3, windowMs: 600_000 });
    const client = clientFor(vault);
    const statuses = [];
    for (let index = 0; index < 5; index++) statuses.push(await statusOf(client.getSecret('a')));
    expect(statuses.map((s) => s.status)).toEqual([200, 200, 200, 429, 429]);
    const { error } = statuses[3]!;
    expect(error?.code).toBe('Throttled');
    expect(error?.message).toBe(THROTTLED_BODY.error.message);
    const retryAfter = Number(error?.response?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(600);
    // The challenge (the client's first request) is not a transaction: 3 served, then the 429s.
    expect(vault.requests.map((request) => request.status)).toEqual([401, 200, 200, 200, 429, 429]);
  });

  it('leaves Retry-After out when asked, as a vault that sends only the 429', async () => {
    vault.setThrottle({ transactionsPerWindow: 1, windowMs: 600_000, retryAfter: false });
    const client = clientFor(vault);
    await client.getSecret('a');
    const { status, error } = await statusOf(client.getSecret('a'));
    expect(status).toBe(429);
    expect(error?.response?.headers.get('retry-after')).toBeUndefined();
  });

  it('serves again once the window has room, and serves everything once the mode ends', async () => {
    vault.setThrottle({ transactionsPerWindow: 1, windowMs: 200 });
    const client = clientFor(vault);
    await client.getSecret('a');
    expect((await statusOf(client.getSecret('a'))).status).toBe(429);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await statusOf(client.getSecret('a'))).status).toBe(200);

    vault.setThrottle(undefined);
    const all = await Promise.all(Array.from({ length: 10 }, () => statusOf(client.getSecret('a'))));
    expect(all.every((s) => s.status === 200)).toBe(true);
  });

  it('counts a sliding window: no window-long span ever holds more than the budget, and 429s are free', () => {
    const throttle = new VaultThrottle({ transactionsPerWindow: 2, windowMs: 1000 });
    const served = (at: number): boolean => throttle.admit(at) === undefined;
    expect([0, 100, 200, 900].map(served)).toEqual([true, true, false, false]);
    // The first leaves the window at 1000, the second at 1100; the refused ones never counted.
    expect([1000, 1050, 1100].map(served)).toEqual([true, false, true]);
    const refused = throttle.admit(1200);
    expect(refused).toMatchObject({ status: 429, headers: { 'retry-after': '1' }, body: THROTTLED_BODY });
  });

  it('refuses limits that are not positive integers', async () => {
    expect(() => vault.setThrottle({ transactionsPerWindow: 0 })).toThrow(RangeError);
    expect(() => vault.setThrottle({ transactionsPerWindow: 5, windowMs: 1.5 })).toThrow(RangeError);
    await expect(startVaultEmulator({ throttle: { transactionsPerWindow: -1 } })).rejects.toThrow(RangeError);
  });
});
