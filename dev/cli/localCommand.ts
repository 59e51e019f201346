import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { CatalogFaults } from '../catalog-simulator';
import { startLocalStack } from '../localStack';
import { LocalStackInUseError, PortInUseError } from '../stackLock';
import { DEFAULT_SETTINGS } from '../../src/contract/defaults';
import { CliContext, EXIT_OK, usageError } from '../../src/cli/CliContext';

export interface LocalOptions {
  data: string;
  inMemory?: boolean;
  blobPort: string;
  queuePort: string;
  catalogPort: string;
  vaultPort: string;
  demoAuthors: boolean;
  writeSettings?: boolean;
  seed?: string;
  throttleRate?: string;
  retryAfter?: string;
  serverErrorRate?: string;
  resetRate?: string;
  truncatedRate?: string;
  malformedRate?: string;
  latency?: string;
  latencyJitter?: string;
  churnRate?: string;
  churnMax?: string;
  churnInsertsOnly?: boolean;
  maxTop?: string;
  vaultTransactions?: string;
  refuseOrderby?: boolean;
}

/** `gallery-export local`: the embedded stack, kept running, with the settings that point at it. */
export async function localCommand(cli: CliContext, options: LocalOptions): Promise<number> {
  const faults = parseFaults(options);
  const vaultBudget = count('--vault-transactions', options.vaultTransactions);
  if (vaultBudget === 0) throw usageError('--vault-transactions must be at least 1');
  const stack = await startLocalStack({
    ...(options.inMemory ? {} : { azuriteLocation: resolve(options.data) }),
    azurite: {
      blobPort: port('--blob-port', options.blobPort),
      queuePort: port('--queue-port', options.queuePort),
    },
    catalog: {
      port: port('--catalog-port', options.catalogPort),
      faults,
      refuseOrderBy: options.refuseOrderby === true,
    },
    vaultPort: port('--vault-port', options.vaultPort),
  }).catch(explainStartFailure);
  try {
    if (vaultBudget !== undefined) {
      // Set before anything is registered: the demo authors' registration pays the budget too.
      stack.vault.setThrottle({ transactionsPerWindow: vaultBudget });
      cli.err(`The vault emulator serves ${vaultBudget} transactions per 10 s and answers 429 past that.`);
    }
    if (options.demoAuthors) {
      const registrations = await stack.registerDemoAuthors();
      const registered = registrations.filter((entry) => entry.expected !== 'erased');
      cli.err(
        `Registered ${registered.length} demo authors (${registered.map((entry) => entry.secretName).join(', ')})`,
      );
      for (const entry of registrations.filter((candidate) => candidate.expected === 'erased'))
        cli.err(
          `Not registered again: ${entry.secretName}, ${entry.note.replace(/^not registered again: /, '')}`,
        );
    }
    const settings = { ...stack.env, EXPORT_SCHEDULE: DEFAULT_SETTINGS.EXPORT_SCHEDULE };
    cli.err('The local stack is running. Point gallery-export at it with:');
    for (const [name, value] of Object.entries(settings)) cli.out(`export ${name}='${value}'`);
    if (options.writeSettings) {
      const localSettings = {
        IsEncrypted: false,
        Values: {
          FUNCTIONS_WORKER_RUNTIME: 'node',
          AzureWebJobsStorage: stack.azurite.connectionString,
          ...settings,
        },
      };
      await writeFile('local.settings.json', `${JSON.stringify(localSettings, null, 2)}\n`);
      cli.err('Wrote local.settings.json for `func start` (it is git-ignored).');
    }
    cli.err('Press Ctrl-C to stop.');
    await new Promise<void>((done) => {
      if (cli.io.signal.aborted) done();
      cli.io.signal.addEventListener('abort', () => done(), { once: true });
    });
    return EXIT_OK;
  } finally {
    await stack.stop();
  }
}

const PORT_OPTIONS: Record<PortInUseError['service'], string> = {
  blob: '--blob-port',
  queue: '--queue-port',
  catalog: '--catalog-port',
  vault: '--vault-port',
};

/**
 * Why the stack could not start, for a person: a data folder in use is a usage error whose message says
 * how to reach the stack using it; a port in use names the port, its option and the way out.
 */
export function explainStartFailure(error: unknown): never {
  if (error instanceof LocalStackInUseError) throw usageError(error.message);
  if (error instanceof PortInUseError) {
    throw new Error(
      `port ${error.port} (${PORT_OPTIONS[error.service]}) is in use on 127.0.0.1: another local stack or Azurite probably runs there. Use it (its settings are printed where it runs), stop it, or choose other ports (0 picks a free one: --blob-port 0 --queue-port 0 --catalog-port 0 --vault-port 0).`,
    );
  }
  throw error;
}

function port(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw usageError(`${name} must be a port number`);
  return parsed;
}

function rate(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1)
    throw usageError(`${name} must be a number from 0 to 1`);
  return parsed;
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw usageError(`${name} must be a whole number`);
  return parsed;
}

export function parseFaults(options: LocalOptions): CatalogFaults {
  const faults: CatalogFaults = {};
  const set = <K extends keyof CatalogFaults>(key: K, value: CatalogFaults[K] | undefined): void => {
    if (value !== undefined) faults[key] = value;
  };
  set('seed', count('--seed', options.seed));
  set('throttleRate', rate('--throttle-rate', options.throttleRate));
  set('retryAfterSeconds', count('--retry-after', options.retryAfter));
  set('serverErrorRate', rate('--server-error-rate', options.serverErrorRate));
  set('resetRate', rate('--reset-rate', options.resetRate));
  set('truncatedBodyRate', rate('--truncated-rate', options.truncatedRate));
  set('malformedBodyRate', rate('--malformed-rate', options.malformedRate));
  set('latencyMs', count('--latency', options.latency));
  set('latencyJitterMs', count('--latency-jitter', options.latencyJitter));
  set('maxTop', count('--max-top', options.maxTop));
  const churnRate = rate('--churn-rate', options.churnRate);
  if (churnRate !== undefined) {
    const maxEventsPerAuthor = count('--churn-max', options.churnMax);
    faults.churn = {
      rate: churnRate,
      ...(maxEventsPerAuthor === undefined ? {} : { maxEventsPerAuthor }),
      // New entities published during the export; nothing removed.
      ...(options.churnInsertsOnly ? { insertRatio: 1, insertedCreatedAt: 'now' as const } : {}),
    };
  } else if (options.churnInsertsOnly) {
    throw usageError('--churn-inserts-only needs --churn-rate');
  }
  return faults;
}
