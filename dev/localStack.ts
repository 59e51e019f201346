import { createHash, createPublicKey, generateKeyPair } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { KeyVaultAuthorRegistry } from '../src/authors/KeyVaultAuthorRegistry';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { authorIdDigest } from '../src/contract/authorId';
import { DEFAULT_SETTINGS } from '../src/contract/defaults';
import { readErasureLedger } from '../src/snapshots/erasureLedger';
import { startAzurite, type AzuriteOptions, type RunningAzurite } from './azurite';
import { lockDataFolder, PortInUseError, type StackLock } from './stackLock';
import {
  DEMO_AUTHORS,
  DEMO_UNKNOWN_AUTHOR_ID,
  startCatalogSimulator,
  type CatalogSimulator,
  type CatalogSimulatorOptions,
} from './catalog-simulator';
import { startVaultEmulator, type VaultEmulator } from './vault-emulator';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * The embedded local stack: Azurite for blobs and queues, the catalog simulator and the Key Vault
 * emulator, each a real server on loopback, started and stopped by code. `env` holds the settings that
 * point gallery-export at it.
 */
export interface LocalStackOptions {
  /** Keep Azurite's data in this folder (it survives restarts); in memory when absent. */
  azuriteLocation?: string;
  azurite?: Omit<AzuriteOptions, 'location'>;
  catalog?: Omit<CatalogSimulatorOptions, 'port'> & { port?: number };
  vaultPort?: number;
  secretPrefix?: string;
  /**
   * Creates the signing key (RSA 3072) in the vault emulator and sets SIGNING_KEY_NAME, so snapshots are
   * signed as in Azure. With `azuriteLocation`, the key's private part is kept next to Azurite's data
   * (`signing-key.pem`), so snapshots signed by an earlier start still verify. @default true
   */
  signing?: boolean;
}

/** The local stack's signing key in the vault emulator. */
export const LOCAL_SIGNING_KEY_NAME = 'gallery-export-signing';

export interface LocalStack {
  azurite: RunningAzurite;
  catalog: CatalogSimulator;
  vault: VaultEmulator;
  env: Record<string, string>;
  /** Registers the demo authors in the vault, through the real SecretClient, as register-author would. */
  registerDemoAuthors(): Promise<DemoRegistration[]>;
  stop(): Promise<void>;
}

export interface DemoRegistration {
  label: string;
  secretName: string;
  authorId: string;
  /**
   * What the demo expects the export to make of it, and why. `erased`: the archive holds an erasure of
   * this author, so it is not registered again (a purge stays a purge across restarts of the stack).
   */
  expected: 'complete' | 'failed' | 'skipped' | 'erased';
  note: string;
}

/**
 * Starts the stack. With `azuriteLocation`, the folder is taken first (see stackLock.ts): a folder a
 * running stack uses is refused with LocalStackInUseError, which says how to reach that stack. A port in
 * use fails with PortInUseError naming it.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const started: Array<() => Promise<void>> = [];
  try {
    let lock: StackLock | undefined;
    if (options.azuriteLocation) {
      const taken = await lockDataFolder(options.azuriteLocation);
      started.push(() => taken.release());
      lock = taken;
    }
    const azurite = await startAzurite({
      ...options.azurite,
      ...(options.azuriteLocation ? { location: options.azuriteLocation } : {}),
    });
    started.push(() => azurite.stop());
    const catalogPort = options.catalog?.port ?? 0;
    // The sign-in stand-in lets a person register or renew a token by hand (docs/day-two.md).
    const catalog = await startCatalogSimulator({
      signIn: true,
      ...options.catalog,
      port: catalogPort,
    }).catch(portTaken('catalog', catalogPort));
    started.push(() => catalog.close());
    const vaultPort = options.vaultPort ?? 0;
    const vault = await startVaultEmulator({ port: vaultPort }).catch(portTaken('vault', vaultPort));
    started.push(() => vault.close());

    if (options.signing !== false) await addSigningKey(vault, options.azuriteLocation);
    const secretPrefix = options.secretPrefix ?? DEFAULT_SETTINGS.AUTHOR_SECRET_PREFIX;
    const env: Record<string, string> = {
      CATALOG_BASE_URL: catalog.url,
      KEY_VAULT_URL: vault.url,
      EXPORT_STORAGE: azurite.connectionString,
      AUTHOR_SECRET_PREFIX: secretPrefix,
      EXPORT_CONTAINER: DEFAULT_SETTINGS.EXPORT_CONTAINER,
      EXPORT_QUEUE: DEFAULT_SETTINGS.EXPORT_QUEUE,
      ...(options.signing !== false ? { SIGNING_KEY_NAME: LOCAL_SIGNING_KEY_NAME } : {}),
    };
    await lock?.publish(env);

    return {
      azurite,
      catalog,
      vault,
      env,
      registerDemoAuthors: () =>
        registerDemoAuthors(
          catalog,
          vault.url,
          secretPrefix,
          BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
            env.EXPORT_CONTAINER!,
          ),
        ),
      async stop() {
        for (const stop of started.reverse()) await stop().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}

/** A listen that failed because the port is taken, as PortInUseError; anything else as it is. */
function portTaken(service: 'catalog' | 'vault', port: number): (error: unknown) => never {
  return (error) => {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new PortInUseError(service, port);
    throw error;
  };
}

