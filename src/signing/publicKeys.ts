import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { KeyClient, KeyVaultKey } from '@azure/keyvault-keys';
import { GalleryExportError } from '../contract/errors';
import {
  describeVault,
  parseKeyId,
  parseVaultUrl,
  sameKeyName,
  sameKeyVersion,
  sameVault,
  type KeyVersionName,
  type VaultName,
} from './keyIdentity';
import { keyVaultAccess, keyVaultError, publicKeyOf, type VaultKeyOptions } from './keyVaultKeys';

/** A public key that may have made a signature, and the key version it is. */
export interface CandidateKey {
  key: KeyObject;
  keyId: string;
}

/** Where a signature's key comes from, for `verify` (the snapshots' PublicKeyResolver). */
export interface PublicKeys {
  readonly source: string;
  /** The keys that may have made a signature naming keyId (one must verify it), or why none may. */
  keyFor(keyId: string, signal?: AbortSignal): Promise<{ keys: CandidateKey[] } | { problem: string }>;
}

/**
 * The archive's own signing key, read from the vault: a signature belongs to the archive when the key
 * version it names is a version of SIGNING_KEY_NAME in KEY_VAULT_URL's vault and that version's public
 * key verifies it. Vault, key and version are compared for what they mean, not as URL strings (see
 * keyIdentity.ts); the vault is asked for the version itself, so a version it lacks is refused, and it
 * is the only vault ever asked (never one a signature names). Older versions stay readable after a
 * rotation, so older snapshots stay verifiable. Each version is fetched once.
 */
export class VaultPublicKeys implements PublicKeys {
  readonly source: string;
  private readonly client: KeyClient;
  private readonly configured: VaultName;
  private readonly versions = new Map<string, Promise<KeyVaultKey | undefined>>();

  constructor(private readonly options: VaultKeyOptions) {
    this.client = keyVaultAccess(options).client;
    const vault = parseVaultUrl(options.vaultUrl);
    if (!vault) throw new GalleryExportError('CONFIG', 'KEY_VAULT_URL is not a valid URL');
    this.configured = vault;
    this.source = `the archive's key ${options.keyName} in ${describeVault(vault)}`;
  }

  async keyFor(keyId: string, signal?: AbortSignal): Promise<{ keys: CandidateKey[] } | { problem: string }> {
    const named = parseKeyId(keyId);
    if (!named) return { problem: `the signature names "${keyId}", which is not a Key Vault key version` };
    if (!sameKeyName(named.name, this.options.keyName)) {
      return {
        problem: `signed by the key "${named.name}", not by ${this.source} (SIGNING_KEY_NAME)`,
      };
    }
    const key = await this.version(named.version, signal);
    if (!key) {
      return {
        problem: `signed by version ${named.version}, which ${describeVault(this.configured)} does not have: it is not a version of ${this.source}`,
      };
    }
    // The vault names itself in the keyIds it returns; KEY_VAULT_URL may spell it otherwise (a private
    // endpoint's or a custom name): either way the signature must name this vault.
    const answered = parseKeyId(key.id ?? '');
    if (!sameVault(named.vault, this.configured) && !(answered && sameVault(named.vault, answered.vault))) {
      return {
        problem: `signed by a key in ${describeVault(named.vault)}, not by ${this.source}`,
      };
    }
    if (answered && !sameKeyName(answered.version, named.version)) {
      return { problem: `the vault answered version ${answered.version} for ${named.version}` };
    }
    return { keys: [{ key: publicKeyOf(key), keyId: key.id ?? keyId }] };
  }

  /** One version of the key, or undefined when the vault has no such version. */
  private version(version: string, signal?: AbortSignal): Promise<KeyVaultKey | undefined> {
    const id = version.toLowerCase();
    let pending = this.versions.get(id);
    if (!pending) {
      pending = this.client
        .getKey(this.options.keyName, { version, abortSignal: signal })
        .catch((error: unknown) => {
          if ((error as { statusCode?: number }).statusCode === 404) return undefined;
          this.versions.delete(id);
          throw keyVaultError(error, `read version ${version} of`, this.source, signal);
        });
      this.versions.set(id, pending);
    }
    return pending;
  }
}

/**
 * The public keys `public-key` writes: one version, or every enabled version of the key, newest first (a
 * rotation keeps the older versions, which still check the snapshots they signed).
 */
