import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { startAzurite, type AzuriteOptions, type RunningAzurite } from '../../dev/azurite';
import {
  generateCatalogData,
  startCatalogSimulator,
  type CatalogData,
  type CatalogSimulator,
  type CatalogSimulatorOptions,
} from '../../dev/catalog-simulator';
import { startVaultEmulator, type VaultEmulator } from '../../dev/vault-emulator';
import { runCli, type CliResult } from './cliHarness';
import { containerFor, uniqueName } from './storage';

/**
 * The servers most end-to-end suites share for a whole file (Azurite and a vault emulator), and a
 * "world" of their own per test: a catalog, its authors registered under a secret prefix of their own,
 * a container of their own.
 */
export interface SharedServers {
  readonly azurite: RunningAzurite;
  readonly vault: VaultEmulator;
}

/** Starts Azurite and a vault emulator before the file's tests and stops them after. */
export function useAzuriteAndVault(azuriteOptions: () => AzuriteOptions = () => ({})): SharedServers {
  let azurite: RunningAzurite | undefined;
  let vault: VaultEmulator | undefined;
  beforeAll(async () => {
    azurite = await startAzurite(azuriteOptions());
    vault = await startVaultEmulator();
  });
  afterAll(async () => {
    await vault?.close();
    await azurite?.stop();
  });
  return {
    get azurite() {
      if (!azurite) throw new Error('Azurite is not started yet');
      return azurite;
    },
    get vault() {
      if (!vault) throw new Error('The vault emulator is not started yet');
      return vault;
    },
  };
}

export interface World {
  catalog: CatalogSimulator;
  authorIds: string[];
  /** The secret prefix of this world's authors. */
  prefix: string;
  env: Record<string, string>;
  container: ContainerClient;
}

export function worldAuthorId(index: number, salt = ''): string {
  return createHash('sha256').update(`test-author-${salt}${index}`).digest('hex').toUpperCase();
}

export interface WorldOptions {
  simulator?: Omit<CatalogSimulatorOptions, 'data'>;
  /** Settings added to (or replacing) the world's own. */
  env?: Record<string, string>;
  /** Author IDs no other world shares (for tests that look the vault through for an author). */
  uniqueAuthorIds?: boolean;
}

/**
 * A catalog of `authors` (a count of 150-entity authors, entity counts, or ready data), each registered
 * with a valid token, and the settings of a run against them.
 */
export async function createWorld(
  servers: SharedServers,
  authors: number | Array<{ entities: number }> | CatalogData,
  options: WorldOptions = {},
): Promise<World> {
  const salt = options.uniqueAuthorIds ? uniqueName('a') : '';
  const data =
    typeof authors === 'number' || Array.isArray(authors)
      ? generateCatalogData({
          seed: 11,
          authors: (typeof authors === 'number'
            ? Array.from({ length: authors }, () => ({ entities: 150 }))
            : authors
          ).map((author, index) => ({
            authorId: worldAuthorId(index, salt),
            entities: author.entities,
            unlistedRatio: 0.1,
          })),
        })
      : authors;
  const catalog = await startCatalogSimulator({ ...options.simulator, data });
  const authorIds = [...catalog.data.authors.keys()];
  const prefix = `${uniqueName('w')}-`;
  authorIds.forEach((authorId, index) => {
    servers.vault.setSecret(
      `${prefix}a${index}`,
      JSON.stringify({ authorId, accessToken: catalog.issueToken(authorId) }),
      {
        contentType: 'application/json',
        tags: { authorId },
      },
    );
  });
  const name = uniqueName('world');
  return {
    catalog,
    authorIds,
    prefix,
    container: containerFor(servers.azurite.connectionString, name),
    env: {
      CATALOG_BASE_URL: catalog.url,
      KEY_VAULT_URL: servers.vault.url,
      EXPORT_STORAGE: servers.azurite.connectionString,
      EXPORT_CONTAINER: name,
      AUTHOR_SECRET_PREFIX: prefix,
      ...options.env,
    },
  };
}

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Runs `gallery-export run`, again and again while a dead run's lock has not expired yet. */
export async function runOnceUnlocked(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<CliResult> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const result = await runCli(['run', ...args], env);
    if (
      result.code === 0 ||
      !result.stderr.includes('Another export run is in progress') ||
      performance.now() > deadline
    ) {
      return result;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
