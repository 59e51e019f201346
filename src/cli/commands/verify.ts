import { createStorageServices } from '../../services';
import { verifySnapshots, type SnapshotVerification } from '../../snapshots/verifySnapshots';
import { CliContext, EXIT_FAILED, EXIT_OK } from '../CliContext';
import { parseAuthorOption, parseRunOption } from './options';

export interface VerifyOptions {
  author?: string;
  run?: string;
  json?: boolean;
}

/**
 * `gallery-export verify`: re-hash every file against its manifest; name each missing, changed or
 * unexpected file. Exit 0 when everything matches, 1 on any damage (or when the snapshot asked for by
 * --run does not exist).
 */
export async function verifyCommand(cli: CliContext, options: VerifyOptions): Promise<number> {
  const authorId = options.author === undefined ? undefined : parseAuthorOption(options.author);
  const runId = options.run === undefined ? undefined : parseRunOption(options.run);
  const { container, runs } = createStorageServices(cli.config({ needsVault: false }));
  const results = await verifySnapshots(
    container,
    runs,
    { authorId, runId, signal: cli.io.signal },
    (result) => {
      if (!options.json) report(cli, result);
    },
  );
  const damaged = results.filter((result) => result.status === 'damaged');
  const ok = results.filter((result) => result.status === 'ok');
  const incomplete = results.filter((result) => result.status === 'incomplete');
  if (options.json) {
    cli.out(
      JSON.stringify(
        { ok: ok.length, damaged: damaged.length, incomplete: incomplete.length, snapshots: results },
        null,
        2,
      ),
    );
  } else {
    cli.out(
      `${ok.length} snapshot(s) intact, ${damaged.length} damaged, ${incomplete.length} incomplete (never finished, ignored by readers)`,
    );
  }
  if (runId && ok.length + damaged.length === 0) {
    cli.err(`No complete snapshot in run ${runId}${authorId ? ` for author ${authorId}` : ''}.`);
    return EXIT_FAILED;
  }
  return damaged.length > 0 ? EXIT_FAILED : EXIT_OK;
}

function report(cli: CliContext, result: SnapshotVerification): void {
  if (result.status === 'ok') {
    cli.out(`OK        ${result.prefix} (${result.files} files, ${result.bytes} bytes)`);
  } else if (result.status === 'incomplete') {
    cli.out(`INCOMPLETE ${result.prefix} (no manifest; the run record says this export did not finish)`);
  } else {
    cli.out(`DAMAGED   ${result.prefix}`);
    for (const problem of result.problems)
      cli.out(`  ${problem.kind.padEnd(16)} ${problem.path}: ${problem.detail}`);
  }
}
