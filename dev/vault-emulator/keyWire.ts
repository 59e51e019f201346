/**
 * Key Vault's JSON shapes for keys (api-version 2025-07-01 and earlier 7.x), and the conversions
 * between them and the key store's records. Byte strings (`n`, `e`, digests, signatures) are
 * base64url without padding, times integer Unix seconds. A bundle carries only the public half
 * (`kid`, `kty`, `key_ops`, `n`, `e`), whatever the store holds.
 */
import type {
  DeletedKeyEntry,
  KeyCreateProperties,
  KeyOperation,
  KeyRotationLifetimeAction,
  KeyRotationPolicyRecord,
  KeyVersionRecord,
  KeyWriteProperties,
} from './keyStore';
import { parseKeyType } from './keyStore';
import { SOFT_DELETE_RETENTION_DAYS } from './secretStore';
import { badParameter, notImplemented } from './vaultError';
import { asObject, parseTags, parseUnixSeconds, RECOVERY_LEVEL, unixSeconds } from './wire';

export interface WireKeyAttributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  recoverableDays: number;
  recoveryLevel: string;
  exportable: boolean;
}

/** The public JSON Web Key the service returns; never any private member. */
export interface WireJsonWebKey {
  kid: string;
  kty: string;
  key_ops: KeyOperation[];
  n: string;
  e: string;
}

/** A list item: properties only, no key material. */
export interface WireKeyItem {
  kid: string;
  attributes: WireKeyAttributes;
  tags?: Record<string, string>;
}

export interface WireKeyBundle {
  key: WireJsonWebKey;
  attributes: WireKeyAttributes;
  tags?: Record<string, string>;
}

