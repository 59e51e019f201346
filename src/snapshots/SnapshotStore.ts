import type { Manifest, ManifestFile } from './formats';

/** The snapshot files an export writes, in the order it writes them (manifest last). */
export type SnapshotFileName = 'profile.json' | 'entities.json';

/** One author's snapshot in one run: a folder whose manifest, written last, means "complete". */
export interface SnapshotTarget {
  readonly authorId: string;
  readonly runId: string;
  /** The folder, ending with a slash. */
  readonly prefix: string;
  /**
   * Readies the folder for writing, in one listing: returns the manifest when the snapshot is already
   * complete (nothing is touched), otherwise deletes what an interrupted attempt of this same run left.
   */
  prepare(signal?: AbortSignal): Promise<Manifest | undefined>;
  /** Creates a file that must not exist yet; returns its manifest entry (SHA-256 of the stored bytes). */
  writeFile(
    name: SnapshotFileName,
    content: Buffer | AsyncIterable<Buffer>,
    signal?: AbortSignal,
  ): Promise<ManifestFile>;
  /**
   * Writes the manifest, after checking every file it lists is still the one written (skipped with
   * `checkFiles: false` when no other writer can exist: a run this process planned just now).
   */
  writeManifest(manifest: Manifest, signal?: AbortSignal, options?: { checkFiles?: boolean }): Promise<void>;
}

export interface SnapshotStore {
  open(authorId: string, runId: string): SnapshotTarget;
}
