import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { KeyClient } from '@azure/keyvault-keys';
import { GalleryExportError } from '../contract/errors';
import {
  keyIdPrefix,
  keyVaultAccess,
  keyVaultError,
  publicKeyOf,
  type VaultKeyOptions,
} from './keyVaultKeys';

/** Where a signature's key comes from, for `verify` (the snapshots' PublicKeyResolver). */
export interface PublicKeys {
  readonly source: string;
  keyFor(keyId: string, signal?: AbortSignal): Promise<{ key: KeyObject } | { problem: string }>;
}

/**
 * The archive's own signing key, read from the vault: a signature must name a version of SIGNING_KEY_NAME
 * in KEY_VAULT_URL (a signature by any other key is damage, however valid), and each version is fetched
 * once. Older versions stay readable after a rotation, so older snapshots stay verifiable.
 */
export class VaultPublicKeys implements PublicKeys {
  readonly source: string;
  private readonly client: KeyClient;
  private readonly prefix: string;
  private readonly versions = new Map<string, Promise<KeyObject>>();

  constructor(private readonly options: VaultKeyOptions) {
    this.client = keyVaultAccess(options).client;
    this.prefix = keyIdPrefix(options.vaultUrl, options.keyName);
    this.source = `the archive's key ${options.vaultUrl.replace(/\/+$/, '')}/keys/${options.keyName}`;
  }

  async keyFor(keyId: string, signal?: AbortSignal): Promise<{ key: KeyObject } | { problem: string }> {
    if (!keyId.toLowerCase().startsWith(this.prefix)) {
      return { problem: `signed by another key (${keyId}), not by ${this.source}` };
    }
    const version = keyId.slice(this.prefix.length);
    let key = this.versions.get(version);
    if (!key) {
      key = this.client
        .getKey(this.options.keyName, { version, abortSignal: signal })
        .then(publicKeyOf, (error: unknown) => {
          throw keyVaultError(error, `read version ${version} of`, this.source, signal);
        });
      this.versions.set(version, key);
    }
    try {
      return { key: await key };
    } catch (error) {
      if (error instanceof GalleryExportError && error.code === 'SIGNING_FAILED') {
        return { problem: `${keyId} is not a version of ${this.source} (${error.message})` };
      }
      throw error;
    }
  }
}

/**
 * Public keys from PEM files, for verifying with no vault access at all. A file written by
 * `gallery-export public-key --out` says which key version it is (a `keyId:` line before the PEM); a
 * bare PEM is tried for any signature.
 */
export class PemPublicKeys implements PublicKeys {
  private constructor(
    readonly source: string,
    private readonly keys: ReadonlyArray<{ keyId: string | undefined; key: KeyObject }>,
  ) {}

  static async load(files: readonly string[]): Promise<PemPublicKeys> {
    const keys = await Promise.all(
      files.map(async (file) => {
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch {
          throw new GalleryExportError('USAGE', `--public-key ${file} cannot be read`);
        }
        try {
          return { keyId: /^keyId:\s*(\S+)/m.exec(text)?.[1], key: createPublicKey(text) };
        } catch {
          throw new GalleryExportError('USAGE', `--public-key ${file} is not a PEM public key`);
        }
      }),
    );
    return new PemPublicKeys(files.join(', '), keys);
  }

  keyFor(keyId: string): Promise<{ key: KeyObject } | { problem: string }> {
    const named = this.keys.find((entry) => entry.keyId?.toLowerCase() === keyId.toLowerCase());
    const candidates = named ? [named] : this.keys.filter((entry) => entry.keyId === undefined);
    const [first] = candidates;
    if (!first) return Promise.resolve({ problem: `signed by ${keyId}, which none of ${this.source} is` });
    return Promise.resolve({ key: first.key });
  }
}

/** The PEM text `public-key` writes: the key version first (openssl skips text before the PEM), then the key. */
export function describePublicKey(keyId: string, key: KeyObject): string {
  return `keyId: ${keyId}\n${key.export({ type: 'spki', format: 'pem' }).toString()}`;
}

export type { VaultKeyOptions };
