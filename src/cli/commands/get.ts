import { resolve } from 'node:path';
import { createStorageServices } from '../../services';
import { writeBundleReport } from '../../report/writeBundleReport';
import { downloadSnapshot } from '../../snapshots/downloadSnapshot';
import { CliContext, EXIT_OK, usageError } from '../CliContext';
import { parseAuthorOption, parseRunOption } from './options';

export interface GetOptions {
  author?: string;
  run?: string;
  out?: string;
}

/** `gallery-export get`: one snapshot as a subject-access bundle in a new folder. */
export async function getCommand(cli: CliContext, options: GetOptions): Promise<number> {
  if (options.author === undefined) throw usageError('--author is required');
  if (options.out === undefined) throw usageError('--out is required (a new or empty folder)');
  const authorId = parseAuthorOption(options.author);
  const runId = parseRunOption(options.run);
  const { container } = createStorageServices(cli.config({ needsVault: false }));
  const bundle = await downloadSnapshot(container, {
    authorId,
    runId,
    outDir: resolve(options.out),
    signal: cli.io.signal,
  });
  // The same files, for a person: report.html (and its further pages for a large author).
  const report = await writeBundleReport(bundle.folder, bundle.snapshot.manifest, { signal: cli.io.signal });
  cli.out(`Snapshot ${bundle.snapshot.runId} of author ${authorId} is in ${bundle.folder}:`);
  for (const file of [...bundle.files, ...report.files]) cli.out(`  ${file}`);
  cli.out(
    'Every file was checked against the manifest (see README.txt and SHA256SUMS); open report.html to read it.',
  );
  return EXIT_OK;
}
