import type { ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../contract/errors';
import { createBlobOnce, JSON_CONTENT_TYPE, readJsonBlob } from './blobDocuments';
import { serializeDocument, type AuthorOutcome, type RunRecord } from '../contract/formats';
import { compactUtcStamp } from '../contract/stamps';
import {
  isRunId,
  RUNS_ROOT,
  runAttemptPath,
  runAttemptsPrefix,
  runOutcomePath,
  runOutcomesPrefix,
  runRecordPath,
} from '../contract/layout';
import { statusOf, storageError } from './storageErrors';

const MAX_UPDATE_ATTEMPTS = 20;

export class BlobRunStore {
  constructor(private readonly container: ContainerClient) {}

  async create(record: RunRecord, signal?: AbortSignal): Promise<void> {
    await createBlobOnce(this.container.getBlockBlobClient(runRecordPath(record.runId)), serializeDocument(record), {
      tags: { runId: record.runId, kind: 'run' },
      signal,
    });
  }

  async read(runId: string, signal?: AbortSignal): Promise<RunRecord | undefined> {
    return (await this.readWithEtag(runId, signal))?.record;
  }

  async update(
    runId: string,
    change: (record: RunRecord) => RunRecord | undefined | Promise<RunRecord | undefined>,
    signal?: AbortSignal,
  ): Promise<RunRecord> {
    const path = runRecordPath(runId);
    for (let attempt = 1; attempt <= MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.readWithEtag(runId, signal);
      if (!current) throw new GalleryExportError('RUN_NOT_FOUND', `No run record at ${path}`);
      const next = await change(structuredClone(current.record));
      if (!next) return current.record;
      const body = serializeDocument(next);
      try {
        await this.container.getBlockBlobClient(path).upload(body, body.length, {
          conditions: { ifMatch: current.etag },
          blobHTTPHeaders: { blobContentType: JSON_CONTENT_TYPE },
          tags: { runId, kind: 'run' },
          abortSignal: signal,
        });
        return next;
      } catch (error) {
        // Someone else updated it since we read it: read again and re-apply the change.
        if (statusOf(error) === 412) continue;
        throw storageError(error, 'update', path);
      }
    }
    throw new GalleryExportError(
      'RUN_RECORD_CONFLICT',
      `Gave up updating ${path}: too many concurrent updates`,
    );
  }

  async writeOutcome(runId: string, outcome: AuthorOutcome, signal?: AbortSignal): Promise<AuthorOutcome> {
    const path = runOutcomePath(runId, outcome.secretName);
    try {
      await createBlobOnce(this.container.getBlockBlobClient(path), serializeDocument(outcome), {
        tags: { runId, kind: 'run' },
        signal,
      });
      return outcome;
    } catch (error) {
      if (error instanceof GalleryExportError && error.code === 'SNAPSHOT_EXISTS') {
        return (await this.readOutcome(runId, outcome.secretName, signal)) ?? outcome;
      }
      throw error;
    }
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

  async listOutcomes(runId: string, signal?: AbortSignal): Promise<AuthorOutcome[]> {
    const prefix = runOutcomesPrefix(runId);
    const names: string[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix, abortSignal: signal })) {
        // Outcomes sit directly in the run's folder; attempts/ holds the last errors of retried authors.
        if (!blob.name.slice(prefix.length).includes('/')) names.push(blob.name);
      }
    } catch (error) {
      throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
    }
    const outcomes = await Promise.all(names.map((name) => this.readJson<AuthorOutcome>(name, signal)));
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
  ): Promise<{ record: RunRecord; etag: string } | undefined> {
    const path = runRecordPath(runId);
    const blob = await readJsonBlob<RunRecord>(this.container, path, signal);
    if (blob.state === 'missing') return undefined;
    if (blob.state === 'unreadable')
      throw new GalleryExportError('SNAPSHOT_DAMAGED', `The run record ${path} is not readable JSON`);
    return { record: blob.value, etag: blob.etag };
  }

  /** An outcome or attempt blob; one that is not JSON counts as absent (it is rewritten by nobody). */
  private async readJson<T>(path: string, signal?: AbortSignal): Promise<T | undefined> {
    const blob = await readJsonBlob<T>(this.container, path, signal);
    return blob.state === 'ok' ? blob.value : undefined;
  }
}
