import { execFile } from 'node:child_process';
import {
  constants,
  createHash,
  createPublicKey,
  generateKeyPairSync,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CryptographyClient,
  KeyClient,
  type CryptographyClientOptions,
  type JsonWebKey,
  type KeyVaultKey,
} from '@azure/keyvault-keys';

import {
  prewarmRsaKeyPairs,
  RSA_SIGNATURE_ALGORITHMS,
  signRsaDigest,
  startVaultEmulator,
  verifyRsaDigest,
  VaultError,
  type RecordedVaultRequest,
  type RsaSignatureAlgorithm,
  type VaultEmulator,
  type VaultEmulatorOptions,
} from '../../dev/vault-emulator';

type Credential = ConstructorParameters<typeof KeyClient>[1];

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

/** The relaxed options the project uses for a loopback vault (see createSecretClient). */
const LOOPBACK_OPTIONS: CryptographyClientOptions = {
  allowInsecureConnection: true,
  disableChallengeResourceVerification: true,
  retryOptions: { maxRetries: 0 },
};

function keyClientFor(emulator: VaultEmulator, options: CryptographyClientOptions = {}): KeyClient {
  return new KeyClient(emulator.url, localCredential(), { ...LOOPBACK_OPTIONS, ...options });
}

function cryptoClientFor(key: string | KeyVaultKey): CryptographyClient {
  return new CryptographyClient(key, localCredential(), LOOPBACK_OPTIONS);
}

const running: VaultEmulator[] = [];

async function start(options?: VaultEmulatorOptions): Promise<VaultEmulator> {
  const emulator = await startVaultEmulator(options);
  running.push(emulator);
  return emulator;
}

let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'vault-keys-'));
  // RSA-3072 generation takes hundreds of milliseconds per pair: start the four this file needs (and
  // a first batch of the 2048-bit ones) at once, rather than one create at a time.
  await Promise.all([prewarmRsaKeyPairs(3072, 4), prewarmRsaKeyPairs(2048, 8)]);
}, 60_000);

afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.close()));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

const HASH_OF: Record<RsaSignatureAlgorithm, 'sha256' | 'sha384' | 'sha512'> = {
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
};

function digestOf(algorithm: RsaSignatureAlgorithm, data: Uint8Array): Buffer {
  return createHash(HASH_OF[algorithm]).update(data).digest();
}

/** node:crypto's verify options for a JOSE algorithm: PSS salts are as long as the hash (RFC 7518). */
function nodePadding(algorithm: RsaSignatureAlgorithm): { padding: number; saltLength?: number } {
  return algorithm.startsWith('PS')
    ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: digestOf(algorithm, Buffer.alloc(0)).length }
    : { padding: constants.RSA_PKCS1_PADDING };
}

/** A SubjectPublicKeyInfo PEM built from nothing but the `n` and `e` the vault returned. */
function pemFromJwk(jwk: JsonWebKey | undefined): string {
  if (!jwk?.n || !jwk.e) throw new Error('the key has no n and e');
  return createPublicKey({
    key: {
      kty: 'RSA',
      n: Buffer.from(jwk.n).toString('base64url'),
      e: Buffer.from(jwk.e).toString('base64url'),
    },
    format: 'jwk',
  })
    .export({ type: 'spki', format: 'pem' })
    .toString();
}

let opensslRuns = 0;

/** `openssl dgst -<hash> -verify key.pem -signature sig.bin data`, spawned; true on "Verified OK". */
async function opensslVerifies(
  pem: string,
  algorithm: RsaSignatureAlgorithm,
  data: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const run = ++opensslRuns;
  const [pemPath, sigPath, dataPath] = ['key.pem', 'sig.bin', 'data.bin'].map((f) =>
    join(scratch, `${run}-${f}`),
  );
  await Promise.all([writeFile(pemPath!, pem), writeFile(sigPath!, signature), writeFile(dataPath!, data)]);
  const pss = algorithm.startsWith('PS')
    ? ['-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:digest']
    : [];
  const args = [
    'dgst',
    `-${HASH_OF[algorithm]}`,
    '-verify',
    pemPath!,
    ...pss,
    '-signature',
    sigPath!,
    dataPath!,
  ];
  return new Promise((resolve, reject) => {
    execFile('openssl', args, (error, stdout, stderr) => {
      if (stdout.includes('Verified OK') && !error) resolve(true);
      else if (stdout.includes('Verification failure')) resolve(false);
      else reject(new Error(`openssl failed: ${stderr || stdout || error?.message}`));
    });
  });
}

