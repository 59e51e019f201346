import { randomBytes } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../contract/errors';
import { schemaProblems } from '../contract/schemas';
import { createBlobOnce, JSON_CONTENT_TYPE, readJsonBlob } from './blobDocuments';
import { serializeDocument, type AuthorOutcome, type RunRecord } from '../contract/formats';
import { compactUtcStamp } from '../contract/stamps';
import {
  isRunId,
  RUNS_ROOT,
  runAttemptPath,
  runClaimPath,
  runAttemptsPrefix,
  runOutcomePath,
  runOutcomesPrefix,
  runRecordPath,
} from '../contract/layout';
import { outcomeFromMetadata, outcomeMetadata, PARTIAL_METADATA } from './outcomeMetadata';
import { countSettled, startSettledTally } from './settledTally';
import { statusOf, storageError } from './storageErrors';

const MAX_UPDATE_ATTEMPTS = 20;

/** Blob metadata naming the update that wrote the run record (random, per attempt). */
const UPDATE_ATTEMPT_METADATA = 'updateattempt';

/** Which outcomes a listing needs: whole ones (finalising), or summaries are enough (a status read). */
export type OutcomeDetail = 'whole' | 'summary';

/** Which secret claimed an author in a run, and, when it is the caller, its lease on that claim. */
export interface AuthorClaim {
  claimedBy: string;
  hold?: { renew(signal?: AbortSignal): Promise<boolean>; release(): Promise<void> };
  madeNow?: boolean;
}

export class BlobRunStore {
  constructor(private readonly container: ContainerClient) {}

  async create(record: RunRecord, signal?: AbortSignal): Promise<{ createdOn: Date }> {
    const path = runRecordPath(record.runId);
    await createBlobOnce(this.container.getBlockBlobClient(path), serializeDocument(record), {
      tags: { runId: record.runId, kind: 'run' },
      signal,
    });
    // Storage's own clock, the one erasure markers are compared with (the upload's answer lacks it).
    return { createdOn: await this.createdOn(path, signal) };
  }

  async read(runId: string, signal?: AbortSignal): Promise<RunRecord | undefined> {
    return (await this.readWithEtag(runId, signal))?.record;
  }

  async readRun(
    runId: string,
    signal?: AbortSignal,
  ): Promise<{ record: RunRecord; createdOn: Date } | undefined> {
    const current = await this.readWithEtag(runId, signal);
    return current && { record: current.record, createdOn: current.createdOn };
  }

  async claimAuthor(
    runId: string,
    authorId: string,
    secretName: string,
    options: { leaseSeconds: number; signal?: AbortSignal | undefined },
  ): Promise<AuthorClaim> {
    const blob = this.container.getBlockBlobClient(runClaimPath(runId, authorId));
    let claimedBy = secretName;
    let madeNow = true;
    try {
      await createBlobOnce(blob, serializeDocument({ secretName }), {
        tags: { runId, kind: 'run' },
        signal: options.signal,
      });
    } catch (error) {
      if (!(error instanceof GalleryExportError && error.code === 'SNAPSHOT_EXISTS')) throw error;
      madeNow = false;
      const claim = await readJsonBlob<{ secretName?: unknown }>(this.container, blob.name, options.signal);
      if (claim.state === 'ok' && typeof claim.value.secretName === 'string')
        claimedBy = claim.value.secretName;
    }
    if (claimedBy !== secretName) return { claimedBy };
    // The claim is this secret's: one live delivery at a time holds it, so none cleans up another's files.
    let leaseId: string;
    const lease = blob.getBlobLeaseClient();
    try {
      leaseId =
        (await lease.acquireLease(options.leaseSeconds, { abortSignal: options.signal })).leaseId ?? '';
    } catch (error) {
      if (statusOf(error) === 409) {
        throw new GalleryExportError(
          'SNAPSHOT_BUSY',
          `Another delivery is still exporting ${secretName} in run ${runId}; this one leaves it alone`,
        );
      }
      // A try may have taken the lease with its answer lost: let go of it, or the next delivery would
      // find the claim held by nobody until the lease lapses.
      await lease.releaseLease().catch(() => undefined);
      throw storageError(error, 'claim', blob.name, 'STORAGE_UNAVAILABLE');
    }
    const holder = blob.getBlobLeaseClient(leaseId);
    return {
      claimedBy,
      madeNow,
      hold: {
        renew: async (signal?: AbortSignal) => {
          try {
            await holder.renewLease({ abortSignal: signal });
            return true;
          } catch (error) {
            const status = statusOf(error);
            if (status === 409 || status === 412) return false;
            throw storageError(error, 'renew the claim on', blob.name, 'STORAGE_UNAVAILABLE');
          }
        },
        release: async () => {
          await holder.releaseLease().catch(() => undefined);
        },
      },
    };
  }

