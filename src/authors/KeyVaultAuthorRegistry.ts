import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { SecretClient, type KeyVaultSecret, type SecretProperties } from '@azure/keyvault-secrets';
import { normalizeAuthorId } from '../contract/authorId';
import { GalleryExportError, isAbortError, throwIfAborted } from '../contract/errors';
import { isLoopbackHost } from '../contract/loopback';
import { AUTHOR_LABEL, formatAuthorSecret, parseAuthorSecret } from '../contract/authorSecret';
import type { AuthorCredentials, AuthorSecretRef } from '../contract/authorSecret';
import { findAuthorSecrets, type AuthorSecretsFound } from './authorSecretSearch';
import { VAULT_THROTTLED, vaultClientOptions, type VaultRetryTuning } from '../vault/vaultClientOptions';

export interface KeyVaultAuthorRegistryOptions {
  vaultUrl: string;
  secretPrefix: string;
  /** Defaults to DefaultAzureCredential (managed identity in Azure), or a local stand-in for a loopback vault. */
  credential?: TokenCredential;
  /** Client ID of a user-assigned managed identity. */
  managedIdentityClientId?: string | undefined;
  /** A rate budget or retry timings other than the process's for this vault (tests). */
  vaultRetry?: VaultRetryTuning | undefined;
}

/**
 * The local emulator takes any bearer token: there is no Entra ID on loopback, and the real one must never
 * be asked for a token that would then be sent over plain http.
 */
const loopbackCredential: TokenCredential = {
  getToken: () => Promise.resolve({ token: 'local-emulator', expiresOnTimestamp: Date.now() + 3600_000 }),
};

export function createSecretClient(
  vaultUrl: string,
  credential?: TokenCredential,
  managedIdentityClientId?: string,
  vaultRetry?: VaultRetryTuning,
): SecretClient {
  let url: URL;
  try {
    url = new URL(vaultUrl);
  } catch {
    throw new GalleryExportError('CONFIG', `KEY_VAULT_URL is not a valid URL`);
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new GalleryExportError(
      'CONFIG',
      `KEY_VAULT_URL must use https (http:// is accepted only for 127.0.0.1 or localhost, got ${url.host})`,
    );
  }
  return new SecretClient(
    vaultUrl,
    credential ?? (loopback ? loopbackCredential : new DefaultAzureCredential({ managedIdentityClientId })),
    // Throttling and transient failures are retried by the app's policy, within the caller's deadline.
    vaultClientOptions({ vaultUrl, loopback, ...vaultRetry }),
  );
}

export class KeyVaultAuthorRegistry {
  readonly location: string;
  readonly client: SecretClient;
  private readonly prefix: string;

  constructor(options: KeyVaultAuthorRegistryOptions) {
    this.location = options.vaultUrl;
    this.prefix = options.secretPrefix;
    this.client = createSecretClient(
      options.vaultUrl,
      options.credential,
      options.managedIdentityClientId,
      options.vaultRetry,
    );
  }

  async listAuthorSecrets(signal?: AbortSignal): Promise<AuthorSecretRef[]> {
    const refs: AuthorSecretRef[] = [];
    try {
      for await (const properties of this.client.listPropertiesOfSecrets({ abortSignal: signal })) {
        if (!properties.name.startsWith(this.prefix) || properties.managed) continue;
        refs.push(this.toRef(properties));
      }
    } catch (error) {
      throw this.vaultError(error, 'list the author secrets', signal);
    }
    return refs.sort((a, b) => (a.secretName < b.secretName ? -1 : a.secretName > b.secretName ? 1 : 0));
  }

  async readAuthor(secretName: string, signal?: AbortSignal): Promise<AuthorCredentials> {
    // Checked before anything is read: a forged work item must not make the app read other secrets.
    const label = secretName.slice(this.prefix.length);
    if (!secretName.startsWith(this.prefix) || !AUTHOR_LABEL.test(label)) {
      throw new GalleryExportError(
        'AUTHOR_CONFIG',
        `Secret "${secretName.slice(0, 127)}" is not named ${this.prefix}<label> with a label of letters, digits and dashes`,
      );
    }
    let secret: KeyVaultSecret;
    try {
      secret = await this.client.getSecret(secretName, { abortSignal: signal });
    } catch (error) {
      const status = (error as { statusCode?: number }).statusCode;
      if (status === 404) {
        throw new GalleryExportError(
          'AUTHOR_CONFIG',
          `Secret "${secretName}" no longer exists in ${this.location}`,
        );
      }
      if (status === 403 && /disabled/i.test((error as Error).message)) {
        throw new GalleryExportError('AUTHOR_CONFIG', `Secret "${secretName}" is disabled`, {
          details: { secretName, disabled: true },
        });
      }
      throw this.vaultError(error, `read secret "${secretName}"`, signal);
    }
    const author = parseAuthorSecret(secretName, secret.value);
    // Runs select authors by the authorId tag: a tag naming someone else would export the wrong author.
    const tagged = secret.properties.tags?.authorId;
    if (tagged !== undefined && normalizeAuthorId(tagged) !== author.authorId) {
      throw new GalleryExportError(
        'AUTHOR_CONFIG',
        `Secret "${secretName}" has an authorId tag that does not match the authorId in its value`,
        { details: { secretName } },
      );
    }
    return { ...author, secretExpiresOn: secret.properties.expiresOn };
  }

