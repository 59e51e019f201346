import { authorIdDigest } from '../../contract/authorId';
import { createStorageServices } from '../../services';
import type { CompletedErasure } from '../../snapshots/BlobErasureStore';
import { readErasureLedger } from '../../snapshots/erasureLedger';
import { CliContext, EXIT_FAILED, EXIT_OK } from '../CliContext';
import { formatBytes, renderTable, terminalWidth } from '../format';
import { publicKeysFor, type EvidenceOptions } from './evidence';
import { checkAuthorOption, resolveAuthorOption } from './options';

export interface ErasuresOptions extends EvidenceOptions {
  author?: string;
  json?: boolean;
}

const SIGNATURE_WORDS: Record<CompletedErasure['signature'], string> = {
  verified: 'signature verified',
  'not-checked': 'signed (not checked: no public key)',
  unsigned: 'not signed',
  invalid: 'SIGNATURE INVALID',
};

/** One erasure record in a sentence, for `purge`, `list` and `verify` of an erased author. */
export function describeErasure(erasure: CompletedErasure): string {
  const { record } = erasure;
  const secrets = record.registration?.kept
    ? 'registration kept'
    : `${record.registration?.secretsRemoved.length ?? 0} Key Vault secret(s) deleted`;
  return `erasure ${record.erasureId}, completed ${record.completedAt}, requested by ${record.requestedBy}: ${record.deleted.snapshots} snapshot(s), ${record.deleted.blobs} blobs, ${formatBytes(record.deleted.bytes)} erased, ${secrets}; ${SIGNATURE_WORDS[erasure.signature]} (${erasure.path})`;
}

export function describeErasures(erasures: readonly CompletedErasure[]): string[] {
  return erasures.map(describeErasure);
}

/**
 * `gallery-export erasures [--author <id>]`: the erasure records, oldest first (when, who asked, what went,
 * whether the signature verifies), and every erasure that began and was not finished, with the command
 * that finishes it: what an officer shows a data owner who asks for proof that their data is gone.
 */
export async function erasuresCommand(cli: CliContext, options: ErasuresOptions): Promise<number> {
  if (options.author !== undefined) checkAuthorOption(options.author);
  const config = cli.config({ needsVault: false });
  const authorId =
    options.author === undefined ? undefined : await resolveAuthorOption(cli, config, options.author);
  const keys = await publicKeysFor(config, options.publicKey);
  const { container } = createStorageServices(config);
  const ledger = await readErasureLedger(container, {
    authorIdSha256: authorId ? authorIdDigest(authorId) : undefined,
    keys,
    signal: cli.io.signal,
  });
  const records = [...ledger.records].sort((a, b) => (a.record.completedAt < b.record.completedAt ? -1 : 1));
  if (options.json) {
    const complete = records.map((stored) => ({
      erasureId: stored.record.erasureId,
      status: 'complete',
      path: stored.path,
      authorIdSha256: stored.record.authorIdSha256,
      requestedAt: stored.record.requestedAt,
      completedAt: stored.record.completedAt,
      requestedBy: stored.record.requestedBy,
      deleted: stored.record.deleted,
      registration: stored.record.registration ?? null,
      signature: {
        state: stored.signature.state,
        verified: stored.signature.state === 'verified',
        ...('keyId' in stored.signature ? { keyId: stored.signature.keyId } : {}),
        ...('detail' in stored.signature ? { detail: stored.signature.detail } : {}),
      },
    }));
    const unfinished = ledger.unfinished.map((erasure) => ({
      erasureId: erasure.erasureId,
      status: 'unfinished',
      path: erasure.markerPath,
      authorIdSha256: erasure.authorIdSha256,
      requestedAt: erasure.marker?.requestedAt ?? erasure.begunAt.toISOString(),
      requestedBy: erasure.marker?.requestedBy ?? null,
      finishWith: `gallery-export purge --author ${erasure.plan?.authorId ?? authorId ?? '<authorId>'} --yes`,
    }));
    cli.out(JSON.stringify([...complete, ...unfinished], null, 2));
    return ledger.unfinished.length > 0 || ledger.problems.length > 0 ? EXIT_FAILED : EXIT_OK;
  }
  const width = terminalWidth(cli.io.stdout, cli.io.env);
  if (records.length === 0 && ledger.unfinished.length === 0) {
    cli.outLines(authorId ? `No erasure of author ${authorId} is recorded.` : 'No erasure is recorded.');
  } else if (records.length > 0) {
    cli.out(
      renderTable(
        ['erasure', 'completed', 'requested by', 'erased', 'registration', 'signature'],
        records.map((stored) => [
          stored.record.erasureId,
          stored.record.completedAt.replace(/\.\d+Z$/, 'Z'),
          stored.record.requestedBy,
          `${stored.record.deleted.snapshots} snapshot(s), ${stored.record.deleted.blobs} blobs, ${formatBytes(stored.record.deleted.bytes)}`,
          stored.record.registration?.kept
            ? 'kept'
            : stored.record.registration?.secretsRemoved.join(', ') || 'no secret',
          SIGNATURE_WORDS[stored.signature.state],
        ]),
        { width },
      ),
    );
  }
  for (const erasure of ledger.unfinished) {
    cli.outLines(
      `UNFINISHED erasure ${erasure.erasureId}, begun ${erasure.begunAt.toISOString()}${erasure.marker ? ` by ${erasure.marker.requestedBy}` : ''}: finish it with gallery-export purge --author ${erasure.plan?.authorId ?? authorId ?? "<the author's ID>"} --yes`,
    );
  }
  for (const problem of ledger.problems) cli.outLines(`PROBLEM ${problem.path}: ${problem.detail}`);
  cli.outLines(
    `${records.length} erasure record(s)${ledger.unfinished.length ? `, ${ledger.unfinished.length} unfinished` : ''}; signatures ${keys ? `checked with ${keys.source}` : 'not checked (no public key: SIGNING_KEY_NAME, or --public-key)'}. Records hold the SHA-256 of the author ID, never the ID.`,
  );
  return ledger.unfinished.length > 0 || ledger.problems.length > 0 ? EXIT_FAILED : EXIT_OK;
}
