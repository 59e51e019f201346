import { createPublicKey, type KeyObject } from 'node:crypto';
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { KeyClient, type CryptographyClientOptions, type KeyVaultKey } from '@azure/keyvault-keys';
import { GalleryExportError, isAbortError, throwIfAborted } from '../contract/errors';
import { isLoopbackHost } from '../contract/loopback';
import { VAULT_THROTTLED, vaultClientOptions, type VaultRetryTuning } from '../vault/vaultClientOptions';

export interface VaultKeyOptions {
  vaultUrl: string;
  keyName: string;
  /** Defaults to DefaultAzureCredential (managed identity in Azure), or a local stand-in for a loopback vault. */
  credential?: TokenCredential | undefined;
  managedIdentityClientId?: string | undefined;
  /** A rate budget or retry timings other than the process's for this vault (tests). */
  vaultRetry?: VaultRetryTuning | undefined;
}

/** The local emulator takes any bearer token; the real Entra ID must never be asked for one to send over http. */
const loopbackCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'local-emulator', expiresOnTimestamp: Date.now() + 3600_000 }),
};

/** What a client of the vault's keys needs: the credential and the relaxed checks for a loopback vault only. */
export function keyVaultAccess(options: VaultKeyOptions): {
  credential: TokenCredential;
  client: KeyClient;
  /** The same relaxed checks, for a CryptographyClient. */
  clientOptions: CryptographyClientOptions;
} {
  let url: URL;
  try {
    url = new URL(options.vaultUrl);
  } catch {
    throw new GalleryExportError('CONFIG', 'KEY_VAULT_URL is not a valid URL');
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new GalleryExportError('CONFIG', `KEY_VAULT_URL must use https (got ${url.host})`);
  }
  const credential =
    options.credential ??
    (loopback
      ? loopbackCredential
      : new DefaultAzureCredential({ managedIdentityClientId: options.managedIdentityClientId }));
  // Throttling and transient failures are retried by the app's policy, within the caller's deadline, on
  // the vault's budget shared with the secrets client.
  const clientOptions: CryptographyClientOptions = vaultClientOptions({
    vaultUrl: options.vaultUrl,
    loopback,
    ...options.vaultRetry,
  });
  const client = new KeyClient(options.vaultUrl, credential, clientOptions);
  return { credential, client, clientOptions };
}

/** The RSA public key of a Key Vault key version. */
export function publicKeyOf(key: KeyVaultKey): KeyObject {
  const { n, e } = key.key ?? {};
  if (!n || !e)
    throw new GalleryExportError('SIGNING_FAILED', `Key ${key.id ?? key.name} has no RSA public key`);
  return createPublicKey({
    key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(e).toString('base64url') },
    format: 'jwk',
  });
}

/** `https://<vault>/keys/<name>/` for a vault URL and key name, as keyIds start (without the version). */
export function keyIdPrefix(vaultUrl: string, keyName: string): string {
  return `${vaultUrl.replace(/\/+$/, '')}/keys/${keyName}/`.toLowerCase();
}

/** A Key Vault failure in words that name the vault and the key, never a credential. */
export function keyVaultError(
  error: unknown,
  action: string,
  where: string,
  signal: AbortSignal | undefined,
): GalleryExportError {
  if (isAbortError(error)) throwIfAborted(signal);
  if (error instanceof GalleryExportError) return error;
  const status = (error as { statusCode?: number }).statusCode;
  const code = (error as { code?: string }).code;
  const why =
    status === 401 || status === 403
      ? `access was denied (HTTP ${status}); signing needs the Key Vault Crypto User role on the key, reading it Key Vault Reader`
      : status === 404
        ? 'there is no such key (SIGNING_KEY_NAME)'
        : status === 429
          ? VAULT_THROTTLED
          : status !== undefined
            ? `the vault answered HTTP ${status}`
            : `the vault could not be reached (${code ?? (error as Error).message})`;
  return new GalleryExportError(
    status === undefined || status >= 500 || status === 429 ? 'VAULT_UNAVAILABLE' : 'SIGNING_FAILED',
    `Could not ${action} ${where}: ${why}`,
    { cause: error, statusCode: status },
  );
}
