import { startVaultEmulator, type VaultEmulator } from '../../dev/vault-emulator';
import { createSecretClient, KeyVaultAuthorRegistry } from '../../src/authors/KeyVaultAuthorRegistry';
import { reasonToSkip } from '../../src/contract/authorSecret';

/** The registry against the vault emulator, through the real SecretClient. */
const A = 'AB'.repeat(32);
let vault: VaultEmulator;
let registry: KeyVaultAuthorRegistry;

beforeEach(async () => {
  vault = await startVaultEmulator();
  registry = new KeyVaultAuthorRegistry({ vaultUrl: vault.url, secretPrefix: 'gallery-author-' });
});

afterEach(async () => {
  await vault.close();
});

test('lists only prefixed secrets, across nextLink pages, with their properties', async () => {
  for (let index = 0; index < 30; index++) {
    vault.setSecret(
      `gallery-author-a${String(index).padStart(2, '0')}`,
      JSON.stringify({ authorId: A, accessToken: null }),
      {
        tags: { authorId: A.toLowerCase() },
      },
    );
  }
  vault.setSecret('unrelated-secret', 'x');
  vault.setSecret('gallery-author-off', '{}', { enabled: false });
  vault.setSecret('gallery-author-later', '{}', { notBefore: new Date(Date.now() + 3600_000) });

  const refs = await registry.listAuthorSecrets();
  expect(refs).toHaveLength(32);
  expect(refs[0]).toMatchObject({
    secretName: 'gallery-author-a00',
    label: 'a00',
    enabled: true,
    taggedAuthorId: A,
  });
  const now = new Date();
  expect(
    reasonToSkip(
      refs.find((ref) => ref.label === 'off')!,
      now,
    ),
  ).toBe('the secret is disabled');
  expect(
    reasonToSkip(
      refs.find((ref) => ref.label === 'later')!,
      now,
    ),
  ).toMatch(/not yet valid/);
  expect(vault.requests.filter((request) => request.path === '/secrets').length).toBeGreaterThanOrEqual(2);
  // The SDK met the emulator's challenge and then sent a bearer token.
  expect(vault.requests[0]!.authorized).toBe(false);
  expect(vault.requests.some((request) => request.authorized)).toBe(true);
});

test('reads and validates a secret; the token stays out of every message', async () => {
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJhdXRob3JfaWQiOiJ4In0.c2ln';
  vault.setSecret('gallery-author-jane', JSON.stringify({ authorId: A.toLowerCase(), accessToken: token }));
  await expect(registry.readAuthor('gallery-author-jane')).resolves.toEqual({
    secretName: 'gallery-author-jane',
    authorId: A,
    accessToken: token,
  });

  vault.setSecret('gallery-author-bare', token);
  const bare = await registry
    .readAuthor('gallery-author-bare')
    .catch((error: Error & { code: string }) => error);
  expect(bare).toMatchObject({ code: 'AUTHOR_CONFIG' });
  expect((bare as Error).message).not.toContain(token);

  vault.setSecret('gallery-author-shortid', JSON.stringify({ authorId: 'ABC', accessToken: token }));
  await expect(registry.readAuthor('gallery-author-shortid')).rejects.toMatchObject({
    code: 'AUTHOR_CONFIG',
    message: 'Secret "gallery-author-shortid" has no valid "authorId" (64 hexadecimal characters)',
  });

  vault.setSecret('gallery-author-notoken', JSON.stringify({ authorId: A }));
  await expect(registry.readAuthor('gallery-author-notoken')).resolves.toMatchObject({ accessToken: null });

  vault.setSecret('gallery-author-numbertoken', JSON.stringify({ authorId: A, accessToken: 5 }));
  await expect(registry.readAuthor('gallery-author-numbertoken')).rejects.toMatchObject({
    code: 'AUTHOR_CONFIG',
  });
});

test('a disabled secret read anyway is reported as disabled, a missing one as gone', async () => {
  vault.setSecret('gallery-author-off', JSON.stringify({ authorId: A }), { enabled: false });
  await expect(registry.readAuthor('gallery-author-off')).rejects.toMatchObject({
    code: 'AUTHOR_CONFIG',
    details: { disabled: true },
  });
  await expect(registry.readAuthor('gallery-author-gone')).rejects.toMatchObject({
    code: 'AUTHOR_CONFIG',
    message: expect.stringContaining('no longer exists') as string,
  });
});

test('writeAuthor writes the contract secret: JSON value, content type, authorId tag, expiry', async () => {
  const expiresOn = new Date('2026-12-01T10:00:00Z');
  await registry.writeAuthor('jane', A, 'token-value', expiresOn);
  const [version] = vault.getSecret('gallery-author-jane')!;
  expect(JSON.parse(version!.value)).toEqual({ authorId: A, accessToken: 'token-value' });
  expect(version).toMatchObject({
    contentType: 'application/json',
    tags: { authorId: A },
    enabled: true,
    expiresOn,
  });
});

test('an unreachable vault is VAULT_UNAVAILABLE, naming the vault URL', async () => {
  vault.setOutage('unavailable');
  await expect(registry.listAuthorSecrets()).rejects.toMatchObject({
    code: 'VAULT_UNAVAILABLE',
    message: expect.stringContaining(vault.url) as string,
  });
  const url = vault.url;
  await vault.close();
  const closed = new KeyVaultAuthorRegistry({ vaultUrl: url, secretPrefix: 'gallery-author-' });
  await expect(closed.listAuthorSecrets()).rejects.toMatchObject({
    code: 'VAULT_UNAVAILABLE',
    message: expect.stringMatching(
      new RegExp(`${url.replace(/[.:/]/g, '\\$&')}.*could not be reached`),
    ) as string,
  });
  vault = await startVaultEmulator();
});

test('plain http is allowed only for a loopback vault', () => {
  expect(() => createSecretClient('http://vault.example.com')).toThrow(/https/);
  expect(() => createSecretClient('http://10.0.0.5:8080')).toThrow(/127.0.0.1 or localhost/);
  expect(() => createSecretClient('http://localhost:4181')).not.toThrow();
  expect(() => createSecretClient('https://myvault.vault.azure.net')).not.toThrow();
});

test('a secret whose authorId tag names another author is refused; the secret expiry is passed on', async () => {
  vault.setSecret('gallery-author-mixed', JSON.stringify({ authorId: A, accessToken: null }), {
    tags: { authorId: 'CD'.repeat(32) },
  });
  await expect(registry.readAuthor('gallery-author-mixed')).rejects.toMatchObject({
    code: 'AUTHOR_CONFIG',
    message:
      'Secret "gallery-author-mixed" has an authorId tag that does not match the authorId in its value',
  });
  const expiresOn = new Date('2026-01-01T00:00:00Z');
  vault.setSecret('gallery-author-old', JSON.stringify({ authorId: A, accessToken: null }), {
    tags: { authorId: A },
    expiresOn,
  });
  await expect(registry.readAuthor('gallery-author-old')).resolves.toMatchObject({
    secretExpiresOn: expiresOn,
  });
});

test('a name outside the prefix is refused before the vault is asked', async () => {
  vault.setSecret('storage-account-key', 'do not read');
  const before = vault.requests.length;
  await expect(registry.readAuthor('storage-account-key')).rejects.toMatchObject({ code: 'AUTHOR_CONFIG' });
  expect(vault.requests.length).toBe(before);
});
