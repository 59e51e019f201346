import { PemPublicKeys, VaultPublicKeys, type PublicKeys } from '../../signing/publicKeys';
import type { Config } from '../../config';
import { createStorageServices } from '../../services';
import { verifySnapshots, type SnapshotVerification } from '../../snapshots/verifySnapshots';
import { CliContext, EXIT_FAILED, EXIT_OK, usageError } from '../CliContext';
import { parseAuthorOption, parseRunOption } from './options';

export interface VerifyOptions {
  author?: string;
  run?: string;
  json?: boolean;
  /** PEM files (`public-key --out`): check signatures offline, with no vault access. */
  publicKey?: string[];
  requireSignatures?: boolean;
}

/**
 * `gallery-export verify`: re-hash every file against its manifest, check every signature (against the
 * vault's key, or `--public-key` offline) and every link of each author's chain; name each missing,
 * changed, unexpected or unsigned file with its path. Exit 0 when everything holds, 1 on any damage (or
 * when the snapshot asked for by --run does not exist).
 */
export async function verifyCommand(cli: CliContext, options: VerifyOptions): Promise<number> {
  const authorId = options.author === undefined ? undefined : parseAuthorOption(options.author);
  const runId = options.run === undefined ? undefined : parseRunOption(options.run);
  const config = cli.config({ needsVault: false });
  const keys = await publicKeys(config, options.publicKey);
  if (options.requireSignatures && !keys) {
    throw usageError(
      '--require-signatures needs the public key: SIGNING_KEY_NAME and KEY_VAULT_URL, or --public-key <file.pem>',
    );
  }
  const { container, runs } = createStorageServices(config);
  const report = await verifySnapshots(
    container,
    runs,
    {
      authorId,
      runId,
      signal: cli.io.signal,
      retentionDays: config.snapshotRetentionDays,
      keys,
      requireSignatures: options.requireSignatures,
    },
    (result) => {
      if (!options.json) printSnapshot(cli, result);
    },
  );
  const count = (status: SnapshotVerification['status']): number =>
    report.snapshots.filter((result) => result.status === status).length;
  const ok = count('ok');
  const damaged = count('damaged');
  const incomplete = count('incomplete');
  const archived = count('archived');
  if (options.json) {
    cli.out(
      JSON.stringify(
        {
          ok,
          damaged,
          incomplete,
          archived,
          signatures: keys ? `checked with ${keys.source}` : 'not checked (no public key)',
          snapshots: report.snapshots,
          problems: report.problems,
        },
        null,
        2,
      ),
    );
  } else {
    for (const problem of report.problems)
      cli.out(`DAMAGED   ${problem.path}: ${problem.kind}: ${problem.detail}`);
    cli.out(
      `${ok} snapshot(s) intact, ${damaged} damaged, ${incomplete} incomplete (never finished, ignored by readers)${archived ? `, ${archived} archived (rehydrate to verify)` : ''}${report.problems.length ? `; ${report.problems.length} other problem(s)` : ''}`,
    );
    cli.out(
      keys
        ? `Signatures checked with ${keys.source}.`
        : 'Signatures not checked: no public key (SIGNING_KEY_NAME, or --public-key).',
    );
  }
  if (runId && ok + damaged + archived === 0) {
    cli.err(`No complete snapshot in run ${runId}${authorId ? ` for author ${authorId}` : ''}.`);
    return EXIT_FAILED;
  }
  return damaged > 0 || report.problems.length > 0 ? EXIT_FAILED : EXIT_OK;
}

async function publicKeys(config: Config, files: string[] | undefined): Promise<PublicKeys | undefined> {
  if (files && files.length > 0) return PemPublicKeys.load(files);
  if (!config.signingKeyName || !config.keyVaultUrl) return undefined;
  return new VaultPublicKeys({
    vaultUrl: config.keyVaultUrl,
    keyName: config.signingKeyName,
    managedIdentityClientId: config.storage.kind === 'identity' ? config.storage.clientId : undefined,
  });
}

function printSnapshot(cli: CliContext, result: SnapshotVerification): void {
  switch (result.status) {
    case 'ok':
      cli.out(
        `OK        ${result.prefix} (${result.files} files, ${result.bytes} bytes${result.signedBy ? ', signed' : ''})`,
      );
      break;
    case 'incomplete':
      cli.out(`INCOMPLETE ${result.prefix} (no manifest; the export did not finish)`);
      break;
    case 'archived':
      cli.out(`ARCHIVED  ${result.prefix} (its manifest is in the Archive tier: rehydrate it to verify it)`);
      break;
    case 'damaged':
      cli.out(`DAMAGED   ${result.prefix}`);
      for (const problem of result.problems)
        cli.out(`  ${problem.kind.padEnd(16)} ${problem.path}: ${problem.detail}`);
      break;
  }
  for (const note of result.notes) cli.out(`  note: ${note}`);
}
