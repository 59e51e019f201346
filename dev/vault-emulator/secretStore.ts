import { randomBytes } from 'node:crypto';

import { badParameter, secretDeletedButRecoverable, secretNotFound } from './vaultError';

/**
 * One stored version of a secret. Times have whole-second precision because that is all the
 * service (and its wire format, Unix seconds) keeps; a `Date` seeded with milliseconds is
 * truncated, so what the store holds is exactly what a client reads back.
 */
export interface SecretVersionRecord {
  /** The name as first created; lookups ignore case, as Key Vault's do. */
  name: string;
  /** 32 lowercase hex digits, like the service's version ids. */
  version: string;
  value: string;
  enabled: boolean;
  notBefore?: Date;
  expiresOn?: Date;
  created: Date;
  updated: Date;
  tags?: Record<string, string>;
  contentType?: string;
}

/** The settable properties of a secret version; `undefined` means "not given". */
export interface SecretWriteProperties {
  /** @default true on create */
  enabled?: boolean;
  notBefore?: Date;
  expiresOn?: Date;
  tags?: Record<string, string>;
  contentType?: string;
}

/** A soft-deleted secret: all its versions, kept until purged. */
export interface DeletedSecretEntry {
  name: string;
  versions: SecretVersionRecord[];
  deletedDate: Date;
  scheduledPurgeDate: Date;
}

/** Limits the service enforces (Key Vault service limits and "About secrets"). */
export const MAX_SECRET_VALUE_BYTES = 25 * 1024;
export const MAX_CONTENT_TYPE_LENGTH = 255;
export const MAX_TAGS = 15;
/** Days a soft-deleted secret stays recoverable; the service default. */
export const SOFT_DELETE_RETENTION_DAYS = 90;

const SECRET_NAME_PATTERN = /^[0-9A-Za-z-]{1,127}$/;
const DAY_MS = 24 * 60 * 60 * 1000;

interface SecretEntry {
  name: string;
  /** Oldest first; the last one is the "latest" version the service serves without a version. */
  versions: SecretVersionRecord[];
}

/**
 * The emulator's in-memory vault: live secrets with all their versions, plus soft-deleted ones.
 * Transport-free so it can be used and reasoned about without HTTP. Methods return the stored
 * objects themselves; the public emulator API hands out copies.
 */