  /** See authorSecretSearch.ts: tag or value, enabled or (with `readDisabled`) disabled, under the prefix. */
  findAuthorSecrets(
    authorId: string,
    options: { signal?: AbortSignal | undefined; readDisabled?: boolean } = {},
  ): Promise<AuthorSecretsFound> {
    return findAuthorSecrets(this.client, {
      authorId,
      prefix: this.prefix,
      readDisabled: options.readDisabled === true,
      signal: options.signal,
      vaultError: (error, action, signal) => this.vaultError(error, action, signal),
      readValue: async (name, version, signal) => {
        try {
          return (await this.client.getSecret(name, { version, abortSignal: signal })).value;
        } catch (error) {
          const status = (error as { statusCode?: number }).statusCode;
          if (status === 404) return undefined;
          const failure = this.vaultError(error, `read secret "${name}"`, signal);
          if (status === 403)
            throw new GalleryExportError(
              failure.code,
              `${failure.message}. It may name the author: give the purge's identity read access to it, or tag it authorId=<the author it names> so that it need not be read`,
              { cause: failure },
            );
          throw failure;
        }
      },
    });
  }

  /** Which of these secrets the vault holds as deleted (soft-deleted, recoverable). */
  async deletedSecrets(secretNames: readonly string[], signal?: AbortSignal): Promise<string[]> {
    const deleted: string[] = [];
    for (const name of secretNames) {
      try {
        await this.client.getDeletedSecret(name, { abortSignal: signal });
        deleted.push(name);
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) continue;
        throw this.vaultError(error, `read deleted secret "${name}"`, signal);
      }
    }
    return deleted;
  }

  async deleteSecrets(
    secretNames: readonly string[],
    options: {
      signal?: AbortSignal | undefined;
      fence?: (signal?: AbortSignal) => Promise<AbortSignal | undefined>;
    } = {},
  ): Promise<string[]> {
    const deleted: string[] = [];
    for (const secretName of secretNames) {
      const abortSignal = options.fence ? await options.fence(options.signal) : options.signal;
      try {
        // Soft delete: the vault keeps the secret recoverable for its retention period. The first call
        // sends the DELETE; the secret is gone from listings and reads from then on.
        await this.client.beginDeleteSecret(secretName, { abortSignal });
        deleted.push(secretName);
      } catch (error) {
        if ((error as { statusCode?: number }).statusCode === 404) continue;
        throw this.vaultError(error, `delete secret "${secretName}"`, abortSignal);
      }
    }
    return deleted;
  }

  /** Writes (a new version of) an author's secret, as the contract describes it. */
  async writeAuthor(
    label: string,
    authorId: string,
    accessToken: string | null,
    expiresOn: Date | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const secretName = `${this.prefix}${label}`;
    try {
      await this.client.setSecret(secretName, formatAuthorSecret(authorId, accessToken), {
        contentType: 'application/json',
        tags: { authorId },
        expiresOn,
        enabled: true,
        abortSignal: signal,
      });
    } catch (error) {
      throw this.vaultError(error, `write secret "${secretName}"`, signal);
    }
    return secretName;
  }

  private toRef(properties: SecretProperties): AuthorSecretRef {
    return {
      secretName: properties.name,
      label: properties.name.slice(this.prefix.length),
      enabled: properties.enabled !== false,
      notBefore: properties.notBefore,
      expiresOn: properties.expiresOn,
      taggedAuthorId: normalizeAuthorId(properties.tags?.authorId),
    };
  }

  private vaultError(error: unknown, action: string, signal: AbortSignal | undefined): GalleryExportError {
    if (isAbortError(error)) throwIfAborted(signal);
    if (error instanceof GalleryExportError) return error;
    const status = (error as { statusCode?: number }).statusCode;
    const code = (error as { code?: string }).code;
    const why =
      status === 401 || status === 403
        ? `access was denied (HTTP ${status}); the identity needs the Key Vault Secrets User role (Key Vault Secrets Officer to register or purge authors)`
        : status === 429
          ? VAULT_THROTTLED
          : status !== undefined
            ? `the vault answered HTTP ${status}`
            : `the vault could not be reached (${code ?? (error as Error).message})`;
    return new GalleryExportError(
      'VAULT_UNAVAILABLE',
      `Could not ${action} in Key Vault ${this.location}: ${why}`,
      {
        cause: error,
        statusCode: status,
        details: { vaultUrl: this.location },
      },
    );
  }
}
