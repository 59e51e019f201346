import type { ContainerClient } from '@azure/storage-blob';
import { KeyVaultAuthorRegistry } from '../authors/KeyVaultAuthorRegistry';
import type { Config } from '../config';
import { normalizeAuthorId } from '../contract/authorId';
import { AUTHOR_LABEL, type AuthorSecretRef } from '../contract/authorSecret';
import { isGalleryExportError } from '../contract/errors';
import { SNAPSHOTS_ROOT } from '../contract/layout';
import { createStorageServices } from '../services';
import { storageCodeOf, storageError } from '../snapshots/storageErrors';
import { usageError, type CliContext } from './CliContext';

/** The fewest characters of an author ID accepted as a prefix of it. */
export const MIN_AUTHOR_ID_PREFIX = 6;

/** How long `list` waits for the vault's labels before it lists without them. */
const LABELS_TIMEOUT_MS = 10_000;

const HEX_PREFIX = new RegExp(`^[0-9A-Fa-f]{${MIN_AUTHOR_ID_PREFIX},63}$`);

/**
 * What `--author` may be: a whole author ID, a prefix of one (at least 6 hexadecimal characters), or the
 * label of a registered secret. Checked before anything starts: anything else is a usage error.
 */
export function checkAuthorOption(value: string | undefined, option = '--author'): string {
  const text = String(value ?? '').trim();
  if (normalizeAuthorId(text) || HEX_PREFIX.test(text) || AUTHOR_LABEL.test(text)) return text;
  throw usageError(
    `${option} "${text.slice(0, 80)}" is not an author ID (64 hexadecimal characters), a prefix of one (at least ${MIN_AUTHOR_ID_PREFIX}) or the label of a registered author (letters, digits and dashes)`,
  );
}

/**
 * The authors a person can name: the registrations in the vault (when KEY_VAULT_URL is set) and the
 * authors with snapshots in storage. Resolves `--author` values to whole IDs, each printed back in full
 * on stderr, and gives `list` the labels of the IDs it shows.
 */
export class AuthorDirectory {
  private registrations: Promise<AuthorSecretRef[]> | undefined;
  private registryClient: KeyVaultAuthorRegistry | undefined;

  constructor(
    private readonly cli: CliContext,
    private readonly config: Config,
  ) {}

  /** Every value of a repeatable --author as a whole ID; undefined when none was given. */
  async resolveAll(
    values: readonly string[] | undefined,
    option = '--author',
  ): Promise<string[] | undefined> {
    if (!values || values.length === 0) return undefined;
    const checked = values.map((value) => checkAuthorOption(value, option));
    const resolved: string[] = [];
    for (const value of checked) resolved.push(await this.resolve(value, option));
    return resolved;
  }

  async resolve(value: string | undefined, option = '--author'): Promise<string> {
    const text = checkAuthorOption(value, option);
    const whole = normalizeAuthorId(text);
    if (whole) return whole;
    if (HEX_PREFIX.test(text)) {
      const matches = await this.idsStartingWith(text.toUpperCase());
      if (matches.length === 1) return this.echo(text, matches[0]!);
      if (matches.length > 1) {
        throw usageError(
          `${option} ${text} is the start of ${matches.length} author IDs (${matches.join(', ')}): give more of the ID`,
        );
      }
    }
    if (!AUTHOR_LABEL.test(text)) {
      throw usageError(
        `${option} ${text}: no stored snapshot or registered author has an ID starting with it`,
      );
    }
    if (!this.config.keyVaultUrl) {
      throw usageError(
        `${option} ${text} is not the start of a stored author ID; as a label it needs KEY_VAULT_URL (the vault of the registrations), or give the whole author ID`,
      );
    }
    const ref = (await this.listRegistrations()).find(
      (candidate) => candidate.label.toLowerCase() === text.toLowerCase(),
    );
    if (!ref) {
      throw usageError(
        `${option} ${text}: no author is registered with that label in ${this.config.keyVaultUrl} and no stored author ID starts with it (gallery-export authors lists the registered authors; an erased author is named by its whole ID)`,
      );
    }
    const authorId =
      ref.taggedAuthorId ?? (await this.registry().readAuthor(ref.secretName, this.cli.io.signal)).authorId;
    return this.echo(text, authorId);
  }

