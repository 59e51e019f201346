/**
 * The keys routes: what `KeyClient` and `CryptographyClient` of `@azure/keyvault-keys` send for
 * creating, reading, listing, rotating, updating and deleting RSA keys, and for signing and
 * verifying with them. Authentication and the api-version are already checked by the caller.
 */
import type { KeyStore, KeyVersionRecord } from './keyStore';
import { assertValidKeyName } from './keyStore';
import {
  parseCreateParameters,
  parseRotationPolicy,
  parseSignParameters,
  parseUpdateKeyParameters,
  parseVerifyParameters,
  toDeletedKeyBundle,
  toKeyBundle,
  toKeyItem,
  toRotationPolicy,
  keyId,
  type WireKeyBundle,
  type WireKeyItem,
  type WireKeyOperationResult,
  type WireKeyVerifyResult,
} from './keyWire';
import {
  ok,
  paginate,
  parseJsonBody,
  type RoutedRequest,
  type VaultHandlerSettings,
  type VaultResponse,
} from './routeHelpers';
import { deletedKeyNotFound, keyNotFound, notImplemented } from './vaultError';
import type { WireListResult } from './wire';

/** Operations of `/keys/{name}/{version}/<operation>` that Key Vault has and the emulator has not. */
const UNIMPLEMENTED_KEY_OPERATIONS = new Set(['encrypt', 'decrypt', 'wrapkey', 'unwrapkey', 'release']);

export async function handleKeyRequest(
  store: KeyStore,
  settings: VaultHandlerSettings,
  request: RoutedRequest,
): Promise<VaultResponse> {
  const { method, segments } = request;
  const [collection, name, third, fourth, ...rest] = segments;
  if (name !== undefined) assertValidKeyName(name);
  const { vaultUrl } = settings;

  if (collection === 'keys' && rest.length === 0) {
    if (name === undefined) {
      if (method === 'GET') return ok(listKeys(store, settings, request));
    } else if (third === undefined) {
      if (method === 'GET') return ok(toKeyBundle(vaultUrl, found(store, name, undefined)));
      // KeyClient.updateKeyProperties(name, options) sends `PATCH /keys/{name}/`: the latest version.
      if (method === 'PATCH') return ok(updateKey(store, settings, name, undefined, request.body));
      if (method === 'DELETE') {
        const deleted = store.softDelete(name);
        if (!deleted) throw keyNotFound(name);
        return ok(toDeletedKeyBundle(vaultUrl, deleted));
      }
    } else if (fourth === undefined) {
      switch (third) {
        case 'create':
          if (method === 'POST') {
            const props = parseCreateParameters(parseJsonBody(request.body));
            return ok(toKeyBundle(vaultUrl, await store.create(name, props)));
          }
          break;
        case 'rotate':
          // The SDK sends no body: the new version copies the latest one.
          if (method === 'POST') return ok(toKeyBundle(vaultUrl, await store.rotate(name)));
          break;
        case 'rotationpolicy':
          if (method === 'GET') return ok(toRotationPolicy(vaultUrl, name, store.getRotationPolicy(name)));
          if (method === 'PUT') {
            const policy = parseRotationPolicy(parseJsonBody(request.body));
            return ok(toRotationPolicy(vaultUrl, name, store.setRotationPolicy(name, policy)));
          }
          break;
        case 'versions':
          if (method === 'GET') return ok(listVersions(store, settings, name, request));
          break;
        default:
          if (method === 'GET') return ok(toKeyBundle(vaultUrl, found(store, name, third)));
          if (method === 'PATCH') return ok(updateKey(store, settings, name, third, request.body));
      }
    } else if (method === 'POST') {
      // An empty version (`/keys/a//sign`, from a key id without one) means the latest version.
      const version = third === '' ? undefined : third;
      if (fourth === 'sign') return ok(sign(store, settings, name, version, request.body));
      if (fourth === 'verify') return ok(verify(store, name, version, request.body));
      if (UNIMPLEMENTED_KEY_OPERATIONS.has(fourth.toLowerCase())) {
        throw notImplemented(`The vault emulator signs and verifies with keys, but does not ${fourth}.`);
      }
    }
  }

  if (collection === 'deletedkeys' && name !== undefined && third === undefined && rest.length === 0) {
    if (method === 'GET') {
      const deleted = store.getDeleted(name);
      if (!deleted) throw deletedKeyNotFound(name);
      return ok(toDeletedKeyBundle(vaultUrl, deleted));
    }
    if (method === 'DELETE') {
      if (!store.purge(name)) throw deletedKeyNotFound(name);
      return { status: 204 };
    }
  }

  throw notImplemented(`The vault emulator does not implement ${method} ${request.pathname}.`);
}

function found(store: KeyStore, name: string, version: string | undefined): KeyVersionRecord {
  const record = store.get(name, version);
  // Unlike a secret's value, a disabled key's public half is still served, as by the service.
  if (!record) throw keyNotFound(name, version);
  return record;
}

function updateKey(
  store: KeyStore,
  settings: VaultHandlerSettings,
  name: string,
  version: string | undefined,
  body: Buffer,
): WireKeyBundle {
  const props = parseUpdateKeyParameters(parseJsonBody(body));
  return toKeyBundle(settings.vaultUrl, store.update(name, version, props));
}

function sign(
  store: KeyStore,
  settings: VaultHandlerSettings,
  name: string,
  version: string | undefined,
  body: Buffer,
): WireKeyOperationResult {
  const { algorithm, digest } = parseSignParameters(parseJsonBody(body));
  const { record, signature } = store.sign(name, version, algorithm, digest);
  return {
    kid: keyId(settings.vaultUrl, record.name, record.version),
    value: signature.toString('base64url'),
  };
}

function verify(
  store: KeyStore,
  name: string,
  version: string | undefined,
  body: Buffer,
): WireKeyVerifyResult {
  const { algorithm, digest, signature } = parseVerifyParameters(parseJsonBody(body));
  return { value: store.verify(name, version, algorithm, digest, signature) };
}

function listKeys(
  store: KeyStore,
  settings: VaultHandlerSettings,
  request: RoutedRequest,
): WireListResult<WireKeyItem> {
  const items = store.listLatest().map((record) => ({ key: record.name.toLowerCase(), record }));
  return paginate(items, settings, request.query, request.apiVersion, '/keys', (r) =>
    toKeyItem(settings.vaultUrl, r, false),
  );
}

function listVersions(
  store: KeyStore,
  settings: VaultHandlerSettings,
  name: string,
  request: RoutedRequest,
): WireListResult<WireKeyItem> {
  const versions = store.versions(name);
  if (!versions) throw keyNotFound(name);
  // Creation order; the padded index is a sortable key for the skip token.
  const items = versions.map((record, index) => ({ key: String(index).padStart(10, '0'), record }));
  const firstName = versions[0]?.name ?? name;
  return paginate(items, settings, request.query, request.apiVersion, `/keys/${firstName}/versions`, (r) =>
    toKeyItem(settings.vaultUrl, r, true),
  );
}