export class SecretStore {
  readonly #live = new Map<string, SecretEntry>();
  readonly #deleted = new Map<string, DeletedSecretEntry>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  /** Creates a new version (and the secret, if new). Throws a `VaultError` on invalid input. */
  set(name: string, value: string, props: SecretWriteProperties = {}): SecretVersionRecord {
    assertValidSecretName(name);
    assertValidValue(value);
    assertValidProperties(props);
    const key = keyOf(name);
    // The service keeps a soft-deleted name reserved until it is recovered or purged.
    if (this.#deleted.has(key)) throw secretDeletedButRecoverable(name);
    const entry = this.#live.get(key) ?? { name, versions: [] };
    const now = wholeSeconds(this.#now());
    const record: SecretVersionRecord = {
      name: entry.name,
      version: randomBytes(16).toString('hex'),
      value,
      enabled: props.enabled ?? true,
      created: now,
      updated: now,
    };
    applyProperties(record, props);
    entry.versions.push(record);
    this.#live.set(key, entry);
    return record;
  }

  /** The latest version, or the given one; `undefined` when either is unknown. */
  get(name: string, version?: string): SecretVersionRecord | undefined {
    const versions = this.#live.get(keyOf(name))?.versions;
    if (version === undefined) return versions?.at(-1);
    const wanted = version.toLowerCase();
    return versions?.find((v) => v.version === wanted);
  }

  /** All versions, oldest first, or `undefined` for an unknown secret. */
  versions(name: string): readonly SecretVersionRecord[] | undefined {
    return this.#live.get(keyOf(name))?.versions;
  }

  /** The latest version of every live secret, ordered by name (compared without case). */
  listLatest(): SecretVersionRecord[] {
    return [...this.#live.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([, entry]) => entry.versions.slice(-1));
  }

  /** Changes the properties of one version (the latest if `version` is omitted). */
  update(name: string, version: string | undefined, props: SecretWriteProperties): SecretVersionRecord {
    assertValidProperties(props);
    const record = this.get(name, version);
    if (!record) throw secretNotFound(name, version);
    applyProperties(record, props);
    record.updated = wholeSeconds(this.#now());
    return record;
  }

  /** Moves a secret to the deleted store, as a soft-delete-enabled vault does. */
  softDelete(name: string): DeletedSecretEntry | undefined {
    const key = keyOf(name);
    const entry = this.#live.get(key);
    if (!entry) return undefined;
    const deletedDate = wholeSeconds(this.#now());
    const deleted: DeletedSecretEntry = {
      name: entry.name,
      versions: entry.versions,
      deletedDate,
      scheduledPurgeDate: new Date(deletedDate.getTime() + SOFT_DELETE_RETENTION_DAYS * DAY_MS),
    };
    this.#live.delete(key);
    this.#deleted.set(key, deleted);
    return deleted;
  }

  getDeleted(name: string): DeletedSecretEntry | undefined {
    return this.#deleted.get(keyOf(name));
  }

  /** Permanently removes a soft-deleted secret. */
  purge(name: string): boolean {
    return this.#deleted.delete(keyOf(name));
  }

  /** Removes a secret whether live or soft-deleted, as delete-then-purge would. */
  remove(name: string): boolean {
    const key = keyOf(name);
    const removedLive = this.#live.delete(key);
    const removedDeleted = this.#deleted.delete(key);
    return removedLive || removedDeleted;
  }

  /** Names of live secrets, in listing order. */
  names(): string[] {
    return this.listLatest().map((r) => r.name);
  }
}

/** Key Vault secret names: 1-127 letters, digits and dashes. */
export function isValidSecretName(name: string): boolean {
  return SECRET_NAME_PATTERN.test(name);
}

export function assertValidSecretName(name: string): void {
  if (!isValidSecretName(name)) {
    throw badParameter(
      `The request URI contains an invalid name: ${name}. Secret names may contain only 1-127 letters, digits and dashes.`,
    );
  }
}

/** A copy that shares nothing with the store, so callers cannot change stored state. */
export function cloneRecord(record: SecretVersionRecord): SecretVersionRecord {
  return {
    ...record,
    created: new Date(record.created),
    updated: new Date(record.updated),
    ...(record.notBefore ? { notBefore: new Date(record.notBefore) } : {}),
    ...(record.expiresOn ? { expiresOn: new Date(record.expiresOn) } : {}),
    ...(record.tags ? { tags: { ...record.tags } } : {}),
  };
}

function keyOf(name: string): string {
  // Key Vault object identifiers are case-insensitive.
  return name.toLowerCase();
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function applyProperties(record: SecretVersionRecord, props: SecretWriteProperties): void {
  if (props.enabled !== undefined) record.enabled = props.enabled;
  if (props.notBefore !== undefined) record.notBefore = wholeSeconds(props.notBefore);
  if (props.expiresOn !== undefined) record.expiresOn = wholeSeconds(props.expiresOn);
  if (props.tags !== undefined) record.tags = { ...props.tags };
  if (props.contentType !== undefined) record.contentType = props.contentType;
}

function assertValidValue(value: unknown): asserts value is string {
  if (typeof value !== 'string') throw badParameter("Property 'value' must be a string.");
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_SECRET_VALUE_BYTES) {
    throw badParameter(`The secret value is ${bytes} bytes; the maximum is ${MAX_SECRET_VALUE_BYTES}.`);
  }
}

function assertValidProperties(props: SecretWriteProperties): void {
  if (props.enabled !== undefined && typeof props.enabled !== 'boolean') {
    throw badParameter("Attribute 'enabled' must be a boolean.");
  }
  for (const [label, date] of [
    ['nbf', props.notBefore],
    ['exp', props.expiresOn],
  ] as const) {
    if (date !== undefined && !(date instanceof Date && Number.isFinite(date.getTime()))) {
      throw badParameter(`Attribute '${label}' must be a valid time.`);
    }
  }
  if (props.contentType !== undefined) {
    if (typeof props.contentType !== 'string') throw badParameter("Property 'contentType' must be a string.");
    if (props.contentType.length > MAX_CONTENT_TYPE_LENGTH) {
      throw badParameter(`Property 'contentType' exceeds ${MAX_CONTENT_TYPE_LENGTH} characters.`);
    }
  }
  if (props.tags !== undefined) {
    const tags: unknown = props.tags;
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
      throw badParameter("Property 'tags' must be an object of strings.");
    }
    const entries = Object.entries(tags as Record<string, unknown>);
    if (entries.length > MAX_TAGS) throw badParameter(`A secret may have at most ${MAX_TAGS} tags.`);
    if (entries.some(([, v]) => typeof v !== 'string')) {
      throw badParameter("Property 'tags' must be an object of strings.");
    }
  }
}
