import { userInfo } from 'node:os';
import { createStorageServices } from '../../services';
import { purgeAuthor } from '../../snapshots/purgeAuthor';
import { GENERATOR } from '../../version';
import { CliContext, EXIT_FAILED, EXIT_OK, usageError } from '../CliContext';
import { parseAuthorOption } from './options';

export interface PurgeOptions {
  author?: string;
  yes?: boolean;
  requestedBy?: string;
  json?: boolean;
}

/** `gallery-export purge --author <id> --yes`: erase every snapshot of an author, with an erasure record. */
export async function purgeCommand(cli: CliContext, options: PurgeOptions): Promise<number> {
  if (options.author === undefined) throw usageError('--author is required');
  const authorId = parseAuthorOption(options.author);
  if (!options.yes) {
    cli.err(
      `This erases every snapshot of author ${authorId} for good. Nothing was erased: add --yes to confirm.`,
    );
    return EXIT_FAILED;
  }
  const requestedBy = (options.requestedBy ?? safeUserName()).trim();
  if (requestedBy === '' || requestedBy.length > 200)
    throw usageError('--requested-by must be 1 to 200 characters');
  const { container, lock } = createStorageServices(cli.config({ needsVault: false }));
  const result = await purgeAuthor(container, lock, {
    authorId,
    requestedBy,
    now: () => new Date(),
    generator: GENERATOR,
    signal: cli.io.signal,
  });
  if (options.json) {
    cli.out(
      JSON.stringify(
        {
          erased: result.record !== undefined,
          erasureRecord: result.path ?? null,
          record: result.record ?? null,
        },
        null,
        2,
      ),
    );
  } else if (!result.record) {
    cli.out(`Nothing to erase: there are no snapshots of author ${authorId}.`);
  } else {
    const { deleted } = result.record;
    cli.out(
      `Erased ${deleted.snapshots} snapshot(s) of author ${authorId} (${deleted.blobs} blobs, ${deleted.bytes} bytes).`,
    );
    cli.out(`Erasure record: ${result.path}`);
  }
  return EXIT_OK;
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
