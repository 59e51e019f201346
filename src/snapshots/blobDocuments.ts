import { createHash, randomBytes } from 'node:crypto';
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { DEFAULT_STORAGE } from '../contract/defaults';
import { abortError, GalleryExportError } from '../contract/errors';
import { statusOf, storageCodeOf, storageError } from './storageErrors';

/**
 * How gallery-export reads and writes its JSON documents in Blob Storage, in one place: create-only
 * writes (streamed, hashed), and reads that tell "not there" from "could not be read".
 */

export const JSON_CONTENT_TYPE = 'application/json';

/** A write the caller may fence (see WriteFence in the core's ports): proves it may still write first. */
export interface FencedWrite {
  signal?: AbortSignal | undefined;
  fence?: ((signal?: AbortSignal) => Promise<AbortSignal | undefined>) | undefined;
}

export type BlobKind = 'profile' | 'entities' | 'manifest' | 'signature' | 'run' | 'erasure';

export interface CreateBlobOptions {
  tags: Record<string, string>;
  /** Blob metadata (x-ms-meta-*): facts a listing should show without reading the blob. */
  metadata?: Record<string, string> | undefined;
  contentType?: string;
  signal?: AbortSignal | undefined;
  /**
   * Called right before the blob becomes visible (its upload, or the commit of its staged blocks): proves
   * the writer may still write and bounds the write with the signal it returns.
   */
  fence?: FencedWrite['fence'];
  blockBytes?: number;
  blockConcurrency?: number;
}

export interface CreatedBlob {
  bytes: number;
  sha256: string;
  etag: string;
}

/** A document larger than a block, streamed as the one chunk it is. */
async function* oneChunk(content: Buffer): AsyncGenerator<Buffer> {
  yield await Promise.resolve(content);
}

/** The length streamed content announces before its first chunk (see SizedChunks in EntitySpool). */
function sizeOf(content: AsyncIterable<Buffer>): number | undefined {
  const length = (content as { byteLength?: unknown }).byteLength;
  return typeof length === 'number' && Number.isSafeInteger(length) && length > 0 ? length : undefined;
}

/** Blob metadata naming the write that created the blob (random, per attempt). */
const CREATE_ATTEMPT_METADATA = 'createattempt';

/** The first block buffer of a streamed blob; it doubles up to blockBytes as content keeps coming. */
const FIRST_BLOCK_BYTES = 64 * 1024;

