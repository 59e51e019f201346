import { createHash } from 'node:crypto';
import {
  CryptographyClient,
  type CryptographyClientOptions,
  type KeyClient,
  type KeyVaultKey,
} from '@azure/keyvault-keys';
import type { TokenCredential } from '@azure/identity';
import { abortError, isAbortError } from '../contract/errors';
import type { SignatureDocument } from '../contract/formats';
import { keyVaultAccess, keyVaultError, type VaultKeyOptions } from './keyVaultKeys';

/** The latest key version is looked up again after this long, so a rotated key is used within the hour. */
const KEY_VERSION_TTL_MS = 3600_000;

/**
 * Signs documents with a Key Vault key that never leaves the vault (RS256 over the SHA-256 of the exact
 * bytes): the app sends the digest and gets the signature back. One warm CryptographyClient per key
 * version, so each signature costs one request to the vault.
 */
export class KeyVaultSigner {
  readonly location: string;
  private readonly client: KeyClient;
  private readonly credential: TokenCredential;
  private readonly clientOptions: CryptographyClientOptions;
  private current:
    { ready: Promise<{ key: KeyVaultKey; crypto: CryptographyClient }>; at: number } | undefined;
  /**
   * The first signature of a fresh client, until it has answered: its request meets the vault's
   * challenge once and the token is cached; signatures asked for meanwhile wait for it, rather than each
   * meeting the challenge too (one request per snapshot, not two).
   */
  private warming: Promise<void> | undefined;
  private readonly warm = new WeakSet<CryptographyClient>();

  constructor(private readonly options: VaultKeyOptions) {
    const access = keyVaultAccess(options);
    this.client = access.client;
    this.credential = access.credential;
    this.clientOptions = access.clientOptions;
    this.location = `${options.vaultUrl.replace(/\/+$/, '')}/keys/${options.keyName}`;
  }

  async sign(bytes: Buffer, signed: string, signal?: AbortSignal): Promise<SignatureDocument> {
    const digest = createHash('sha256').update(bytes).digest();
    const { key, crypto } = await this.latest(signal);
    if (this.warming) await whileNotAborted(this.warming, signal);
    const signing = crypto.sign('RS256', digest, { abortSignal: signal });
    if (!this.warm.has(crypto)) {
      this.warm.add(crypto);
      // Settles either way and never rejects: the failure is the first caller's to report, and a
      // rejected promise nobody awaits would end the process.
      const warming = signing.then(
        () => undefined,
        () => undefined,
      );
      this.warming = warming;
      void warming.then(() => {
        if (this.warming === warming) this.warming = undefined;
      });
    }
    let result;
    try {
      result = await signing;
    } catch (error) {
      this.warm.delete(crypto);
      throw keyVaultError(error, 'sign with key', this.location, signal);
    }
    return {
      schemaVersion: 1,
      alg: 'RS256',
      keyId: result.keyID ?? key.id!,
      signed,
      sha256: digest.toString('hex'),
      signature: Buffer.from(result.result).toString('base64'),
    };
  }

  /** One version of the key (for its public part). */
  async version(version: string, signal?: AbortSignal): Promise<KeyVaultKey> {
    try {
      return await this.client.getKey(this.options.keyName, { version, abortSignal: signal });
    } catch (error) {
      throw keyVaultError(error, `read version ${version} of key`, this.location, signal);
    }
  }

  /** The key's latest version (and a client for it), looked up once an hour, once for every caller. */
  async latest(signal?: AbortSignal): Promise<{ key: KeyVaultKey; crypto: CryptographyClient }> {
    for (;;) {
      try {
        return await whileNotAborted(this.lookUpLatest(signal), signal);
      } catch (error) {
        // The shared lookup rides on the signal of the caller that started it: when that caller gave up
        // (its author's deadline, while the vault throttled), the others look the key up again.
        if (isAbortError(error) && !signal?.aborted) continue;
        throw error;
      }
    }
  }

  private lookUpLatest(signal?: AbortSignal): Promise<{ key: KeyVaultKey; crypto: CryptographyClient }> {
    if (this.current && performance.now() - this.current.at < KEY_VERSION_TTL_MS) return this.current.ready;
    const ready = this.client.getKey(this.options.keyName, { abortSignal: signal }).then(
      // Made from the key itself, not its ID: it then never reads the key again before signing.
      (key) => ({ key, crypto: new CryptographyClient(key, this.credential, this.clientOptions) }),
      (error: unknown) => {
        this.current = undefined;
        throw keyVaultError(error, 'read key', this.location, signal);
      },
    );
    this.current = { ready, at: performance.now() };
    return ready;
  }
}

/**
 * Waits for what another caller started (a key lookup, the first signature), but no longer than this
 * caller's own signal allows: its deadline ends its wait at once, whatever the other caller waits for.
 */
function whileNotAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    // Handled even when this caller has already given up: a rejection nobody awaits ends the process.
    void promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
