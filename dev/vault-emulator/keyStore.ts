import { randomBytes, type KeyObject } from 'node:crypto';

import {
  DEFAULT_RSA_KEY_SIZE,
  isRsaKeySize,
  RSA_KEY_SIZES,
  RSA_PUBLIC_EXPONENT,
  takeRsaKeyPair,
  type RsaKeyPair,
  type RsaKeySize,
} from './rsaKeyPool';
import {
  digestBytesFor,
  isRsaSignatureAlgorithm,
  signRsaDigest,
  verifyRsaDigest,
  type RsaSignatureAlgorithm,
} from './rsaSignature';
import { isValidSecretName, MAX_TAGS, SOFT_DELETE_RETENTION_DAYS } from './secretStore';
import {
  badParameter,
  keyDeletedButRecoverable,
  keyDisabled,
  keyNotFound,
  keyOperationForbidden,
  notImplemented,
} from './vaultError';

/** The key types the emulator creates. `RSA-HSM` keys are software keys here, like `RSA` ones. */
export const RSA_KEY_TYPES = ['RSA', 'RSA-HSM'] as const;
export type RsaKeyType = (typeof RSA_KEY_TYPES)[number];

/** The `key_ops` of an RSA key; a create without `key_ops` gets all of them, as from the service. */
export const KEY_OPERATIONS = ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey'] as const;
export type KeyOperation = (typeof KEY_OPERATIONS)[number];

/**
 * One stored version of a key: properties and the public half. Times have whole-second precision,
 * as on the wire. The private key is not here: the store keeps it apart, so no code that turns a
 * record into a response can send it.
 */
export interface KeyVersionRecord {
  /** The name as first created; lookups ignore case, as Key Vault's do. */
  name: string;
  /** 32 lowercase hex digits, like the service's version ids. */
  version: string;
  kty: RsaKeyType;
  keySize: RsaKeySize;
  keyOps: KeyOperation[];
  enabled: boolean;
  notBefore?: Date;
  expiresOn?: Date;
  created: Date;
  updated: Date;
  tags?: Record<string, string>;
  publicKey: KeyObject;
  /** Modulus, big-endian without leading zero bytes, base64url: the JWK `n`. */
  n: string;
  /** Public exponent, base64url: the JWK `e` (`AQAB`). */
  e: string;
}

/** The settable properties of a key version; `undefined` means "not given". */
export interface KeyWriteProperties {
  /** @default true on create */
  enabled?: boolean;
  notBefore?: Date;
  expiresOn?: Date;
  tags?: Record<string, string>;
  /** @default every operation in KEY_OPERATIONS, on create */
  keyOps?: KeyOperation[];
}

/** What a create request asks for. */
export interface KeyCreateProperties extends KeyWriteProperties {
  /** @default 'RSA' */
  kty?: RsaKeyType;
  /** @default 2048, as the service */
  keySize?: number;
  /** Only 65537 is accepted, as by the service. */
  publicExponent?: number;
}

/** One lifetime action of a rotation policy; exactly one of the two triggers is set. */
export interface KeyRotationLifetimeAction {
  action: 'Rotate' | 'Notify';
  /** ISO 8601 duration, e.g. `P90D`. */
  timeAfterCreate?: string;
  /** ISO 8601 duration, e.g. `P30D`. */
  timeBeforeExpiry?: string;
}

export interface KeyRotationPolicyRecord {
  lifetimeActions: KeyRotationLifetimeAction[];
  /** ISO 8601 duration: the `exp` a rotation gives the new version, counted from its creation. */
  expiryTime?: string;
  /** Unset for the default policy of a key nobody gave one. */
  created?: Date;
  updated?: Date;
}

/** A soft-deleted key: all its versions, kept until purged. */
export interface DeletedKeyEntry {
  name: string;
  versions: KeyVersionRecord[];
  deletedDate: Date;
  scheduledPurgeDate: Date;
}

/** Where key pairs come from; the module-level pool by default. */
export type RsaKeySource = (size: RsaKeySize) => Promise<RsaKeyPair>;

