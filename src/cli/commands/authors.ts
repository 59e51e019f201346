import type { AuthorSecretRef } from '../../contract/authorSecret';
import { reasonToSkip } from '../../contract/authorSecret';
import { isGalleryExportError } from '../../contract/errors';
import { snapshotPrefix } from '../../contract/layout';
import { assessToken, type TokenStatus } from '../../contract/tokenHealth';
import { mapWithConcurrency } from '../../export/mapWithConcurrency';
import { createStorageServices } from '../../services';
import { findLatestComplete } from '../../snapshots/latestSnapshot';
import { storageError } from '../../snapshots/storageErrors';
import { AuthorDirectory } from '../authorDirectory';
import { CliContext, EXIT_OK } from '../CliContext';
import { renderTable, terminalWidth, wrapText } from '../format';

export interface AuthorsOptions {
  json?: boolean;
}

/** One registration as `authors --json` prints it. */
export interface RegisteredAuthorView {
  label: string;
  secretName: string;
  /** From the secret's value, else its authorId tag; null when neither names a valid one. */
  authorId: string | null;
  enabled: boolean;
  notBefore: string | null;
  /** Why a run skips it (disabled, not yet valid); null when a run exports it. */
  skipped: string | null;
  /** The token's state as a run would judge it now; null when the value could not be read. */
  token: { status: TokenStatus; expiresAt: string | null } | null;
  secretExpiresOn: string | null;
  lastSnapshot: { runId: string; path: string } | null;
  /** Why the secret cannot be used (its value is not the contract's); null when it can. */
  problem: string | null;
  /** Other labels registered for the same author: a run exports the author once. */
  alsoRegisteredAs: string[];
}

/** Vault reads at once: a few, well inside Key Vault's limits. */
const READS_AT_ONCE = 4;

/**
 * `gallery-export authors`: every registered author (one Key Vault secret each): its label, whole ID,
 * token status and expiry, and its last complete snapshot: the platform engineer's first question after
 * `register-author`, and the place to see which token needs renewing. The token is read, judged and
 * dropped: it is never printed.
 */
export async function authorsCommand(cli: CliContext, options: AuthorsOptions): Promise<number> {
  const config = cli.config();
  const directory = new AuthorDirectory(cli, config);
  const refs = await directory.listRegistrations();
  const { container } = createStorageServices(config);
  const signal = cli.io.signal;
  let containerExists: boolean;
  try {
    containerExists = await container.exists({ abortSignal: signal });
  } catch (error) {
    throw storageError(error, 'read', `container ${config.container}`, 'STORAGE_UNAVAILABLE');
  }
  const now = new Date();
  const views: RegisteredAuthorView[] = new Array<RegisteredAuthorView>(refs.length);
  await mapWithConcurrency(refs, READS_AT_ONCE, async (ref, index) => {
    const view = await readRegistration(directory, ref, now, signal);
    if (view.authorId && containerExists) {
      const latest = await findLatestComplete(container, view.authorId, signal, now);
      if (latest)
        view.lastSnapshot = { runId: latest.runId, path: snapshotPrefix(view.authorId, latest.runId) };
    }
    views[index] = view;
  });
  for (const view of views) {
    view.alsoRegisteredAs = views
      .filter((other) => other !== view && other.authorId !== null && other.authorId === view.authorId)
      .map((other) => other.label);
  }

  if (options.json) {
    cli.out(JSON.stringify(views, null, 2));
    return EXIT_OK;
  }
  const width = terminalWidth(cli.io.stdout, cli.io.env);
  const say = (text: string): void => {
    for (const line of wrapText(text, width, '', '  ')) cli.out(line);
  };
  if (views.length === 0) {
    say(
      `No author is registered in ${config.keyVaultUrl} (secrets named ${config.authorSecretPrefix}<label>). Register one with: gallery-export register-author --label <label> --author-id <64 hex> --token-stdin`,
    );
    return EXIT_OK;
  }
  cli.out(
    renderTable(
      ['label', 'author ID', 'token', 'last complete snapshot'],
      views.map((view) => [
        view.label,
        view.authorId ?? '-',
        describeToken(view),
        view.lastSnapshot?.runId ?? (containerExists ? 'none yet' : 'none (no container yet)'),
      ]),
      { width, unbroken: [1] },
    ),
  );
  for (const view of views.filter((candidate) => candidate.alsoRegisteredAs.length > 0 && candidate.enabled))
    say(
      `note: ${view.label} names the same author as ${view.alsoRegisteredAs.join(', ')}: a run exports the author once, so keep one registration.`,
    );
  say(
    `${views.length} registered author(s) in ${config.keyVaultUrl}. To renew a token: printf %s "$TOKEN" | gallery-export register-author --label <label> --author-id <author ID> --token-stdin`,
  );
  return EXIT_OK;
}

async function readRegistration(
  directory: AuthorDirectory,
  ref: AuthorSecretRef,
  now: Date,
  signal: AbortSignal,
): Promise<RegisteredAuthorView> {
  const view: RegisteredAuthorView = {
    label: ref.label,
    secretName: ref.secretName,
    authorId: ref.taggedAuthorId ?? null,
    enabled: ref.enabled,
    notBefore: ref.notBefore?.toISOString() ?? null,
    skipped: reasonToSkip(ref, now) ?? null,
    token: null,
    secretExpiresOn: ref.expiresOn?.toISOString() ?? null,
    lastSnapshot: null,
    problem: null,
    alsoRegisteredAs: [],
  };
  // The vault does not hand out a disabled secret's value: its tag names the author.
  if (!ref.enabled) return view;
  try {
    const author = await directory.registry().readAuthor(ref.secretName, signal);
    const health = assessToken(author.accessToken, author.authorId, now, author.secretExpiresOn);
    view.authorId = author.authorId;
    view.token = { status: health.status, expiresAt: health.expiresAt ?? null };
  } catch (error) {
    if (!isGalleryExportError(error, 'AUTHOR_CONFIG')) throw error;
    view.problem = error.message;
    view.authorId = ref.taggedAuthorId ?? null;
  }
  return view;
}

function describeToken(view: RegisteredAuthorView): string {
  if (view.problem) return `SECRET UNUSABLE: ${view.problem}`;
  if (view.skipped) return `skipped: ${view.skipped}`;
  const token = view.token;
  if (!token) return '-';
  const until = token.expiresAt ? token.expiresAt.replace(/:\d\d(\.\d+)?Z$/, 'Z') : undefined;
  switch (token.status) {
    case 'valid':
      return until ? `valid until ${until}` : 'valid (no expiry)';
    case 'expired':
      return `EXPIRED${until ? ` ${until}` : ''}: public data only until renewed`;
    case 'absent':
      return 'none: public data only';
    case 'mismatch':
      return 'MISMATCH: the token names another author (it is not sent)';
    case 'unreadable':
      return 'UNREADABLE: not a gallery token (it is not sent)';
  }
}