async function addSigningKey(vault: VaultEmulator, azuriteLocation: string | undefined): Promise<void> {
  if (!azuriteLocation) {
    await vault.createKey(LOCAL_SIGNING_KEY_NAME, { size: 3072, keyOps: ['sign', 'verify'] });
    return;
  }
  const file = join(dirname(azuriteLocation), 'signing-key.pem');
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch {
    const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 3072 });
    pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, pem, { mode: 0o600 });
  }
  // The same key, the same version, every start: a keyId signed yesterday still names it.
  const publicDer = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  vault.importKey(
    LOCAL_SIGNING_KEY_NAME,
    pem,
    createHash('sha256').update(publicDer).digest('hex').slice(0, 32),
  );
}

/** Erasures of the author in the archive, if it has any (a container not created yet holds none). */
async function erasureOf(container: ContainerClient, authorId: string): Promise<string | undefined> {
  if (!(await container.exists())) return undefined;
  const ledger = await readErasureLedger(container, { authorIdSha256: authorIdDigest(authorId) });
  const [record] = ledger.records;
  if (record) return `erased on ${record.record.completedAt} (erasure ${record.record.erasureId})`;
  const [unfinished] = ledger.unfinished;
  return unfinished
    ? `an erasure began on ${unfinished.begunAt.toISOString()} (erasure ${unfinished.erasureId})`
    : undefined;
}

async function registerDemoAuthors(
  catalog: CatalogSimulator,
  vaultUrl: string,
  secretPrefix: string,
  container: ContainerClient,
): Promise<DemoRegistration[]> {
  const registry = new KeyVaultAuthorRegistry({ vaultUrl, secretPrefix });
  const registrations: DemoRegistration[] = [];
  const erased = new Map<string, string>();
  for (const author of DEMO_AUTHORS) {
    const erasure = await erasureOf(container, author.authorId);
    if (erasure) erased.set(author.authorId, erasure);
  }
  const tokenPlan: Record<string, { token: 'valid' | 'expired' | 'none'; note: string }> = {
    'ada-lovelace': { token: 'valid', note: 'valid token: public and unlisted entities' },
    'zoe-muller': { token: 'valid', note: 'valid token: public and unlisted entities' },
    'li-wei': { token: 'valid', note: 'valid token: one page' },
    'sofia-ramirez': {
      token: 'expired',
      note: 'expired token: public entities only, token.status "expired"',
    },
    'aasa-odegaard': { token: 'none', note: 'no token and no entities: token.status "absent"' },
    'quiet-quentin': { token: 'valid', note: 'valid token: only unlisted entities' },
  };
  for (const author of DEMO_AUTHORS) {
    const erasure = erased.get(author.authorId);
    if (erasure) {
      // Registering a purged author again would export what was erased at the next run.
      registrations.push({
        label: author.label,
        secretName: `${secretPrefix}${author.label}`,
        authorId: author.authorId,
        expected: 'erased',
        note: `not registered again: ${erasure}`,
      });
      continue;
    }
    const plan = tokenPlan[author.label] ?? { token: 'valid' as const, note: '' };
    const token =
      plan.token === 'none'
        ? null
        : catalog.issueToken(author.authorId, plan.token === 'expired' ? { expiresInSeconds: -3600 } : {});
    const expiresOn = token && plan.token === 'valid' ? new Date(Date.now() + 8 * 3600_000) : undefined;
    const secretName = await registry.writeAuthor(author.label, author.authorId, token, expiresOn);
    registrations.push({
      label: author.label,
      secretName,
      authorId: author.authorId,
      expected: 'complete',
      note: plan.note,
    });
  }

  const unknown = await registry.writeAuthor('unknown-author', DEMO_UNKNOWN_AUTHOR_ID, null, undefined);
  registrations.push({
    label: 'unknown-author',
    secretName: unknown,
    authorId: DEMO_UNKNOWN_AUTHOR_ID,
    expected: 'failed',
    note: 'on purpose: the catalog has no such author (404, CATALOG_NOT_FOUND)',
  });

  const disabledName = `${secretPrefix}disabled-author`;
  const disabledErasure = erased.get(DEMO_AUTHORS[0]!.authorId);
  if (disabledErasure) {
    registrations.push({
      label: 'disabled-author',
      secretName: disabledName,
      authorId: DEMO_AUTHORS[0]!.authorId,
      expected: 'erased',
      note: `not registered again: ${disabledErasure}`,
    });
  } else {
    await registry.client.setSecret(
      disabledName,
      JSON.stringify({ authorId: DEMO_AUTHORS[0]!.authorId, accessToken: null }),
      {
        enabled: false,
        contentType: 'application/json',
        tags: { authorId: DEMO_AUTHORS[0]!.authorId },
      },
    );
    registrations.push({
      label: 'disabled-author',
      secretName: disabledName,
      authorId: DEMO_AUTHORS[0]!.authorId,
      expected: 'skipped',
      note: 'on purpose: the secret is disabled',
    });
  }

  const malformedName = `${secretPrefix}malformed-author`;
  await registry.client.setSecret(malformedName, 'this is not JSON', { contentType: 'text/plain' });
  registrations.push({
    label: 'malformed-author',
    secretName: malformedName,
    authorId: '',
    expected: 'failed',
    note: 'on purpose: the secret value is not JSON (AUTHOR_CONFIG)',
  });
  return registrations;
}
