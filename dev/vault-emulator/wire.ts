/**
 * Key Vault's JSON shapes for secrets (api-version 2025-07-01 and earlier 7.x), and the
 * conversions between them and the store's records, plus what keyWire.ts shares with them
 * (attributes parsing, paging tokens). Times on the wire are integer Unix seconds.
 */
import type { DeletedSecretEntry, SecretVersionRecord, SecretWriteProperties } from './secretStore';
import { SOFT_DELETE_RETENTION_DAYS } from './secretStore';
import { badParameter } from './vaultError';

/**
 * What a soft-delete-enabled vault without purge protection reports. Matches the emulator:
 * `DELETE` soft-deletes and a deleted secret can be purged.
 */
export const RECOVERY_LEVEL = 'Recoverable+Purgeable';

export interface WireSecretAttributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  recoverableDays: number;
  recoveryLevel: string;
}

/** A list item: properties only, never the value. */
export interface WireSecretItem {
  id: string;
  attributes: WireSecretAttributes;
  tags?: Record<string, string>;
  contentType?: string;
}

export interface WireSecretBundle extends WireSecretItem {
  value?: string;
}

export interface WireDeletedSecretBundle extends WireSecretBundle {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface WireListResult<T> {
  value: T[];
  /** Absolute URL of the next page; `null` on the last page, as the service sends it. */
  nextLink: string | null;
}

export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** `<vault>/secrets/<name>[/<version>]`: the SDK parses name and version back out of it. */
export function secretId(vaultUrl: string, name: string, version?: string): string {
  return `${vaultUrl}/secrets/${name}${version === undefined ? '' : `/${version}`}`;
}

function toAttributes(record: SecretVersionRecord): WireSecretAttributes {
  return {
    enabled: record.enabled,
    ...(record.notBefore ? { nbf: unixSeconds(record.notBefore) } : {}),
    ...(record.expiresOn ? { exp: unixSeconds(record.expiresOn) } : {}),
    created: unixSeconds(record.created),
    updated: unixSeconds(record.updated),
    recoverableDays: SOFT_DELETE_RETENTION_DAYS,
    recoveryLevel: RECOVERY_LEVEL,
  };
}

/**
 * A list item. The service identifies items of `GET /secrets` by base identifier (no version)
 * and items of `GET /secrets/{name}/versions` by full identifier.
 */
export function toSecretItem(
  vaultUrl: string,
  record: SecretVersionRecord,
  withVersion: boolean,
): WireSecretItem {
  return {
    id: secretId(vaultUrl, record.name, withVersion ? record.version : undefined),
    attributes: toAttributes(record),
    ...(record.tags ? { tags: { ...record.tags } } : {}),
    ...(record.contentType !== undefined ? { contentType: record.contentType } : {}),
  };
}

/** A full bundle; `PATCH` answers without the value, as the service does. */
export function toSecretBundle(
  vaultUrl: string,
  record: SecretVersionRecord,
  includeValue: boolean,
): WireSecretBundle {
  return {
    ...(includeValue ? { value: record.value } : {}),
    ...toSecretItem(vaultUrl, record, true),
  };
}

/** What `DELETE /secrets/{name}` and `GET /deletedsecrets/{name}` answer: the latest version, no value. */
export function toDeletedSecretBundle(
  vaultUrl: string,
  deleted: DeletedSecretEntry,
): WireDeletedSecretBundle {
  const latest = deleted.versions.at(-1);
  // A stored secret always has at least one version; an empty one would be a store bug.
  if (!latest) throw new Error(`Deleted secret ${deleted.name} has no versions`);
  return {
    ...toSecretBundle(vaultUrl, latest, false),
    recoveryId: `${vaultUrl}/deletedsecrets/${deleted.name}`,
    deletedDate: unixSeconds(deleted.deletedDate),
    scheduledPurgeDate: unixSeconds(deleted.scheduledPurgeDate),
  };
}

/** Parses the body of `PUT /secrets/{name}` (SecretSetParameters). */
export function parseSetParameters(body: unknown): { value: string; props: SecretWriteProperties } {
  const object = asObject(body);
  const value = object.value;
  if (typeof value !== 'string') throw badParameter("Property 'value' is required and must be a string.");
  return { value, props: parseCommonProperties(object) };
}

/** Parses the body of `PATCH /secrets/{name}/{version}` (SecretUpdateParameters). */
export function parseUpdateParameters(body: unknown): SecretWriteProperties {
  return parseCommonProperties(asObject(body));
}

export function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badParameter('The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

// JSON `null` and an absent property both mean "not given" here, as they do for the service.
function parseCommonProperties(object: Record<string, unknown>): SecretWriteProperties {
  const props: SecretWriteProperties = {};
  if (object.tags != null) props.tags = parseTags(object.tags);
  if (object.contentType != null) {
    if (typeof object.contentType !== 'string')
      throw badParameter("Property 'contentType' must be a string.");
    props.contentType = object.contentType;
  }
  if (object.attributes != null) {
    const attributes = object.attributes;
    if (typeof attributes !== 'object' || Array.isArray(attributes)) {
      throw badParameter("Property 'attributes' must be an object.");
    }
    const { enabled, nbf, exp } = attributes as Record<string, unknown>;
    if (enabled != null) {
      if (typeof enabled !== 'boolean') throw badParameter("Attribute 'enabled' must be a boolean.");
      props.enabled = enabled;
    }
    if (nbf != null) props.notBefore = parseUnixSeconds('nbf', nbf);
    if (exp != null) props.expiresOn = parseUnixSeconds('exp', exp);
  }
  return props;
}

export function parseTags(tags: unknown): Record<string, string> {
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
    throw badParameter("Property 'tags' must be an object of strings.");
  }
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(tags)) {
    if (typeof value !== 'string') throw badParameter(`Tag '${key}' must have a string value.`);
    result[key] = value;
  }
  return result;
}

export function parseUnixSeconds(label: string, value: unknown): Date {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw badParameter(
      `Attribute '${label}' must be an integer number of seconds since 1970-01-01T00:00:00Z.`,
    );
  }
  return new Date(value * 1000);
}

/**
 * Paging continuation. The token names the last item served rather than an offset, so a page
 * boundary stays correct when secrets are added or removed between pages.
 */
export function encodeSkipToken(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

export function decodeSkipToken(token: string): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (
      typeof parsed === 'object' &&
      parsed !== null &&
      typeof (parsed as { after?: unknown }).after === 'string'
    ) {
      return (parsed as { after: string }).after;
    }
  } catch {
    // Fall through to the uniform error below.
  }
  throw badParameter('The $skiptoken parameter is not valid.');
}
