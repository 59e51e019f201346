import { resolve } from 'node:path';
import { describeProof } from '../../contract/proof';
import { writeBundleReport } from '../../report/writeBundleReport';
import { createStorageServices } from '../../services';
import { downloadSnapshot } from '../../snapshots/downloadSnapshot';
import { CliContext, EXIT_OK, usageError } from '../CliContext';
import { proofOptionsFor, type EvidenceOptions } from './evidence';
import { checkAuthorOption, parseRunOption, resolveAuthorOption } from './options';

export interface GetOptions extends EvidenceOptions {
  author?: string;
  run?: string;
  out?: string;
}

/**
 * `gallery-export get`: one snapshot as a subject-access bundle in a new folder, handed out only when it
 * is proven as `verify` would prove it (files, signature, chain link); otherwise nothing is written.
 */
export async function getCommand(cli: CliContext, options: GetOptions): Promise<number> {
  if (options.author === undefined) throw usageError('--author is required');
  if (options.out === undefined) throw usageError('--out is required (a new or empty folder)');
  checkAuthorOption(options.author);
  const runId = parseRunOption(options.run);
  const config = cli.config({ needsVault: false });
  const authorId = await resolveAuthorOption(cli, config, options.author);
  const proofOptions = await proofOptionsFor(config, options);
  const { container } = createStorageServices(config);
  const bundle = await downloadSnapshot(
    container,
    { authorId, runId, outDir: resolve(options.out), signal: cli.io.signal },
    proofOptions,
    // The same files, for a person: report.html (and its further pages for a large author).
    async (folder, proof) => {
      const report = await writeBundleReport(folder, proof.manifest, {
        proof: proof.summary,
        signal: cli.io.signal,
      });
      return report.files.map((file) => file.slice(folder.length + 1));
    },
  );
  cli.out(`Snapshot ${bundle.proof.location.runId} of author ${authorId} is in ${bundle.folder}:`);
  for (const file of bundle.files) cli.out(`  ${file}`);
  cli.out('Checked before it was handed out:');
  for (const line of describeProof(bundle.proof.summary)) cli.out(`  - ${line}`);
  cli.out('Open report.html to read it; README.txt says how to check the files again.');
  return EXIT_OK;
}
