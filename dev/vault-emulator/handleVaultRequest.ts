/**
 * The emulator's request handling, free of sockets: a parsed request in, a status and JSON body
 * out. The HTTP layer (vaultEmulator.ts) only reads bodies, records requests and writes responses.
 * Authentication and the api-version are checked here, for every collection; the secrets routes
 * live here and the keys routes in handleKeyRequest.ts.
 */
import { handleKeyRequest } from './handleKeyRequest';
import type { KeyStore } from './keyStore';
import {
  ok,
  paginate,
  parseJsonBody,
  splitPath,
  type RoutedRequest,
  type VaultHandlerSettings,
  type VaultRequest,
  type VaultResponse,
} from './routeHelpers';
import type { SecretStore } from './secretStore';
import { assertValidSecretName } from './secretStore';
import {
  badParameter,
  deletedSecretNotFound,
  notImplemented,
  secretDisabled,
  secretNotFound,
  VaultError,
  type VaultErrorBody,
} from './vaultError';
import {
  parseSetParameters,
  parseUpdateParameters,
  toDeletedSecretBundle,
  toSecretBundle,
  toSecretItem,
  type WireListResult,
  type WireSecretItem,
} from './wire';

export type { VaultHandlerSettings, VaultRequest, VaultResponse } from './routeHelpers';

/** Everything the emulator stores. */
export interface VaultStores {
  secrets: SecretStore;
  keys: KeyStore;
}

/** The audience Key Vault names in its challenge; the SDK asks for `<resource>/.default`. */
export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';

/** Whether the request carries `Authorization: Bearer <token>`; the token itself is not checked. */
export function hasBearerToken(authorization: string | undefined): boolean {
  return /^Bearer\s+\S/i.test(authorization ?? '');
}

export async function handleVaultRequest(
  stores: VaultStores,
  settings: VaultHandlerSettings,
  request: VaultRequest,
): Promise<VaultResponse> {
  try {
    return await route(stores, settings, request);
  } catch (error) {
    if (error instanceof VaultError) return errorResponse(error);
    throw error;
  }
}

async function route(
  stores: VaultStores,
  settings: VaultHandlerSettings,
  request: VaultRequest,
): Promise<VaultResponse> {
  // The service authenticates before it looks at anything else, and the SDK depends on that:
  // its first request goes out without a token (and without its body) to provoke this challenge.
  if (settings.requireChallenge && !hasBearerToken(request.authorization))
    return challenge(settings.tenantId);

  const apiVersion = request.query.get('api-version');
  if (!apiVersion) throw badParameter('The request URI must contain an api-version query parameter.');

  const segments = splitPath(request.pathname);
  const routed: RoutedRequest = { ...request, segments, apiVersion };
  const [collection] = segments;
  if (collection === 'keys' || collection === 'deletedkeys') {
    return handleKeyRequest(stores.keys, settings, routed);
  }
  if (collection === 'secrets' || collection === 'deletedsecrets') {
    const response = routeSecrets(stores.secrets, settings, routed);
    if (response) return response;
  }
  // Say plainly what is missing rather than pretend the object does not exist.
  throw notImplemented(`The vault emulator does not implement ${request.method} ${request.pathname}.`);
}

/** The secrets routes; `undefined` for a request none of them takes. */
function routeSecrets(
  store: SecretStore,
  settings: VaultHandlerSettings,
  request: RoutedRequest,
): VaultResponse | undefined {
  const { method, apiVersion } = request;
  const [collection, name, third, ...rest] = request.segments;
  if (rest.length === 0 && name !== undefined) assertValidSecretName(name);

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
  return undefined;
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

function errorResponse(error: VaultError): VaultResponse {
  return { status: error.status, body: error.toBody() };
}
