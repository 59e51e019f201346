/**
 * The emulator's request handling, free of sockets: a parsed request in, a status and JSON body
 * out. The HTTP layer (vaultEmulator.ts) only reads bodies, records requests and writes responses.
 */
import type { SecretStore, SecretVersionRecord } from './secretStore';
import { assertValidSecretName } from './secretStore';
import {
  badParameter,
  deletedSecretNotFound,
  secretDisabled,
  secretNotFound,
  VaultError,
  type VaultErrorBody,
} from './vaultError';
import {
  decodeSkipToken,
  encodeSkipToken,
  parseSetParameters,
  parseUpdateParameters,
  toDeletedSecretBundle,
  toSecretBundle,
  toSecretItem,
  type WireListResult,
  type WireSecretItem,
} from './wire';

export interface VaultRequest {
  method: string;
  /** The path as received, still percent-encoded. */
  pathname: string;
  query: URLSearchParams;
  authorization: string | undefined;
  /** The raw body; empty when none was sent. */
  body: Buffer;
}

export interface VaultResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialisable; `undefined` for an empty body (204). */
  body?: unknown;
}

export interface VaultHandlerSettings {
  /** `http://127.0.0.1:<port>`: the base of every id and nextLink. */
  vaultUrl: string;
  pageSize: number;
  requireChallenge: boolean;
  tenantId: string;
}

/** The audience Key Vault names in its challenge; the SDK asks for `<resource>/.default`. */
export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

/** Whether the request carries `Authorization: Bearer <token>`; the token itself is not checked. */
export function hasBearerToken(authorization: string | undefined): boolean {
  return /^Bearer\s+\S/i.test(authorization ?? '');
}

export function handleVaultRequest(
  store: SecretStore,
  settings: VaultHandlerSettings,
  request: VaultRequest,
): VaultResponse {
  try {
    return route(store, settings, request);
  } catch (error) {
    if (error instanceof VaultError) return errorResponse(error);
    throw error;
  }
}

function route(store: SecretStore, settings: VaultHandlerSettings, request: VaultRequest): VaultResponse {
  // The service authenticates before it looks at anything else, and the SDK depends on that:
  // its first request goes out without a token (and without its body) to provoke this challenge.
  if (settings.requireChallenge && !hasBearerToken(request.authorization))
    return challenge(settings.tenantId);

  const apiVersion = request.query.get('api-version');
  if (!apiVersion) throw badParameter('The request URI must contain an api-version query parameter.');

  const { method } = request;
  const segments = splitPath(request.pathname);
  const [collection, name, third, ...rest] = segments;
  if (
    rest.length === 0 &&
    name !== undefined &&
    (collection === 'secrets' || collection === 'deletedsecrets')
  ) {
    assertValidSecretName(name);
  }

  if (collection === 'secrets' && rest.length === 0) {
    if (name === undefined) {
      if (method === 'GET') return ok(listSecrets(store, settings, request.query, apiVersion));
    } else if (third === undefined) {
      switch (method) {
        case 'GET':
          return ok(getSecretValue(store, settings, name, undefined));
        case 'PUT': {
          const { value, props } = parseSetParameters(parseJsonBody(request.body));
          return ok(toSecretBundle(settings.vaultUrl, store.set(name, value, props), true));
        }
        case 'PATCH':
          return ok(updateSecret(store, settings, name, undefined, request.body));
        case 'DELETE': {
          const deleted = store.softDelete(name);
          if (!deleted) throw secretNotFound(name);
          return ok(toDeletedSecretBundle(settings.vaultUrl, deleted));
        }
      }
    } else if (third === 'versions') {
      if (method === 'GET') return ok(listVersions(store, settings, name, request.query, apiVersion));
    } else {
      if (method === 'GET') return ok(getSecretValue(store, settings, name, third));
      if (method === 'PATCH') return ok(updateSecret(store, settings, name, third, request.body));
    }
  }

  if (collection === 'deletedsecrets' && name !== undefined && third === undefined && rest.length === 0) {
    if (method === 'GET') {
      const deleted = store.getDeleted(name);
      if (!deleted) throw deletedSecretNotFound(name);
      return ok(toDeletedSecretBundle(settings.vaultUrl, deleted));
    }
    if (method === 'DELETE') {
      if (!store.purge(name)) throw deletedSecretNotFound(name);
      return { status: 204 };
    }
  }

  // Say plainly what is missing rather than pretend the object does not exist.
  throw new VaultError(
    501,
    'NotImplemented',
    `The vault emulator does not implement ${method} ${request.pathname}.`,
  );
}

