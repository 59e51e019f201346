import type { ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../contract/errors';
import { serializeDocument, type Manifest, type ManifestFile } from '../contract/formats';
import { MANIFEST_FILE, snapshotPrefix, type SnapshotFileName } from '../contract/layout';
import { readManifest } from './snapshotListing';
import { createBlobOnce, JSON_CONTENT_TYPE } from './blobDocuments';
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
      serializeDocument(manifest),
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
