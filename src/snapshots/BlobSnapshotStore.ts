import { createHash } from 'node:crypto';
import type { BlockBlobClient, ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../errors';
import type { Manifest, ManifestFile } from './formats';
import { MANIFEST_FILE, snapshotPrefix } from './layout';
import { readManifest } from './snapshotListing';
import type { SnapshotFileName, SnapshotStore, SnapshotTarget } from './SnapshotStore';
import { statusOf, storageCodeOf, storageError } from './storageErrors';

export const JSON_CONTENT_TYPE = 'application/json';

export interface BlobSnapshotStoreOptions {
  /** Size of each staged block of a large file. @default 4194304 (4 MiB) */
  blockBytes?: number;
  /** Blocks staged at once. @default 2 */
  blockConcurrency?: number;
}

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
  const blockBytes = options.blockBytes ?? 4 * 1024 * 1024;
  const blockConcurrency = options.blockConcurrency ?? 2;
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

export class BlobSnapshotStore implements SnapshotStore {
  constructor(
    private readonly container: ContainerClient,
    private readonly options: BlobSnapshotStoreOptions = {},
  ) {}

  open(authorId: string, runId: string): SnapshotTarget {
    return new BlobSnapshotTarget(this.container, authorId, runId, this.options);
  }
}

class BlobSnapshotTarget implements SnapshotTarget {
  readonly prefix: string;
  private readonly written = new Map<string, string>();

  constructor(
    private readonly container: ContainerClient,
    readonly authorId: string,
    readonly runId: string,
    private readonly options: BlobSnapshotStoreOptions,
  ) {
    this.prefix = snapshotPrefix(authorId, runId);
  }

  async prepare(signal?: AbortSignal): Promise<Manifest | undefined> {
    const names: string[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix: this.prefix, abortSignal: signal })) {
        names.push(blob.name);
      }
    } catch (error) {
      throw storageError(error, 'list', this.prefix, 'STORAGE_UNAVAILABLE');
    }
    if (names.includes(`${this.prefix}${MANIFEST_FILE}`)) {
      const manifest = await readManifest(this.container, this.prefix, signal);
      if (manifest) return manifest;
      throw new GalleryExportError(
        'SNAPSHOT_EXISTS',
        `${this.prefix}${MANIFEST_FILE} exists but cannot be read; not touching it`,
      );
    }
    for (const name of names) {
      try {
        await this.container.getBlockBlobClient(name).deleteIfExists({ abortSignal: signal });
      } catch (error) {
        throw storageError(error, 'clean up', name);
      }
    }
    return undefined;
  }

  async writeFile(
    name: SnapshotFileName,
    content: Buffer | AsyncIterable<Buffer>,
    signal?: AbortSignal,
  ): Promise<ManifestFile> {
    const path = `${this.prefix}${name}`;
    const created = await createBlobOnce(this.container.getBlockBlobClient(path), content, {
      tags: {
        runId: this.runId,
        kind: name === 'profile.json' ? 'profile' : 'entities',
        authorId: this.authorId,
      },
      signal,
      blockBytes: this.options.blockBytes,
      blockConcurrency: this.options.blockConcurrency,
    });
    this.written.set(path, created.etag);
    return { name, path, bytes: created.bytes, sha256: created.sha256, contentType: JSON_CONTENT_TYPE };
  }

  async writeManifest(
    manifest: Manifest,
    signal?: AbortSignal,
    options: { checkFiles?: boolean } = {},
  ): Promise<void> {
    if (options.checkFiles !== false) await this.checkFilesUnchanged(manifest, signal);
    const path = `${this.prefix}${MANIFEST_FILE}`;
    await createBlobOnce(
      this.container.getBlockBlobClient(path),
      Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`),
      {
        tags: { runId: this.runId, kind: 'manifest', authorId: this.authorId },
        signal,
      },
    );
  }

  /**
   * Another delivery of the same work item could have replaced a file between our write and now; a
   * manifest must only ever describe bytes this attempt wrote and hashed. One listing gives every ETag.
   */
  private async checkFilesUnchanged(manifest: Manifest, signal?: AbortSignal): Promise<void> {
    const stored = new Map<string, string | undefined>();
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix: this.prefix, abortSignal: signal })) {
        stored.set(blob.name, blob.properties.etag);
      }
    } catch (error) {
      throw storageError(error, 'check', this.prefix);
    }
    for (const file of manifest.files) {
      const expected = this.written.get(file.path);
      if (expected === undefined || unquote(stored.get(file.path)) !== unquote(expected)) {
        throw new GalleryExportError(
          'SNAPSHOT_WRITE',
          `${file.path} changed after it was written; the manifest is not written`,
          {
            details: { path: file.path },
          },
        );
      }
    }
  }
}

/** ETags arrive quoted from some operations and bare from listings. */
function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}