  /**
   * The labels of each registered author ID, for display; undefined (with a warning saying why) when
   * KEY_VAULT_URL is not set or the vault cannot be read within a few seconds: listing needs only storage.
   */
  async labels(): Promise<Map<string, string[]> | undefined> {
    if (!this.config.keyVaultUrl) return undefined;
    const deadline = AbortSignal.timeout(LABELS_TIMEOUT_MS);
    try {
      const refs = await this.listRegistrations(AbortSignal.any([this.cli.io.signal, deadline]));
      const labels = new Map<string, string[]>();
      for (const ref of refs) {
        if (!ref.taggedAuthorId) continue;
        labels.set(ref.taggedAuthorId, [...(labels.get(ref.taggedAuthorId) ?? []), ref.label]);
      }
      return labels;
    } catch (error) {
      if (this.cli.io.signal.aborted) throw error;
      const why = deadline.aborted
        ? `Key Vault ${this.config.keyVaultUrl} did not answer within ${LABELS_TIMEOUT_MS / 1000} s`
        : error instanceof Error
          ? error.message
          : String(error);
      this.cli.err(`warning: labels are not shown: ${why}`);
      return undefined;
    }
  }

  /** The vault's author secrets, listed once per command. */
  listRegistrations(signal: AbortSignal = this.cli.io.signal): Promise<AuthorSecretRef[]> {
    this.registrations ??= this.registry().listAuthorSecrets(signal);
    return this.registrations;
  }

  registry(): KeyVaultAuthorRegistry {
    this.registryClient ??= new KeyVaultAuthorRegistry({
      vaultUrl: this.config.keyVaultUrl,
      secretPrefix: this.config.authorSecretPrefix,
      managedIdentityClientId:
        this.config.storage.kind === 'identity' ? this.config.storage.clientId : undefined,
    });
    return this.registryClient;
  }

  private echo(value: string, authorId: string): string {
    this.cli.err(`${value} is author ${authorId}`);
    return authorId;
  }

  /** The stored and registered author IDs that start with `prefix` (upper case), sorted. */
  private async idsStartingWith(prefix: string): Promise<string[]> {
    const found = new Set(await storedAuthorIds(this.storageContainer(), prefix, this.cli.io.signal));
    if (this.config.keyVaultUrl) {
      try {
        for (const ref of await this.listRegistrations())
          if (ref.taggedAuthorId?.startsWith(prefix)) found.add(ref.taggedAuthorId);
      } catch (error) {
        // A prefix storage answered alone is still an answer; say what was not checked.
        if (found.size !== 1 || !isGalleryExportError(error)) throw error;
        this.cli.err(`warning: the registered authors were not checked: ${error.message}`);
      }
    }
    return [...found].sort();
  }

  private storageContainer(): ContainerClient | undefined {
    const { storage } = this.config;
    if (storage.kind === 'connectionString' && storage.connectionString === '') return undefined;
    return createStorageServices(this.config).container;
  }
}

/** The author IDs with a folder under snapshots/ that start with `prefix`; none when the container is missing. */
async function storedAuthorIds(
  container: ContainerClient | undefined,
  prefix: string,
  signal: AbortSignal,
): Promise<string[]> {
  if (!container) return [];
  const ids: string[] = [];
  try {
    for await (const item of container.listBlobsByHierarchy('/', {
      prefix: `${SNAPSHOTS_ROOT}${prefix}`,
      abortSignal: signal,
    })) {
      const authorId = item.kind === 'prefix' ? normalizeAuthorId(item.name.split('/')[1]) : undefined;
      if (authorId) ids.push(authorId);
    }
  } catch (error) {
    if (storageCodeOf(error) === 'ContainerNotFound') return [];
    throw storageError(error, 'list', `${SNAPSHOTS_ROOT}${prefix}`, 'STORAGE_UNAVAILABLE');
  }
  return ids;
}
