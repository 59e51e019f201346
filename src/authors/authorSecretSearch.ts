import type { SecretClient, SecretProperties } from '@azure/keyvault-secrets';
import { normalizeAuthorId } from '../contract/authorId';
import { parseAuthorSecret } from '../contract/authorSecret';
import { GalleryExportError } from '../contract/errors';

/** The secrets that register an author, and those that may but could not be read. */
export interface AuthorSecretsFound {
  /** Every secret under the prefix whose value or `authorId` tag names the author. */
  names: string[];
  /** Disabled secrets under the prefix not read (a preview changes nothing; reading one means enabling it). */
  unreadDisabled: string[];
}

/**
 * Tag put on a disabled secret for the moment a purge reads it, holding its notBefore (ISO 8601), so a
 * purge killed in that moment restores it the next time it looks (see `restoreReadSecrets`).
 */
export const PURGE_READ_TAG = 'galleryExportPurgeRead';
/** Set on a disabled secret while a purge reads it: no export uses a secret that is not valid yet. */
const NOT_VALID_BEFORE = new Date('9999-12-31T00:00:00Z');
/** A vault call that restores a secret gets its own time, whatever became of the purge's signal. */
const RESTORE_TIMEOUT_MS = 30_000;

type ReadValue = (
  name: string,
  version: string | undefined,
  signal?: AbortSignal,
) => Promise<string | undefined>;

/**
 * The secrets under `prefix` whose `authorId` tag or value names the author, enabled or disabled. A value
 * is read when the tag does not already say it names the author (a secret tagged for someone else may
 * still hold this author's ID). A disabled secret can only be read enabled: with `readDisabled` it is
 * enabled with a notBefore far in the future (so no export uses it meanwhile) and a tag remembering the
 * original notBefore, read, and disabled again at once with its notBefore restored; without, it is listed
 * as unread. Secrets outside the prefix are not authors and are never touched.
 */
export async function findAuthorSecrets(
  client: SecretClient,
  options: {
    authorId: string;
    prefix: string;
    readDisabled: boolean;
    readValue: ReadValue;
    vaultError: (error: unknown, action: string, signal?: AbortSignal) => GalleryExportError;
    signal?: AbortSignal | undefined;
  },
): Promise<AuthorSecretsFound> {
  const wanted = normalizeAuthorId(options.authorId);
  if (!wanted) throw new GalleryExportError('USAGE', 'An author ID must be 64 hexadecimal characters');
  const { signal } = options;
  const found: string[] = [];
  const toRead: SecretProperties[] = [];
  const unreadDisabled: string[] = [];
  try {
    for await (const properties of client.listPropertiesOfSecrets({ abortSignal: signal })) {
      if (properties.managed || !properties.name.startsWith(options.prefix)) continue;
      if (normalizeAuthorId(properties.tags?.authorId) === wanted) found.push(properties.name);
      else if (properties.enabled !== false && properties.tags?.[PURGE_READ_TAG] === undefined)
        toRead.push(properties);
      else if (options.readDisabled) toRead.push(properties);
      else unreadDisabled.push(properties.name);
    }
  } catch (error) {
    throw options.vaultError(error, 'list the author secrets', signal);
  }
  for (const properties of toRead) {
    const disabled = properties.enabled === false || properties.tags?.[PURGE_READ_TAG] !== undefined;
    const value = disabled
      ? await readDisabled(client, properties, options)
      : await options.readValue(properties.name, undefined, signal);
    if (value !== undefined && authorNamed(properties.name, value) === wanted) found.push(properties.name);
  }
  return { names: found.sort(), unreadDisabled: unreadDisabled.sort() };
}

function authorNamed(name: string, value: string): string | undefined {
  try {
    return parseAuthorSecret(name, value).authorId;
  } catch {
    return undefined;
  }
}

async function readDisabled(
  client: SecretClient,
  properties: SecretProperties,
  options: Parameters<typeof findAuthorSecrets>[1],
): Promise<string | undefined> {
  const { name, version } = properties;
  const { signal } = options;
  // A purge killed while it read this secret left its notBefore in the tag: that is the original.
  const left = properties.tags?.[PURGE_READ_TAG];
  const originalNotBefore = left !== undefined ? parseTime(left) : properties.notBefore;
  const originalTags = Object.fromEntries(
    Object.entries(properties.tags ?? {}).filter(([tag]) => tag !== PURGE_READ_TAG),
  );
  try {
    await client.updateSecretProperties(name, version ?? '', {
      enabled: true,
      notBefore: NOT_VALID_BEFORE,
      tags: { ...originalTags, [PURGE_READ_TAG]: originalNotBefore?.toISOString() ?? 'none' },
      abortSignal: signal,
    });
  } catch (error) {
    throw options.vaultError(error, `enable secret "${name}" for reading (it is disabled)`, signal);
  }
  try {
    return await options.readValue(name, version, signal);
  } finally {
    await restore(client, properties, originalNotBefore, originalTags, options);
  }
}

/** Disabled again, its notBefore back (one it never had becomes its creation time: valid from then on). */
async function restore(
  client: SecretClient,
  properties: SecretProperties,
  notBefore: Date | undefined,
  tags: Record<string, string>,
  options: Parameters<typeof findAuthorSecrets>[1],
): Promise<void> {
  const signal = AbortSignal.timeout(RESTORE_TIMEOUT_MS);
  try {
    await client.updateSecretProperties(properties.name, properties.version ?? '', {
      enabled: false,
      notBefore: notBefore ?? properties.createdOn,
      tags,
      abortSignal: signal,
    });
  } catch (error) {
    throw options.vaultError(
      error,
      `disable secret "${properties.name}" again after reading it (it is enabled but not valid before ${NOT_VALID_BEFORE.toISOString()}, so no run uses it; the next purge disables it)`,
      signal,
    );
  }
}

function parseTime(value: string): Date | undefined {
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time);
}