  async update(
    runId: string,
    change: (record: RunRecord) => RunRecord | undefined | Promise<RunRecord | undefined>,
    signal?: AbortSignal,
  ): Promise<RunRecord> {
    const path = runRecordPath(runId);
    let refused: { attempt: string; record: RunRecord } | undefined;
    for (let attempt = 1; attempt <= MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.readWithEtag(runId, signal);
      if (!current) throw new GalleryExportError('RUN_NOT_FOUND', `No run record at ${path}`);
      // The refused write was this one after all: an earlier try of it landed and its answer was lost,
      // so the SDK's retry met the record that try had written. Applying the change again would make
      // the caller take its own write for another's (a finaliser would think someone else finalised).
      if (refused && current.metadata?.[UPDATE_ATTEMPT_METADATA] === refused.attempt) return refused.record;
      const next = await change(structuredClone(current.record));
      if (!next) return current.record;
      const body = serializeDocument(next);
      const updateAttempt = randomBytes(12).toString('hex');
      try {
        await this.container.getBlockBlobClient(path).upload(body, body.length, {
          conditions: { ifMatch: current.etag },
          blobHTTPHeaders: { blobContentType: JSON_CONTENT_TYPE },
          metadata: { [UPDATE_ATTEMPT_METADATA]: updateAttempt },
          tags: { runId, kind: 'run' },
          abortSignal: signal,
        });
        return next;
      } catch (error) {
        // Someone else updated it since we read it (or this write did, see above): read again.
        if (statusOf(error) === 412) {
          refused = { attempt: updateAttempt, record: next };
          continue;
        }
        throw storageError(error, 'update', path);
      }
    }
    throw new GalleryExportError(
      'RUN_RECORD_CONFLICT',
      `Gave up updating ${path}: too many concurrent updates`,
    );
  }

  async writeOutcome(
    runId: string,
    outcome: AuthorOutcome,
    signal?: AbortSignal,
  ): Promise<{ outcome: AuthorOutcome; created: boolean }> {
    const path = runOutcomePath(runId, outcome.secretName);
    try {
      await createBlobOnce(this.container.getBlockBlobClient(path), serializeDocument(outcome), {
        tags: { runId, kind: 'run' },
        metadata: outcomeMetadata(outcome),
        signal,
      });
      return { outcome, created: true };
    } catch (error) {
      if (error instanceof GalleryExportError && error.code === 'SNAPSHOT_EXISTS') {
        return {
          outcome: (await this.readOutcome(runId, outcome.secretName, signal)) ?? outcome,
          created: false,
        };
      }
      throw error;
    }
  }

  /** See `startSettledTally` in settledTally.ts. */
  startSettledTally(runId: string, queued: number, signal?: AbortSignal): Promise<void> {
    return startSettledTally(this.container, runId, queued, signal);
  }

  /** See `countSettled` in settledTally.ts. */
  countSettled(runId: string, signal?: AbortSignal): Promise<number | undefined> {
    return countSettled(this.container, runId, signal);
  }

  async readOutcome(
    runId: string,
    secretName: string,
    signal?: AbortSignal,
  ): Promise<AuthorOutcome | undefined> {
    return this.readJson<AuthorOutcome>(runOutcomePath(runId, secretName), signal);
  }

  async writeLastError(runId: string, outcome: AuthorOutcome, signal?: AbortSignal): Promise<void> {
    // One blob per attempt, created once: a failed delivery never overwrites what an earlier one recorded.
    const attempt = outcome.attempts ?? Date.now();
    try {
      await createBlobOnce(
        this.container.getBlockBlobClient(runAttemptPath(runId, outcome.secretName, attempt)),
        serializeDocument(outcome),
        {
          tags: { runId, kind: 'run' },
          signal,
        },
      );
    } catch (error) {
      if (error instanceof GalleryExportError && error.code === 'SNAPSHOT_EXISTS') return;
      throw error;
    }
  }

