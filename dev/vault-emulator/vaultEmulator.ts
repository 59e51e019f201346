import { createPrivateKey, createPublicKey, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import {
  handleVaultRequest,
  hasBearerToken,
  type VaultHandlerSettings,
  type VaultResponse,
} from './handleVaultRequest';
import { KeyStore, type KeyOperation, type KeyVersionRecord, type RsaKeyType } from './keyStore';
import { keyId } from './keyWire';
import type { RsaKeySize } from './rsaKeyPool';
import type { RsaSignatureAlgorithm } from './rsaSignature';
import {
  cloneRecord,
  SecretStore,
  type SecretVersionRecord,
  type SecretWriteProperties,
} from './secretStore';
import { VaultThrottle, type VaultThrottleOptions } from './throttle';
import type { VaultErrorBody } from './vaultError';

/** The service's page size for list operations. */
export const DEFAULT_VAULT_PAGE_SIZE = 25;
/**
 * The tenant named in the challenge when none is given: an obviously fake but well-formed id,
 * because the SDK passes it on to the credential and `@azure/identity` validates tenant ids.
 */
export const DEFAULT_VAULT_TENANT_ID = '00000000-0000-0000-0000-000000000000';
const HOST = '127.0.0.1';
/** Far above what any valid request needs (a secret value is at most 25 KiB). */
const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/** Options for {@link startVaultEmulator}. */
export interface VaultEmulatorOptions {
  /**
   * Port to listen on; the host is always 127.0.0.1.
   * @default 0 (any free port)
   */
  port?: number;
  /**
   * Items per page for `GET /secrets`, `GET /keys` and their `/{name}/versions`. A client's smaller
   * `maxresults` wins; a larger one is capped.
   * @default 25, as the service
   */
  pageSize?: number;
  /**
   * Answer requests without `Authorization: Bearer ...` with Key Vault's `401` challenge.
   * Keep this on for `SecretClient`, `KeyClient` and `CryptographyClient`: the SDK sends its
   * first request without a token and without its body, and only replays the body after a `401`.
   * With the challenge off, the first request of a fresh client that is a `PUT` (or a key create
   * or sign) arrives empty and fails with `400`.
   * @default true
   */
  requireChallenge?: boolean;
  /**
   * Tenant in the challenge's `authorization` URL; the SDK passes it to the credential as
   * `tenantId`. Letters, digits, dots and dashes.
   * @default DEFAULT_VAULT_TENANT_ID
   */
  tenantId?: string;
  /**
   * Enforce Key Vault's per-vault limit: past `transactionsPerWindow` authorized requests in any
   * window, answer `429` with Key Vault's `Throttled` body and `Retry-After`. Off when absent.
   */
  throttle?: VaultThrottleOptions;
}

/** How {@link VaultEmulator.setOutage} breaks the service. */
export type VaultOutageMode = 'unavailable' | 'reset';

/** What {@link VaultEmulator.createKey} creates; everything else as a REST create without it. */
export interface KeyCreateOptions {
  /** @default 'RSA' */
  kty?: RsaKeyType;
  /** Modulus size in bits. @default 2048, as the service */
  size?: RsaKeySize;
  /** @default every operation: encrypt, decrypt, sign, verify, wrapKey, unwrapKey */
  keyOps?: KeyOperation[];
  /** @default true */
  enabled?: boolean;
  notBefore?: Date;
  expiresOn?: Date;
  tags?: Record<string, string>;
}

/** One key version as a test sees it: properties and the public key, never the private one. */
export interface KeyVersionInfo {
  name: string;
  version: string;
  /** `<vault url>/keys/<name>/<version>`: what `CryptographyClient` takes. */
  kid: string;
  kty: RsaKeyType;
  keySize: RsaKeySize;
  keyOps: KeyOperation[];
  enabled: boolean;
  notBefore?: Date;
  expiresOn?: Date;
  created: Date;
  updated: Date;
  tags?: Record<string, string>;
  /** SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), as `openssl dgst -verify` reads it. */
  publicKeyPem: string;
}

/**
 * One request as the emulator saw it. Bodies are never recorded: they hold secret values (and, for
 * keys, the digests and signatures a test should check through the client, not here).
 */
export interface RecordedVaultRequest {
  method: string;
  /** Path as received (percent-encoded), without the query. */
  path: string;
  query: Record<string, string>;
  /** Whether it carried `Authorization: Bearer <something>`. */
  authorized: boolean;
  /** Status answered; `0` while in flight or when the connection was reset instead. */
  status: number;
}

/** A running Key Vault emulator (secrets and keys). */
export interface VaultEmulator {
  /** `http://127.0.0.1:<port>`: pass it to `SecretClient` or `KeyClient` as the vault URL. */
  readonly url: string;
  /** Stops listening and destroys every connection, keep-alive ones included. Idempotent. */
  close(): Promise<void>;
  /**
   * Seeds a secret directly (no HTTP), creating a new version, and returns a copy of it.
   * Throws a `VaultError` for what the service would refuse (bad name, value over 25 KiB,
   * a name that is soft-deleted and not purged).
   */
  setSecret(name: string, value: string, props?: SecretWriteProperties): SecretVersionRecord;
  /** Copies of every stored version, oldest first (the latest is last), or `undefined`. */
  getSecret(name: string): SecretVersionRecord[] | undefined;
  /** Names of live (not deleted) secrets, in the order `GET /secrets` lists them. */
  listSecretNames(): string[];
  /** Removes a secret at once, as delete-then-purge would; `false` if there was none. */
  deleteSecret(name: string): boolean;
  /**
   * Creates a key version directly (no HTTP) with a fresh RSA key pair, as `POST .../create`
   * would. Throws a `VaultError` for what the service would refuse.
   */
  createKey(name: string, options?: KeyCreateOptions): Promise<KeyVersionInfo>;
  /** Adds a version made of an existing RSA private key (PEM), with the given version string. */
  importKey(name: string, privateKeyPem: string, version: string): KeyVersionInfo;
  /** Every version of a key, oldest first (the latest is last), or `undefined`. */
  getKeyVersions(name: string): KeyVersionInfo[] | undefined;
  /**
   * Enables or disables one version (the latest if `version` is `undefined`); a disabled version
   * refuses to sign. Throws a `VaultError` (`KeyNotFound`) for an unknown key or version.
   */
  setKeyEnabled(name: string, version: string | undefined, enabled: boolean): KeyVersionInfo;
  /**
   * Signs a digest with one version's private key (the latest if `version` is `undefined`), with
   * the same checks and the same result as `POST .../sign`. Throws a `VaultError` where that answers
   * with an error.
   */
  signDigest(
    name: string,
    version: string | undefined,
    algorithm: RsaSignatureAlgorithm,
    digest: Uint8Array,
  ): Buffer;
  /** Names of live (not deleted) keys, in the order `GET /keys` lists them. */
  listKeyNames(): string[];
  /** Removes a key at once, as delete-then-purge would; `false` if there was none. */
  deleteKey(name: string): boolean;
  /** Every request received, oldest first. Clear it with `requests.length = 0`. */
  readonly requests: RecordedVaultRequest[];
  /**
   * Makes every request fail until called with `undefined`: `'unavailable'` answers `503`,
   * `'reset'` destroys the socket without answering.
   */
  setOutage(mode: VaultOutageMode | undefined): void;
  /**
   * Starts the throttling mode with these limits (a fresh window), or ends it with `undefined`.
   * Throws a `RangeError` for limits that are not positive integers.
   */
  setThrottle(options: VaultThrottleOptions | undefined): void;
}

/**
 * Starts a Key Vault emulator on loopback that speaks the REST subsets `@azure/keyvault-secrets`
 * and `@azure/keyvault-keys` use, with challenge-based auth for both:
 * - secrets: get/set/list/update secrets and versions, soft delete and purge;
 * - keys (RSA and RSA-HSM, 2048/3072/4096 bits, real key pairs): create, get the latest or a
 *   version, list keys and versions, update, rotate, rotation policy, soft delete and purge, and
 *   sign and verify with RS256/384/512 and PS256/384/512 over a client-computed digest.
 *
 * Tokens are accepted without validation, so use it with any `TokenCredential` and the client
 * options `allowInsecureConnection: true` and `disableChallengeResourceVerification: true`.
 */
export async function startVaultEmulator(options: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const { port, ...settings } = normalizeOptions(options);
  let throttle = options.throttle ? new VaultThrottle(options.throttle) : undefined;
  const store = new SecretStore();
  const keyStore = new KeyStore();
  const requests: RecordedVaultRequest[] = [];
  let outage: VaultOutageMode | undefined;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    const record: RecordedVaultRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      authorized: hasBearerToken(req.headers.authorization),
      status: 0,
    };
    requests.push(record);

    if (outage === 'reset') {
      req.socket.destroy();
      return;
    }
    if (outage === 'unavailable') {
      const body: VaultErrorBody = {
        error: { code: 'ServiceUnavailable', message: 'The vault emulator is simulating an outage.' },
      };
      send(res, record, { status: 503, body });
      return;
    }
    readBody(req, (body) => {
      if (body === undefined) {
        const error: VaultErrorBody = {
          error: {
            code: 'BadParameter',
            message: `The request body exceeds ${MAX_REQUEST_BODY_BYTES} bytes.`,
          },
        };
        send(res, record, { status: 413, body: error });
        return;
      }
      // The challenge comes first: an unauthenticated request never reaches the vault's limits.
      const counted = record.authorized || !settings.requireChallenge;
      const throttled = counted ? throttle?.admit(performance.now()) : undefined;
      if (throttled) {
        send(res, record, throttled);
        return;
      }
      void respondSafely(() =>
        handleVaultRequest({ secrets: store, keys: keyStore }, handlerSettings, {
          method: record.method,
          pathname: url.pathname,
          query: url.searchParams,
          authorization: req.headers.authorization,
          body,
        }),
      ).then((response) => {
        // A key generation can outlast the client (or close() destroyed the socket meanwhile).
        if (!res.destroyed) send(res, record, response);
      });
    });
  };

  const server = createServer();
  await listen(server, port);
  // The port, and so every id and nextLink, is known only now; no request can arrive before
  // the listener is attached, because that takes an I/O turn.
  const url = `http://${HOST}:${(server.address() as AddressInfo).port}`;
  const handlerSettings: VaultHandlerSettings = { ...settings, vaultUrl: url };
  server.on('request', onRequest);

  let closing: Promise<void> | undefined;
  return {
    url,
    requests,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // close() alone waits for idle keep-alive sockets (the SDK's agent holds some) to time out.
        server.closeAllConnections();
      });
      return closing;
    },
    setSecret: (name, value, props) => cloneRecord(store.set(name, value, props)),
    getSecret: (name) => store.versions(name)?.map(cloneRecord),
    listSecretNames: () => store.names(),
    deleteSecret: (name) => store.remove(name),
    createKey: async (name, { size, ...props } = {}) =>
      toKeyVersionInfo(
        url,
        await keyStore.create(name, { ...props, ...(size !== undefined ? { keySize: size } : {}) }),
      ),
    importKey: (name, privateKeyPem, version) => {
      const privateKey = createPrivateKey(privateKeyPem);
      return toKeyVersionInfo(
        url,
        keyStore.import(name, { privateKey, publicKey: createPublicKey(privateKey) }, version),
      );
    },
    getKeyVersions: (name) => keyStore.versions(name)?.map((record) => toKeyVersionInfo(url, record)),
    setKeyEnabled: (name, version, enabled) =>
      toKeyVersionInfo(url, keyStore.update(name, version, { enabled })),
    signDigest: (name, version, algorithm, digest) =>
      keyStore.sign(name, version, algorithm, digest).signature,
    listKeyNames: () => keyStore.names(),
    deleteKey: (name) => keyStore.remove(name),
    setOutage(mode) {
      outage = mode;
    },
    setThrottle(limits) {
      throttle = limits ? new VaultThrottle(limits) : undefined;
    },
  };
}