/**
 * What the service reports for a key that never had a rotation policy: notify 30 days before
 * expiry, and no automatic rotation.
 */
const DEFAULT_ROTATION_POLICY: KeyRotationPolicyRecord = {
  lifetimeActions: [{ action: 'Notify', timeBeforeExpiry: 'P30D' }],
};
const DAY_MS = 24 * 60 * 60 * 1000;
/** ISO 8601 durations of whole days or more; a rotation policy needs nothing finer. */
const DATE_DURATION_PATTERN = /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?$/;

interface KeyEntry {
  name: string;
  /** Oldest first; the last one is the "latest" version the service serves without a version. */
  versions: KeyVersionRecord[];
  rotationPolicy?: KeyRotationPolicyRecord;
}

/**
 * The emulator's in-memory keys: live keys with all their versions, plus soft-deleted ones, and
 * the private keys, which only `sign` uses and nothing returns. Transport-free, like SecretStore.
 */
export class KeyStore {
  readonly #live = new Map<string, KeyEntry>();
  readonly #deleted = new Map<string, DeletedKeyEntry>();
  readonly #privateKeys = new WeakMap<KeyVersionRecord, KeyObject>();
  readonly #now: () => Date;
  readonly #keySource: RsaKeySource;

  constructor(options: { now?: () => Date; keySource?: RsaKeySource } = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#keySource = options.keySource ?? takeRsaKeyPair;
  }

  /**
   * Creates a new version (and the key, if new) with a freshly generated RSA key pair. Everything
   * is checked before a pair is taken, so a refused request costs no key generation.
   */
  async create(name: string, props: KeyCreateProperties = {}): Promise<KeyVersionRecord> {
    assertValidKeyName(name);
    const { kty, keySize } = assertValidCreateProperties(props);
    this.#assertNameUsable(name);
    const pair = await this.#keySource(keySize);
    // The name may have been deleted while the pair was being generated.
    this.#assertNameUsable(name);
    return this.#addVersion(name, pair, { ...props, kty, keySize });
  }

  /**
   * A new version from a key pair the caller already has (the local stack keeps its signing key across
   * restarts this way, so snapshots signed yesterday still verify today), with a version of its own
   * choosing. Not part of the REST surface: the service's import takes a JWK, which nothing here needs.
   */
  import(name: string, pair: RsaKeyPair, version: string): KeyVersionRecord {
    assertValidKeyName(name);
    this.#assertNameUsable(name);
    const keySize = pair.publicKey.asymmetricKeyDetails?.modulusLength as RsaKeySize | undefined;
    if (keySize === undefined) throw new Error('Not an RSA key pair');
    const record = this.#addVersion(name, pair, { kty: 'RSA', keySize });
    record.version = version.toLowerCase();
    return record;
  }

