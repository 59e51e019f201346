import { join, relative, resolve } from 'node:path';
import { startLocalStack } from '../localStack';
import { runInProcess } from '../../src/export/runInProcess';
import { createStorageServices } from '../../src/services';
import { downloadSnapshot } from '../../src/snapshots/downloadSnapshot';
import { runRecordPath } from '../../src/contract/layout';
import { CliContext, EXIT_FAILED, EXIT_OK, usageError } from '../../src/cli/CliContext';
import { LocalStackInUseError } from '../stackLock';
import { renderRunSummary, renderTable, terminalWidth, wrapText } from '../../src/cli/format';
import { writeBundleReport } from '../../src/report/writeBundleReport';
import { proofOptionsFor } from '../../src/cli/commands/evidence';
import { RunProgress } from '../../src/cli/RunProgress';

export interface DemoOptions {
  data: string;
  /** Where checked copies of the snapshots go (a folder per run). */
  copies: string;
}

/**
 * `npm start`: the whole product on the embedded local stack. Starts Azurite, the catalog simulator and
 * the vault emulator, registers the demo authors, runs one export, prints what happened to each author
 * and where the snapshots are, and stops the stack. Some demo authors fail or are skipped on purpose.
 */
export async function demoCommand(cli: CliContext, options: DemoOptions): Promise<number> {
  const dataFolder = resolve(options.data);
  cli.err(`Starting the local stack (Azurite data in ${dataFolder})...`);
  const stack = await startLocalStack({ azuriteLocation: dataFolder }).catch((error: unknown) => {
    if (error instanceof LocalStackInUseError) {
      throw usageError(
        `${error.message}\nnpm start uses the same folder as npm run local: with that stack running, \`npx gallery-export run\` exports on it.`,
      );
    }
    throw error;
  });
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

    const width = terminalWidth(cli.io.stdout, cli.io.env);
    const line = (text: string): void => cli.out(wrapText(text, width, '', '    ').join('\n'));
    cli.out(renderRunSummary(record, { width }));
    cli.out('');
    const rows = registrations.map((registration) => {
      const outcome = record.authors.find((author) => author.secretName === registration.secretName);
      // An erased author is not registered again, so the run never sees it.
      const status = outcome?.status ?? (registration.expected === 'erased' ? 'erased' : 'missing');
      return [
        registration.secretName,
        status,
        status === registration.expected ? 'as expected' : `EXPECTED ${registration.expected}`,
        registration.note,
      ];
    });
    cli.out(renderTable(['secret', 'status', 'check', 'why'], rows, { width }));
    cli.out('');
    // Copies of the snapshots on disk, checked against their manifests, so the result can be opened now.
    const copies = resolve(options.copies, record.runId);
    const demoConfig = demo.config({ needsVault: false });
    const { container } = createStorageServices(demoConfig);
    const proofOptions = await proofOptionsFor(demoConfig, {});
    line(
      `Snapshots were written to Azurite, container "${stack.env.EXPORT_CONTAINER}" (its data stays in ${dataFolder}).`,
    );
    line(
      `Each complete one was proven (files, signature, chain link) and downloaded into ${copies} (open report.html):`,
    );
    for (const author of record.authors) {
      if (!author.snapshot || !author.authorId) continue;
      const label = author.secretName.replace(/^gallery-author-/, '');
      const bundle = await downloadSnapshot(
        container,
        {
          authorId: author.authorId,
          runId: record.runId,
          outDir: join(copies, label),
          signal: cli.io.signal,
        },
        proofOptions,
        async (folder, proof) =>
          (
            await writeBundleReport(folder, proof.manifest, { proof: proof.summary, signal: cli.io.signal })
          ).files.map((file) => file.slice(folder.length + 1)),
      );
      line(`  ${author.snapshot}  ->  ${relative(process.cwd(), bundle.folder) || bundle.folder}`);
    }
    line(`Run record: ${runRecordPath(record.runId)}`);
    line(
      'To browse the archive itself: `npm run local` (keeps the stack running), then `npx gallery-export list`.',
    );
    const asExpected = rows.every((row) => row[2] === 'as expected');
    return asExpected ? EXIT_OK : EXIT_FAILED;
  } finally {
    await stack.stop();
  }
}
