import type { ContainerClient } from '@azure/storage-blob';
import { authorIdDigest } from '../contract/authorId';
import { serializeDocument, type ErasureRecord, type SignatureDocument } from '../contract/formats';
import {
  erasureMarkerPath,
  erasureMarkersPrefix,
  erasureRecordPath,
  erasureSignaturePath,
} from '../contract/layout';
import { createBlobOnce, type FencedWrite } from './blobDocuments';
import { statusOf, storageError } from './storageErrors';

/**
 * Two stored times closer than this cannot be ordered with confidence (creation times have whole-second
 * precision): such an erasure is taken to have begun after the run, the side on which erasure holds.
 */
const SAME_MOMENT_MS = 1000;

/**
 * Erasure records (`erasures/<erasureId>.json`, signed next to it when a key is configured) and the markers
 * a purge writes before it erases anything (`erasures/begun/<sha256 of author ID>/<erasureId>.json`).
 * Index tags name the kind only, never an author: anyone who can read the account can search them.
 */
export class BlobErasureStore {
  constructor(private readonly container: ContainerClient) {}

  async begin(
    marker: { erasureId: string; authorId: string; requestedAt: string; requestedBy: string },
    options: FencedWrite = {},
  ): Promise<void> {
    const authorIdSha256 = authorIdDigest(marker.authorId);
    const document = {
      schemaVersion: 1,
      erasureId: marker.erasureId,
      authorIdSha256,
      requestedAt: marker.requestedAt,
      requestedBy: marker.requestedBy,
    };
    await createBlobOnce(
      this.container.getBlockBlobClient(erasureMarkerPath(authorIdSha256, marker.erasureId)),
      serializeDocument(document),
      { tags: { kind: 'erasure' }, ...options },
    );
  }

  async complete(
    record: ErasureRecord,
    bytes: Buffer,
    signature: SignatureDocument | undefined,
    options: FencedWrite = {},
  ): Promise<string> {
    if (signature) {
      await createBlobOnce(
        this.container.getBlockBlobClient(erasureSignaturePath(record.erasureId)),
        serializeDocument(signature),
        { tags: { kind: 'signature' }, ...options },
      );
    }
    const path = erasureRecordPath(record.erasureId);
    await createBlobOnce(this.container.getBlockBlobClient(path), bytes, {
      tags: { kind: 'erasure' },
      ...options,
    });
    return path;
  }

  async blocking(authorId: string, runCreatedOn: Date, signal?: AbortSignal): Promise<string[]> {
    const prefix = erasureMarkersPrefix(authorIdDigest(authorId));
    const runStarted = runCreatedOn.getTime();
    const blocking: string[] = [];
    try {
      for await (const marker of this.container.listBlobsFlat({ prefix, abortSignal: signal })) {
        const erasureId = marker.name.slice(prefix.length).replace(/\.json$/, '');
        const begunAt = (marker.properties.createdOn ?? marker.properties.lastModified).getTime();
        if (begunAt >= runStarted - SAME_MOMENT_MS) {
          blocking.push(erasureId);
          continue;
        }
        // Begun before the run: it blocks unless its record was written before the run started too.
        const completedAt = await this.recordCreatedAt(erasureId, signal);
        if (completedAt === undefined || completedAt >= runStarted - SAME_MOMENT_MS) blocking.push(erasureId);
      }
    } catch (error) {
      throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
    }
    return blocking;
  }

  private async recordCreatedAt(erasureId: string, signal?: AbortSignal): Promise<number | undefined> {
    const path = erasureRecordPath(erasureId);
    try {
      const properties = await this.container.getBlockBlobClient(path).getProperties({ abortSignal: signal });
      return (properties.createdOn ?? properties.lastModified ?? new Date()).getTime();
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}
