import type { ContainerClient } from '@azure/storage-blob';
import { authorIdDigest } from '../contract/authorId';
import { GalleryExportError } from '../contract/errors';
import {
  serializeDocument,
  type ErasureMarker,
  type ErasurePlan,
  type ErasureRecord,
  type SignatureDocument,
} from '../contract/formats';
import {
  erasureDraftPath,
  erasureMarkerPath,
  erasureMarkersPrefix,
  erasurePlanPath,
  erasureRecordPath,
  erasureSignaturePath,
  LEGACY_ERASURE_MARKERS_ROOT,
  parseErasureMarkerPath,
} from '../contract/layout';
import { createBlobOnce, readBlob, type FencedWrite } from './blobDocuments';
import { readDocument, readErasureLedger, readErasureRecord, seconds } from './erasureLedger';
import { statusOf, storageError } from './storageErrors';
import type { PublicKeyResolver } from './verifyTypes';

/** A begun erasure that has no record yet, as the purge that finishes it needs it. */
export interface BegunErasure {
  erasureId: string;
  requestedAt: string;
  requestedBy: string;
  plan?: ErasurePlan | undefined;
}

/** A completed erasure of an author, for people: when, who asked, what went, whether it is signed. */
export interface CompletedErasure {
  path: string;
  record: ErasureRecord;
  signature: 'verified' | 'not-checked' | 'unsigned' | 'invalid';
}

/**
 * Erasure records (`erasures/<erasureId>.json`, signed next to it when a key is configured), and the
 * purge's own progress under `purge-progress/<sha256 of author ID>/`: the marker written before anything
 * is erased (kept: it orders the erasure against runs), the plan of what is erased and the record's bytes
 * fixed before they are signed (both removed once the record is written). Every step is a create-once
 * write, so a purge run again after any interruption takes the same steps to the same end. Index tags
 * name the kind only, never an author: anyone who can read the account can search them.
 */
export class BlobErasureStore {
  /** `keys` check the signatures of the records `record()` reads (the vault's, when a signing key is set). */
  constructor(
    private readonly container: ContainerClient,
    private readonly keys?: PublicKeyResolver | undefined,
  ) {}

