import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { RunningAzurite } from '../../dev/azurite';
import {
  generateCatalogData,
  startCatalogSimulator,
  type CatalogData,
  type CatalogSimulator,
  type CatalogSimulatorOptions,
} from '../../dev/catalog-simulator';
import type { VaultEmulator } from '../../dev/vault-emulator';
import { containerFor, uniqueName } from '../support/storage';

export interface DrillWorld {
  catalog: CatalogSimulator;
  authorIds: string[];
  env: Record<string, string>;
  container: ContainerClient;
}

export function drillAuthorId(index: number): string {
  return createHash('sha256').update(`drill-author-${index}`).digest('hex').toUpperCase();
}

/** A catalog of its own, its authors registered in the vault under a prefix of their own, a container of its own. */
export async function drillWorld(
  azurite: RunningAzurite,
  vault: VaultEmulator,
  authors: number | CatalogData,
  options: Omit<CatalogSimulatorOptions, 'data'> = {},
): Promise<DrillWorld> {
  const data =
    typeof authors === 'number'
      ? generateCatalogData({
          seed: 3,
          authors: Array.from({ length: authors }, (_, index) => ({
            authorId: drillAuthorId(index),
            entities: 150,
          })),
        })
      : authors;
  const catalog = await startCatalogSimulator({ ...options, data });
  const authorIds = [...catalog.data.authors.keys()];
  const prefix = `${uniqueName('d')}-`;
  authorIds.forEach((authorId, index) => {
    vault.setSecret(
      `${prefix}a${index}`,
      JSON.stringify({ authorId, accessToken: catalog.issueToken(authorId) }),
      {
        contentType: 'application/json',
        tags: { authorId },
      },
    );
  });
  const name = uniqueName('drill');
  return {
    catalog,
    authorIds,
    container: containerFor(azurite.connectionString, name),
    env: {
      CATALOG_BASE_URL: catalog.url,
      KEY_VAULT_URL: vault.url,
      EXPORT_STORAGE: azurite.connectionString,
      EXPORT_CONTAINER: name,
      AUTHOR_SECRET_PREFIX: prefix,
      RUN_LOCK_SECONDS: '15',
      CATALOG_MAX_RETRIES: '2',
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
