import {
  generateCatalogData,
  startCatalogSimulator,
  type CatalogSimulator,
} from '../../dev/catalog-simulator';
import { startVaultEmulator, type VaultEmulator } from '../../dev/vault-emulator';
import { runCli } from '../support/cliHarness';

/** register-author against the vault emulator, with tokens the catalog simulator issues. */
const JANE = 'AB'.repeat(32);
const OTHER = 'CD'.repeat(32);
// One author per registration below: a second label for a registered author is refused.
const PUBLIC_ONLY = 'EF'.repeat(32);
const STALE = '12'.repeat(32);
let vault: VaultEmulator;
let catalog: CatalogSimulator;
let env: Record<string, string>;

beforeAll(async () => {
  vault = await startVaultEmulator();
  catalog = await startCatalogSimulator({
    data: generateCatalogData({ seed: 1, authors: [{ authorId: JANE, entities: 1 }] }),
  });
  env = { KEY_VAULT_URL: vault.url };
});
afterAll(async () => {
  await vault?.close();
  await catalog?.close();
});

test('writes the contract secret with the expiry of the token; the token is never printed', async () => {
  const expiresAt = new Date('2030-01-01T08:00:00Z');
  const token = catalog.issueToken(JANE, { expiresAt });
  const result = await runCli(
    ['register-author', '--label', 'jane', '--author-id', JANE.toLowerCase(), '--token-stdin'],
    env,
    {
      stdin: `${token}\n`,
    },
  );
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('gallery-author-jane');
  expect(result.stdout + result.stderr).not.toContain(token);
  const [version] = vault.getSecret('gallery-author-jane')!;
  expect(JSON.parse(version!.value)).toEqual({ authorId: JANE, accessToken: token });
  expect(version).toMatchObject({
    contentType: 'application/json',
    tags: { authorId: JANE },
    expiresOn: expiresAt,
    enabled: true,
  });
});

test('a token whose author_id names someone else exits 2 and writes nothing', async () => {
  const token = catalog.issueToken(JANE, { authorIdClaim: OTHER });
  const result = await runCli(
    ['register-author', '--label', 'mallory', '--author-id', JANE, '--token-stdin'],
    env,
    { stdin: token },
  );
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('belongs to another author');
  expect(result.stderr).not.toContain(token);
  expect(vault.getSecret('gallery-author-mallory')).toBeUndefined();
});

test('something that is not a JWT, a bad label or a bad ID exits 2 and writes nothing', async () => {
  expect(
    (
      await runCli(['register-author', '--label', 'x', '--author-id', JANE, '--token-stdin'], env, {
        stdin: 'password123',
      })
    ).code,
  ).toBe(2);
  expect((await runCli(['register-author', '--label', 'bad label', '--author-id', JANE], env)).code).toBe(2);
  expect((await runCli(['register-author', '--label', 'y', '--author-id', 'ABC'], env)).code).toBe(2);
  expect(
    (
      await runCli(['register-author', '--label', 'z', '--author-id', JANE, '--token-stdin'], env, {
        stdin: '',
      })
    ).code,
  ).toBe(2);
  expect(
    vault
      .listSecretNames()
      .filter((name) => ['gallery-author-x', 'gallery-author-y', 'gallery-author-z'].includes(name)),
  ).toEqual([]);
});

test('without a token the author is registered for public data, with a note', async () => {
  const result = await runCli(['register-author', '--label', 'public-only', '--author-id', PUBLIC_ONLY], env);
  expect(result.code).toBe(0);
  expect(result.stderr).toContain('only public entities');
  expect(JSON.parse(vault.getSecret('gallery-author-public-only')![0]!.value)).toEqual({
    authorId: PUBLIC_ONLY,
    accessToken: null,
  });
});

test('an expired token is registered with a warning (public data still exports)', async () => {
  const token = catalog.issueToken(STALE, { expiresInSeconds: -60 });
  const result = await runCli(
    ['register-author', '--label', 'stale', '--author-id', STALE, '--token-stdin'],
    env,
    { stdin: token },
  );
  expect(result.code).toBe(0);
  expect(result.stderr).toMatch(/expired at .*only public entities/);
});
