import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { ZipFile } from 'yazl';
import { downloadSnapshot, type BundleFinisher } from './downloadSnapshot';
import type { ProofOptions, ProofRequest, ProvenSnapshot } from './proveSnapshot';

const BUNDLE_FOLDER_PREFIX = 'gallery-export-bundle-';
/** A bundle folder this old belongs to a download that died (a worker killed mid-stream, scaled in). */
const ABANDONED_AFTER_MS = 3600_000;

export interface ZippedBundle {
  proof: ProvenSnapshot;
  /** The zip, streamed from the files on disk (deflated); its folder is removed when it ends or fails. */
  stream: Readable;
  /** A name for it: `gallery-export-<authorId>-<runId>.zip`. */
  fileName: string;
  files: string[];
}

/**
 * A subject-access bundle as a zip, for the HTTP API: exactly what `get --out` writes (the snapshot
 * proven, every file re-hashed as it is downloaded, README.txt, SHA256SUMS, report.html and whatever
 * `finish` adds), assembled in a private folder under `workDir` and streamed from there, so that nothing
 * is sent before the proof holds and memory stays flat whatever the author's size (the files are read from
 * disk as the zip is sent).
 */
export async function zippedBundle(
  container: ContainerClient,
  request: ProofRequest & { signal?: AbortSignal | undefined },
  options: Omit<ProofOptions, 'signal' | 'hashFiles'>,
  finish: BundleFinisher,
  workDir: string,
): Promise<ZippedBundle> {
  await removeAbandonedBundles(workDir);
  const work = await mkdtemp(join(workDir, BUNDLE_FOLDER_PREFIX));
  try {
    const bundle = await downloadSnapshot(
      container,
      { ...request, outDir: join(work, 'bundle') },
      options,
      finish,
    );
    const names = (await readdir(bundle.folder)).sort();
    const zip = new ZipFile();
    for (const name of names) zip.addFile(join(bundle.folder, name), name, { compress: true });
    zip.end();
    // yazl's declared type is the DOM's ReadableStream; what it hands out is Node's Readable.
    const stream = zip.outputStream as unknown as Readable;
    let cleaned = false;
    const cleanUp = (): void => {
      if (cleaned) return;
      cleaned = true;
      void rm(work, { recursive: true, force: true });
    };
    stream.once('end', cleanUp);
    stream.once('error', cleanUp);
    stream.once('close', cleanUp);
    const { authorId, runId } = bundle.proof.location;
    return { proof: bundle.proof, stream, fileName: `gallery-export-${authorId}-${runId}.zip`, files: names };
  } catch (error) {
    await rm(work, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Bundle folders left by downloads that never ended (the process was killed, or the client never read
 * to the end): they hold an author's data, so they do not outlive an hour (the HTTP limit is minutes).
 */
async function removeAbandonedBundles(workDir: string): Promise<void> {
  const now = Date.now();
  for (const entry of await readdir(workDir).catch(() => [])) {
    if (!entry.startsWith(BUNDLE_FOLDER_PREFIX)) continue;
    const folder = join(workDir, entry);
    const changed = (await stat(folder).catch(() => undefined))?.mtimeMs;
    if (changed !== undefined && now - changed > ABANDONED_AFTER_MS) {
      await rm(folder, { recursive: true, force: true });
    }
  }
}
