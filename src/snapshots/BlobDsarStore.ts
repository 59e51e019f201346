import type { ContainerClient } from '@azure/storage-blob';
import type { AuditEntry, ErasureRequestEvent, ErasureRequestRecord } from '../contract/dsar';
import { GalleryExportError } from '../contract/errors';
import { serializeDocument } from '../contract/formats';
import {
  AUDIT_ROOT,
  auditEntryPath,
  erasureRequestEventPath,
  erasureRequestEventsPrefix,
  erasureRequestPath,
} from '../contract/layout';
import { utcDayStamp } from '../contract/stamps';
import { createBlobOnce } from './blobDocuments';
import { readDocument } from './erasureLedger';
import { storageError } from './storageErrors';

/**
 * What data-subject requests over HTTP leave in storage: each erasure request (before its queue message)
 * and its events, and the audit trail of every request. Every blob is created once and never changed: the
 * audit trail is append-only by construction (and by the container's versioning and soft delete).
 */
export class BlobDsarStore {
  constructor(private readonly container: ContainerClient) {}

  /** Stores a request once; false when one is stored under that erasure ID already (it stays). */
  createRequest(request: ErasureRequestRecord, signal?: AbortSignal): Promise<boolean> {
    return this.createOnce(
      erasureRequestPath(request.erasureId),
      serializeDocument(request),
      'erasure',
      signal,
    );
  }

  async readRequest(erasureId: string, signal?: AbortSignal): Promise<ErasureRequestRecord | undefined> {
    const path = erasureRequestPath(erasureId);
    const stored = await readDocument<ErasureRequestRecord>(
      this.container,
      path,
      'erasure-request-record',
      signal,
    );
    if ('value' in stored) return stored.value;
    if (stored.problem === 'is gone') return undefined;
    throw new GalleryExportError('SNAPSHOT_DAMAGED', `The erasure request ${path} ${stored.problem}`);
  }

  async addEvent(erasureId: string, event: ErasureRequestEvent, signal?: AbortSignal): Promise<void> {
    await this.createOnce(
      erasureRequestEventPath(erasureId, new Date(event.at), event.kind),
      serializeDocument(event),
      'erasure',
      signal,
    );
  }

  /** The request's events, oldest first; one that is not a valid event is left out (and named in the log by callers). */
  async events(erasureId: string, signal?: AbortSignal): Promise<ErasureRequestEvent[]> {
    const prefix = erasureRequestEventsPrefix(erasureId);
    const names: string[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix, abortSignal: signal }))
        names.push(blob.name);
    } catch (error) {
      throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
    }
    const events: ErasureRequestEvent[] = [];
    for (const name of names.sort()) {
      const stored = await readDocument<ErasureRequestEvent>(
        this.container,
        name,
        'erasure-request-event',
        signal,
      );
      if ('value' in stored) events.push(stored.value);
    }
    return events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  }

  /** Appends one audit entry (a new blob; an entry is never changed); false when its ID is taken. */
  audit(entry: AuditEntry, signal?: AbortSignal): Promise<boolean> {
    return this.createOnce(auditEntryPath(entry.id), serializeDocument(entry), 'audit', signal);
  }

  /** Audit entries, oldest first, from `since` (a day, UTC) on; one that is not valid is named, not shown. */
  async listAudit(
    options: { since?: Date | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<Array<{ path: string; entry: AuditEntry } | { path: string; problem: string }>> {
    const since = options.since ? utcDayStamp(options.since) : undefined;
    const names: string[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({
        prefix: AUDIT_ROOT,
        abortSignal: options.signal,
      })) {
        const day = /^audit\/(\d{4})\/(\d{2})\/(\d{2})\//.exec(blob.name);
        if (since && day && `${day[1]}${day[2]}${day[3]}` < since) continue;
        names.push(blob.name);
      }
    } catch (error) {
      throw storageError(error, 'list', AUDIT_ROOT, 'STORAGE_UNAVAILABLE');
    }
    const entries: Array<{ path: string; entry: AuditEntry } | { path: string; problem: string }> = [];
    for (const path of names.sort()) {
      const stored = await readDocument<AuditEntry>(this.container, path, 'audit-entry', options.signal);
      entries.push(
        'value' in stored
          ? { path, entry: stored.value }
          : { path, problem: `the audit entry ${stored.problem}` },
      );
    }
    return entries;
  }

  private async createOnce(
    path: string,
    bytes: Buffer,
    kind: string,
    signal?: AbortSignal,
  ): Promise<boolean> {
    try {
      await createBlobOnce(this.container.getBlockBlobClient(path), bytes, { tags: { kind }, signal });
      return true;
    } catch (error) {
      if (error instanceof GalleryExportError && error.code === 'SNAPSHOT_EXISTS') return false;
      throw error;
    }
  }
}
