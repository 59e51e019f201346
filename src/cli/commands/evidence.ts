import type { Config } from '../../config';
import { PemPublicKeys, VaultPublicKeys, type PublicKeys } from '../../signing/publicKeys';
import type { ProofOptions } from '../../snapshots/proveSnapshot';
import { usageError } from '../CliContext';

/** The options of every command that judges evidence: verify, get, report. */
export interface EvidenceOptions {
  /** PEM files (`public-key --out`): check signatures offline, with no vault access. */
  publicKey?: string[];
  requireSignatures?: boolean;
}

/**
 * The public keys signatures are checked with: the PEM files given, else the archive's key in the vault
 * (SIGNING_KEY_NAME in KEY_VAULT_URL), else none (signatures are then listed, not checked).
 */
export async function publicKeysFor(
  config: Config,
  files: readonly string[] | undefined,
): Promise<PublicKeys | undefined> {
  if (files && files.length > 0) return PemPublicKeys.load(files);
  if (!config.signingKeyName || !config.keyVaultUrl) return undefined;
  return new VaultPublicKeys({
    vaultUrl: config.keyVaultUrl,
    keyName: config.signingKeyName,
    managedIdentityClientId: config.storage.kind === 'identity' ? config.storage.clientId : undefined,
  });
}

/** What proving one snapshot needs, from the settings and the command's options. */
export async function proofOptionsFor(
  config: Config,
  options: EvidenceOptions,
): Promise<Omit<ProofOptions, 'signal' | 'hashFiles'>> {
  const keys = await publicKeysFor(config, options.publicKey);
  if (options.requireSignatures && !keys) {
    throw usageError(
      '--require-signatures needs the public key: SIGNING_KEY_NAME and KEY_VAULT_URL, or --public-key <file.pem>',
    );
  }
  return {
    keys,
    requireSignatures: options.requireSignatures,
    retentionDays: config.snapshotRetentionDays,
  };
}
