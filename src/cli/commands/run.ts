import { runInProcess } from '../../export/runInProcess';
import { CliContext, EXIT_FAILED, EXIT_OK } from '../CliContext';
import { runRecordPath } from '../../contract/layout';
import { renderRunSummary, terminalWidth, wrapText } from '../format';
import { RunProgress } from '../RunProgress';
import { AuthorDirectory, checkAuthorOption } from '../authorDirectory';

export interface RunOptions {
  author?: string[];
  json?: boolean;
}

/** `gallery-export run`: a whole export in this process, with the same core as the functions. */
export async function runCommand(cli: CliContext, options: RunOptions): Promise<number> {
  for (const value of options.author ?? []) checkAuthorOption(value);
  const config = cli.config({ needsExport: true });
  const authorIds = await new AuthorDirectory(cli, config).resolveAll(options.author);
  return cli.withServices(async (services) => {
    await services.ensureStorage(cli.io.signal);
    const progress = new RunProgress(cli);
    let record;
    try {
      record = await runInProcess(services, {
        trigger: 'cli',
        authorIds,
        signal: cli.io.signal,
        onEvent: progress.onEvent,
      });
    } finally {
      progress.stop();
    }
    if (options.json) {
      const { lockLeaseId: _lease, ...publicRecord } = record;
      cli.out(JSON.stringify(publicRecord, null, 2));
    } else {
      const width = terminalWidth(cli.io.stdout, cli.io.env);
      cli.out(renderRunSummary(record, { width }));
      // The table wraps or leaves out nothing, but the record holds more (counts, times, every warning).
      for (const line of wrapText(
        `Every author's whole outcome is in the run record ${runRecordPath(record.runId)} in container ${config.container} (with --json, run prints it instead of the table).`,
        width,
      ))
        cli.out(line);
    }
    return record.status === 'complete' && !record.error ? EXIT_OK : EXIT_FAILED;
  });
}
