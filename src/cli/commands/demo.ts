import { resolve } from 'node:path';
import { startLocalStack } from '../../../dev/localStack';
import { runInProcess } from '../../export/runs';
import { CliContext, EXIT_FAILED, EXIT_OK } from '../CliContext';
import { renderRunSummary, renderTable } from '../format';
import { RunProgress } from '../RunProgress';

export interface DemoOptions {
  data: string;
}

/**
 * `npm start`: the whole product on the embedded local stack. Starts Azurite, the catalog simulator and
 * the vault emulator, registers the demo authors, runs one export, prints what happened to each author
 * and where the snapshots are, and stops the stack. Some demo authors fail or are skipped on purpose.
 */
export async function demoCommand(cli: CliContext, options: DemoOptions): Promise<number> {
  const dataFolder = resolve(options.data);
  cli.err(`Starting the local stack (Azurite data in ${dataFolder})...`);
  const stack = await startLocalStack({ azuriteLocation: dataFolder });
  try {
    const registrations = await stack.registerDemoAuthors();
    cli.err(`Registered ${registrations.length} demo authors in the vault emulator at ${stack.vault.url}`);
    const demo = new CliContext({ ...cli.io, env: { ...cli.io.env, ...stack.env } });
    const record = await demo.withServices(async (services) => {
      await services.ensureStorage(cli.io.signal);
      const progress = new RunProgress(demo);
      try {
        return await runInProcess(services, {
          trigger: 'cli',
          signal: cli.io.signal,
          onEvent: progress.onEvent,
        });
      } finally {
        progress.stop();
      }
    });

    cli.out(renderRunSummary(record));
    cli.out('');
    const rows = registrations.map((registration) => {
      const outcome = record.authors.find((author) => author.secretName === registration.secretName);
      const status = outcome?.status ?? 'missing';
      return [
        registration.secretName,
        status,
        status === registration.expected ? 'as expected' : `EXPECTED ${registration.expected}`,
        registration.note,
      ];
    });
    cli.out(renderTable(['secret', 'status', 'check', 'why'], rows));
    cli.out('');
    cli.out(
      `Snapshots were written to Azurite, container "${stack.env.EXPORT_CONTAINER}", with Azurite's data kept in ${dataFolder}:`,
    );
    for (const author of record.authors.filter((entry) => entry.snapshot)) {
      cli.out(`  ${stack.azurite.blobEndpoint}/${stack.env.EXPORT_CONTAINER}/${author.snapshot}`);
    }
    cli.out(
      `Run record: runs/${record.runId.slice(0, 4)}/${record.runId.slice(4, 6)}/${record.runId.slice(6, 8)}/${record.runId}.json`,
    );
    cli.out(
      'Browse them with `npm run local` (keeps the stack running and prints its settings), then `gallery-export list` or `get`.',
    );
    const asExpected = rows.every((row) => row[2] === 'as expected');
    return asExpected ? EXIT_OK : EXIT_FAILED;
  } finally {
    await stack.stop();
  }
}