export async function readPublicKeyVersions(
  options: VaultKeyOptions,
  version: string | undefined,
  signal?: AbortSignal,
): Promise<KeyVaultKey[]> {
  const { client } = keyVaultAccess(options);
  const where = `key ${options.keyName} in ${options.vaultUrl.replace(/\/+$/, '')}`;
  const read = async (which: string | undefined): Promise<KeyVaultKey> => {
    try {
      return await client.getKey(options.keyName, { version: which, abortSignal: signal });
    } catch (error) {
      throw keyVaultError(error, which ? `read version ${which} of` : 'read', where, signal);
    }
  };
  if (version) return [await read(version)];
  const versions: Array<{ version: string; createdOn: number }> = [];
  try {
    for await (const properties of client.listPropertiesOfKeyVersions(options.keyName, {
      abortSignal: signal,
    })) {
      if (properties.enabled === false || !properties.version) continue;
      versions.push({ version: properties.version, createdOn: properties.createdOn?.getTime() ?? 0 });
    }
  } catch (error) {
    throw keyVaultError(error, 'list the versions of', where, signal);
  }
  if (versions.length === 0) return [await read(undefined)];
  versions.sort((a, b) => b.createdOn - a.createdOn);
  const keys: KeyVaultKey[] = [];
  for (const entry of versions) keys.push(await read(entry.version));
  return keys;
}

/** One key of a PEM file, with the key version its `keyId:` line names (none for a bare PEM). */
interface PemKey {
  key: KeyObject;
  keyId: string | undefined;
  named: KeyVersionName | undefined;
  /** The file it came from, for a bare key (what the proof then names instead of a key version). */
  file?: string;
}

/** A PEM block, optionally preceded by the `keyId:` line `public-key` writes before it. */
const PEM_BLOCK =
  /(?:^keyId:[ \t]*(\S+)[ \t]*\r?\n)?(-----BEGIN (?:RSA )?PUBLIC KEY-----[\s\S]*?-----END (?:RSA )?PUBLIC KEY-----)/gm;

/**
 * Public keys from PEM files, for verifying with no vault access at all. A file may hold several keys
 * (`public-key --out` writes every enabled version of the signing key, each after a `keyId:` line); a
 * signature is checked with the labelled key of the version it names, or else with every bare PEM (one
 * of them must verify it).
 */
export class PemPublicKeys implements PublicKeys {
  private constructor(
    readonly source: string,
    private readonly keys: readonly PemKey[],
  ) {}

  static async load(files: readonly string[]): Promise<PemPublicKeys> {
    const keys: PemKey[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        throw new GalleryExportError('USAGE', `--public-key ${file} cannot be read`);
      }
      const found = parsePemKeys(text);
      if (found === undefined || found.length === 0) {
        throw new GalleryExportError(
          'USAGE',
          `--public-key ${file} holds no PEM public key (write one with: gallery-export public-key --out ${file})`,
        );
      }
      keys.push(...found.map((entry) => ({ ...entry, file })));
    }
    return new PemPublicKeys(files.join(', '), keys);
  }

  /**
   * The labelled key of the version a signature names; unlabelled keys only when the files hold no
   * labelled key at all (a labelled file says which versions it vouches for, and a bare key beside it,
   * given by mistake or by an attacker, must not vouch for a version that file does not hold).
   */
  keyFor(keyId: string): Promise<{ keys: CandidateKey[] } | { problem: string }> {
    const named = parseKeyId(keyId);
    const anyLabelled = this.keys.some((entry) => entry.named);
    const candidates = anyLabelled
      ? this.keys.filter((entry) => entry.named && named && sameKeyVersion(entry.named, named))
      : this.keys;
    if (candidates.length === 0) {
      return Promise.resolve({
        problem: `signed by ${keyId}, which none of the keys in ${this.source} is (public-key --out writes every version of the archive's key)`,
      });
    }
    return Promise.resolve({
      keys: candidates.map((entry) => ({
        key: entry.key,
        keyId: entry.keyId ?? `an unlabelled key in ${entry.file ?? this.source}`,
      })),
    });
  }
}

/** Every key of a PEM file; undefined when a block is not a public key. */
export function parsePemKeys(text: string): PemKey[] | undefined {
  const keys: PemKey[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const [, keyId, pem] = match;
    let key: KeyObject;
    try {
      key = createPublicKey(pem!);
    } catch {
      return undefined;
    }
    keys.push({ key, keyId, named: keyId ? parseKeyId(keyId) : undefined });
  }
  return keys;
}

/** The PEM text `public-key` writes: the key version first (openssl skips text before the PEM), then the key. */
export function describePublicKey(keyId: string, key: KeyObject): string {
  return `keyId: ${keyId}\n${key.export({ type: 'spki', format: 'pem' }).toString()}`;
}

export type { VaultKeyOptions };
