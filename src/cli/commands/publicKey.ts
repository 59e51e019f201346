import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describePublicKey } from '../../signing/publicKeys';
import { publicKeyOf } from '../../signing/keyVaultKeys';
import { KeyVaultSigner } from '../../signing/KeyVaultSigner';
import { CliContext, EXIT_OK, usageError } from '../CliContext';

export interface PublicKeyOptions {
  out?: string;
  /** A key version (the last part of a keyId) instead of the latest: for snapshots signed before a rotation. */
  keyVersion?: string;
}

/**
 * `gallery-export public-key [--out key.pem]`: the signing key's public part (PEM) and its keyId, for
 * auditors: with it, `openssl dgst -sha256 -verify key.pem …` and `verify --public-key key.pem` check
 * signatures with no access to the vault. The file starts with a `keyId:` line, which openssl skips.
 */
export async function publicKeyCommand(cli: CliContext, options: PublicKeyOptions): Promise<number> {
  const config = cli.config({ needsStorage: false });
  if (!config.signingKeyName)
    throw usageError('SIGNING_KEY_NAME is not set: there is no signing key to show');
  const signer = new KeyVaultSigner({
    vaultUrl: config.keyVaultUrl,
    keyName: config.signingKeyName,
    managedIdentityClientId: config.storage.kind === 'identity' ? config.storage.clientId : undefined,
  });
  if (options.keyVersion !== undefined && !/^[A-Za-z0-9]{1,64}$/.test(options.keyVersion)) {
    throw usageError('--key-version must be a key version: the last part of a keyId');
  }
  const key = options.keyVersion
    ? await signer.version(options.keyVersion, cli.io.signal)
    : (await signer.latest(cli.io.signal)).key;
  const text = describePublicKey(key.id!, publicKeyOf(key));
  if (options.out) {
    const path = resolve(options.out);
    await writeFile(path, text, { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
      throw usageError(error.code === 'EEXIST' ? `${path} exists already` : `${path} cannot be written`);
    });
    cli.err(`Wrote the public key of ${key.id} to ${path}.`);
  } else {
    cli.out(text.trimEnd());
  }
  return EXIT_OK;
}
