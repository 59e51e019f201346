import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describePublicKey, readPublicKeyVersions } from '../../signing/publicKeys';
import { publicKeyOf } from '../../signing/keyVaultKeys';
import { CliContext, EXIT_OK, usageError } from '../CliContext';

export interface PublicKeyOptions {
  out?: string;
  /** One key version (the last part of a keyId) instead of every enabled one. */
  keyVersion?: string;
}

/**
 * `gallery-export public-key [--out key.pem]`: the public part (PEM) of every enabled version of the
 * signing key, newest first, each after a `keyId:` line naming it, for auditors: with that file,
 * `verify --public-key key.pem` checks every signature offline, before and after a rotation, and
 * `openssl dgst -sha256 -verify key.pem …` checks one with the newest version (openssl reads the first
 * key of a file and skips the text lines); `--key-version` writes one version alone.
 */
export async function publicKeyCommand(cli: CliContext, options: PublicKeyOptions): Promise<number> {
  const config = cli.config({ needsStorage: false });
  if (!config.signingKeyName)
    throw usageError('SIGNING_KEY_NAME is not set: there is no signing key to show');
  if (options.keyVersion !== undefined && !/^[A-Za-z0-9]{1,64}$/.test(options.keyVersion)) {
    throw usageError('--key-version must be a key version: the last part of a keyId');
  }
  const keys = await readPublicKeyVersions(
    {
      vaultUrl: config.keyVaultUrl,
      keyName: config.signingKeyName,
      managedIdentityClientId: config.storage.kind === 'identity' ? config.storage.clientId : undefined,
    },
    options.keyVersion,
    cli.io.signal,
  );
  const text = keys.map((key) => describePublicKey(key.id!, publicKeyOf(key))).join('');
  if (options.out) {
    const path = resolve(options.out);
    await writeFile(path, text, { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      throw usageError(error.code === 'EEXIST' ? `${path} exists already` : `${path} cannot be written`);
    });
    cli.err(
      keys.length === 1
        ? `Wrote the public key of ${keys[0]!.id} to ${path}.`
        : `Wrote the public keys of ${keys.length} versions of ${config.signingKeyName} to ${path}, newest first:`,
    );
    if (keys.length > 1) for (const key of keys) cli.err(`  ${key.id}`);
  } else {
    cli.out(text.trimEnd());
  }
  return EXIT_OK;
}
