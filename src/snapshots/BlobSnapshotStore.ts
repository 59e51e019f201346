import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../contract/errors';
import {
  serializeDocument,
  type Manifest,
  type ManifestFile,
  type SignatureDocument,
} from '../contract/formats';
import { MANIFEST_FILE, SIGNATURE_FILE, snapshotPrefix, type SnapshotFileName } from '../contract/layout';
import { createBlobOnce, JSON_CONTENT_TYPE, type CreateBlobOptions, type FencedWrite } from './blobDocuments';
import { eraseAuthorBlobs, inventoryAuthorBlobs, type ErasedBlobs } from './eraseAuthorBlobs';
import { findLatestComplete, MANIFEST_SHA256_METADATA } from './latestSnapshot';
import { readManifest } from './snapshotListing';
import { storageError } from './storageErrors';

export interface BlobSnapshotStoreOptions {
  /** Size of each staged block of a large file. @default 4194304 (4 MiB) */
  blockBytes?: number;
  /** Blocks staged at once. @default 2 */
  blockConcurrency?: number;
}

export class BlobSnapshotStore {
  constructor(
    private readonly container: ContainerClient,
    private readonly options: BlobSnapshotStoreOptions = {},
  ) {}

  open(authorId: string, runId: string): BlobSnapshotTarget {
    return new BlobSnapshotTarget(this.container, authorId, runId, this.options);
  }

  latestComplete(
    authorId: string,
    signal?: AbortSignal,
  ): Promise<{ runId: string; manifestSha256: string } | undefined> {
    return findLatestComplete(this.container, authorId, signal);
  }

  /** Every blob under the author's snapshots, once each (what a purge would erase). */
  inventoryAuthor(authorId: string, signal?: AbortSignal): Promise<Pick<ErasedBlobs, 'files' | 'runIds'>> {
    return inventoryAuthorBlobs(this.container, authorId, signal);
  }

  eraseAuthor(authorId: string, options: FencedWrite = {}): Promise<ErasedBlobs> {
    return eraseAuthorBlobs(this.container, authorId, options);
  }
}

export class BlobSnapshotTarget {
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

  async prepare(options: FencedWrite = {}): Promise<Manifest | undefined> {
    const { signal } = options;
    const names: string[] = [];
    try {
      for await (const blob of this.container.listBlobsFlat({ prefix: this.prefix, abortSignal: signal })) {
        names.push(blob.name);
      }
    } catch (error) {
      throw storageError(error, 'list', this.prefix, 'STORAGE_UNAVAILABLE');
    }
    if (names.includes(`${this.prefix}${MANIFEST_FILE}`)) {
      const manifest = await readManifest(this.container, this, signal);
      if (manifest) return manifest;
      throw new GalleryExportError(
        'SNAPSHOT_EXISTS',
        `${this.prefix}${MANIFEST_FILE} exists but is not a valid manifest of this snapshot; not touching it (gallery-export verify names what is wrong)`,
      );
    }
    if (names.length === 0) return undefined;
    const deleteSignal = options.fence ? await options.fence(signal) : signal;
    for (const name of names) {
      try {
        await this.container.getBlockBlobClient(name).deleteIfExists({ abortSignal: deleteSignal });
      } catch (error) {
        throw storageError(error, 'clean up', name);
      }
    }
    return undefined;
  }

  async writeFile(
    name: SnapshotFileName,
    content: Buffer | AsyncIterable<Buffer>,
    options: FencedWrite = {},
  ): Promise<ManifestFile> {
    const path = `${this.prefix}${name}`;
    const created = await this.create(path, content, name === 'profile.json' ? 'profile' : 'entities', {
      ...options,
      blockBytes: this.options.blockBytes,
      blockConcurrency: this.options.blockConcurrency,
    });
    this.written.set(path, created.etag);
    return { name, path, bytes: created.bytes, sha256: created.sha256, contentType: JSON_CONTENT_TYPE };
  }

  async writeSignature(signature: SignatureDocument, options: FencedWrite = {}): Promise<void> {
    await this.create(`${this.prefix}${SIGNATURE_FILE}`, serializeDocument(signature), 'signature', options);
  }

  async writeManifest(
    bytes: Buffer,
    manifest: Manifest,
    options: FencedWrite & { checkFiles?: boolean } = {},
  ): Promise<void> {
    if (options.checkFiles !== false) await this.checkFilesUnchanged(manifest, options.signal);
    await this.create(`${this.prefix}${MANIFEST_FILE}`, bytes, 'manifest', {
      ...options,
      metadata: { [MANIFEST_SHA256_METADATA]: createHash('sha256').update(bytes).digest('hex') },
    });
  }

  private create(
    path: string,
    content: Buffer | AsyncIterable<Buffer>,
    kind: 'profile' | 'entities' | 'signature' | 'manifest',
    options: Omit<CreateBlobOptions, 'tags'>,
  ): ReturnType<typeof createBlobOnce> {
    return createBlobOnce(this.container.getBlockBlobClient(path), content, {
      ...options,
      tags: { runId: this.runId, kind, authorId: this.authorId },
    });
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
          { details: { path: file.path } },
        );
      }
    }
  }
}

/** ETags arrive quoted from some operations and bare from listings. */
function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}
