import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { GalleryExportError } from '../../contract/errors';
import { describeProof } from '../../contract/proof';
import { writeBundleReport } from '../../report/writeBundleReport';
import { createStorageServices } from '../../services';
import { downloadSnapshot } from '../../snapshots/downloadSnapshot';
import { CliContext, EXIT_OK, usageError } from '../CliContext';
import { proofOptionsFor, type EvidenceOptions } from './evidence';
import { checkAuthorOption, parseRunOption, resolveAuthorOption } from './options';

export interface ReportOptions extends EvidenceOptions {
  author?: string;
  /** A run ID or "latest". @default the latest complete snapshot */
  run?: string;
  /** The report's first page: a new file; further pages are written next to it. */
  out?: string;
}

/**
 * `gallery-export report`: the subject-access report of one snapshot, for operators, without the rest of
 * the bundle. The snapshot is proven and downloaded into a private temporary folder exactly as `get`
 * does it, rendered, and the folder removed, so only the report is left behind; a snapshot that fails its
 * proof gets no report at all.
 */
export async function reportCommand(cli: CliContext, options: ReportOptions): Promise<number> {
  if (options.author === undefined) throw usageError('--author is required');
  if (options.out === undefined) throw usageError('--out is required (a new .html file)');
  checkAuthorOption(options.author);
  const runId = parseRunOption(options.run);
  const outFile = resolve(options.out);
  // Fail before downloading anything; the renderer still creates every page exclusively.
  if (await exists(outFile)) {
    throw new GalleryExportError(
      'OUTPUT_NOT_EMPTY',
      `${outFile} exists already; choose a new file (nothing is overwritten)`,
    );
  }
  const config = cli.config({ needsVault: false });
  const authorId = await resolveAuthorOption(cli, config, options.author);
  const proofOptions = await proofOptionsFor(config, options);
  const { container } = createStorageServices(config);
  const work = await mkdtemp(join(tmpdir(), 'gallery-export-report-'));
  try {
    const bundle = await downloadSnapshot(
      container,
      { authorId, runId, outDir: join(work, 'bundle'), signal: cli.io.signal },
      proofOptions,
    );
    const { proof } = bundle;
    await mkdir(dirname(outFile), { recursive: true });
    const report = await writeBundleReport(bundle.folder, proof.manifest, {
      outFile,
      proof: proof.summary,
      completeListLocation: `${proof.location.prefix}entities.json in the archive (an operator downloads it, with the rest of the snapshot, with: gallery-export get --author ${authorId} --run ${proof.location.runId} --out <folder>)`,
      signal: cli.io.signal,
    });
    cli.out(
      `Report of snapshot ${proof.location.runId} of author ${authorId}: ${report.entities} entities on ${report.pages} page(s):`,
    );
    for (const file of report.files) cli.out(`  ${file}`);
    cli.out('Checked before the report was written:');
    for (const line of describeProof(proof.summary)) cli.out(`  - ${line}`);
    return EXIT_OK;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
