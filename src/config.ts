import { DEFAULT_SETTINGS, defaultAuthorConcurrency, type SettingName } from './contract/defaults';
import type { Config, ExportMode, StorageConfig } from './contract/settings';
import { GalleryExportError } from './contract/errors';
import { isLoopbackHost } from './contract/loopback';

/**
 * Every setting gallery-export reads. This module is the only reader of `process.env` (callers pass the
 * environment in); `loadConfig` validates everything at once and names every missing or malformed
 * setting in one error. The defaults live in contract/defaults.ts.
 */
export { DEFAULT_SETTINGS };
export type { CatalogConfig, Config, ExportMode, StorageConfig } from './contract/settings';

/** The settings that shape a run and may be recorded in a run record: nothing secret, no URLs with keys. */
export function describeRunSettings(config: Config): Record<string, string | number> {
  return {
    CATALOG_BASE_URL: config.catalog.baseUrl,
    CATALOG_PAGE_SIZE: config.catalog.pageSize,
    CATALOG_CONCURRENCY: config.catalog.concurrency,
    CATALOG_MAX_RETRIES: config.catalog.maxRetries,
    CATALOG_TIMEOUT_MS: config.catalog.timeoutMs,
    AUTHOR_SECRET_PREFIX: config.authorSecretPrefix,
    AUTHOR_CONCURRENCY: config.authorConcurrency,
    EXPORT_CONTAINER: config.container,
    EXPORT_QUEUE: config.queue,
  };
}

type Env = Readonly<Record<string, string | undefined>>;

class SettingsReader {
  /** Every problem, with the setting it is about. */
  readonly problems: Array<{ setting: string; message: string }> = [];
  constructor(private readonly env: Env) {}

  problem(setting: string, message: string): void {
    this.problems.push({ setting, message });
  }

  raw(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  string(name: SettingName): string {
    return this.raw(name) ?? DEFAULT_SETTINGS[name];
  }

  required(name: string, hint: string): string {
    const value = this.raw(name);
    if (value === undefined) this.problem(name, `${name} is required (${hint})`);
    return value ?? '';
  }

  integer(name: SettingName, min: number, max: number): number {
    const text = this.string(name);
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problem(name, `${name} must be an integer from ${min} to ${max} (got ${shown(text)})`);
      return Number(DEFAULT_SETTINGS[name]);
    }
    return value;
  }

  url(name: string, value: string, options: { allowLoopbackHttp: boolean }): string {
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      // Never the value: a connection string or a key pasted into the wrong setting lands here.
      this.problem(name, `${name} is not a valid URL`);
      return value;
    }
    if (parsed.username || parsed.password || parsed.search || parsed.hash) {
      this.problem(name, `${name} must be a plain https URL without credentials, query or fragment`);
    } else if (parsed.protocol === 'http:') {
      if (!options.allowLoopbackHttp || !isLoopbackHost(parsed.hostname)) {
        this.problem(
          name,
          `${name} must use https (http:// is accepted only for 127.0.0.1 or localhost, got host "${parsed.hostname}")`,
        );
      }
    } else if (parsed.protocol !== 'https:') {
      this.problem(name, `${name} must be an https URL (got ${shown(parsed.protocol)})`);
    }
    return parsed.href.replace(/\/+$/, '');
  }
}

/**
 * A setting's value in an error message only when it cannot be a credential: short, and without the
 * characters of connection strings, keys, tokens and URLs with queries (`=`, `;`, `?`, `@`, `+`, `/`).
 */
function shown(value: string): string {
  return value.length <= 40 && /^[\w .:*,-]*$/.test(value) ? `"${value}"` : '(value not shown)';
}

const CONTAINER_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const SECRET_PREFIX = /^[A-Za-z0-9-]{1,100}$/;
const NCRONTAB_FIELDS = 6;
const MAX_QUEUE_NAME = 63;
const POISON_SUFFIX = '-poison';

