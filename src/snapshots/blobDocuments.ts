import { createHash } from 'node:crypto';
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { DEFAULT_STORAGE } from '../contract/defaults';
import { GalleryExportError } from '../contract/errors';
import { statusOf, storageCodeOf, storageError } from './storageErrors';

/**
 * How gallery-export reads and writes its JSON documents in Blob Storage, in one place: create-only
 * writes (streamed, hashed), and reads that tell "not there" from "could not be read".
 */

export const JSON_CONTENT_TYPE = 'application/json';

export type BlobKind = 'profile' | 'entities' | 'manifest' | 'run' | 'erasure';

export interface CreateBlobOptions {
  tags: Record<string, string>;
  contentType?: string;
  signal?: AbortSignal | undefined;
  blockBytes?: number;
  blockConcurrency?: number;
}

export interface CreatedBlob {
  bytes: number;
  sha256: string;
  etag: string;
}

/**
 * Creates a blob that must not exist (`If-None-Match: *`), streaming: content is hashed as it goes and,
 * when larger than one block, staged block by block and committed at the end, so memory stays bounded
 * and nothing is visible until the commit. A blob that exists is never overwritten: SNAPSHOT_EXISTS.
 */
export async function createBlobOnce(
  blob: BlockBlobClient,
  content: Buffer | AsyncIterable<Buffer>,
  options: CreateBlobOptions,
): Promise<CreatedBlob> {
  const blockBytes = options.blockBytes ?? DEFAULT_STORAGE.blockBytes;
  const blockConcurrency = options.blockConcurrency ?? DEFAULT_STORAGE.blockConcurrency;
  const headers = { blobContentType: options.contentType ?? JSON_CONTENT_TYPE };
  const conditions = { ifNoneMatch: '*' };
  const hash = createHash('sha256');
  let bytes = 0;
  const blockIds: string[] = [];
  const staging = new Set<Promise<void>>();
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const stage = async (block: Buffer): Promise<void> => {
    const id = Buffer.from(`block-${String(blockIds.length).padStart(8, '0')}`).toString('base64');
    blockIds.push(id);
    const upload = blob
      .stageBlock(id, block, block.length, { abortSignal: options.signal })
      .then(() => undefined);
    staging.add(upload);
    void upload.finally(() => staging.delete(upload)).catch(() => undefined);
    if (staging.size >= blockConcurrency) await Promise.race(staging);
  };

  try {
    const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(content) ? [content] : content;
    for await (const chunk of chunks) {
      hash.update(chunk);
      bytes += chunk.length;
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= blockBytes) {
        // A block is whatever has gathered past blockBytes (blocks need not be equal): one copy, no split.
        await stage(Buffer.concat(pending, pendingBytes));
        pending = [];
        pendingBytes = 0;
      }
    }
    let response;
    if (blockIds.length === 0) {
      const body = Buffer.concat(pending, pendingBytes);
      response = await blob.upload(body, body.length, {
        conditions,
        blobHTTPHeaders: headers,
        tags: options.tags,
        abortSignal: options.signal,
      });
    } else {
      if (pendingBytes > 0) await stage(Buffer.concat(pending, pendingBytes));
      await Promise.all(staging);
      response = await blob.commitBlockList(blockIds, {
        conditions,
        blobHTTPHeaders: headers,
        tags: options.tags,
        abortSignal: options.signal,
      });
    }
    return { bytes, sha256: hash.digest('hex'), etag: response.etag ?? '' };
  } catch (error) {
    await Promise.allSettled(staging);
    if (statusOf(error) === 409 || storageCodeOf(error) === 'BlobAlreadyExists') {
      throw new GalleryExportError(
        'SNAPSHOT_EXISTS',
        `Refusing to overwrite ${blob.name}: it already exists`,
        {
          cause: error,
          statusCode: 409,
          details: { path: blob.name },
        },
      );
    }
    throw storageError(error, 'write', blob.name);
  }
}


/** A stored blob's bytes and ETag, or undefined when there is no such blob. */
export async function readBlob(
  container: ContainerClient,
  path: string,
  signal?: AbortSignal,
): Promise<{ bytes: Buffer; etag: string } | undefined> {
  try {
    const response = await container.getBlockBlobClient(path).download(0, undefined, { abortSignal: signal });
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody ?? [])
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return { bytes: Buffer.concat(chunks), etag: response.etag ?? '' };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw storageError(error, 'read', path, 'STORAGE_UNAVAILABLE');
  }
}

export type JsonBlob<T> =
  | { state: 'missing' }
  | { state: 'unreadable'; bytes: Buffer; etag: string }
  | { state: 'ok'; value: T; bytes: Buffer; etag: string };

/**
 * A stored JSON document: `missing` (404), `unreadable` (not JSON: damage for the caller to report),
 * or its parsed value with the exact bytes (for hashing) and ETag (for a conditional update).
 * Storage failures throw STORAGE_UNAVAILABLE.
 */
export async function readJsonBlob<T>(
  container: ContainerClient,
  path: string,
  signal?: AbortSignal,
): Promise<JsonBlob<T>> {
  const blob = await readBlob(container, path, signal);
  if (!blob) return { state: 'missing' };
  try {
    return { state: 'ok', value: JSON.parse(blob.bytes.toString('utf8')) as T, ...blob };
  } catch {
    return { state: 'unreadable', ...blob };
  }
}
