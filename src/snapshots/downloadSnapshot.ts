import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../contract/errors';
import { MANIFEST_FILE, SIGNATURE_FILE } from '../contract/layout';
import { describeBundle } from './bundleReadme';
import {
  proveSnapshot,
  SnapshotNotProvenError,
  type ProofOptions,
  type ProofRequest,
  type ProvenSnapshot,
} from './proveSnapshot';
import { storageError } from './storageErrors';
import { changed } from './verifyManifest';
import type { VerifyProblem } from './verifyTypes';

export interface DownloadRequest extends ProofRequest {
  /** Must not exist yet, or be an empty folder: nothing already there is ever overwritten. */
  outDir: string;
  signal?: AbortSignal | undefined;
}

export interface DownloadedSnapshot {
  proof: ProvenSnapshot;
  /** The folder the bundle is in (the request's outDir). */
  folder: string;
  /** Every file written, with its full path. */
  files: string[];
}

/**
 * Adds files to a proven bundle before it is handed out (report.html): given the folder it is still
 * being assembled in, returns the names it wrote.
 */
export type BundleFinisher = (folder: string, proof: ProvenSnapshot) => Promise<string[]>;

/** The files of a subject-access bundle besides the snapshot's own. */
export const BUNDLE_SUMS_FILE = 'SHA256SUMS';
export const BUNDLE_README_FILE = 'README.txt';

/**
 * A subject-access bundle, handed out only when proven: the snapshot is first checked as `verify` checks
 * it (manifest, signature, chain link: proveSnapshot), then downloaded into a private folder next to
 * `outDir`, each file re-hashed against the manifest as it arrives, with the manifest and its signature
 * byte for byte, SHA256SUMS (`sha256sum -c SHA256SUMS`), a README.txt saying what the files are and what
 * was checked, and whatever `finish` adds (report.html). Only then is that folder renamed to `outDir`: a
 * snapshot that fails any check leaves nothing at `outDir`, not even an empty folder.
 */
export async function downloadSnapshot(
  container: ContainerClient,
  request: DownloadRequest,
  options: Omit<ProofOptions, 'signal' | 'hashFiles'>,
  finish?: BundleFinisher,
): Promise<DownloadedSnapshot> {
  const { signal } = request;
  const existed = await emptyOrAbsent(request.outDir);
  const proof = await proveSnapshot(container, request, { ...options, signal, hashFiles: false });
  const parent = dirname(request.outDir);
  // Folders made for a bundle that is then refused are removed with it: nothing is left behind.
  const madeParent = await mkdir(parent, { recursive: true });
  await removeAbandonedBundles(parent, basename(request.outDir));
  const staging = await mkdtemp(join(parent, `.${basename(request.outDir)}.partial-`));
  try {
    const names = await writeBundle(container, staging, proof, signal);
    if (finish) {
      try {
        names.push(...(await finish(staging, proof)));
      } catch (error) {
        throw renamePaths(error, staging, request.outDir);
      }
    }
    if (existed) await rmdir(request.outDir);
    try {
      await rename(staging, request.outDir);
    } catch (error) {
      throw new GalleryExportError(
        'OUTPUT_NOT_EMPTY',
        `${request.outDir} appeared while the bundle was prepared; choose a new folder (nothing was overwritten)`,
        { cause: error },
      );
    }
    return { proof, folder: request.outDir, files: names.map((name) => join(request.outDir, name)) };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    if (madeParent) await rm(madeParent, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Removes the private folders a `get` of this same folder left when it was killed (`.<name>.partial-XXXXXX`,
 * never renamed because never proven): they hold unproven files nobody should read.
 */
async function removeAbandonedBundles(parent: string, name: string): Promise<void> {
  const pattern = new RegExp(`^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.partial-[A-Za-z0-9]{6}$`);
  for (const entry of await readdir(parent)) {
    if (pattern.test(entry)) await rm(join(parent, entry), { recursive: true, force: true });
  }
}

/** An error about a file in the private folder, told with the path the person asked for. */
function renamePaths(error: unknown, staging: string, outDir: string): unknown {
  if (error instanceof GalleryExportError && error.message.includes(staging)) {
    return new GalleryExportError(error.code, error.message.split(staging).join(outDir), {
      cause: error,
      details: error.details,
      statusCode: error.statusCode,
    });
  }
  return error;
}

/** The proven snapshot's files, each checked as it is written; returns their names. */
async function writeBundle(
  container: ContainerClient,
  folder: string,
  proof: ProvenSnapshot,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const { manifest, location } = proof;
  const names: string[] = [];
  const mismatches: VerifyProblem[] = [];
  // Every file is read before a mismatch refuses the bundle, so that each one is named.
  for (const file of manifest.files) {
    const actual = await downloadVerified(container, file.path, join(folder, file.name), signal);
    names.push(file.name);
    if (actual.sha256 !== file.sha256 || actual.bytes !== file.bytes) {
      mismatches.push(changed(file.path, actual, file));
    }
  }
  if (mismatches.length > 0) throw new SnapshotNotProvenError(location, mismatches);
  // The manifest and its signature byte for byte: the signature covers those exact bytes.
  await writeFile(join(folder, MANIFEST_FILE), proof.manifestBytes, { flag: 'wx' });
  names.push(MANIFEST_FILE);
  if (proof.signatureBytes) {
    await writeFile(join(folder, SIGNATURE_FILE), proof.signatureBytes, { flag: 'wx' });
    names.push(SIGNATURE_FILE);
  }
  const sums = manifest.files.map((file) => `${file.sha256}  ${file.name}\n`).join('');
  await writeFile(join(folder, BUNDLE_SUMS_FILE), sums, { flag: 'wx' });
  await writeFile(join(folder, BUNDLE_README_FILE), describeBundle(proof), { flag: 'wx' });
  names.push(BUNDLE_SUMS_FILE, BUNDLE_README_FILE);
  return names;
}

/** True when the folder exists and is empty, false when it does not exist; OUTPUT_NOT_EMPTY otherwise. */
async function emptyOrAbsent(folder: string): Promise<boolean> {
  const link = await lstat(folder).catch(() => undefined);
  if (link?.isSymbolicLink()) {
    throw new GalleryExportError(
      'OUTPUT_NOT_EMPTY',
      `${folder} is a symbolic link; choose a new folder (a bundle is never written through a link)`,
    );
  }
  let existing: string[];
  try {
    existing = await readdir(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    throw new GalleryExportError(
      'OUTPUT_NOT_EMPTY',
      code === 'ENOTDIR'
        ? `${folder} is a file; choose a new folder (nothing already there is overwritten)`
        : `${folder} cannot be read (${code ?? 'error'}); choose a new folder`,
    );
  }
  if (existing.length > 0) {
    throw new GalleryExportError(
      'OUTPUT_NOT_EMPTY',
      `${folder} is not empty; choose a new folder (nothing already there is overwritten)`,
    );
  }
  return true;
}

async function downloadVerified(
  container: ContainerClient,
  path: string,
  target: string,
  signal?: AbortSignal,
): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const response = await container.getBlockBlobClient(path).download(0, undefined, { abortSignal: signal });
    if (!response.readableStreamBody) throw new Error('empty response');
    await pipeline(
      response.readableStreamBody,
      new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done(null, chunk);
        },
      }),
      createWriteStream(target, { flags: 'wx' }),
    );
  } catch (error) {
    await rm(target, { force: true });
    throw storageError(error, 'download', path, 'STORAGE_UNAVAILABLE');
  }
  return { sha256: hash.digest('hex'), bytes };
}
