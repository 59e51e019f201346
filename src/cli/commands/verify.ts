import { runRecordPath } from '../../contract/layout';
import { createStorageServices } from '../../services';
import { nextStep } from '../../snapshots/nextSteps';
import {
  verifySnapshots,
  type SnapshotVerification,
  type VerifyProblem,
  type VerifyReport,
} from '../../snapshots/verifySnapshots';
import { CliContext, EXIT_FAILED, EXIT_OK, usageError } from '../CliContext';
import { formatBytes, terminalWidth, wrapText } from '../format';
import { describeErasure } from './erasures';
import { publicKeysFor, type EvidenceOptions } from './evidence';
import { checkAuthorOption, parseDateOption, parseRunOption, resolveAuthorOption } from './options';

export interface VerifyOptions extends EvidenceOptions {
  author?: string;
  /** A run ID, or "latest": the newest run that completed a snapshot. */
  run?: string;
  since?: string;
  until?: string;
  json?: boolean;
  /** Print only what is wrong, and a one-line total. */
  problems?: boolean;
}

/**
 * `gallery-export verify`: re-hash every file of the selected snapshots against its manifest, check every
 * signature (against the vault's key, or `--public-key` offline) and every chain link against the whole
 * archive; name each missing, changed, unexpected or unsigned file with its path and what to do about it.
 * Exit 0 when everything holds, 1 on any damage (or when the run asked for holds no snapshot).
 */
export async function verifyCommand(cli: CliContext, options: VerifyOptions): Promise<number> {
  if (options.author !== undefined) checkAuthorOption(options.author);
  const latestRun = options.run === 'latest';
  const runId = latestRun ? undefined : parseRunOption(options.run);
  const since = parseDateOption('--since', options.since);
  const until = parseDateOption('--until', options.until);
  const config = cli.config({ needsVault: false });
  const authorId =
    options.author === undefined ? undefined : await resolveAuthorOption(cli, config, options.author);
  const keys = await publicKeysFor(config, options.publicKey);
  if (options.requireSignatures && !keys) {
    throw usageError(
      '--require-signatures needs the public key: SIGNING_KEY_NAME and KEY_VAULT_URL, or --public-key <file.pem>',
    );
  }
  const { container, runs } = createStorageServices(config);
  const report = await verifySnapshots(container, runs, {
    authorId,
    runId,
    latestRun,
    since,
    until,
    signal: cli.io.signal,
    retentionDays: config.snapshotRetentionDays,
    keys,
    requireSignatures: options.requireSignatures,
  });
  const count = (status: SnapshotVerification['status']): number =>
    report.snapshots.filter((result) => result.status === status).length;
  const ok = count('ok');
  const damaged = count('damaged');
  const signatures = keys ? `checked with ${keys.source}` : 'not checked (no public key)';
  if (options.json) {
    const withNextStep = (problem: VerifyProblem, author?: string) => ({
      ...problem,
      next: nextStep(problem, author),
    });
    cli.out(
      JSON.stringify(
        {
          run: report.runId ?? null,
          erasures: (report.erasures ?? []).map((erasure) => ({
            path: erasure.path,
            erasureId: erasure.record.erasureId,
            completedAt: erasure.record.completedAt,
            requestedBy: erasure.record.requestedBy,
            signature: erasure.signature.state,
          })),
          ok,
          damaged,
          incomplete: count('incomplete'),
          archived: count('archived'),
          signatures,
          snapshots: report.snapshots.map((snapshot) => ({
            ...snapshot,
            problems: snapshot.problems.map((problem) => withNextStep(problem, snapshot.authorId)),
          })),
          problems: report.problems.map((problem) => withNextStep(problem)),
        },
        null,
        2,
      ),
    );
  } else {
    printReport(cli, report, { problemsOnly: options.problems === true });
    if (authorId) {
      for (const erasure of report.erasures ?? []) {
        const signature = erasure.signature.state === 'invalid' ? 'invalid' : erasure.signature.state;
        for (const line of wrapText(
          `erased: ${describeErasure({ path: erasure.path, record: erasure.record, signature })}`,
          terminalWidth(cli.io.stdout, cli.io.env),
          '',
          '  ',
        ))
          cli.out(line);
      }
    }
    if (!options.problems) cli.outLines(`Signatures ${signatures}.`);
    cli.outLines(describeTotal(report, keys !== undefined));
  }
  const selected = report.runId ?? runId;
  if ((runId || latestRun) && ok + damaged + count('archived') === 0) {
    cli.err(
      selected
        ? `No complete snapshot in run ${selected}${authorId ? ` of author ${authorId}` : ''}: nothing of it is stored; its run record (${runRecordPath(selected)}) says what the run did.`
        : `No complete snapshot is stored${authorId ? ` for author ${authorId}` : ''}.`,
    );
    return EXIT_FAILED;
  }
  return damaged > 0 || report.problems.length > 0 ? EXIT_FAILED : EXIT_OK;
}