export interface LoadConfigOptions {
  /** False for commands that never touch the vault (list, verify, get, purge). @default true */
  needsVault?: boolean;
  /** False for commands that never touch storage (register-author). @default true */
  needsStorage?: boolean;
  /**
   * False for callers that never export (every CLI command but `run`): the catalog's settings and the
   * export's own (AUTHOR_CONCURRENCY, AUTHOR_TIMEOUT_MS, EXPORT_SPOOL_DIR, EXPORT_QUEUE) are read with
   * their defaults standing in for a malformed value, and not reported. @default true
   */
  needsExport?: boolean;
  /** False for callers without the timer (the CLI): EXPORT_SCHEDULE and EXPORT_MODE likewise. @default true */
  needsTimer?: boolean;
}

/** The settings only an export reads, and those only the timer reads (see LoadConfigOptions). */
const EXPORT_SETTINGS: readonly string[] = [
  'CATALOG_BASE_URL',
  'CATALOG_PAGE_SIZE',
  'CATALOG_CONCURRENCY',
  'CATALOG_MAX_RETRIES',
  'CATALOG_TIMEOUT_MS',
  'AUTHOR_CONCURRENCY',
  'AUTHOR_TIMEOUT_MS',
  'EXPORT_SPOOL_DIR',
  'EXPORT_QUEUE',
];
const TIMER_SETTINGS: readonly string[] = ['EXPORT_SCHEDULE', 'EXPORT_MODE'];

export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): Config {
  const reader = new SettingsReader(env);
  const { needsVault = true, needsStorage = true, needsExport = true, needsTimer = true } = options;

  const baseUrl = reader.url('CATALOG_BASE_URL', reader.string('CATALOG_BASE_URL'), {
    allowLoopbackHttp: true,
  });
  const keyVaultRaw = needsVault
    ? reader.required('KEY_VAULT_URL', 'the vault holding one secret per author')
    : (reader.raw('KEY_VAULT_URL') ?? '');
  const keyVaultUrl = keyVaultRaw
    ? reader.url('KEY_VAULT_URL', keyVaultRaw, { allowLoopbackHttp: true })
    : '';

  const authorSecretPrefix = reader.string('AUTHOR_SECRET_PREFIX');
  if (!SECRET_PREFIX.test(authorSecretPrefix)) {
    reader.problem('AUTHOR_SECRET_PREFIX', 'AUTHOR_SECRET_PREFIX may hold only letters, digits and dashes');
  }

  const storage = readStorage(reader, needsStorage);

  const container = reader.string('EXPORT_CONTAINER');
  if (!CONTAINER_NAME.test(container)) {
    reader.problem(
      'EXPORT_CONTAINER',
      `EXPORT_CONTAINER ${shown(container)} is not a valid blob container name`,
    );
  }
  const queue = reader.string('EXPORT_QUEUE');
  if (!CONTAINER_NAME.test(queue))
    reader.problem('EXPORT_QUEUE', `EXPORT_QUEUE ${shown(queue)} is not a valid queue name`);
  else if (queue.length > MAX_QUEUE_NAME - POISON_SUFFIX.length) {
    // The host moves failed messages to <name>-poison, which must be a valid queue name too.
    reader.problem(
      'EXPORT_QUEUE',
      `EXPORT_QUEUE "${queue}" is longer than ${MAX_QUEUE_NAME - POISON_SUFFIX.length} characters, so its poison queue "${queue}${POISON_SUFFIX}" would not be a valid queue name`,
    );
  }

  const schedule = reader.string('EXPORT_SCHEDULE');
  if (schedule.split(/\s+/).length !== NCRONTAB_FIELDS) {
    reader.problem(
      'EXPORT_SCHEDULE',
      `EXPORT_SCHEDULE must be a 6-field NCRONTAB expression (got ${shown(schedule)})`,
    );
  }

  const config: Config = {
    catalog: {
      baseUrl,
      pageSize: reader.integer('CATALOG_PAGE_SIZE', 2, 1000),
      concurrency: reader.integer('CATALOG_CONCURRENCY', 1, 256),
      maxRetries: reader.integer('CATALOG_MAX_RETRIES', 0, 20),
      timeoutMs: reader.integer('CATALOG_TIMEOUT_MS', 100, 600_000),
    },
    keyVaultUrl,
    authorSecretPrefix,
    storage,
    container,
    queue,
    schedule,
    authorConcurrency: 0,
    authorTimeoutMs: reader.integer('AUTHOR_TIMEOUT_MS', 1000, 24 * 3600_000),
    runLockSeconds: reader.integer('RUN_LOCK_SECONDS', 15, 60),
    spoolDir: reader.raw('EXPORT_SPOOL_DIR'),
    exportMode: readExportMode(reader),
    signingKeyName: readSigningKeyName(reader),
    snapshotRetentionDays: reader.integer('SNAPSHOT_RETENTION_DAYS', 1, 36_500),
    // Set by App Service, never by hand: only then is x-ms-client-principal App Service's own.
    builtInAuthentication: (reader.raw('WEBSITE_AUTH_ENABLED') ?? '').trim().toLowerCase() === 'true',
  };
  config.authorConcurrency =
    reader.raw('AUTHOR_CONCURRENCY') === undefined
      ? defaultAuthorConcurrency(config.catalog.concurrency)
      : reader.integer('AUTHOR_CONCURRENCY', 1, 256);

  // A command reports only what it uses: `list` does not refuse to start over a schedule it never reads.
  const unused = new Set([...(needsExport ? [] : EXPORT_SETTINGS), ...(needsTimer ? [] : TIMER_SETTINGS)]);
  const problems = reader.problems
    .filter(({ setting }) => !unused.has(setting))
    .map(({ message }) => message);
  if (problems.length > 0) {
    throw new GalleryExportError('CONFIG', `Invalid settings:\n  - ${problems.join('\n  - ')}`, {
      details: { problems: problems.length },
    });
  }
  return config;
}

