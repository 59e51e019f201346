import { createStorageServices } from '../../services';
import { listCompleteSnapshots, type ListedSnapshot } from '../../snapshots/snapshotListing';
import { AuthorDirectory, checkAuthorOption } from '../authorDirectory';
import { CliContext, EXIT_OK } from '../CliContext';
import { formatBytes, renderTable, terminalWidth, wrapText } from '../format';
import { describeErasure } from './erasures';
import { publicKeysFor } from './evidence';
import { parseDateOption } from './options';

export interface ListOptions {
  author?: string;
  since?: string;
  until?: string;
  json?: boolean;
}

/**
 * `gallery-export list`: complete snapshots, newest first, grouped by author: each author under its whole
 * ID and the labels of its secrets (read from the vault when KEY_VAULT_URL is set; listing needs only
 * storage, so without the vault the labels are left out).
 */
export async function listCommand(cli: CliContext, options: ListOptions): Promise<number> {
  if (options.author !== undefined) checkAuthorOption(options.author);
  const since = parseDateOption('--since', options.since);
  const until = parseDateOption('--until', options.until);
  const config = cli.config({ needsVault: false });
  const directory = new AuthorDirectory(cli, config);
  const authorId = options.author === undefined ? undefined : await directory.resolve(options.author);
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
  const width = terminalWidth(cli.io.stdout, cli.io.env);
  for (const erasure of erased)
    for (const line of wrapText(`Erased: ${describeErasure(erasure)}`, width, '', '  ')) cli.out(line);
  if (snapshots.length === 0) {
    cli.err(
      erased.length > 0
        ? `No complete snapshot of author ${authorId} is stored since (gallery-export erasures --author ${authorId}).`
        : 'No complete snapshots match.',
    );
    return EXIT_OK;
  }
  const labels = await directory.labels();
  const byAuthor = new Map<string, ListedSnapshot[]>();
  for (const snapshot of snapshots)
    byAuthor.set(snapshot.authorId, [...(byAuthor.get(snapshot.authorId) ?? []), snapshot]);
  let first = true;
  for (const [author, listed] of byAuthor) {
    if (!first) cli.out('');
    first = false;
    const names = labels?.get(author);
    for (const line of wrapText(`author ${names ? `${names.join(', ')}  ` : ''}${author}`, width, '', '  '))
      cli.out(line);
    cli.out(
      renderTable(['run', 'completed', 'entities', 'token', 'size'], listed.map(describeRow), { width }),
    );
  }
  for (const line of wrapText(
    `Each snapshot is in snapshots/<author ID>/<YYYY>/<MM>/<DD>/<run>/ (whole paths: gallery-export list --json).`,
    width,
  ))
    cli.out(line);
  const archived = snapshots.filter((snapshot) => snapshot.archived).length;
  const damaged = snapshots.filter((snapshot) => snapshot.damage !== undefined).length;
  const authors = byAuthor.size;
  cli.out(
    `${snapshots.length} complete snapshot(s) of ${authors} author(s)${archived > 0 ? `, ${archived} with its manifest in the Archive tier (rehydrate it to read or verify it)` : ''}${damaged > 0 ? `, ${damaged} whose manifest is not valid (gallery-export verify names what is wrong)` : ''}`,
  );
  return EXIT_OK;
}

function describeRow(snapshot: ListedSnapshot): string[] {
  if (snapshot.archived) return [snapshot.runId, 'manifest archived: rehydrate it to read it', '-', '-', '-'];
  if (snapshot.damage !== undefined)
    return [snapshot.runId, 'DAMAGED manifest (gallery-export verify says what is wrong)', '-', '-', '-'];
  const { manifest } = snapshot;
  return [
    snapshot.runId,
    manifest.completedAt.replace(/\.\d+Z$/, 'Z'),
    `${manifest.counts.entities} (${manifest.counts.unlisted} unlisted)`,
    manifest.token.status,
    formatBytes(manifest.files.reduce((sum, file) => sum + file.bytes, 0)),
  ];
}