/**
 * Creates a blob that must not exist (`If-None-Match: *`), streaming: content is hashed as it goes and,
 * when larger than one block, staged block by block and committed at the end, so memory stays bounded
 * and nothing is visible until the commit. A blob that exists is never overwritten: SNAPSHOT_EXISTS.
 *
 * Streamed content is copied into block buffers as it arrives and no chunk is kept, so a producer may
 * reuse a chunk's memory once the next is asked for. Block buffers are reused once their block is
 * staged: a 260 MB blob passes through (blockConcurrency + 1) buffers, not 260 MB of garbage.
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
  // Block IDs of their own for this attempt: a commit can then only pick up blocks this attempt staged,
  // never one an earlier delivery left uncommitted under the same name. Every block ID of a blob must
  // have the same length, uncommitted leftovers included: 6 random hex digits and an 8-digit index keep
  // the 14 characters of the earlier `block-00000000` scheme.
  const attempt = randomBytes(3).toString('hex');
  const staging = new Set<Promise<void>>();
  const stageFailure: { failed: boolean; error?: unknown } = { failed: false };
  const spareBlocks: Buffer[] = [];

  const stage = async (buffer: Buffer, length: number): Promise<void> => {
    if (stageFailure.failed) throw stageFailure.error;
    const id = Buffer.from(`${attempt}${String(blockIds.length).padStart(8, '0')}`).toString('base64');
    blockIds.push(id);
    const upload = blob
      .stageBlock(id, buffer.subarray(0, length), length, { abortSignal: options.signal })
      .then(
        () => {
          if (buffer.length === blockBytes) spareBlocks.push(buffer);
        },
        (error: unknown) => {
          // Kept until it is thrown: a failed block must fail the write, whenever it fails.
          if (!stageFailure.failed) Object.assign(stageFailure, { failed: true, error });
        },
      );
    staging.add(upload);
    void upload.then(() => staging.delete(upload));
    if (staging.size >= blockConcurrency) await Promise.race(staging);
    if (stageFailure.failed) throw stageFailure.error;
  };

  // The signal the fence gave for the final write, once there is one.
  let abortSignal: AbortSignal | undefined;
  // The request that makes the blob visible, once it is sent: only its "exists" answer means exists.
  let finalWrite = false;
  // Marks the blob as this attempt's, so a retried create can tell its own first try from another's blob.
  const createAttempt = randomBytes(12).toString('hex');
  const metadata = { ...options.metadata, [CREATE_ATTEMPT_METADATA]: createAttempt };
  // Content whose one chunk was uploaded as it came: its end is checked once the upload is done.
  let pendingEnd: AsyncIterator<Buffer> | undefined;
  try {
    let block: Buffer;
    let used = 0;
    if (Buffer.isBuffer(content) && content.length <= blockBytes) {
      // A document in one piece: uploaded as it is.
      hash.update(content);
      bytes = content.length;
      block = content;
      used = content.length;
    } else {
      const chunks = Buffer.isBuffer(content) ? oneChunk(content) : content;
      // Content that says its length gets a block of that size at once, not one grown (and copied) by
      // doubling; content that arrives in one chunk of that length is uploaded as it is, not copied.
      const expected = Buffer.isBuffer(content) ? content.length : sizeOf(content);
      const iterator = chunks[Symbol.asyncIterator]();
      let next = await iterator.next();
      if (!next.done && expected !== undefined && next.value.length === expected && expected <= blockBytes) {
        block = next.value;
        used = block.length;
        hash.update(block);
        bytes = block.length;
        // Asked for after the upload, below: the chunk may be lent until then.
        pendingEnd = iterator;
      } else {
        block = Buffer.allocUnsafe(Math.min(expected ?? FIRST_BLOCK_BYTES, blockBytes));
      }
      for (; pendingEnd === undefined && !next.done; next = await iterator.next()) {
        const chunk = next.value;
        hash.update(chunk);
        bytes += chunk.length;
        for (let from = 0; from < chunk.length;) {
          if (used === block.length) {
            if (block.length < blockBytes) {
              const grown = Buffer.allocUnsafe(Math.min(blockBytes, block.length * 2));
              block.copy(grown, 0, 0, used);
              block = grown;
            } else {
              await stage(block, used);
              block = spareBlocks.pop() ?? Buffer.allocUnsafe(blockBytes);
              used = 0;
            }
          }
          const copied = chunk.copy(block, used, from, Math.min(chunk.length, from + block.length - used));
          used += copied;
          from += copied;
        }
      }
    }
    let response;
    if (blockIds.length === 0) {
      const body = block.subarray(0, used);
      abortSignal = options.fence ? await options.fence(options.signal) : options.signal;
      finalWrite = true;
      response = await blob.upload(body, body.length, {
        conditions,
        blobHTTPHeaders: headers,
        tags: options.tags,
        metadata,
        abortSignal,
      });
      if (pendingEnd && !(await pendingEnd.next()).done) {
        throw new GalleryExportError(
          'INTERNAL',
          `${blob.name}: the content was longer than the length it announced; the blob is incomplete`,
        );
      }
    } else {
      if (used > 0) await stage(block, used);
      await Promise.all(staging);
      if (stageFailure.failed) throw stageFailure.error;
      abortSignal = options.fence ? await options.fence(options.signal) : options.signal;
      finalWrite = true;
      response = await blob.commitBlockList(blockIds, {
        conditions,
        blobHTTPHeaders: headers,
        tags: options.tags,
        metadata,
        abortSignal,
      });
    }
    return { bytes, sha256: hash.digest('hex'), etag: response.etag ?? '' };
  } catch (error) {
    await Promise.allSettled(staging);
    // Stopped by the fence (the lock was lost, or its guaranteed time ran out): say that, not "aborted".
    if (options.signal?.aborted) throw abortError(options.signal, error);
    if (abortSignal?.aborted) throw abortError(abortSignal, error);
    if (finalWrite && answersExists(error)) {
      // The SDK retries a request whose answer was lost: the blob its first try created is this write.
      const own = await ownWrite(blob, createAttempt, abortSignal);
      if (own) return { bytes, sha256: hash.digest('hex'), etag: own.etag };
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

/**
 * Whether a create's failure says the blob exists: BlobAlreadyExists, or the If-None-Match condition
 * failing. Other 409s (an immutability policy, a lease, an emulator out of memory) are not that.
 */
function answersExists(error: unknown): boolean {
  const status = statusOf(error);
  const code = storageCodeOf(error);
  if (code === 'BlobAlreadyExists') return true;
  return (status === 409 || status === 412) && (code === undefined || code === 'ConditionNotMet');
}

/**
 * The blob under the name, when it is the one this write created: it carries this attempt's own
 * random `createattempt` metadata, which no other write has. When that cannot be checked, the storage
 * failure is what the caller learns: the blob may well be this write's, so "exists" would be a guess.
 */
async function ownWrite(
  blob: BlockBlobClient,
  attempt: string,
  signal: AbortSignal | undefined,
): Promise<{ etag: string } | undefined> {
  try {
    const properties = await blob.getProperties({ abortSignal: signal });
    return properties.metadata?.[CREATE_ATTEMPT_METADATA] === attempt
      ? { etag: properties.etag ?? '' }
      : undefined;
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw storageError(error, 'check which write created', blob.name, 'STORAGE_UNAVAILABLE');
  }
}

export interface StoredBlob {
  bytes: Buffer;
  etag: string;
  /** When storage created the blob, by its own clock. */
  createdOn: Date;
  /** Its metadata (x-ms-meta-*). */
  metadata?: Record<string, string> | undefined;
}

/** A stored blob's bytes, ETag and creation time, or undefined when there is no such blob. */
export async function readBlob(
  container: ContainerClient,
  path: string,
  signal?: AbortSignal,
): Promise<StoredBlob | undefined> {
  try {
    const response = await container.getBlockBlobClient(path).download(0, undefined, { abortSignal: signal });
    const chunks: Buffer[] = [];
    for await (const chunk of response.readableStreamBody ?? [])
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return {
      bytes: Buffer.concat(chunks),
      etag: response.etag ?? '',
      createdOn: response.createdOn ?? response.lastModified ?? new Date(0),
      metadata: response.metadata ?? {},
    };
  } catch (error) {
    if (statusOf(error) === 404) return undefined;
    throw storageError(error, 'read', path, 'STORAGE_UNAVAILABLE');
  }
}

export type JsonBlob<T> =
  { state: 'missing' } | ({ state: 'unreadable' } & StoredBlob) | ({ state: 'ok'; value: T } & StoredBlob);

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