function normalizeOptions(
  options: VaultEmulatorOptions,
): Omit<VaultHandlerSettings, 'vaultUrl'> & { port: number } {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Vault emulator port must be an integer from 0 to 65535, got ${port}`);
  }
  const pageSize = options.pageSize ?? DEFAULT_VAULT_PAGE_SIZE;
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new RangeError(`Vault emulator pageSize must be a positive integer, got ${pageSize}`);
  }
  const tenantId = options.tenantId ?? DEFAULT_VAULT_TENANT_ID;
  // The SDK splits the challenge on spaces and strips quotes, so anything else would garble it.
  if (!/^[A-Za-z0-9.-]+$/.test(tenantId)) {
    throw new RangeError(`Vault emulator tenantId may contain only letters, digits, dots and dashes`);
  }
  return { port, pageSize, tenantId, requireChallenge: options.requireChallenge ?? true };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Collects the body; `undefined` if it is over the limit (the rest is drained, not kept). */
function readBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size <= MAX_REQUEST_BODY_BYTES) chunks.push(chunk);
  });
  req.on('end', () => done(size <= MAX_REQUEST_BODY_BYTES ? Buffer.concat(chunks) : undefined));
  // A client that goes away mid-body gets no answer; the socket is already gone.
  req.on('error', () => undefined);
}

async function respondSafely(handle: () => Promise<VaultResponse>): Promise<VaultResponse> {
  try {
    return await handle();
  } catch {
    // An emulator bug (or a failed key generation). No detail: an arbitrary error message might
    // quote a secret value.
    const body: VaultErrorBody = { error: { code: 'InternalError', message: 'The vault emulator failed.' } };
    return { status: 500, body };
  }
}

/** A copy for the direct API: the stored record's properties, the public key as PEM, no private key. */
function toKeyVersionInfo(vaultUrl: string, record: KeyVersionRecord): KeyVersionInfo {
  return {
    name: record.name,
    version: record.version,
    kid: keyId(vaultUrl, record.name, record.version),
    kty: record.kty,
    keySize: record.keySize,
    keyOps: [...record.keyOps],
    enabled: record.enabled,
    ...(record.notBefore ? { notBefore: new Date(record.notBefore) } : {}),
    ...(record.expiresOn ? { expiresOn: new Date(record.expiresOn) } : {}),
    created: new Date(record.created),
    updated: new Date(record.updated),
    ...(record.tags ? { tags: { ...record.tags } } : {}),
    publicKeyPem: record.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

function send(res: ServerResponse, record: RecordedVaultRequest, response: VaultResponse): void {
  record.status = response.status;
  const payload = response.body === undefined ? '' : JSON.stringify(response.body);
  res.writeHead(response.status, {
    ...(payload ? { 'content-type': 'application/json; charset=utf-8' } : {}),
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-cache',
    'x-ms-request-id': randomUUID(),
    ...response.headers,
  });
  res.end(payload);
}
