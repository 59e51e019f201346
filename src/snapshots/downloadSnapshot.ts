import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { GalleryExportError } from '../contract/errors';
import type { Manifest } from '../contract/formats';
import { MANIFEST_FILE, SIGNATURE_FILE, SNAPSHOT_DATA_FILES } from '../contract/layout';
import { listCompleteSnapshots, type CompleteSnapshot } from './snapshotListing';
import { readBlob } from './blobDocuments';
import { storageError } from './storageErrors';

export interface DownloadRequest {
  authorId: string;
  /** A run ID, or undefined for the latest complete snapshot. */
  runId?: string | undefined;
  /** Must not exist yet, or be empty: nothing already there is ever overwritten. */
  outDir: string;
  signal?: AbortSignal | undefined;
}

export interface DownloadedSnapshot {
  snapshot: CompleteSnapshot;
  folder: string;
  files: string[];
}

/**
 * A subject-access bundle: one complete snapshot downloaded into a folder, each file checked against the
 * manifest's SHA-256 as it arrives, plus the manifest, a SHA256SUMS file (`sha256sum -c SHA256SUMS`) and a
 * short README.txt saying what the files are. A file that does not match fails the download and nothing
 * unverified is left behind.
 */
export async function downloadSnapshot(
  container: ContainerClient,
  request: DownloadRequest,
): Promise<DownloadedSnapshot> {
  const snapshots = await listCompleteSnapshots(container, {
    authorId: request.authorId,
    runId: request.runId,
    signal: request.signal,
  });
  const listed = snapshots[0];
  if (listed?.archived) {
    throw new GalleryExportError(
      'SNAPSHOT_ARCHIVED',
      `The manifest of ${listed.prefix} is in the Archive tier: rehydrate the snapshot's blobs to the Cool or Hot tier (az storage blob set-tier --tier Cool) and try again`,
    );
  }
  const snapshot = listed;
  if (!snapshot) {
    throw new GalleryExportError(
      'SNAPSHOT_NOT_FOUND',
      request.runId
        ? `No complete snapshot of author ${request.authorId} in run ${request.runId}`
        : `No complete snapshot of author ${request.authorId}`,
    );
  }
  // The manifest decides which blobs are read and which files are written: it must name only this
  // snapshot's two files (a tampered one could otherwise pull in other blobs or write outside the folder).
  for (const file of snapshot.manifest.files) {
    const known = (SNAPSHOT_DATA_FILES as readonly string[]).includes(file.name);
    if (!known || file.path !== `${snapshot.prefix}${file.name}`) {
      throw new GalleryExportError(
        'SNAPSHOT_DAMAGED',
        `The manifest of ${snapshot.prefix} lists an unexpected file; the snapshot is damaged, run \`gallery-export verify\``,
      );
    }
  }
  await prepareEmptyFolder(request.outDir);
  const written: string[] = [];
  try {
    for (const file of snapshot.manifest.files) {
      const target = join(request.outDir, file.name);
      const actual = await downloadVerified(container, file.path, target, request.signal);
      written.push(target);
      if (actual.sha256 !== file.sha256 || actual.bytes !== file.bytes) {
        throw new GalleryExportError(
          'SNAPSHOT_DAMAGED',
          `${file.path} does not match its manifest (stored SHA-256 ${actual.sha256}, expected ${file.sha256}); the snapshot is damaged, run \`gallery-export verify\``,
        );
      }
    }
    // The manifest and its signature byte for byte: the signature covers those exact bytes.
    const manifestBytes = (await readBlob(container, `${snapshot.prefix}${MANIFEST_FILE}`, request.signal))
      ?.bytes;
    if (!manifestBytes)
      throw new GalleryExportError('SNAPSHOT_NOT_FOUND', `${snapshot.prefix} lost its manifest`);
    await writeFile(join(request.outDir, MANIFEST_FILE), manifestBytes, { flag: 'wx' });
    written.push(join(request.outDir, MANIFEST_FILE));
    const signature = await readBlob(container, `${snapshot.prefix}${SIGNATURE_FILE}`, request.signal);
    if (signature) {
      await writeFile(join(request.outDir, SIGNATURE_FILE), signature.bytes, { flag: 'wx' });
      written.push(join(request.outDir, SIGNATURE_FILE));
    }
    const sums = snapshot.manifest.files.map((file) => `${file.sha256}  ${file.name}\n`).join('');
    await writeFile(join(request.outDir, 'SHA256SUMS'), sums, { flag: 'wx' });
    await writeFile(
      join(request.outDir, 'README.txt'),
      describeBundle(snapshot.manifest, signature !== undefined),
      {
        flag: 'wx',
      },
    );
    written.push(...['SHA256SUMS', 'README.txt'].map((name) => join(request.outDir, name)));
  } catch (error) {
    for (const path of written) await rm(path, { force: true });
    throw error;
  }
  return { snapshot, folder: request.outDir, files: written };
}

async function prepareEmptyFolder(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true });
  const existing = await readdir(folder);
  if (existing.length > 0) {
    throw new GalleryExportError(
      'OUTPUT_NOT_EMPTY',
      `${folder} is not empty; choose a new folder (nothing already there is overwritten)`,
    );
  }
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

function describeBundle(manifest: Manifest, signed: boolean): string {
  const files = manifest.files.map(
    (file) => `  ${file.name.padEnd(14)} ${String(file.bytes).padStart(10)} bytes  SHA-256 ${file.sha256}`,
  );
  const unlisted = manifest.includesUnlisted
    ? 'It includes unlisted (hidden) entities: the access token on file was valid when the export ran.'
    : `It does NOT include unlisted entities (access token: ${manifest.token.status}).`;
  return [
    'Azure AI Gallery data export',
    '============================',
    '',
    `Author ID:   ${manifest.authorId}`,
    `Exported:    ${manifest.completedAt} (run ${manifest.runId}, started by ${manifest.trigger})`,
    `Source:      ${manifest.source.baseUrl}`,
    `Entities:    ${manifest.counts.entities} (${manifest.counts.unlisted} unlisted)`,
    '',
    'This folder holds everything the Azure AI Gallery Catalog API returned for this author when the export',
    `ran. ${unlisted}`,
    '',
    'Files:',
    '  profile.json   the author profile, exactly as the Catalog API returned it (GET /users/<author ID>)',
    '  entities.json  every entity the author published, one JSON array ordered by id, each entity exactly',
    '                 as the Catalog API returned it',
    '  manifest.json  what was exported, when and how, with the size and SHA-256 of each file',
    ...(signed
      ? [
          '  signature.json the signature of manifest.json, made by a Key Vault key that never leaves the vault;',
          '                 check it with the public key (gallery-export public-key --out key.pem):',
          '                   jq -r .signature signature.json | base64 -d > signature.bin',
          '                   openssl dgst -sha256 -verify key.pem -signature signature.bin manifest.json',
        ]
      : []),
    '  SHA256SUMS     the same hashes for checking: sha256sum -c SHA256SUMS',
    '  report.html    the same, for a person to read in a browser',
    '  README.txt     this file',
    '',
    ...files,
    ...(manifest.warnings.length > 0
      ? ['', 'Notes:', ...manifest.warnings.map((warning) => `  - ${warning}`)]
      : []),
    '',
    `Produced by ${manifest.generator.name} ${manifest.generator.version}.`,
    '',
  ].join('\n');
}