  async readLastError(
    runId: string,
    secretName: string,
    signal?: AbortSignal,
  ): Promise<AuthorOutcome | undefined> {
    const prefix = runAttemptsPrefix(runId, secretName);
    const names: string[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix, abortSignal: signal }))
        names.push(blob.name);
    } catch (error) {
      throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
    }
    const last = names.sort().at(-1);
    return last === undefined ? undefined : this.readJson<AuthorOutcome>(last, signal);
  }

  /**
   * Every outcome recorded in a run, from one listing of its folder: blobs are read only for outcomes
   * whose metadata does not hold them whole (written before outcomes carried metadata, or too large),
   * and with `detail: 'summary'` not even then.
   */
  async listOutcomes(
    runId: string,
    options: { signal?: AbortSignal | undefined; detail?: OutcomeDetail } = {},
  ): Promise<AuthorOutcome[]> {
    const { signal, detail = 'whole' } = options;
    const prefix = runOutcomesPrefix(runId);
    const listed: Array<{ name: string; fromMetadata: AuthorOutcome | undefined; partial: boolean }> = [];
    try {
      for await (const blob of this.container.listBlobsFlat({
        prefix,
        includeMetadata: true,
        abortSignal: signal,
      })) {
        // Outcomes sit directly in the run's folder; claims/, attempts/ and progress/ hold the rest.
        const file = blob.name.slice(prefix.length);
        if (file.includes('/') || !file.endsWith('.json')) continue;
        const fromMetadata = outcomeFromMetadata(blob.metadata, file.slice(0, -'.json'.length));
        listed.push({ name: blob.name, fromMetadata, partial: blob.metadata?.[PARTIAL_METADATA] === 'true' });
      }
    } catch (error) {
      throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
    }
    const outcomes = await Promise.all(
      listed.map(async ({ name, fromMetadata, partial }) =>
        fromMetadata && (!partial || detail === 'summary')
          ? fromMetadata
          : this.readJson<AuthorOutcome>(name, signal),
      ),
    );
    return outcomes.filter((outcome): outcome is AuthorOutcome => outcome !== undefined);
  }

  async listRunIds(options: { since?: Date; signal?: AbortSignal } = {}): Promise<string[]> {
    const ids: string[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({
        prefix: RUNS_ROOT,
        abortSignal: options.signal,
      })) {
        const match = /^runs\/\d{4}\/\d{2}\/\d{2}\/([^/]+)\.json$/.exec(blob.name);
        if (match && isRunId(match[1])) ids.push(match[1]);
      }
    } catch (error) {
      throw storageError(error, 'list', RUNS_ROOT, 'STORAGE_UNAVAILABLE');
    }
    const since = options.since?.getTime();
    return ids
      .filter((id) => since === undefined || id >= compactUtcStamp(new Date(since)))
      .sort()
      .reverse();
  }

  private async readWithEtag(
    runId: string,
    signal?: AbortSignal,
  ): Promise<
    | { record: RunRecord; etag: string; createdOn: Date; metadata?: Record<string, string> | undefined }
    | undefined
  > {
    const path = runRecordPath(runId);
    const blob = await readJsonBlob<RunRecord>(this.container, path, signal);
    if (blob.state === 'missing') return undefined;
    if (blob.state === 'unreadable')
      throw new GalleryExportError('SNAPSHOT_DAMAGED', `The run record ${path} is not readable JSON`);
    // No value of a stored record is used or shown before it is known to be a run record of this run.
    const invalid = schemaProblems('run', blob.value);
    if (invalid.length > 0 || blob.value.runId !== runId) {
      throw new GalleryExportError(
        'SNAPSHOT_DAMAGED',
        `The run record ${path} is not a valid run record${invalid.length > 0 ? ` (${invalid.slice(0, 3).join('; ')})` : ` of run ${runId}`}: restore it from an earlier blob version`,
      );
    }
    return { record: blob.value, etag: blob.etag, createdOn: blob.createdOn, metadata: blob.metadata };
  }

  private async createdOn(path: string, signal?: AbortSignal): Promise<Date> {
    try {
      const properties = await this.container.getBlockBlobClient(path).getProperties({ abortSignal: signal });
      return properties.createdOn ?? properties.lastModified ?? new Date();
    } catch (error) {
      throw storageError(error, 'read', path, 'STORAGE_UNAVAILABLE');
    }
  }

  /**
   * An outcome or attempt blob, valid against the outcome schema; one that is not JSON or not an outcome
   * counts as absent (it is rewritten by nobody).
   */
  private async readJson<T>(path: string, signal?: AbortSignal): Promise<T | undefined> {
    const blob = await readJsonBlob<T>(this.container, path, signal);
    return blob.state === 'ok' && schemaProblems('outcome', blob.value).length === 0 ? blob.value : undefined;
  }
}