  /**
   * A new version with the latest one's key type, size and operations, as `POST .../rotate` makes
   * (tags are not carried over); its `exp` follows the rotation policy's `expiryTime`, if any.
   */
  async rotate(name: string): Promise<KeyVersionRecord> {
    const entry = this.#entry(name);
    const latest = entry?.versions.at(-1);
    if (!entry || !latest) throw keyNotFound(name);
    const pair = await this.#keySource(latest.keySize);
    if (this.#entry(name) !== entry) throw keyNotFound(name);
    const record = this.#addVersion(name, pair, {
      kty: latest.kty,
      keySize: latest.keySize,
      keyOps: [...latest.keyOps],
    });
    const expiryTime = entry.rotationPolicy?.expiryTime;
    if (expiryTime !== undefined) record.expiresOn = addDuration(record.created, expiryTime);
    return record;
  }

  /** The latest version, or the given one; `undefined` when either is unknown. */
  get(name: string, version?: string): KeyVersionRecord | undefined {
    const versions = this.#entry(name)?.versions;
    if (version === undefined) return versions?.at(-1);
    const wanted = version.toLowerCase();
    return versions?.find((v) => v.version === wanted);
  }

  /** All versions, oldest first, or `undefined` for an unknown key. */
  versions(name: string): readonly KeyVersionRecord[] | undefined {
    return this.#entry(name)?.versions;
  }

  /** The latest version of every live key, ordered by name (compared without case). */
  listLatest(): KeyVersionRecord[] {
    return [...this.#live.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([, entry]) => entry.versions.slice(-1));
  }

  /** Names of live keys, in listing order. */
  names(): string[] {
    return this.listLatest().map((r) => r.name);
  }

  /** Changes the properties of one version (the latest if `version` is omitted). */
  update(name: string, version: string | undefined, props: KeyWriteProperties): KeyVersionRecord {
    assertValidWriteProperties(props);
    const record = this.get(name, version);
    if (!record) throw keyNotFound(name, version);
    applyProperties(record, props);
    record.updated = wholeSeconds(this.#now());
    return record;
  }

  /**
   * Signs a digest with one version's private key (the latest if `version` is omitted), refusing
   * as the service does: unknown key 404, disabled key or `sign` not in `key_ops` 403, an
   * algorithm or digest length that does not fit 400.
   */
  sign(
    name: string,
    version: string | undefined,
    algorithm: string,
    digest: Uint8Array,
  ): { record: KeyVersionRecord; signature: Buffer } {
    const record = this.#usableVersion(name, version, 'sign', algorithm, digest);
    const privateKey = this.#privateKeys.get(record);
    // Every record is created together with its private key; a missing one would be a store bug.
    if (!privateKey) throw new Error(`Key ${record.name}/${record.version} has no private key`);
    return { record, signature: signRsaDigest(privateKey, algorithm as RsaSignatureAlgorithm, digest) };
  }

  /** Checks a signature, with the same refusals as `sign` except that a disabled key may verify. */
  verify(
    name: string,
    version: string | undefined,
    algorithm: string,
    digest: Uint8Array,
    signature: Uint8Array,
  ): boolean {
    const record = this.#usableVersion(name, version, 'verify', algorithm, digest);
    return verifyRsaDigest(record.publicKey, algorithm as RsaSignatureAlgorithm, digest, signature);
  }

  /** The key's rotation policy, or the service's default for a key that has none. */
  getRotationPolicy(name: string): KeyRotationPolicyRecord {
    const entry = this.#entry(name);
    if (!entry) throw keyNotFound(name);
    return entry.rotationPolicy ?? DEFAULT_ROTATION_POLICY;
  }

  /** Replaces the rotation policy. Its triggers are stored and reported, never acted on. */
  setRotationPolicy(
    name: string,
    policy: Pick<KeyRotationPolicyRecord, 'lifetimeActions' | 'expiryTime'>,
  ): KeyRotationPolicyRecord {
    const entry = this.#entry(name);
    if (!entry) throw keyNotFound(name);
    assertValidRotationPolicy(policy);
    const now = wholeSeconds(this.#now());
    entry.rotationPolicy = {
      lifetimeActions: policy.lifetimeActions.map((action) => ({ ...action })),
      ...(policy.expiryTime !== undefined ? { expiryTime: policy.expiryTime } : {}),
      created: entry.rotationPolicy?.created ?? now,
      updated: now,
    };
    return entry.rotationPolicy;
  }

  /** Moves a key to the deleted store, as a soft-delete-enabled vault does. */
  softDelete(name: string): DeletedKeyEntry | undefined {
    const key = keyOf(name);
    const entry = this.#live.get(key);
    if (!entry) return undefined;
    const deletedDate = wholeSeconds(this.#now());
    const deleted: DeletedKeyEntry = {
      name: entry.name,
      versions: entry.versions,
      deletedDate,
      scheduledPurgeDate: new Date(deletedDate.getTime() + SOFT_DELETE_RETENTION_DAYS * DAY_MS),
    };
    this.#live.delete(key);
    this.#deleted.set(key, deleted);
    return deleted;
  }

  getDeleted(name: string): DeletedKeyEntry | undefined {
    return this.#deleted.get(keyOf(name));
  }

  /** Permanently removes a soft-deleted key; its private keys go with it. */
  purge(name: string): boolean {
    return this.#deleted.delete(keyOf(name));
  }

  /** Removes a key whether live or soft-deleted, as delete-then-purge would. */
  remove(name: string): boolean {
    const key = keyOf(name);
    const removedLive = this.#live.delete(key);
    const removedDeleted = this.#deleted.delete(key);
    return removedLive || removedDeleted;
  }

  #entry(name: string): KeyEntry | undefined {
    return this.#live.get(keyOf(name));
  }

  #assertNameUsable(name: string): void {
    // The service keeps a soft-deleted name reserved until it is recovered or purged.
    if (this.#deleted.has(keyOf(name))) throw keyDeletedButRecoverable(name);
  }

  #addVersion(
    name: string,
    pair: RsaKeyPair,
    props: KeyWriteProperties & { kty: RsaKeyType; keySize: RsaKeySize },
  ): KeyVersionRecord {
    const key = keyOf(name);
    const entry = this.#live.get(key) ?? { name, versions: [] };
    const jwk = pair.publicKey.export({ format: 'jwk' });
    if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw new Error('Not an RSA public key');
    const now = wholeSeconds(this.#now());
    const record: KeyVersionRecord = {
      name: entry.name,
      version: randomBytes(16).toString('hex'),
      kty: props.kty,
      keySize: props.keySize,
      keyOps: [...KEY_OPERATIONS],
      enabled: true,
      created: now,
      updated: now,
      publicKey: pair.publicKey,
      n: jwk.n,
      e: jwk.e,
    };
    applyProperties(record, props);
    this.#privateKeys.set(record, pair.privateKey);
    entry.versions.push(record);
    this.#live.set(key, entry);
    return record;
  }

  /** The version an operation applies to, after the checks `sign` and `verify` share. */
  #usableVersion(
    name: string,
    version: string | undefined,
    operation: 'sign' | 'verify',
    algorithm: string,
    digest: Uint8Array,
  ): KeyVersionRecord {
    const record = this.get(name, version);
    if (!record) throw keyNotFound(name, version);
    // Only the private-key operation is refused on a disabled key: verifying needs the public half.
    if (operation === 'sign' && !record.enabled) throw keyDisabled(operation);
    if (!record.keyOps.includes(operation)) throw keyOperationForbidden(operation);
    if (algorithm === 'RSNULL')
      throw notImplemented('The vault emulator does not implement RSNULL signatures.');
    if (!isRsaSignatureAlgorithm(algorithm)) {
      throw badParameter(`Algorithm ${algorithm} is not supported for ${operation} with an RSA key.`);
    }
    const expected = digestBytesFor(algorithm);
    if (digest.length !== expected) {
      throw badParameter(
        `The digest is ${digest.length} bytes; ${algorithm} needs a ${expected}-byte digest.`,
      );
    }
    return record;
  }
}

/** Key names follow the same rules as secret names: 1-127 letters, digits and dashes. */
export function assertValidKeyName(name: string): void {
  if (!isValidSecretName(name)) {
    throw badParameter(
      `The request URI contains an invalid name: ${name}. Key names may contain only 1-127 letters, digits and dashes.`,
    );
  }
}

/** Adds a `DATE_DURATION_PATTERN` duration in calendar units (UTC). */
export function addDuration(start: Date, duration: string): Date {
  const match = DATE_DURATION_PATTERN.exec(duration);
  if (!match)
    throw badParameter(`'${duration}' is not an ISO 8601 duration of years, months, weeks and days.`);
  const [, years, months, weeks, days] = match.map((part) => Number(part ?? 0));
  const end = new Date(start);
  end.setUTCFullYear(end.getUTCFullYear() + (years ?? 0), end.getUTCMonth() + (months ?? 0));
  end.setUTCDate(end.getUTCDate() + 7 * (weeks ?? 0) + (days ?? 0));
  return end;
}

function keyOf(name: string): string {
  // Key Vault object identifiers are case-insensitive.
  return name.toLowerCase();
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function applyProperties(record: KeyVersionRecord, props: KeyWriteProperties): void {
  if (props.enabled !== undefined) record.enabled = props.enabled;
  if (props.notBefore !== undefined) record.notBefore = wholeSeconds(props.notBefore);
  if (props.expiresOn !== undefined) record.expiresOn = wholeSeconds(props.expiresOn);
  if (props.tags !== undefined) record.tags = { ...props.tags };
  if (props.keyOps !== undefined) record.keyOps = [...new Set(props.keyOps)];
}

/**
 * Checks a `kty`: the RSA types pass; the other types Key Vault knows are answered 501, since the
 * emulator does not make them; anything else is a bad parameter.
 */
export function parseKeyType(kty: unknown): RsaKeyType {
  if ((RSA_KEY_TYPES as readonly unknown[]).includes(kty)) return kty as RsaKeyType;
  if (kty === 'EC' || kty === 'EC-HSM' || kty === 'oct' || kty === 'oct-HSM') {
    throw notImplemented(`The vault emulator creates RSA and RSA-HSM keys only, not ${kty}.`);
  }
  throw badParameter(
    `The key type '${String(kty)}' is not valid; use one of RSA, RSA-HSM, EC, EC-HSM, oct, oct-HSM.`,
  );
}

function assertValidCreateProperties(props: KeyCreateProperties): { kty: RsaKeyType; keySize: RsaKeySize } {
  const kty = parseKeyType(props.kty ?? 'RSA');
  const keySize = props.keySize ?? DEFAULT_RSA_KEY_SIZE;
  if (typeof keySize !== 'number' || !isRsaKeySize(keySize)) {
    throw badParameter(
      `The key size ${String(keySize)} is not supported for RSA keys; use one of ${RSA_KEY_SIZES.join(', ')}.`,
    );
  }
  if (props.publicExponent !== undefined && props.publicExponent !== RSA_PUBLIC_EXPONENT) {
    throw badParameter(`The public exponent must be ${RSA_PUBLIC_EXPONENT}.`);
  }
  assertValidWriteProperties(props);
  return { kty, keySize };
}

function assertValidWriteProperties(props: KeyWriteProperties): void {
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
  if (props.keyOps !== undefined) {
    const ops: unknown = props.keyOps;
    if (!Array.isArray(ops)) throw badParameter("Property 'key_ops' must be an array of key operations.");
    for (const op of ops as unknown[]) {
      if (!(KEY_OPERATIONS as readonly unknown[]).includes(op)) {
        throw badParameter(
          `The key operation '${String(op)}' is not valid for an RSA key; use any of ${KEY_OPERATIONS.join(', ')}.`,
        );
      }
    }
  }
  if (props.tags !== undefined) {
    const tags: unknown = props.tags;
    if (typeof tags !== 'object' || tags === null || Array.isArray(tags)) {
      throw badParameter("Property 'tags' must be an object of strings.");
    }
    const entries = Object.entries(tags as Record<string, unknown>);
    if (entries.length > MAX_TAGS) throw badParameter(`A key may have at most ${MAX_TAGS} tags.`);
    if (entries.some(([, v]) => typeof v !== 'string')) {
      throw badParameter("Property 'tags' must be an object of strings.");
    }
  }
}

function assertValidRotationPolicy(
  policy: Pick<KeyRotationPolicyRecord, 'lifetimeActions' | 'expiryTime'>,
): void {
  if (policy.expiryTime !== undefined) addDuration(new Date(0), policy.expiryTime);
  for (const action of policy.lifetimeActions) {
    if (action.action !== 'Rotate' && action.action !== 'Notify') {
      throw badParameter(`A lifetime action's type must be Rotate or Notify.`);
    }
    const triggers = [action.timeAfterCreate, action.timeBeforeExpiry].filter((t) => t !== undefined);
    if (triggers.length !== 1) {
      throw badParameter('A lifetime action needs exactly one of timeAfterCreate and timeBeforeExpiry.');
    }
    for (const trigger of triggers) addDuration(new Date(0), trigger);
  }
}