function thrownBy(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the action to throw');
}

function describeRequests(requests: RecordedVaultRequest[]): string[] {
  return requests.map((r) => `${r.method} ${r.path} ${r.status}`);
}

async function rawJson(
  emulator: VaultEmulator,
  path: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const response = await fetch(`${emulator.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: 'Bearer x', 'content-type': 'application/json' },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, text };
}

/** JWK members that would carry private key material. */
const PRIVATE_MEMBERS = /"(d|p|q|dp|dq|qi|k|key_hsm)"\s*:/;

const DATA = Buffer.from('{"snapshot":"gallery-export/2024-05-01/author-ada.json","sha256":"…"}', 'utf8');

describe('vault emulator keys, driven by the real KeyClient and CryptographyClient', () => {
  it('creates RSA-3072 keys, serves the latest and each version, and sends only the public half', async () => {
    const emulator = await start();
    const client = keyClientFor(emulator);

    const first = await client.createRsaKey('gallery-signing', { keySize: 3072, tags: { use: 'snapshots' } });
    const second = await client.rotateKey('gallery-signing');

    expect(first).toMatchObject({
      name: 'gallery-signing',
      keyType: 'RSA',
      keyOperations: ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'],
      properties: {
        vaultUrl: emulator.url,
        enabled: true,
        tags: { use: 'snapshots' },
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
      },
    });
    expect(first.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(first.id).toBe(`${emulator.url}/keys/gallery-signing/${first.properties.version}`);
    expect(first.properties.createdOn!.getTime() % 1000).toBe(0);
    // n is exactly the 384-byte modulus (top bit set, no leading zero), e is 65537.
    expect(first.key!.n).toHaveLength(384);
    expect(first.key!.n![0]! & 0x80).toBe(0x80);
    expect(Buffer.from(first.key!.e!)).toEqual(Buffer.from([0x01, 0x00, 0x01]));
    // Rotation makes a new version with a new key pair of the same size and operations.
    expect(second.properties.version).not.toBe(first.properties.version);
    expect(second.key!.n).toHaveLength(384);
    expect(Buffer.from(second.key!.n!).equals(Buffer.from(first.key!.n!))).toBe(false);
    expect(second.keyOperations).toEqual(first.keyOperations);

    const latest = await client.getKey('gallery-signing');
    const old = await client.getKey('gallery-signing', { version: first.properties.version! });
    expect(latest.id).toBe(second.id);
    expect(old.id).toBe(first.id);
    expect(old.key!.n).toEqual(first.key!.n);
    const versions = emulator.getKeyVersions('gallery-signing')!;
    expect(versions.map((v) => v.kid)).toEqual([first.id, second.id]);
    expect(versions.map((v) => v.keySize)).toEqual([3072, 3072]);
    expect(versions[0]!.publicKeyPem).toBe(pemFromJwk(first.key));

    // The requests the SDK sends, as recorded: the create is challenged once, then replayed.
    expect(describeRequests(emulator.requests)).toEqual([
      'POST /keys/gallery-signing/create 401',
      'POST /keys/gallery-signing/create 200',
      'POST /keys/gallery-signing/rotate 200',
      'GET /keys/gallery-signing/ 200',
      `GET /keys/gallery-signing/${first.properties.version} 200`,
    ]);
    expect(new Set(emulator.requests.map((r) => r.query['api-version']))).toEqual(new Set(['2025-07-01']));

    // On the wire: the key members the service sends, and nothing private in any response.
    const responses = await Promise.all(
      [
        '/keys/gallery-signing/',
        `/keys/gallery-signing/${first.properties.version}`,
        '/keys',
        '/keys/gallery-signing/versions',
      ].map((path) => rawJson(emulator, `${path}?api-version=2025-07-01`)),
    );
    const created = await rawJson(emulator, '/keys/gallery-signing/create?api-version=2025-07-01', {
      method: 'POST',
      body: { kty: 'RSA-HSM', key_size: 2048 },
    });
    const rotated = await rawJson(emulator, '/keys/gallery-signing/rotate?api-version=2025-07-01', {
      method: 'POST',
    });
    const deleted = await rawJson(emulator, '/keys/gallery-signing?api-version=2025-07-01', {
      method: 'DELETE',
    });
    for (const { status, text } of [...responses, created, rotated, deleted]) {
      expect(status).toBe(200);
      expect(text).not.toMatch(PRIVATE_MEMBERS);
    }
    expect(Object.keys(responses[0]!.body.key as object).sort()).toEqual(['e', 'key_ops', 'kid', 'kty', 'n']);
    const attributes = responses[0]!.body.attributes as Record<string, unknown>;
    expect(attributes).toMatchObject({
      enabled: true,
      recoverableDays: 90,
      recoveryLevel: 'Recoverable+Purgeable',
      exportable: false,
    });
    expect(Number.isSafeInteger(attributes.created) && attributes.updated === attributes.created).toBe(true);
    expect(created.body.key).toMatchObject({ kty: 'RSA-HSM' });
    // A rotation keeps the type and size of the version it rotates.
    expect(rotated.body.key).toMatchObject({ kty: 'RSA-HSM' });
    expect(Buffer.from((rotated.body.key as { n: string }).n, 'base64url')).toHaveLength(256);
  });

  it('signs SHA-256 digests with RS256 so that node:crypto and openssl verify them, for each version', async () => {
    const emulator = await start();
    const client = keyClientFor(emulator);
    const v1 = await client.createRsaKey('gallery-signer', { keySize: 3072 });
    const v2 = await client.createRsaKey('gallery-signer', { keySize: 3072 }); // a second version
    const digest = digestOf('RS256', DATA);
    const signatures: Buffer[] = [];

    for (const key of [v1, v2]) {
      const cryptoClient = cryptoClientFor(key.id!);
      const signed = await cryptoClient.sign('RS256', digest);
      const fromData = await cryptoClient.signData('RS256', DATA);
      const signature = Buffer.from(signed.result);
      signatures.push(signature);

      expect(signed).toMatchObject({ algorithm: 'RS256', keyID: key.id });
      expect(signature).toHaveLength(384);
      // RSASSA-PKCS1-v1_5 is deterministic: signing the data is signing its SHA-256.
      expect(Buffer.from(fromData.result)).toEqual(signature);
      expect(emulator.signDigest('gallery-signer', key.properties.version, 'RS256', digest)).toEqual(
        signature,
      );

      const pem = pemFromJwk(key.key);
      expect(cryptoVerify('sha256', DATA, pem, signature)).toBe(true);
      expect(await opensslVerifies(pem, 'RS256', DATA, signature)).toBe(true);
      // The SDK verifies a digest remotely (POST .../verify) and data locally (with n and e).
      expect((await cryptoClient.verify('RS256', digest, signature)).result).toBe(true);
      expect((await cryptoClient.verifyData('RS256', DATA, signature)).result).toBe(true);
    }

    // Each version has its own key: a signature does not verify under the other version.
    const [first, second] = signatures as [Buffer, Buffer];
    expect(first.equals(second)).toBe(false);
    expect(cryptoVerify('sha256', DATA, pemFromJwk(v2.key), first)).toBe(false);
    expect(await opensslVerifies(pemFromJwk(v2.key), 'RS256', DATA, first)).toBe(false);
    expect((await cryptoClientFor(v2.id!).verify('RS256', digest, first)).result).toBe(false);
    // Nor does it verify for other data.
    expect(await opensslVerifies(pemFromJwk(v1.key), 'RS256', Buffer.from('other data'), first)).toBe(false);

    expect(emulator.requests.filter((r) => r.path.endsWith('/sign')).map((r) => r.path)).toEqual(
      [v1, v2].flatMap((key) => {
        const path = `/keys/gallery-signer/${key.properties.version}/sign`;
        return [path, path];
      }),
    );
  });

  it('costs one Key Vault call per sign once a CryptographyClient is warm', async () => {
    const emulator = await start();
    const key = await emulator.createKey('gallery-counted');
    const digest = digestOf('RS256', DATA);
    const signPath = `POST /keys/gallery-counted/${key.version}/sign`;
    const getPath = `GET /keys/gallery-counted/${key.version}`;
    const callsOf = async (action: () => Promise<unknown>): Promise<string[]> => {
      emulator.requests.length = 0;
      await action();
      return describeRequests(emulator.requests);
    };

    // From a key id, as the product builds it: the first sign also fetches the key (for local
    // verify and key_ops checks) and pays the challenge; later signs are one request each.
    const byId = cryptoClientFor(key.kid);
    expect(await callsOf(() => byId.sign('RS256', digest))).toEqual([
      `${getPath} 401`,
      `${getPath} 200`,
      `${signPath} 200`,
    ]);
    expect(await callsOf(() => byId.sign('RS256', digest))).toEqual([`${signPath} 200`]);
    expect(await callsOf(() => byId.signData('RS256', DATA))).toEqual([`${signPath} 200`]);

    // From a KeyVaultKey already in hand: no fetch, so the first sign is challenged and replayed
    // with its body, and later signs are again one request.
    const keyClient = keyClientFor(emulator);
    const fetched = await keyClient.getKey('gallery-counted');
    const byKey = cryptoClientFor(fetched);
    expect(await callsOf(() => byKey.sign('RS256', digest))).toEqual([`${signPath} 401`, `${signPath} 200`]);
    expect(await callsOf(() => byKey.sign('RS256', digest))).toEqual([`${signPath} 200`]);

    // From a key id without a version: the latest version, on paths with an empty version segment.
    const unversioned = cryptoClientFor(`${emulator.url}/keys/gallery-counted`);
    expect(await callsOf(() => unversioned.sign('RS256', digest))).toEqual([
      'GET /keys/gallery-counted/ 401',
      'GET /keys/gallery-counted/ 200',
      'POST /keys/gallery-counted//sign 200',
    ]);

    // From KeyClient.getCryptographyClient: shares the KeyClient's warm pipeline, no new challenge.
    const shared = keyClient.getCryptographyClient('gallery-counted', { keyVersion: key.version });
    expect(await callsOf(() => shared.sign('RS256', digest))).toEqual([`${getPath} 200`, `${signPath} 200`]);
    expect(await callsOf(() => shared.sign('RS256', digest))).toEqual([`${signPath} 200`]);
  });

  it.each(RSA_SIGNATURE_ALGORITHMS.filter((a) => a !== 'RS256'))(
    'signs with %s so that node:crypto, openssl and the vault verify it',
    async (algorithm) => {
      const emulator = await start();
      const key = await keyClientFor(emulator).createRsaKey(`gallery-${algorithm.toLowerCase()}`);
      const cryptoClient = cryptoClientFor(key.id!);
      const digest = digestOf(algorithm, DATA);

      const signature = Buffer.from((await cryptoClient.sign(algorithm, digest)).result);
      const again = Buffer.from((await cryptoClient.signData(algorithm, DATA)).result);

      const pem = pemFromJwk(key.key);
      for (const candidate of [signature, again]) {
        expect(candidate).toHaveLength(256);
        expect(
          cryptoVerify(HASH_OF[algorithm], DATA, { key: pem, ...nodePadding(algorithm) }, candidate),
        ).toBe(true);
        expect(await opensslVerifies(pem, algorithm, DATA, candidate)).toBe(true);
        expect((await cryptoClient.verify(algorithm, digest, candidate)).result).toBe(true);
      }
      // PSS is randomised by its salt; PKCS#1 v1.5 is not.
      expect(signature.equals(again)).toBe(!algorithm.startsWith('PS'));
      const tampered = Buffer.from(signature);
      tampered[100]! ^= 0x01;
      expect((await cryptoClient.verify(algorithm, digest, tampered)).result).toBe(false);
      expect(await opensslVerifies(pem, algorithm, DATA, tampered)).toBe(false);
    },
  );

  it('refuses to sign with a disabled key (403 Forbidden, KeyDisabled) but still verifies, until enabled', async () => {
    const emulator = await start();
    const key = await emulator.createKey('gallery-paused');
    const digest = digestOf('RS256', DATA);
    const signature = emulator.signDigest('gallery-paused', key.version, 'RS256', digest);
    const cryptoClient = cryptoClientFor(key.kid);

    expect(emulator.setKeyEnabled('gallery-paused', key.version, false).enabled).toBe(false);

    await expect(cryptoClient.sign('RS256', digest)).rejects.toMatchObject({
      name: 'RestError',
      statusCode: 403,
      code: 'Forbidden',
      message: 'Operation sign is not allowed on a disabled key.',
      details: { error: { code: 'Forbidden', innerError: { code: 'KeyDisabled' } } },
    });
    await expect(cryptoClient.signData('RS256', DATA)).rejects.toMatchObject({ statusCode: 403 });
    expect((await cryptoClient.verify('RS256', digest, signature)).result).toBe(true);
    expect(thrownBy(() => emulator.signDigest('gallery-paused', undefined, 'RS256', digest))).toMatchObject({
      name: 'VaultError',
      status: 403,
      innerCode: 'KeyDisabled',
    });
    // Its public half is still served, as by the service, and reports it disabled.
    const keyClient = keyClientFor(emulator);
    expect((await keyClient.getKey('gallery-paused')).properties.enabled).toBe(false);

    // Without a version, the SDK updates the latest one (PATCH /keys/{name}/).
    const enabled = await keyClient.updateKeyProperties('gallery-paused', { enabled: true });
    expect(enabled.properties).toMatchObject({ enabled: true, version: key.version });
    expect(Buffer.from((await cryptoClient.sign('RS256', digest)).result)).toEqual(signature);
    expect(emulator.requests.filter((r) => r.path.endsWith('/sign')).map((r) => r.status)).toEqual([
      403, 403, 200,
    ]);
    expect(describeRequests(emulator.requests.filter((r) => r.method === 'PATCH'))).toEqual([
      'PATCH /keys/gallery-paused/ 200', // the KeyClient is warm from its getKey: no challenge
    ]);
  });

  it('refuses an operation missing from key_ops with 403 KeyOperationForbidden', async () => {
    const emulator = await start();
    const key = await emulator.createKey('gallery-verify-only', { keyOps: ['verify'] });
    const value = digestOf('RS256', DATA).toString('base64url');

    // The SDK checks key_ops itself once it has fetched the key ...
    await expect(cryptoClientFor(key.kid).sign('RS256', digestOf('RS256', DATA))).rejects.toThrow(
      /Operation sign is not supported/,
    );
    // ... and the vault refuses as well, for a client that does not.
    const refused = await rawJson(
      emulator,
      `/keys/gallery-verify-only/${key.version}/sign?api-version=2025-07-01`,
      {
        method: 'POST',
        body: { alg: 'RS256', value },
      },
    );
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({
      error: {
        code: 'Forbidden',
        message: 'Operation sign is not permitted on this key.',
        innererror: { code: 'KeyOperationForbidden' },
      },
    });
  });

  it('lists keys and versions a page at a time, following nextLink', async () => {
    const emulator = await start({ pageSize: 2 });
    const names = ['key-a', 'key-b', 'key-c', 'key-d', 'key-e'];
    for (const name of [...names].reverse()) await emulator.createKey(name);
    const versions = [
      emulator.getKeyVersions('key-c')![0]!.version,
      (await emulator.createKey('key-c')).version,
      (await emulator.createKey('key-c')).version,
    ];
    const client = keyClientFor(emulator);

    const listed = await collect(client.listPropertiesOfKeys());
    const listedVersions = await collect(client.listPropertiesOfKeyVersions('key-c'));
    const smallPages = await collect(client.listPropertiesOfKeys().byPage({ maxPageSize: 1 }));

    expect(listed.map((p) => p.name)).toEqual(names);
    expect(listed.every((p) => p.version === undefined && p.enabled === true)).toBe(true);
    expect(listed[0]!.id).toBe(`${emulator.url}/keys/key-a`);
    expect(listedVersions.map((p) => p.version)).toEqual(versions);
    expect(smallPages.map((page) => page.length)).toEqual([1, 1, 1, 1, 1]);
    expect(emulator.listKeyNames()).toEqual(names);
    const keyLists = emulator.requests.filter((r) => r.path === '/keys');
    expect(keyLists.slice(0, 4).map((r) => r.status)).toEqual([401, 200, 200, 200]);
    expect(keyLists[2]!.query).toMatchObject({ 'api-version': '2025-07-01', maxresults: '2' });
    expect(emulator.requests.filter((r) => r.path === '/keys/key-c/versions')).toHaveLength(2);
  });

  it('answers KeyNotFound, BadParameter and NotImplemented as the service would', async () => {
    const emulator = await start();
    const client = keyClientFor(emulator);
    const key = await emulator.createKey('gallery-present');
    const cryptoClient = cryptoClientFor(key.kid);

    await expect(client.getKey('gallery-absent')).rejects.toMatchObject({
      name: 'RestError',
      statusCode: 404,
      code: 'KeyNotFound',
    });
    await expect(client.getKey('gallery-present', { version: 'f'.repeat(32) })).rejects.toMatchObject({
      statusCode: 404,
      code: 'KeyNotFound',
    });
    await expect(client.rotateKey('gallery-absent')).rejects.toMatchObject({ statusCode: 404 });
    const small = client.createRsaKey('gallery-small', { keySize: 1024 });
    await expect(small).rejects.toMatchObject({ statusCode: 400, code: 'BadParameter' });
    await expect(small).rejects.toThrow(/2048, 3072, 4096/);
    await expect(client.createKey('gallery_bad_name', 'RSA')).rejects.toMatchObject({ statusCode: 400 });
    await expect(client.createEcKey('gallery-ec')).rejects.toMatchObject({
      statusCode: 501,
      code: 'NotImplemented',
    });
    const tooManyTags = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, 'v']));
    await expect(client.createRsaKey('gallery-tagged', { tags: tooManyTags })).rejects.toMatchObject({
      statusCode: 400,
    });
    // A digest of the wrong length, and an algorithm that is not RSA's.
    await expect(cryptoClient.sign('RS256', Buffer.alloc(31))).rejects.toMatchObject({
      statusCode: 400,
      code: 'BadParameter',
      message: 'The digest is 31 bytes; RS256 needs a 32-byte digest.',
    });
    await expect(cryptoClient.sign('ES256', digestOf('RS256', DATA))).rejects.toMatchObject({
      statusCode: 400,
    });
    await expect(cryptoClient.decrypt('RSA-OAEP', Buffer.alloc(256))).rejects.toMatchObject({
      statusCode: 501,
    });
    const notBase64 = await rawJson(emulator, `/keys/gallery-present/${key.version}/sign?api-version=1`, {
      method: 'POST',
      body: { alg: 'RS256', value: 'not base64url!' },
    });
    expect(notBase64.status).toBe(400);
    // A key id without a version leads the SDK to `/keys/{name}//sign`: the latest version signs.
    const unversioned = await rawJson(emulator, '/keys/gallery-present//sign?api-version=2025-07-01', {
      method: 'POST',
      body: { alg: 'RS256', value: digestOf('RS256', DATA).toString('base64url') },
    });
    expect(unversioned).toMatchObject({ status: 200, body: { kid: key.kid } });

    expect(emulator.listKeyNames()).toEqual(['gallery-present']);
    expect(() => emulator.setKeyEnabled('gallery-absent', undefined, false)).toThrow(VaultError);
    await expect(emulator.createKey('gallery-odd', { size: 1000 as 2048 })).rejects.toThrow(VaultError);
  });

  it('challenges like the secrets part, requires an api-version, and passes any given one through', async () => {
    const emulator = await start({ tenantId: '11111111-2222-3333-4444-555555555555' });

    const unauthenticated = await fetch(`${emulator.url}/keys/gallery-x/create?api-version=2025-07-01`, {
      method: 'POST',
    });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toBe(
      'Bearer authorization="https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555", resource="https://vault.azure.net"',
    );
    const withoutVersion = await rawJson(emulator, '/keys/gallery-x/create', {
      method: 'POST',
      body: { kty: 'RSA' },
    });
    expect(withoutVersion.status).toBe(400);
    expect(withoutVersion.body).toMatchObject({ error: { code: 'BadParameter' } });
    expect(emulator.listKeyNames()).toEqual([]);

    // The SDK derives scope and tenant from the challenge, and speaks an older api-version if told.
    const tokenRequests: TokenRequest[] = [];
    const older = new KeyClient(emulator.url, localCredential(tokenRequests), {
      ...LOOPBACK_OPTIONS,
      serviceVersion: '7.5',
    });
    emulator.requests.length = 0;
    const created = await older.createRsaKey('gallery-x');
    await older.getKey('gallery-x');
    expect(created.name).toBe('gallery-x');
    expect(emulator.requests.map((r) => [r.query['api-version'], r.authorized, r.status])).toEqual([
      ['7.5', false, 401],
      ['7.5', true, 200],
      ['7.5', true, 200],
    ]);
    expect(tokenRequests).toEqual([
      { scopes: ['https://vault.azure.net/.default'], tenantId: '11111111-2222-3333-4444-555555555555' },
    ]);

    // Without disableChallengeResourceVerification the SDK refuses the loopback challenge.
    const strict = new KeyClient(emulator.url, localCredential(), {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
    await expect(strict.getKey('gallery-x')).rejects.toThrow(/does not match the requested domain/);
    const strictCrypto = new CryptographyClient(created.id!, localCredential(), {
      allowInsecureConnection: true,
      retryOptions: { maxRetries: 0 },
    });
    await expect(strictCrypto.sign('RS256', digestOf('RS256', DATA))).rejects.toThrow(
      /does not match the requested domain/,
    );
  });

  it('keeps a rotation policy and gives rotated versions its expiry', async () => {
    const emulator = await start();
    const client = keyClientFor(emulator);
    await client.createRsaKey('gallery-rotating');

    const initial = await client.getKeyRotationPolicy('gallery-rotating');
    expect(initial.lifetimeActions).toEqual([
      { action: 'Notify', timeBeforeExpiry: 'P30D', timeAfterCreate: undefined },
    ]);
    const policy = await client.updateKeyRotationPolicy('gallery-rotating', {
      expiresIn: 'P90D',
      lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P60D' }],
    });
    expect(policy).toMatchObject({
      id: `${emulator.url}/keys/gallery-rotating/rotationpolicy`,
      expiresIn: 'P90D',
      lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P60D' }],
    });
    expect(policy.createdOn).toBeInstanceOf(Date);
    expect(await client.getKeyRotationPolicy('gallery-rotating')).toEqual(policy);

    const rotated = await client.rotateKey('gallery-rotating');
    const { createdOn, expiresOn } = rotated.properties;
    expect(expiresOn!.getTime() - createdOn!.getTime()).toBe(90 * 24 * 3600 * 1000);
    await expect(
      client.updateKeyRotationPolicy('gallery-rotating', { expiresIn: 'ninety days' }),
    ).rejects.toMatchObject({ statusCode: 400 });
    expect(
      describeRequests(emulator.requests.filter((r) => r.status !== 401 && !r.path.endsWith('/create'))),
    ).toEqual([
      'GET /keys/gallery-rotating/rotationpolicy 200',
      'PUT /keys/gallery-rotating/rotationpolicy 200',
      'GET /keys/gallery-rotating/rotationpolicy 200',
      'POST /keys/gallery-rotating/rotate 200',
      'PUT /keys/gallery-rotating/rotationpolicy 400',
    ]);
  });

  it('soft-deletes a key, keeps its name reserved until purged, then allows it again', async () => {
    const emulator = await start();
    const client = keyClientFor(emulator);
    const key = await emulator.createKey('gallery-retired');

    const deleted = await (await client.beginDeleteKey('gallery-retired')).pollUntilDone();

    expect(deleted).toMatchObject({
      name: 'gallery-retired',
      id: key.kid,
      properties: { recoveryId: `${emulator.url}/deletedkeys/gallery-retired` },
    });
    expect(deleted.properties.deletedOn).toBeInstanceOf(Date);
    expect(emulator.listKeyNames()).toEqual([]);
    await expect(client.getKey('gallery-retired')).rejects.toMatchObject({ statusCode: 404 });
    await expect(cryptoClientFor(key.kid).sign('RS256', digestOf('RS256', DATA))).rejects.toMatchObject({
      statusCode: 404,
    });
    await expect(client.createRsaKey('gallery-retired')).rejects.toMatchObject({
      statusCode: 409,
      code: 'Conflict',
    });

    await client.purgeDeletedKey('gallery-retired');
    const again = await client.createRsaKey('gallery-retired');
    expect(emulator.getKeyVersions('gallery-retired')?.map((v) => v.kid)).toEqual([again.id]);
    expect(
      describeRequests(emulator.requests.filter((r) => r.path.includes('deleted') || r.method === 'DELETE')),
    ).toEqual([
      'DELETE /keys/gallery-retired 401',
      'DELETE /keys/gallery-retired 200',
      'GET /deletedkeys/gallery-retired 200',
      'DELETE /deletedkeys/gallery-retired 204',
    ]);
    expect(emulator.deleteKey('gallery-retired')).toBe(true);
    expect(emulator.deleteKey('gallery-retired')).toBe(false);
  });

  it('gives every create its own key pair, in one emulator and across emulators', async () => {
    const [one, two] = await Promise.all([start(), start()]);
    const keys = await Promise.all([
      one.createKey('k'),
      one.createKey('k'),
      one.createKey('other'),
      two.createKey('k'),
    ]);
    expect(new Set(keys.map((k) => k.publicKeyPem)).size).toBe(4);
    expect(keys.every((k) => k.keySize === 2048 && k.kty === 'RSA')).toBe(true);
  });
});