/**
 * The snapshots grouped by author (the author's full ID once, as a heading), each on a short line; every
 * problem with its file, what is wrong and the next step, wrapped to the terminal rather than cut (full
 * paths are in --json).
 */
function printReport(cli: CliContext, report: VerifyReport, options: { problemsOnly: boolean }): void {
  const width = terminalWidth(cli.io.stdout, cli.io.env);
  const byAuthor = new Map<string, SnapshotVerification[]>();
  for (const snapshot of report.snapshots) {
    if (options.problemsOnly && snapshot.status !== 'damaged') continue;
    const list = byAuthor.get(snapshot.authorId) ?? [];
    list.push(snapshot);
    byAuthor.set(snapshot.authorId, list);
  }
  for (const authorId of [...byAuthor.keys()].sort()) {
    cli.out(`author ${authorId}`);
    const snapshots = byAuthor.get(authorId)!.sort((a, b) => (a.runId < b.runId ? 1 : -1));
    for (const snapshot of snapshots) {
      const head = `  ${snapshot.status.toUpperCase().padEnd(10)} ${snapshot.runId}`;
      for (const line of wrapText(`${head}  ${describeSnapshot(snapshot)}`, width, '', ' '.repeat(14)))
        cli.out(line);
      for (const problem of snapshot.problems) printProblem(cli, problem, snapshot, width);
      if (!options.problemsOnly)
        for (const note of snapshot.notes)
          for (const line of wrapText(`note: ${note}`, width, ' '.repeat(14), ' '.repeat(20))) cli.out(line);
    }
  }
  if (report.problems.length > 0) cli.out('elsewhere in the container');
  for (const problem of report.problems) printProblem(cli, problem, undefined, width);
}

function describeSnapshot(snapshot: SnapshotVerification): string {
  switch (snapshot.status) {
    case 'ok':
      return `${snapshot.files} files, ${formatBytes(snapshot.bytes)}${snapshot.signedBy ? ', signature verified' : ''}`;
    case 'incomplete':
      return 'no manifest: the export did not finish (readers ignore it)';
    case 'archived':
      return 'its manifest is in the Archive tier: rehydrate it to verify it';
    case 'damaged':
      return `${snapshot.problems.length} problem(s)`;
  }
}

function printProblem(
  cli: CliContext,
  problem: VerifyProblem,
  snapshot: SnapshotVerification | undefined,
  width: number | undefined,
): void {
  // Inside its snapshot's folder a file is named by its name; anything else by its whole path.
  const where =
    snapshot && problem.path.startsWith(snapshot.prefix) && problem.path !== snapshot.prefix
      ? problem.path.slice(snapshot.prefix.length)
      : problem.path;
  const indent = ' '.repeat(14);
  for (const line of wrapText(`${problem.kind}: ${where}: ${problem.detail}`, width, indent, `${indent}  `))
    cli.out(line);
  for (const line of wrapText(
    `next: ${nextStep(problem, snapshot?.authorId)}`,
    width,
    indent,
    `${indent}      `,
  ))
    cli.out(line);
}

function describeTotal(report: VerifyReport, signaturesChecked: boolean): string {
  const count = (status: SnapshotVerification['status']): number =>
    report.snapshots.filter((result) => result.status === status).length;
  const archived = count('archived');
  const parts = [
    `${count('ok')} intact`,
    `${count('damaged')} damaged`,
    `${count('incomplete')} incomplete`,
    ...(archived ? [`${archived} archived`] : []),
    ...(report.problems.length ? [`${report.problems.length} other problem(s)`] : []),
  ];
  return `${report.runId ? `Run ${report.runId}: ` : ''}${parts.join(', ')}; signatures ${signaturesChecked ? 'checked' : 'NOT checked'}.`;
}