function getSecretValue(
  store: SecretStore,
  settings: VaultHandlerSettings,
  name: string,
  version: string | undefined,
): unknown {
  const record = store.get(name, version);
  if (!record) throw secretNotFound(name, version);
  // Like the service: a disabled version's value is refused, but notBefore and expiresOn are
  // only reported, never enforced, for secrets (checking them is the caller's job).
  if (!record.enabled) throw secretDisabled('get');
  return toSecretBundle(settings.vaultUrl, record, true);
}

function updateSecret(
  store: SecretStore,
  settings: VaultHandlerSettings,
  name: string,
  version: string | undefined,
  body: Buffer,
): unknown {
  const props = parseUpdateParameters(parseJsonBody(body));
  return toSecretBundle(settings.vaultUrl, store.update(name, version, props), false);
}

function listSecrets(
  store: SecretStore,
  settings: VaultHandlerSettings,
  query: URLSearchParams,
  apiVersion: string,
): WireListResult<WireSecretItem> {
  const items = store.listLatest().map((record) => ({ key: record.name.toLowerCase(), record }));
  return paginate(items, settings, query, apiVersion, '/secrets', (r) =>
    toSecretItem(settings.vaultUrl, r, false),
  );
}

function listVersions(
  store: SecretStore,
  settings: VaultHandlerSettings,
  name: string,
  query: URLSearchParams,
  apiVersion: string,
): WireListResult<WireSecretItem> {
  const versions = store.versions(name);
  if (!versions) throw secretNotFound(name);
  // Creation order; the padded index is a sortable key for the skip token.
  const items = versions.map((record, index) => ({ key: String(index).padStart(10, '0'), record }));
  const firstName = versions[0]?.name ?? name;
  return paginate(items, settings, query, apiVersion, `/secrets/${firstName}/versions`, (r) =>
    toSecretItem(settings.vaultUrl, r, true),
  );
}

/**
 * One page of `items` (sorted by `key`). The SDK follows `nextLink` verbatim, so it is an
 * absolute URL on this server that carries the api-version and page size along.
 */
function paginate(
  items: Array<{ key: string; record: SecretVersionRecord }>,
  settings: VaultHandlerSettings,
  query: URLSearchParams,
  apiVersion: string,
  path: string,
  toItem: (record: SecretVersionRecord) => WireSecretItem,
): WireListResult<WireSecretItem> {
  const size = pageSizeFor(query.get('maxresults'), settings.pageSize);
  const token = query.get('$skiptoken');
  const after = token ? decodeSkipToken(token) : undefined;
  const remaining = after === undefined ? items : items.filter((item) => item.key > after);
  const page = remaining.slice(0, size);
  const last = page.at(-1);
  const nextLink =
    remaining.length > size && last
      ? `${settings.vaultUrl}${path}?api-version=${encodeURIComponent(apiVersion)}` +
        `&$skiptoken=${encodeSkipToken(last.key)}&maxresults=${size}`
      : null;
  return { value: page.map((item) => toItem(item.record)), nextLink };
}

function pageSizeFor(maxresults: string | null, pageSize: number): number {
  if (maxresults === null || maxresults === '') return pageSize;
  const requested = /^\d+$/.test(maxresults) ? Number(maxresults) : NaN;
  if (!(requested >= 1)) throw badParameter(`maxresults must be a whole number from 1 to ${pageSize}.`);
  // The service rejects more than 25; the emulator is lenient and caps at its page size.
  return Math.min(requested, pageSize);
}

/** `/secrets/a/` and `/secrets/a` are the same resource (the SDK sends the former for "latest"). */
function splitPath(pathname: string): string[] {
  const segments = pathname.split('/').slice(1);
  if (segments.length > 1 && segments.at(-1) === '') segments.pop();
  try {
    return segments.map((segment) => decodeURIComponent(segment));
  } catch {
    throw badParameter('The request URI is not correctly percent-encoded.');
  }
}

function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw badParameter('The request body is missing.');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    // Deliberately no parser detail: its message quotes the body, which holds the secret value.
    throw badParameter('The request body is not valid JSON.');
  }
}

function challenge(tenantId: string): VaultResponse {
  const body: VaultErrorBody = {
    error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' },
  };
  return {
    status: 401,
    headers: {
      'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${KEY_VAULT_RESOURCE}"`,
    },
    body,
  };
}

function ok(body: unknown): VaultResponse {
  return { status: 200, body };
}

function errorResponse(error: VaultError): VaultResponse {
  return { status: error.status, body: error.toBody() };
}
