import { Agent, request as httpRequest } from 'node:http';

import { SecretClient } from '@azure/keyvault-secrets';

import {
  startVaultEmulator,
  VaultError,
  type VaultEmulator,
  type VaultEmulatorOptions,
} from '../../dev/vault-emulator';

type Credential = ConstructorParameters<typeof SecretClient>[1];

interface TokenRequest {
  scopes: string | string[];
  tenantId: string | undefined;
}

/** A credential that hands out a fixed token and records what the SDK asked for. */
function localCredential(log: TokenRequest[] = []): Credential {
  return {
    getToken: (scopes, options) => {
      log.push({ scopes, tenantId: options?.tenantId });
      return Promise.resolve({ token: 'local', expiresOnTimestamp: Date.now() + 3600_000 });
    },
  };
}

function clientFor(emulator: VaultEmulator, credential: Credential = localCredential()): SecretClient {
  return new SecretClient(emulator.url, credential, {
    allowInsecureConnection: true,
    disableChallengeResourceVerification: true,
    retryOptions: { maxRetries: 0 },
  });
}

const running: VaultEmulator[] = [];

async function start(options?: VaultEmulatorOptions): Promise<VaultEmulator> {
  const emulator = await startVaultEmulator(options);
  running.push(emulator);
  return emulator;
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.close()));
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Resolves with `promise`, or rejects if it takes longer than `ms`. */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('vault emulator, driven by the real SecretClient', () => {
  it('stores new versions and serves the latest or a given version', async () => {
    const emulator = await start();
    const client = clientFor(emulator);

    const first = await client.setSecret('gallery-author-alice', 'value-1');
    const second = await client.setSecret('gallery-author-alice', 'value-2');

    expect(first.name).toBe('gallery-author-alice');
    expect(first.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(second.properties.version).not.toBe(first.properties.version);
    expect(first.properties.vaultUrl).toBe(emulator.url);
    expect((await client.getSecret('gallery-author-alice')).value).toBe('value-2');
    const old = await client.getSecret('gallery-author-alice', { version: first.properties.version! });
    expect(old.value).toBe('value-1');
    expect(old.properties.id).toBe(
      `${emulator.url}/secrets/gallery-author-alice/${first.properties.version}`,
    );
    expect(emulator.getSecret('gallery-author-alice')?.map((v) => v.value)).toEqual(['value-1', 'value-2']);
    // Names are case-insensitive, as in Key Vault.
    expect((await client.getSecret('GALLERY-AUTHOR-ALICE')).name).toBe('gallery-author-alice');

    // The URLs the SDK actually calls: "latest" ends in a slash; every request carries the api-version.
    const gets = emulator.requests.filter((r) => r.method === 'GET').map((r) => r.path);
    expect(gets).toEqual([
      '/secrets/gallery-author-alice/',
      `/secrets/gallery-author-alice/${first.properties.version}`,
      '/secrets/GALLERY-AUTHOR-ALICE/',
    ]);
    expect(new Set(emulator.requests.map((r) => r.query['api-version']))).toEqual(new Set(['2025-07-01']));
  });

  it('round-trips enabled, notBefore, expiresOn, tags and contentType, at whole-second precision', async () => {
    const emulator = await start();
    const client = clientFor(emulator);
    const notBefore = new Date('2020-01-02T03:04:05.678Z');
    const expiresOn = new Date('2021-06-07T08:09:10.999Z'); // already expired: reported, not enforced
    const tags = { authorId: 'a'.repeat(64) };

    await client.setSecret('gallery-author-bob', '{"authorId":"x"}', {
      enabled: true,
      notBefore,
      expiresOn,
      tags,
      contentType: 'application/json',
    });

    const secret = await client.getSecret('gallery-author-bob');
    expect(secret.value).toBe('{"authorId":"x"}');
    expect(secret.properties).toMatchObject({
      enabled: true,
      notBefore: new Date('2020-01-02T03:04:05.000Z'),
      expiresOn: new Date('2021-06-07T08:09:10.000Z'),
      tags,
      contentType: 'application/json',
      recoveryLevel: 'Recoverable+Purgeable',
    });
    expect(secret.properties.createdOn).toBeInstanceOf(Date);
    expect(secret.properties.createdOn!.getTime() % 1000).toBe(0);

    const [listed] = await collect(client.listPropertiesOfSecrets());
    expect(listed).toMatchObject({
      name: 'gallery-author-bob',
      enabled: true,
      notBefore: new Date('2020-01-02T03:04:05.000Z'),
      expiresOn: new Date('2021-06-07T08:09:10.000Z'),
      tags,
      contentType: 'application/json',
    });

    const [stored] = emulator.getSecret('gallery-author-bob') ?? [];
    expect(stored).toMatchObject({ enabled: true, notBefore: secret.properties.notBefore, tags });

    // And the other direction: seeded directly, read through the SDK.
    const seed = emulator.setSecret('gallery-author-carol', 'v', {
      notBefore,
      tags: { a: 'b' },
      contentType: 'text/plain',
    });
    // The store keeps what the wire can carry, so seed and read-back agree.
    expect(seed.notBefore).toEqual(new Date('2020-01-02T03:04:05.000Z'));
    const seeded = await client.getSecret('gallery-author-carol');
    expect(seeded.properties).toMatchObject({
      enabled: true,
      notBefore: new Date('2020-01-02T03:04:05.000Z'),
      tags: { a: 'b' },
      contentType: 'text/plain',
    });
    expect(seeded.properties.expiresOn).toBeUndefined();
  });

  it('lists more than a page of secrets by name, without values, following nextLink', async () => {
    const emulator = await start();
    const names = Array.from({ length: 31 }, (_, i) => `gallery-author-${String(i).padStart(2, '0')}`);
    for (const name of [...names].reverse()) emulator.setSecret(name, `value of ${name}`);
    emulator.setSecret('gallery-author-05', 'newer version'); // one entry per secret, not per version

    const listed = await collect(clientFor(emulator).listPropertiesOfSecrets());

    expect(listed.map((p) => p.name)).toEqual(names);
    expect(listed.every((p) => p.version === undefined && !('value' in p))).toBe(true);
    const lists = emulator.requests.filter((r) => r.path === '/secrets');
    expect(lists.map((r) => r.status)).toEqual([401, 200, 200]);
    expect(lists[1]!.query).toEqual({ 'api-version': '2025-07-01' });
    expect(lists[2]!.query).toMatchObject({ 'api-version': '2025-07-01', maxresults: '25' });
    expect(lists[2]!.query.$skiptoken).toEqual(expect.any(String));
  });

  it('honours a smaller page size and the maxresults the SDK sends for byPage', async () => {
    const emulator = await start({ pageSize: 4 });
    for (let i = 0; i < 10; i++) emulator.setSecret(`s-${i}`, 'v');
    const client = clientFor(emulator);

    const byDefault = await collect(client.listPropertiesOfSecrets().byPage());
    const bySmallPages = await collect(client.listPropertiesOfSecrets().byPage({ maxPageSize: 3 }));

    expect(byDefault.map((page) => page.length)).toEqual([4, 4, 2]);
    expect(bySmallPages.map((page) => page.length)).toEqual([3, 3, 3, 1]);
    expect(bySmallPages.flat().map((p) => p.name)).toEqual(emulator.listSecretNames());
  });

  it('keeps page boundaries right when secrets change between pages', async () => {
    const emulator = await start({ pageSize: 2 });
    for (const name of ['a', 'b', 'c', 'd', 'e']) emulator.setSecret(name, 'v');
    const pages = clientFor(emulator).listPropertiesOfSecrets().byPage();

    const seen: string[] = [];
    for await (const page of pages) {
      seen.push(...page.map((p) => p.name));
      // Remove what was just served: an offset-based token would now skip 'c' and 'd'.
      if (seen.length === 2) ['a', 'b'].forEach((name) => emulator.deleteSecret(name));
    }

    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('lists the versions of one secret, oldest first, across pages', async () => {
    const emulator = await start({ pageSize: 2 });
    const versions = ['a', 'b', 'c'].map((value) => emulator.setSecret('gallery-author-dan', value).version);
    emulator.setSecret('gallery-author-other', 'x');

    const listed = await collect(clientFor(emulator).listPropertiesOfSecretVersions('gallery-author-dan'));

    expect(listed.map((p) => p.version)).toEqual(versions);
    expect(emulator.requests.filter((r) => r.path === '/secrets/gallery-author-dan/versions')).toHaveLength(
      3,
    );
  });

  it('refuses the value of a disabled secret with 403 Forbidden, until it is enabled again', async () => {
    const emulator = await start();
    const client = clientFor(emulator);
    const { version } = emulator.setSecret('gallery-author-eve', 'v', { enabled: false });

    await expect(client.getSecret('gallery-author-eve')).rejects.toMatchObject({
      name: 'RestError',
      statusCode: 403,
      code: 'Forbidden',
      message: 'Operation get is not allowed on a disabled secret.',
    });
    await expect(client.getSecret('gallery-author-eve', { version })).rejects.toMatchObject({
      statusCode: 403,
    });
    // Listing still shows it, as disabled.
    const [listed] = await collect(client.listPropertiesOfSecrets());
    expect(listed).toMatchObject({ name: 'gallery-author-eve', enabled: false });

    const updated = await client.updateSecretProperties('gallery-author-eve', version, { enabled: true });
    expect(updated.enabled).toBe(true);
    expect((await client.getSecret('gallery-author-eve')).value).toBe('v');
  });

  it('answers 404 SecretNotFound for an unknown secret or version', async () => {
    const emulator = await start();
    const client = clientFor(emulator);
    emulator.setSecret('gallery-author-frank', 'v');

    await expect(client.getSecret('gallery-author-nobody')).rejects.toMatchObject({
      name: 'RestError',
      statusCode: 404,
      code: 'SecretNotFound',
    });
    await expect(client.getSecret('gallery-author-frank', { version: 'f'.repeat(32) })).rejects.toMatchObject(
      {
        statusCode: 404,
        code: 'SecretNotFound',
      },
    );
  });

  it('challenges the first request, then accepts the replay with a bearer token, body included', async () => {
    const emulator = await start({ tenantId: '11111111-2222-3333-4444-555555555555' });
    const tokenRequests: TokenRequest[] = [];
    const client = clientFor(emulator, localCredential(tokenRequests));

    await client.setSecret('gallery-author-grace', 'replayed value');
    await client.getSecret('gallery-author-grace');

    expect(
      emulator.requests.map(({ method, authorized, status }) => ({ method, authorized, status })),
    ).toEqual([
      { method: 'PUT', authorized: false, status: 401 },
      { method: 'PUT', authorized: true, status: 200 },
      { method: 'GET', authorized: true, status: 200 }, // the token is cached: no second challenge
    ]);
    expect(emulator.getSecret('gallery-author-grace')?.map((v) => v.value)).toEqual(['replayed value']);
    // The SDK derives scope and tenant from the challenge header.
    expect(tokenRequests[0]).toEqual({
      scopes: ['https://vault.azure.net/.default'],
      tenantId: '11111111-2222-3333-4444-555555555555',
    });
  });

  it('needs disableChallengeResourceVerification, since the challenge names vault.azure.net', async () => {
    const emulator = await start();
    const strict = new SecretClient(emulator.url, localCredential(), {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });

    await expect(strict.getSecret('gallery-author-x')).rejects.toThrow(/does not match the requested domain/);
  });

  it('sends the challenge itself, and requires an api-version, on the wire', async () => {
    const emulator = await start();

    const unauthenticated = await fetch(`${emulator.url}/secrets?api-version=2025-07-01`);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toBe(
      'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"',
    );
    expect(unauthenticated.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await unauthenticated.json()).toMatchObject({ error: { code: 'Unauthorized' } });

    const withoutVersion = await fetch(`${emulator.url}/secrets`, { headers: { authorization: 'Bearer x' } });
    expect(withoutVersion.status).toBe(400);
    expect(await withoutVersion.json()).toMatchObject({ error: { code: 'BadParameter' } });

    // Keys are emulated too (vaultEmulator.keys.test.ts); certificates are not, and say so.
    const unsupported = await fetch(`${emulator.url}/certificates?api-version=2025-07-01`, {
      headers: { authorization: 'Bearer x' },
    });
    expect(unsupported.status).toBe(501);
    expect(await unsupported.json()).toMatchObject({ error: { code: 'NotImplemented' } });
  });

  it('rejects invalid secret names with 400 BadParameter', async () => {
    const emulator = await start();
    const client = clientFor(emulator);

    await expect(client.setSecret('gallery_author_bad', 'v')).rejects.toMatchObject({
      name: 'RestError',
      statusCode: 400,
      code: 'BadParameter',
    });
    await expect(client.setSecret('a'.repeat(128), 'v')).rejects.toMatchObject({ statusCode: 400 });
    await expect(client.getSecret('no.dots')).rejects.toMatchObject({ statusCode: 400 });
    expect(() => emulator.setSecret('no spaces', 'v')).toThrow(VaultError);
    expect(emulator.listSecretNames()).toEqual([]);
    await expect(client.setSecret('a'.repeat(127), 'v')).resolves.toBeDefined();
  });

  it("enforces the service's limits on values, content types and tags", async () => {
    const emulator = await start();
    const client = clientFor(emulator);
    const tooManyTags = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, 'v']));

    await expect(client.setSecret('big', 'x'.repeat(25 * 1024 + 1))).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(client.setSecret('typed', 'v', { contentType: 'x'.repeat(256) })).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(client.setSecret('tagged', 'v', { tags: tooManyTags })).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(client.setSecret('big', 'x'.repeat(25 * 1024))).resolves.toBeDefined();
    expect(emulator.listSecretNames()).toEqual(['big']);
  });

  it('soft-deletes, keeps the name reserved until purged, then allows it again', async () => {
    const emulator = await start();
    const client = clientFor(emulator);
    emulator.setSecret('gallery-author-heidi', 'v');

    const poller = await client.beginDeleteSecret('gallery-author-heidi');
    const deleted = await poller.pollUntilDone();

    expect(deleted).toMatchObject({
      name: 'gallery-author-heidi',
      recoveryId: `${emulator.url}/deletedsecrets/gallery-author-heidi`,
    });
    expect(deleted.deletedOn).toBeInstanceOf(Date);
    expect(deleted.value).toBeUndefined();
    expect(emulator.listSecretNames()).toEqual([]);
    await expect(client.getSecret('gallery-author-heidi')).rejects.toMatchObject({ statusCode: 404 });
    await expect(client.setSecret('gallery-author-heidi', 'again')).rejects.toMatchObject({
      statusCode: 409,
      code: 'Conflict',
    });

    await client.purgeDeletedSecret('gallery-author-heidi');
    await client.setSecret('gallery-author-heidi', 'again');
    expect(emulator.getSecret('gallery-author-heidi')?.map((v) => v.value)).toEqual(['again']);
    expect(emulator.deleteSecret('gallery-author-heidi')).toBe(true);
    expect(emulator.deleteSecret('gallery-author-heidi')).toBe(false);
  });

  it('fails every request during an outage and recovers afterwards', async () => {
    const emulator = await start();
    const client = clientFor(emulator);
    emulator.setSecret('gallery-author-ivan', 'v');
    await client.getSecret('gallery-author-ivan'); // challenge done, so each call below is one request
    emulator.requests.length = 0;

    emulator.setOutage('unavailable');
    await expect(client.getSecret('gallery-author-ivan')).rejects.toMatchObject({
      name: 'RestError',
      statusCode: 503,
    });
    emulator.setOutage('reset');
    await expect(client.getSecret('gallery-author-ivan')).rejects.toMatchObject({
      name: 'RestError',
      code: 'ECONNRESET',
    });
    emulator.setOutage(undefined);
    await expect(client.getSecret('gallery-author-ivan')).resolves.toMatchObject({ value: 'v' });

    expect(emulator.requests.map((r) => r.status)).toEqual([503, 0, 200]);
  });

  it('with the challenge off, the SDK drops the body of its very first request', async () => {
    // Documented SDK behaviour: the first request goes out bodiless to provoke a 401.
    const emulator = await start({ requireChallenge: false });
    const client = clientFor(emulator);

    await expect(client.setSecret('gallery-author-judy', 'v')).rejects.toMatchObject({ statusCode: 400 });
    await client.setSecret('gallery-author-judy', 'v');

    expect(emulator.requests.map((r) => [r.authorized, r.status])).toEqual([
      [false, 400],
      [false, 200],
    ]);
  });

  it('closes promptly while keep-alive and in-flight connections are open', async () => {
    const emulator = await start();
    emulator.setSecret('gallery-author-ken', 'v');
    await clientFor(emulator).getSecret('gallery-author-ken'); // the SDK's agent keeps its socket
    const agent = new Agent({ keepAlive: true });
    const get = () =>
      new Promise<{ reused: boolean; socketClosed: Promise<void> }>((resolve, reject) => {
        const req = httpRequest(`${emulator.url}/secrets?api-version=1`, { agent }, (res) => {
          const socket = res.socket; // back in the agent's pool, detached from res, after 'end'
          res.resume();
          res.on('end', () =>
            resolve({
              reused: req.reusedSocket,
              socketClosed: new Promise((closed) => socket.once('close', () => closed())),
            }),
          );
        });
        req.on('error', reject);
        req.end();
      });
    await get();
    const second = await get();
    expect(second.reused).toBe(true);

    // A request whose body never finishes: server.close() alone would wait for it forever.
    const stalled = httpRequest(`${emulator.url}/secrets/x?api-version=1`, {
      method: 'PUT',
      headers: { authorization: 'Bearer x', 'content-length': '100' },
    });
    const stalledFailed = new Promise<void>((resolve) => stalled.on('error', () => resolve()));
    stalled.write('{"value":');
    await waitFor(() => emulator.requests.some((r) => r.method === 'PUT'));

    try {
      await within(1000, Promise.all([emulator.close(), second.socketClosed, stalledFailed]));
    } finally {
      // Should close() regress, free its connections so the suite fails instead of hanging.
      stalled.destroy();
      agent.destroy();
    }
    await expect(fetch(`${emulator.url}/secrets?api-version=1`)).rejects.toThrow();
    await emulator.close(); // idempotent
  });
});
