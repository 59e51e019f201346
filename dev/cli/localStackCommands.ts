import type { CliExtension } from '../../src/cli/main';
import type { DemoOptions } from './demoCommand';
import type { LocalOptions } from './localCommand';

/**
 * The embedded local stack's commands (`local`, `demo`), registered into the `gallery-export` program
 * from dev/: bin/gallery-export.js adds them when dev/ is built, and the deployed app never loads them.
 */
export const registerLocalStackCommands: CliExtension = (program, { cli, action }) => {
  program
    .command('local')
    .description(
      'start the embedded local stack and print the settings that point at it (runs until stopped)',
    )
    .option('--data <dir>', "Azurite's data folder", '.gallery-export/azurite')
    .option('--in-memory', "keep Azurite's data in memory only")
    .option('--blob-port <port>', 'Azurite blob port', '10000')
    .option('--queue-port <port>', 'Azurite queue port', '10001')
    .option('--catalog-port <port>', 'catalog simulator port', '4180')
    .option('--vault-port <port>', 'Key Vault emulator port', '4181')
    .option('--no-demo-authors', 'do not register the demo authors in the vault emulator')
    .option('--write-settings', 'write local.settings.json for `func start`')
    .option('--seed <n>', 'seed of the simulated faults')
    .option('--throttle-rate <p>', 'share of catalog requests answered 429')
    .option('--retry-after <s>', 'Retry-After seconds sent with 429')
    .option('--server-error-rate <p>', 'share answered 500/502/503/504')
    .option('--reset-rate <p>', 'share whose connection is reset')
    .option('--truncated-rate <p>', 'share whose body is cut short')
    .option('--malformed-rate <p>', 'share with a malformed body')
    .option('--latency <ms>', 'fixed latency of every answer')
    .option('--latency-jitter <ms>', 'extra random latency, up to this')
    .option('--churn-rate <p>', 'chance an entity is inserted or deleted before a list request')
    .option('--churn-max <n>', 'most churn events per author')
    .option('--churn-inserts-only', 'churn only inserts entities, created now (nothing is removed)')
    .option('--max-top <n>', 'largest $top the catalog serves')
    .option('--vault-transactions <n>', "Key Vault's limit: transactions per 10 s, 429 past it")
    .option('--refuse-orderby', 'the catalog answers $orderby with 400 (lists are read unordered)')
    .action(
      action<LocalOptions>(async (options) =>
        (await import('../../dev/cli/localCommand')).localCommand(cli, options),
      ),
    );

  program
    .command('demo', { hidden: true })
    .description('run one export on the embedded local stack (npm start)')
    .option('--data <dir>', "Azurite's data folder", '.gallery-export/azurite')
    .option('--copies <dir>', 'where checked copies of the snapshots go', 'gallery-export-demo')
    .action(
      action<DemoOptions>(async (options) =>
        (await import('../../dev/cli/demoCommand')).demoCommand(cli, options),
      ),
    );
};
