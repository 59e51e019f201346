import { userInfo } from 'node:os';
import { KeyVaultAuthorRegistry } from '../../authors/KeyVaultAuthorRegistry';
import { previewPurge, purgeAuthor, type PurgePreview, type PurgeServices } from '../../export/purgeAuthor';
import { createSigner, createStorageServices } from '../../services';
import { GENERATOR } from '../../version';
import { CliContext, EXIT_FAILED, EXIT_OK, usageError } from '../CliContext';
import { formatBytes } from '../format';
import { describeErasure, describeErasures } from './erasures';
import { publicKeysFor } from './evidence';
import { checkAuthorOption, resolveAuthorOption } from './options';

export interface PurgeOptions {
  author?: string;
  yes?: boolean;
  requestedBy?: string;
  keepRegistration?: boolean;
  json?: boolean;
}

/**
 * `gallery-export purge --author <id> --yes`: erase every snapshot of an author and end its registration
 * (its Key Vault secrets), with an erasure record. Everything it needs is checked before the first delete;
 * an interrupted purge is finished by the same command. Without --yes it shows what it would erase and
 * erases nothing. `--keep-registration` keeps the secrets, and says that the next run will then export the
 * author again.
 */
export async function purgeCommand(cli: CliContext, options: PurgeOptions): Promise<number> {
  if (options.author === undefined) throw usageError('--author is required');
  checkAuthorOption(options.author);
  const requestedBy = (options.requestedBy ?? safeUserName()).trim();
  if (requestedBy === '' || requestedBy.length > 200)
    throw usageError('--requested-by must be 1 to 200 characters');
  const keepRegistration = options.keepRegistration === true;
  const config = cli.config({ needsVault: !keepRegistration });
  const authorId = await resolveAuthorOption(cli, config, options.author);
  const storage = createStorageServices(config);
  const services: PurgeServices = {
    ...storage,
    registry:
      config.keyVaultUrl === ''
        ? undefined
        : new KeyVaultAuthorRegistry({
            vaultUrl: config.keyVaultUrl,
            secretPrefix: config.authorSecretPrefix,
            managedIdentityClientId: config.storage.kind === 'identity' ? config.storage.clientId : undefined,
          }),
    signer: createSigner(config),
    logger: cli.logger(),
    now: () => new Date(),
    generator: GENERATOR,
    lockSeconds: config.runLockSeconds,
  };
  const request = { authorId, requestedBy, keepRegistration, signal: cli.io.signal };
  const earlier = async () =>
    storage.erasures.completed(authorId, {
      keys: await publicKeysFor(config, undefined),
      signal: cli.io.signal,
    });

  if (!options.yes) {
    const preview = await previewPurge(services, request);
    if (options.json) cli.out(JSON.stringify({ erased: false, preview }, null, 2));
    else printPreview(cli, preview, keepRegistration);
    return EXIT_FAILED;
  }
  const result = await purgeAuthor(services, request);
  const kept = `The author's Key Vault registration was kept (--keep-registration): the next run will export author ${authorId} again unless its secrets are removed.`;
  if (result.state === 'nothing') {
    const records = await earlier();
    if (options.json) {
      cli.out(
        JSON.stringify({ erased: false, erasureRecord: null, record: null, earlier: records }, null, 2),
      );
      return EXIT_OK;
    }
    cli.outLines(
      `Nothing to erase: author ${authorId} has no snapshot, ${keepRegistration ? 'and no erasure was left unfinished' : 'no registration and no unfinished erasure'}.`,
    );
    if (records.length > 0) {
      cli.out(`It was erased before:`);
      for (const line of describeErasures(records)) cli.outLines(`  ${line}`);
    }
    return EXIT_OK;
  }
  if (result.record.registration?.kept) cli.errLines(`warning: ${kept}`);
  if (options.json) {
    cli.out(
      JSON.stringify(
        { erased: true, resumed: result.resumed, erasureRecord: result.path, record: result.record },
        null,
        2,
      ),
    );
    return EXIT_OK;
  }
  const { deleted, registration } = result.record;
  if (result.resumed) {
    cli.outLines(
      `Finished erasure ${result.record.erasureId}, which an earlier purge began on ${result.record.requestedAt}: its record keeps that request's requester (${result.record.requestedBy})${result.record.registration?.kept ? '' : ' and ends the registration'}.`,
    );
  }
  cli.outLines(
    `Erased ${deleted.snapshots} snapshot(s) of author ${authorId} (${deleted.blobs} blobs, ${formatBytes(deleted.bytes)}).`,
  );
  if (registration && !registration.kept) {
    cli.outLines(
      registration.secretsRemoved.length > 0
        ? `Deleted its Key Vault secret(s) ${registration.secretsRemoved.join(', ')}: soft-deleted, recoverable in the vault for its retention period.`
        : 'No Key Vault secret named the author.',
    );
  }
  cli.outLines(`Erasure record: ${result.path}${result.signed ? ' (signed)' : ''}`);
  cli.outLines(`Show it to the data owner with: gallery-export erasures --author ${authorId}`);
  return EXIT_OK;
}

function printPreview(cli: CliContext, preview: PurgePreview, keepRegistration: boolean): void {
  const { authorId } = preview;
  if (preview.unfinished) {
    cli.outLines(
      `An erasure of author ${authorId} began on ${preview.unfinished.requestedAt} (erasure ${preview.unfinished.erasureId}, requested by ${preview.unfinished.requestedBy}) and did not finish: purge --yes finishes it.`,
    );
  }
  if (preview.nothingToErase) {
    cli.outLines(
      `Nothing to erase: author ${authorId} has no snapshot${keepRegistration ? '' : ' and no registration'}.`,
    );
  } else {
    cli.outLines(`purge --yes would erase, for author ${authorId}:`);
    cli.outLines(
      `  ${preview.runIds.length} snapshot(s): ${preview.files.length} files, ${formatBytes(preview.bytes)} (every version)`,
    );
    if (!keepRegistration) {
      cli.outLines(
        preview.secrets.length > 0
          ? `  its registration: the Key Vault secret(s) ${preview.secrets.join(', ')}`
          : '  no enabled Key Vault secret names the author',
      );
      if (preview.unreadDisabled.length > 0) {
        cli.outLines(
          `  and any of the disabled secret(s) ${preview.unreadDisabled.join(', ')} that names the author (a preview does not read a disabled secret: that means enabling it; purge --yes reads each and deletes it if it does)`,
        );
      }
    }
    cli.outLines('  and write a signed erasure record of it (when SIGNING_KEY_NAME is set).');
  }
  cli.errLines('Nothing was erased: add --yes to erase.');
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

export { describeErasure };