  /** One erasure record by its ID, valid against its schema, with what its signature says; undefined when there is none. */
  record(
    erasureId: string,
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<CompletedErasure | undefined> {
    return readErasureRecord(this.container, erasureId, this.keys, options.signal);
  }

  /** The author's begun erasures without a record, oldest first (a later record closes earlier ones). */
  async unfinished(authorId: string, signal?: AbortSignal): Promise<BegunErasure[]> {
    const digest = authorIdDigest(authorId);
    const ledger = await readErasureLedger(this.container, { authorIdSha256: digest, signal });
    return ledger.unfinished.map((erasure) => ({
      erasureId: erasure.erasureId,
      requestedAt: erasure.marker?.requestedAt ?? erasure.begunAt.toISOString(),
      requestedBy: erasure.marker?.requestedBy ?? 'unknown (the marker of this erasure is not readable)',
      plan: erasure.plan?.authorId === authorId.toUpperCase() ? erasure.plan : undefined,
    }));
  }

  /** The author's erasure records, oldest first, with what their signatures say (checked when keys are given). */
  async completed(
    authorId: string,
    options: { keys?: PublicKeyResolver | undefined; signal?: AbortSignal | undefined } = {},
  ): Promise<CompletedErasure[]> {
    const ledger = await readErasureLedger(this.container, {
      authorIdSha256: authorIdDigest(authorId),
      keys: options.keys ?? this.keys,
      signal: options.signal,
    });
    return ledger.records
      .map((stored) => ({ path: stored.path, record: stored.record, signature: stored.signature.state }))
      .sort((a, b) => (a.record.completedAt < b.record.completedAt ? -1 : 1));
  }

  /** Marks that the erasure has begun; a marker already there is this erasure's, from an earlier attempt. */
  async begin(marker: ErasureMarker, options: FencedWrite = {}): Promise<void> {
    await this.createOnce(
      erasureMarkerPath(marker.authorIdSha256, marker.erasureId),
      serializeDocument(marker),
      'erasure',
      options,
    );
  }

  /** Stores what the erasure erases, before the first delete; an earlier attempt's plan wins. */
  async savePlan(plan: ErasurePlan, options: FencedWrite = {}): Promise<ErasurePlan> {
    const path = erasurePlanPath(authorIdDigest(plan.authorId), plan.erasureId);
    if (await this.createOnce(path, serializeDocument(plan), 'erasure', options)) return plan;
    const stored = await readDocument<ErasurePlan>(this.container, path, 'erasure-plan', options.signal);
    if (
      'problem' in stored ||
      stored.value.erasureId !== plan.erasureId ||
      stored.value.authorId !== plan.authorId
    ) {
      throw new GalleryExportError(
        'PURGE_FAILED',
        `The plan of erasure ${plan.erasureId} (${path}) ${'problem' in stored ? stored.problem : 'belongs to another erasure'}; nothing more was erased`,
      );
    }
    return stored.value;
  }

  /**
   * Fixes the erasure record's bytes before they are signed; an earlier attempt's bytes win, so a purge
   * killed after signing signs and writes those same bytes.
   */
  async draftRecord(record: ErasureRecord, options: FencedWrite = {}): Promise<Buffer> {
    const path = erasureDraftPath(record.authorIdSha256, record.erasureId);
    const bytes = serializeDocument(record);
    if (await this.createOnce(path, bytes, 'erasure', options)) return bytes;
    const stored = await readDocument<ErasureRecord>(this.container, path, 'erasure', options.signal);
    // The draft is what gets signed: one that says anything else of who, what or when is not this
    // erasure's (a document planted in storage must never be signed).
    const mismatch =
      'problem' in stored
        ? stored.problem
        : ((['erasureId', 'authorIdSha256', 'requestedAt', 'requestedBy'] as const).find(
            (field) => stored.value[field] !== record[field],
          ) ??
          (stored.value.registration?.kept !== record.registration?.kept ? 'registration' : undefined) ??
          (stored.value.deleted.runIds.some((runId) => !record.deleted.runIds.includes(runId))
            ? 'deleted.runIds'
            : undefined));
    if (mismatch !== undefined || 'problem' in stored) {
      throw new GalleryExportError(
        'PURGE_FAILED',
        `The prepared record ${path} is not this erasure's (${'problem' in stored ? stored.problem : `its ${mismatch} differs`}): nothing was signed. Move it aside (az storage blob delete after a copy), then run the purge again`,
      );
    }
    return stored.bytes;
  }

  /** Writes the signature (first) and the record, each once; a copy an earlier attempt wrote must be this one. */
  async complete(
    erasureId: string,
    bytes: Buffer,
    signature: SignatureDocument | undefined,
    options: FencedWrite = {},
  ): Promise<string> {
    if (signature) {
      const signaturePath = erasureSignaturePath(erasureId);
      if (!(await this.createOnce(signaturePath, serializeDocument(signature), 'signature', options))) {
        const stored = await readDocument<SignatureDocument>(
          this.container,
          signaturePath,
          'signature',
          options.signal,
        );
        if ('problem' in stored || stored.value.sha256 !== signature.sha256) {
          throw new GalleryExportError(
            'PURGE_FAILED',
            `${signaturePath} exists and does not sign the record of this erasure; it is never overwritten: restore it from an earlier blob version`,
          );
        }
      }
    }
    const path = erasureRecordPath(erasureId);
    if (!(await this.createOnce(path, bytes, 'erasure', options))) {
      const stored = await readBlob(this.container, path, options.signal);
      if (!stored?.bytes.equals(bytes)) {
        throw new GalleryExportError(
          'PURGE_FAILED',
          `${path} exists with other content; it is never overwritten: restore it from an earlier blob version`,
        );
      }
    }
    return path;
  }

  /**
   * Removes the plan (it names the author) and the draft once the record is written; without an erasure
   * ID, those of every erasure of the author that has its record (a purge killed right after writing it).
   */
  async discardProgress(
    authorId: string,
    erasureId: string | undefined,
    options: FencedWrite = {},
  ): Promise<void> {
    const digest = authorIdDigest(authorId);
    const paths =
      erasureId !== undefined
        ? [erasurePlanPath(digest, erasureId), erasureDraftPath(digest, erasureId)]
        : await this.finishedProgress(digest, options.signal);
    if (paths.length === 0) return;
    const signal = options.fence ? await options.fence(options.signal) : options.signal;
    for (const path of paths) {
      try {
        await this.container.getBlockBlobClient(path).deleteIfExists({ abortSignal: signal });
      } catch (error) {
        throw storageError(error, 'delete', path);
      }
    }
  }

  /**
   * The erasures of this author that forbid a run to write: begun after the run was created, or begun
   * before and closed by no record written before the run started (a record closes its own erasure and
   * every one of the author begun before it). Times are storage's own, in whole seconds. A time in the same
   * second as the run's creation counts as before it: a purge and the planning of a run each hold the run
   * lock, so whichever of them wrote in that second held it first (see docs/architecture.md).
   */
  async blocking(authorId: string, runCreatedOn: Date, signal?: AbortSignal): Promise<string[]> {
    const listed = await this.listMarkers(erasureMarkersPrefix(authorIdDigest(authorId)), signal);
    if (listed.length === 0) return [];
    const run = seconds(runCreatedOn);
    const records = await Promise.all(
      listed.map(async (marker) => ({
        erasureId: marker.erasureId,
        written: await this.recordCreatedAt(marker.erasureId, signal),
      })),
    );
    return listed
      .filter((marker) => {
        if (marker.begun > run) return true;
        // Closed by its own record, or by that of an erasure of the author begun after it (a purge erases
        // everything, so it finished what the earlier one began), written no later than the run's second.
        return !records.some(
          ({ erasureId, written }) =>
            written !== undefined && written <= run && erasureId >= marker.erasureId,
        );
      })
      .map((marker) => marker.erasureId);
  }

  /**
   * Brings the markers an earlier version left unfinished under `erasures/begun/` into `purge-progress/`,
   * where exports look (once per run, by the planner, so that no export lists two places): a copy, created
   * now, keeps blocking the author until a purge finishes the erasure. Finished ones stay where they are.
   */
  async adoptLegacyMarkers(signal?: AbortSignal): Promise<number> {
    const legacy = await this.listMarkers(LEGACY_ERASURE_MARKERS_ROOT, signal, true);
    let adopted = 0;
    for (const digest of new Set(legacy.map((marker) => marker.authorIdSha256))) {
      // Only what no record closes: an erasure a later one finished stays where it is.
      const ledger = await readErasureLedger(this.container, { authorIdSha256: digest, signal });
      for (const erasure of ledger.unfinished) {
        const marker = legacy.find((entry) => entry.erasureId === erasure.erasureId);
        if (!marker) continue;
        const copy: ErasureMarker = erasure.marker ?? {
          schemaVersion: 1,
          erasureId: marker.erasureId,
          authorIdSha256: digest,
          requestedAt: new Date(marker.begun * 1000).toISOString(),
          requestedBy: 'unknown (written by an earlier version)',
        };
        const path = erasureMarkerPath(digest, marker.erasureId);
        if (await this.createOnce(path, serializeDocument(copy), 'erasure', { signal })) adopted++;
      }
    }
    return adopted;
  }

  /** Plans and drafts left of erasures that have their record. */
  private async finishedProgress(digest: string, signal?: AbortSignal): Promise<string[]> {
    const prefix = erasureMarkersPrefix(digest);
    const left: Array<{ path: string; erasureId: string }> = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix, abortSignal: signal })) {
        const match = /^([^/]+)\/(plan|record)\.json$/.exec(blob.name.slice(prefix.length));
        if (match) left.push({ path: blob.name, erasureId: match[1]! });
      }
    } catch (error) {
      throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
    }
    const finished: string[] = [];
    for (const entry of left) {
      if ((await this.recordCreatedAt(entry.erasureId, signal)) !== undefined) finished.push(entry.path);
    }
    return finished;
  }

  private async listMarkers(
    prefix: string,
    signal?: AbortSignal,
    legacy = false,
  ): Promise<Array<{ path: string; erasureId: string; authorIdSha256: string; begun: number }>> {
    const markers: Array<{ path: string; erasureId: string; authorIdSha256: string; begun: number }> = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix, abortSignal: signal })) {
        const parsed = parseErasureMarkerPath(blob.name);
        if (parsed && parsed.legacy === legacy) {
          markers.push({
            path: blob.name,
            erasureId: parsed.erasureId,
            authorIdSha256: parsed.authorIdSha256,
            begun: seconds(blob.properties.createdOn ?? blob.properties.lastModified),
          });
        }
      }
    } catch (error) {
      throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
    }
    return markers;
  }

  private async recordCreatedAt(erasureId: string, signal?: AbortSignal): Promise<number | undefined> {
    const path = erasureRecordPath(erasureId);
    try {
      const properties = await this.container.getBlockBlobClient(path).getProperties({ abortSignal: signal });
      return seconds(properties.createdOn ?? properties.lastModified ?? new Date());
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw storageError(error, 'read', path, 'STORAGE_UNAVAILABLE');
    }
  }

  /** Creates a blob that must not exist; false when it does already (an earlier attempt wrote it). */
  private async createOnce(
    path: string,
    bytes: Buffer,
    kind: 'erasure' | 'signature',
    options: FencedWrite,
  ): Promise<boolean> {
    try {
      await createBlobOnce(this.container.getBlockBlobClient(path), bytes, { tags: { kind }, ...options });
      return true;
    } catch (error) {
      if (error instanceof GalleryExportError && error.code === 'SNAPSHOT_EXISTS') return false;
      throw error;
    }
  }
}
