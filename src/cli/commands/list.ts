import { shortAuthorId } from '../../contract/authorId';
import { createStorageServices } from '../../services';
import { listCompleteSnapshots } from '../../snapshots/snapshotListing';
import { CliContext, EXIT_OK } from '../CliContext';
import { formatBytes, renderTable, terminalWidth } from '../format';
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
  const { container } = createStorageServices(cli.config({ needsVault: false }));
  const snapshots = await listCompleteSnapshots(container, { authorId, since, until, signal: cli.io.signal });
  if (options.json) {
    cli.out(
      JSON.stringify(
        snapshots.map(({ authorId: author, runId, prefix, manifest }) => ({
          authorId: author,
          runId,
          path: prefix,
          completedAt: manifest.completedAt,
          trigger: manifest.trigger,
          token: manifest.token,
          includesUnlisted: manifest.includesUnlisted,
          counts: manifest.counts,
          bytes: manifest.files.reduce((sum, file) => sum + file.bytes, 0),
          warnings: manifest.warnings,
        })),
        null,
        2,
      ),
    );
    return EXIT_OK;
  }
  if (snapshots.length === 0) {
    cli.err('No complete snapshots match.');
    return EXIT_OK;
  }
  const rows = snapshots.map(({ manifest, prefix }) => [
    manifest.runId,
    shortAuthorId(manifest.authorId),
    manifest.completedAt.replace(/\.\d+Z$/, 'Z'),
    `${manifest.counts.entities} (${manifest.counts.unlisted} unlisted)`,
    manifest.token.status,
    formatBytes(manifest.files.reduce((sum, file) => sum + file.bytes, 0)),
    prefix,
  ]);
  cli.out(
    renderTable(['run', 'author', 'completed', 'entities', 'token', 'size', 'path'], rows, {
      width: terminalWidth(cli.io.stdout, cli.io.env),
    }),
  );
  cli.out(`${snapshots.length} complete snapshot(s)`);
  return EXIT_OK;
}
