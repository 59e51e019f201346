import { shortAuthorId } from '../../contract/authorId';
import { createStorageServices } from '../../services';
import { listCompleteSnapshots } from '../../snapshots/snapshotListing';
import { CliContext, EXIT_OK } from '../CliContext';
import { formatBytes, renderTable, terminalWidth, wrapText } from '../format';
import { describeErasure } from './erasures';
import { publicKeysFor } from './evidence';
import { parseAuthorOption, parseDateOption } from './options';

export interface ListOptions {
  author?: string;
  since?: string;
  until?: string;
  json?: boolean;
}

/** `gallery-export list`: complete snapshots, newest first. */
export async function listCommand(cli: CliContext, options: ListOptions): Promise<number> {
  const authorId = options.author === undefined ? undefined : parseAuthorOption(options.author);
  const since = parseDateOption('--since', options.since);
  const until = parseDateOption('--until', options.until);
  const config = cli.config({ needsVault: false });
  const { container, erasures } = createStorageServices(config);
  const snapshots = await listCompleteSnapshots(container, { authorId, since, until, signal: cli.io.signal });
  // An erased author has no snapshot: the erasure record says why, and when.
  const erased = authorId
    ? await erasures.completed(authorId, {
        keys: await publicKeysFor(config, undefined),
        signal: cli.io.signal,
      })
    : [];
  if (options.json) {
    cli.out(
      JSON.stringify(
        snapshots.map((snapshot) =>
          snapshot.archived
            ? { authorId: snapshot.authorId, runId: snapshot.runId, path: snapshot.prefix, archived: true }
            : snapshot.damage !== undefined
              ? {
                  authorId: snapshot.authorId,
                  runId: snapshot.runId,
                  path: snapshot.prefix,
                  archived: false,
                  damaged: snapshot.damage,
                }
              : {
                  authorId: snapshot.authorId,
                  runId: snapshot.runId,
                  path: snapshot.prefix,
                  archived: false,
                  completedAt: snapshot.manifest.completedAt,
                  trigger: snapshot.manifest.trigger,
                  token: snapshot.manifest.token,
                  includesUnlisted: snapshot.manifest.includesUnlisted,
                  counts: snapshot.manifest.counts,
                  bytes: snapshot.manifest.files.reduce((sum, file) => sum + file.bytes, 0),
                  warnings: snapshot.manifest.warnings,
                },
        ),
        null,
        2,
      ),
    );
    return EXIT_OK;
  }
  for (const erasure of erased) say(cli, `Erased: ${describeErasure(erasure)}`);
  if (snapshots.length === 0) {
    cli.err(
      erased.length > 0
        ? `No complete snapshot of author ${authorId} is stored since (gallery-export erasures --author ${authorId}).`
        : 'No complete snapshots match.',
    );
    return EXIT_OK;
  }
  const rows = snapshots.map((snapshot) =>
    snapshot.archived
      ? [snapshot.runId, shortAuthorId(snapshot.authorId), 'archived', '-', '-', '-', snapshot.prefix]
      : snapshot.damage !== undefined
        ? [
            snapshot.runId,
            shortAuthorId(snapshot.authorId),
            'DAMAGED manifest (run verify)',
            '-',
            '-',
            '-',
            snapshot.prefix,
          ]
        : [
            snapshot.runId,
            shortAuthorId(snapshot.authorId),
            snapshot.manifest.completedAt.replace(/\.\d+Z$/, 'Z'),
            `${snapshot.manifest.counts.entities} (${snapshot.manifest.counts.unlisted} unlisted)`,
            snapshot.manifest.token.status,
            formatBytes(snapshot.manifest.files.reduce((sum, file) => sum + file.bytes, 0)),
            snapshot.prefix,
          ],
  );
  cli.out(
    renderTable(['run', 'author', 'completed', 'entities', 'token', 'size', 'path'], rows, {
      width: terminalWidth(cli.io.stdout, cli.io.env),
    }),
  );
  const archived = snapshots.filter((snapshot) => snapshot.archived).length;
  const damaged = snapshots.filter((snapshot) => snapshot.damage !== undefined).length;
  cli.out(
    `${snapshots.length} complete snapshot(s)${archived > 0 ? `, ${archived} with its manifest in the Archive tier (rehydrate it to read or verify it)` : ''}${damaged > 0 ? `, ${damaged} whose manifest is not valid (gallery-export verify names what is wrong)` : ''}`,
  );
  return EXIT_OK;
}

/** Prose for a person: wrapped to the terminal, never cut (whole lines when not a terminal). */
function say(cli: CliContext, text: string, hanging = '  '): void {
  for (const line of wrapText(text, terminalWidth(cli.io.stdout, cli.io.env), '', hanging)) cli.out(line);
}