export interface WireDeletedKeyBundle extends WireKeyBundle {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

/** What `sign` answers: the full key id (with version) and the signature. */
export interface WireKeyOperationResult {
  kid: string;
  value: string;
}

export interface WireKeyVerifyResult {
  value: boolean;
}

export interface WireKeyRotationPolicy {
  id: string;
  lifetimeActions: Array<{
    trigger: { timeAfterCreate?: string; timeBeforeExpiry?: string };
    action: { type: 'Rotate' | 'Notify' };
  }>;
  attributes: { expiryTime?: string; created?: number; updated?: number };
}

/** `<vault>/keys/<name>[/<version>]`: the SDK parses name and version back out of it. */
export function keyId(vaultUrl: string, name: string, version?: string): string {
  return `${vaultUrl}/keys/${name}${version === undefined ? '' : `/${version}`}`;
}

function toAttributes(record: KeyVersionRecord): WireKeyAttributes {
  return {
    enabled: record.enabled,
    ...(record.notBefore ? { nbf: unixSeconds(record.notBefore) } : {}),
    ...(record.expiresOn ? { exp: unixSeconds(record.expiresOn) } : {}),
    created: unixSeconds(record.created),
    updated: unixSeconds(record.updated),
    recoverableDays: SOFT_DELETE_RETENTION_DAYS,
    recoveryLevel: RECOVERY_LEVEL,
    // Exportable keys need a release policy, which the emulator does not implement.
    exportable: false,
  };
}

/**
 * A list item. As for secrets, items of `GET /keys` carry the base identifier (no version) and
 * items of `GET /keys/{name}/versions` the full one.
 */
export function toKeyItem(vaultUrl: string, record: KeyVersionRecord, withVersion: boolean): WireKeyItem {
  return {
    kid: keyId(vaultUrl, record.name, withVersion ? record.version : undefined),
    attributes: toAttributes(record),
    ...(record.tags ? { tags: { ...record.tags } } : {}),
  };
}

export function toKeyBundle(vaultUrl: string, record: KeyVersionRecord): WireKeyBundle {
  return {
    // Built member by member, never by spreading a record, so nothing private can slip in.
    key: {
      kid: keyId(vaultUrl, record.name, record.version),
      kty: record.kty,
      key_ops: [...record.keyOps],
      n: record.n,
      e: record.e,
    },
    attributes: toAttributes(record),
    ...(record.tags ? { tags: { ...record.tags } } : {}),
  };
}

/** What `DELETE /keys/{name}` and `GET /deletedkeys/{name}` answer: the latest version. */
export function toDeletedKeyBundle(vaultUrl: string, deleted: DeletedKeyEntry): WireDeletedKeyBundle {
  const latest = deleted.versions.at(-1);
  // A stored key always has at least one version; an empty one would be a store bug.
  if (!latest) throw new Error(`Deleted key ${deleted.name} has no versions`);
  return {
    ...toKeyBundle(vaultUrl, latest),
    recoveryId: `${vaultUrl}/deletedkeys/${deleted.name}`,
    deletedDate: unixSeconds(deleted.deletedDate),
    scheduledPurgeDate: unixSeconds(deleted.scheduledPurgeDate),
  };
}

export function toRotationPolicy(
  vaultUrl: string,
  name: string,
  policy: KeyRotationPolicyRecord,
): WireKeyRotationPolicy {
  return {
    id: `${keyId(vaultUrl, name)}/rotationpolicy`,
    lifetimeActions: policy.lifetimeActions.map((action) => ({
      trigger: {
        ...(action.timeAfterCreate !== undefined ? { timeAfterCreate: action.timeAfterCreate } : {}),
        ...(action.timeBeforeExpiry !== undefined ? { timeBeforeExpiry: action.timeBeforeExpiry } : {}),
      },
      action: { type: action.action },
    })),
    attributes: {
      ...(policy.expiryTime !== undefined ? { expiryTime: policy.expiryTime } : {}),
      ...(policy.created ? { created: unixSeconds(policy.created) } : {}),
      ...(policy.updated ? { updated: unixSeconds(policy.updated) } : {}),
    },
  };
}

/** Parses the body of `POST /keys/{name}/create` (KeyCreateParameters). */
export function parseCreateParameters(body: unknown): KeyCreateProperties {
  const object = asObject(body);
  if (object.release_policy != null) {
    throw notImplemented('The vault emulator does not implement key release policies.');
  }
  const props: KeyCreateProperties = {
    kty: parseKeyType(object.kty),
    ...parseWriteProperties(object),
  };
  if (object.key_size != null) {
    if (typeof object.key_size !== 'number') throw badParameter("Property 'key_size' must be a number.");
    props.keySize = object.key_size;
  }
  if (object.public_exponent != null) {
    if (typeof object.public_exponent !== 'number') {
      throw badParameter("Property 'public_exponent' must be a number.");
    }
    props.publicExponent = object.public_exponent;
  }
  return props;
}

/** Parses the body of `PATCH /keys/{name}/{version}` (KeyUpdateParameters). */
export function parseUpdateKeyParameters(body: unknown): KeyWriteProperties {
  const object = asObject(body);
  if (object.release_policy != null) {
    throw notImplemented('The vault emulator does not implement key release policies.');
  }
  return parseWriteProperties(object);
}

/** Parses the body of `POST /keys/{name}/{version}/sign` (KeySignParameters). */
export function parseSignParameters(body: unknown): { algorithm: string; digest: Buffer } {
  const object = asObject(body);
  return { algorithm: parseAlgorithm(object.alg), digest: parseBase64Url('value', object.value) };
}

/** Parses the body of `POST /keys/{name}/{version}/verify` (KeyVerifyParameters). */
export function parseVerifyParameters(body: unknown): {
  algorithm: string;
  digest: Buffer;
  signature: Buffer;
} {
  const object = asObject(body);
  return {
    algorithm: parseAlgorithm(object.alg),
    digest: parseBase64Url('digest', object.digest),
    signature: parseBase64Url('value', object.value),
  };
}

/** Parses the body of `PUT /keys/{name}/rotationpolicy` (KeyRotationPolicy). */
export function parseRotationPolicy(
  body: unknown,
): Pick<KeyRotationPolicyRecord, 'lifetimeActions' | 'expiryTime'> {
  const object = asObject(body);
  const lifetimeActions: KeyRotationLifetimeAction[] = [];
  if (object.lifetimeActions != null) {
    if (!Array.isArray(object.lifetimeActions)) {
      throw badParameter("Property 'lifetimeActions' must be an array.");
    }
    for (const item of object.lifetimeActions as unknown[]) {
      const { trigger, action } = asObject(item);
      const { timeAfterCreate, timeBeforeExpiry } = trigger == null ? {} : asObject(trigger);
      const type = action == null ? undefined : asObject(action).type;
      // The service answers with the canonical spelling whatever case it was sent in.
      const normalized = typeof type === 'string' ? type.toLowerCase() : undefined;
      if (normalized !== 'rotate' && normalized !== 'notify') {
        throw badParameter("A lifetime action's type must be Rotate or Notify.");
      }
      lifetimeActions.push({
        action: normalized === 'rotate' ? 'Rotate' : 'Notify',
        ...optionalString('timeAfterCreate', timeAfterCreate),
        ...optionalString('timeBeforeExpiry', timeBeforeExpiry),
      });
    }
  }
  const attributes = object.attributes == null ? {} : asObject(object.attributes);
  return { lifetimeActions, ...optionalString('expiryTime', attributes.expiryTime) };
}

// JSON `null` and an absent property both mean "not given" here, as they do for the service.
function parseWriteProperties(object: Record<string, unknown>): KeyWriteProperties {
  const props: KeyWriteProperties = {};
  if (object.tags != null) props.tags = parseTags(object.tags);
  if (object.key_ops != null) {
    if (!Array.isArray(object.key_ops) || object.key_ops.some((op) => typeof op !== 'string')) {
      throw badParameter("Property 'key_ops' must be an array of key operations.");
    }
    // Checked against the known operations by the store, which the direct API shares.
    props.keyOps = object.key_ops as KeyOperation[];
  }
  if (object.attributes != null) {
    const { enabled, nbf, exp, exportable } = asObject(object.attributes);
    if (enabled != null) {
      if (typeof enabled !== 'boolean') throw badParameter("Attribute 'enabled' must be a boolean.");
      props.enabled = enabled;
    }
    if (nbf != null) props.notBefore = parseUnixSeconds('nbf', nbf);
    if (exp != null) props.expiresOn = parseUnixSeconds('exp', exp);
    if (exportable === true) {
      throw notImplemented('The vault emulator does not implement exportable keys.');
    }
  }
  return props;
}

function parseAlgorithm(alg: unknown): string {
  if (typeof alg !== 'string' || alg === '') throw badParameter("Property 'alg' is required.");
  return alg;
}

function parseBase64Url(label: string, value: unknown): Buffer {
  // Buffer.from(..., 'base64url') skips characters it does not know; the service does not.
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*={0,2}$/.test(value)) {
    throw badParameter(`Property '${label}' is required and must be base64url.`);
  }
  return Buffer.from(value, 'base64url');
}

function optionalString<K extends string>(label: K, value: unknown): Partial<Record<K, string>> {
  if (value == null) return {};
  if (typeof value !== 'string') throw badParameter(`Property '${label}' must be a string.`);
  return { [label]: value } as Partial<Record<K, string>>;
}
