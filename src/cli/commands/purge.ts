import { userInfo } from 'node:os';
import { KeyVaultAuthorRegistry } from '../../authors/KeyVaultAuthorRegistry';
import { purgeAuthor } from '../../export/purgeAuthor';
import { createSigner, createStorageServices } from '../../services';
import { GENERATOR } from '../../version';
import { CliContext, EXIT_FAILED, EXIT_OK, usageError } from '../CliContext';
import { parseAuthorOption } from './options';

export interface PurgeOptions {
  author?: string;
  yes?: boolean;
  requestedBy?: string;
  keepRegistration?: boolean;
  json?: boolean;
}

/**
 * `gallery-export purge --author <id> --yes`: erase every snapshot of an author and end its registration
 * (its Key Vault secrets), with an erasure record. `--keep-registration` keeps the secrets, and says that
 * the next run will then export the author again.
 */
export async function purgeCommand(cli: CliContext, options: PurgeOptions): Promise<number> {
  if (options.author === undefined) throw usageError('--author is required');
  const authorId = parseAuthorOption(options.author);
  if (!options.yes) {
    cli.err(
      `This erases every snapshot of author ${authorId} for good${options.keepRegistration ? '' : ' and deletes its Key Vault registration'}. Nothing was erased: add --yes to confirm.`,
    );
    return EXIT_FAILED;
  }
  const requestedBy = (options.requestedBy ?? safeUserName()).trim();
  if (requestedBy === '' || requestedBy.length > 200)
    throw usageError('--requested-by must be 1 to 200 characters');
  const keepRegistration = options.keepRegistration === true;
  const config = cli.config({ needsVault: !keepRegistration });
  const storage = createStorageServices(config);
  const registry = keepRegistration
    ? undefined
    : new KeyVaultAuthorRegistry({
        vaultUrl: config.keyVaultUrl,
        secretPrefix: config.authorSecretPrefix,
        managedIdentityClientId: config.storage.kind === 'identity' ? config.storage.clientId : undefined,
      });
  const result = await purgeAuthor(
    {
      ...storage,
      registry,
      signer: createSigner(config),
      logger: cli.logger(),
      now: () => new Date(),
      generator: GENERATOR,
      lockSeconds: config.runLockSeconds,
    },
    { authorId, requestedBy, keepRegistration, signal: cli.io.signal },
  );
  const kept = `The author's Key Vault registration was kept (--keep-registration): the next run will export author ${authorId} again unless its secrets are removed.`;
  if (keepRegistration) cli.err(`warning: ${kept}`);
  if (options.json) {
    cli.out(
      JSON.stringify(
        {
          erased: result.record !== undefined,
          erasureRecord: result.path ?? null,
          record: result.record ?? null,
        },
        null,
        2,
      ),
    );
  } else if (!result.record) {
    cli.out(`Nothing to erase: there are no snapshots of author ${authorId} and no registration.`);
  } else {
    const { deleted, registration } = result.record;
    cli.out(
      `Erased ${deleted.snapshots} snapshot(s) of author ${authorId} (${deleted.blobs} blobs, ${deleted.bytes} bytes).`,
    );
    if (registration && !registration.kept) {
      cli.out(
        registration.secretsRemoved.length > 0
          ? `Deleted its Key Vault secret(s) ${registration.secretsRemoved.join(', ')}: soft-deleted, recoverable in the vault for its retention period.`
          : 'No Key Vault secret named the author.',
      );
    }
    cli.out(`Erasure record: ${result.path}${result.signed ? ' (signed)' : ''}`);
  }
  return EXIT_OK;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
