import type { ContainerClient } from '@azure/storage-blob';
import { readErasureLedger, type StoredErasureRecord, type UnfinishedErasure } from './erasureLedger';
import { runStartedBefore } from './verifyChain';
import type { PublicKeyResolver, VerifyProblem } from './verifyTypes';

export interface ErasureEvidence {
  /** `<sha256 of author ID>:<runId>` for every snapshot an erasure record says was deleted. */
  erased: Set<string>;
  /**
   * The same, from signed records only (their signature holds, or was not checked for want of a key): a
   * gap in a signed author's chain came after signing began, so only a signed record explains it.
   */
  erasedBySigned: Set<string>;
  /** The records that count as evidence (their signature holds, or was not checked for want of a key). */
  records: StoredErasureRecord[];
  /** Erasures that began and were never finished. */
  unfinished: UnfinishedErasure[];
  /**
   * Erasure records that cannot be read or trusted, and unfinished erasures, each named with the command
   * that finishes it: one does not hide the others.
   */
  problems: VerifyProblem[];
}

/**
 * The erasure records as evidence for verify: a record explains the snapshots it lists as deleted only
 * when it is valid and its signature holds (or is required and present). An erasure that began and was
 * never finished is a problem of its own: the author's data may be half gone, and its registration too.
 */
export async function readErasureEvidence(
  container: ContainerClient,
  options: {
    /** Only this author's erasures. */
    authorIdSha256?: string | undefined;
    keys?: PublicKeyResolver | undefined;
    requireSignatures?: boolean | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<ErasureEvidence> {
  const ledger = await readErasureLedger(container, options);
  const erased = new Set<string>();
  const erasedBySigned = new Set<string>();
  const records: StoredErasureRecord[] = [];
  const problems: VerifyProblem[] = [...ledger.problems];
  for (const stored of ledger.records) {
    if (stored.signature.state === 'invalid') continue;
    if (stored.signature.state === 'unsigned' && options.requireSignatures) continue;
    // No erasure can delete a run that had not started when it completed: such a record is back-dated.
    const later = stored.record.deleted.runIds.filter(
      (runId) => !runStartedBefore(runId, Date.parse(stored.record.completedAt) + 1000),
    );
    if (later.length > 0) {
      problems.push({
        path: stored.path,
        kind: 'erasure-invalid',
        detail: `the erasure record completed on ${stored.record.completedAt} says it erased ${later.join(', ')}, which started later: it cannot be trusted`,
      });
      continue;
    }
    records.push(stored);
    const signed = stored.signature.state === 'verified' || stored.signature.state === 'not-checked';
    for (const runId of stored.record.deleted.runIds) {
      erased.add(`${stored.record.authorIdSha256}:${runId}`);
      if (signed) erasedBySigned.add(`${stored.record.authorIdSha256}:${runId}`);
    }
  }
  const unfinished = ledger.unfinished.map((erasure): VerifyProblem => ({
    path: erasure.markerPath,
    kind: 'erasure-unfinished',
    detail: `an erasure of ${erasure.plan ? `author ${erasure.plan.authorId}` : `the author whose ID has SHA-256 ${erasure.authorIdSha256}`} began on ${erasure.begunAt.toISOString()}${erasure.marker ? ` (requested by ${erasure.marker.requestedBy})` : ''} and has no erasure record: part of its data and registration may remain`,
    ...(erasure.plan ? { authorId: erasure.plan.authorId } : {}),
  }));
  return {
    erased,
    erasedBySigned,
    records,
    unfinished: ledger.unfinished,
    problems: [...problems, ...unfinished],
  };
}