/** Key Vault key names: 1-127 letters, digits and dashes. */
const KEY_NAME = /^[A-Za-z0-9-]{1,127}$/;

function readSigningKeyName(reader: SettingsReader): string | undefined {
  const name = reader.raw('SIGNING_KEY_NAME');
  if (name !== undefined && !KEY_NAME.test(name)) {
    reader.problem(
      'SIGNING_KEY_NAME',
      'SIGNING_KEY_NAME must be a Key Vault key name (letters, digits and dashes)',
    );
  }
  return name;
}

function readExportMode(reader: SettingsReader): ExportMode {
  const mode = reader.string('EXPORT_MODE');
  if (mode !== 'queue' && mode !== 'inline') {
    reader.problem('EXPORT_MODE', `EXPORT_MODE must be "queue" or "inline" (got ${shown(mode)})`);
    return 'queue';
  }
  return mode;
}

function readStorage(reader: SettingsReader, required: boolean): StorageConfig {
  const connectionString = reader.raw('EXPORT_STORAGE');
  if (connectionString !== undefined) {
    if (
      !/^UseDevelopmentStorage=true$/i.test(connectionString) &&
      !/(AccountName|BlobEndpoint)=/i.test(connectionString)
    ) {
      reader.problem('EXPORT_STORAGE', 'EXPORT_STORAGE is not a storage connection string');
    }
    return { kind: 'connectionString', connectionString };
  }
  const accountName = reader.raw('EXPORT_STORAGE__accountName');
  const blobServiceUri =
    reader.raw('EXPORT_STORAGE__blobServiceUri') ??
    (accountName ? `https://${accountName}.blob.core.windows.net` : undefined);
  const queueServiceUri =
    reader.raw('EXPORT_STORAGE__queueServiceUri') ??
    (accountName ? `https://${accountName}.queue.core.windows.net` : undefined);
  if (blobServiceUri === undefined || queueServiceUri === undefined) {
    if (!required) return { kind: 'connectionString', connectionString: '' };
    reader.problem(
      'EXPORT_STORAGE',
      'EXPORT_STORAGE is required: a connection string, or EXPORT_STORAGE__blobServiceUri and EXPORT_STORAGE__queueServiceUri (or EXPORT_STORAGE__accountName) for a managed identity',
    );
    return { kind: 'connectionString', connectionString: '' };
  }
  return {
    kind: 'identity',
    blobServiceUri: reader.url('EXPORT_STORAGE__blobServiceUri', blobServiceUri, { allowLoopbackHttp: true }),
    queueServiceUri: reader.url('EXPORT_STORAGE__queueServiceUri', queueServiceUri, {
      allowLoopbackHttp: true,
    }),
    clientId: reader.raw('EXPORT_STORAGE__clientId'),
  };
}