describe('RSA signatures over a digest', () => {
  // Generated here, not by the emulator, so the checks do not depend on its key handling.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  it.each(RSA_SIGNATURE_ALGORITHMS)('%s agrees with node:crypto in both directions', (algorithm) => {
    const hash = HASH_OF[algorithm];
    const digest = digestOf(algorithm, DATA);
    const padding = nodePadding(algorithm);

    const ours = signRsaDigest(privateKey, algorithm, digest);
    const nodes = cryptoSign(hash, DATA, { key: privateKey, ...padding });

    expect(cryptoVerify(hash, DATA, { key: publicKey, ...padding }, ours)).toBe(true);
    expect(verifyRsaDigest(publicKey, algorithm, digest, nodes)).toBe(true);
    expect(verifyRsaDigest(publicKey, algorithm, digest, ours)).toBe(true);
    if (algorithm.startsWith('RS')) expect(ours).toEqual(nodes);

    const otherDigest = digestOf(algorithm, Buffer.from('other'));
    expect(verifyRsaDigest(publicKey, algorithm, otherDigest, ours)).toBe(false);
    expect(verifyRsaDigest(publicKey, algorithm, digest, ours.subarray(1))).toBe(false);
    expect(verifyRsaDigest(publicKey, algorithm, digest, Buffer.alloc(256, 0xff))).toBe(false);
    expect(() => signRsaDigest(privateKey, algorithm, digest.subarray(1))).toThrow(RangeError);
  });

  it('does not accept a PKCS#1 v1.5 signature as PSS, or the other way round', () => {
    const digest = digestOf('RS256', DATA);
    expect(verifyRsaDigest(publicKey, 'PS256', digest, signRsaDigest(privateKey, 'RS256', digest))).toBe(
      false,
    );
    expect(verifyRsaDigest(publicKey, 'RS256', digest, signRsaDigest(privateKey, 'PS256', digest))).toBe(
      false,
    );
  });
});
