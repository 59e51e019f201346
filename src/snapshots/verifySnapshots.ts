import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { authorIdDigest } from '../contract/authorId';
import type { ErasureRecord, Manifest } from '../contract/formats';
import { utcDayStamp } from '../contract/stamps';
import { ERASURES_ROOT, MANIFEST_FILE } from '../contract/layout';
import type { BlobRunStore } from './BlobRunStore';

/** The run records verify reads: which snapshots were completed, to tell a lost manifest from a crash. */
type RunRecords = Pick<BlobRunStore, 'read' | 'listOutcomes' | 'listRunIds'>;
import { schemaProblems } from '../contract/schemas';
import { listSnapshotFolders, type SnapshotFolder, type SnapshotQuery } from './snapshotListing';
import { statusOf, storageError } from './storageErrors';

export type VerifyProblemKind =
  'missing' | 'changed' | 'unexpected' | 'manifest-missing' | 'manifest-invalid';

export interface VerifyProblem {
  path: string;
  kind: VerifyProblemKind;
  detail: string;
}

export interface SnapshotVerification {
  authorId: string;
  runId: string;
  prefix: string;
  /**
   * ok: every file matches its manifest. damaged: something is missing, changed or unexpected.
   * incomplete: no manifest, and the run record says this export never finished (a crash or a failure);
   * readers ignore such folders, so they are reported but not counted as damage.
   */
  status: 'ok' | 'damaged' | 'incomplete';
  problems: VerifyProblem[];
  files: number;
  bytes: number;
}

/**
 * Re-hashes every file of the matching snapshots against their manifests. A folder without a manifest is
 * damage when the run record says that author's export completed (the manifest was lost or removed), and
 * merely incomplete when the run says it did not.
 */
export async function verifySnapshots(
  container: ContainerClient,
  runs: RunRecords,
  query: SnapshotQuery,
  onSnapshot?: (result: SnapshotVerification) => void,
): Promise<SnapshotVerification[]> {
  const folders = await listSnapshotFolders(container, query);
  const results: SnapshotVerification[] = [];
  for (const folder of folders) {
    const result = folder.hasManifest
      ? await verifyComplete(container, folder, query.signal)
      : await classifyWithoutManifest(runs, folder, query.signal);
    results.push(result);
    onSnapshot?.(result);
  }
  for (const result of await findVanishedSnapshots(
    container,
    runs,
    query,
    new Set(folders.map((folder) => folder.prefix)),
  )) {
    results.push(result);
    onSnapshot?.(result);
  }
  return results;
}

/**
 * Snapshots the run records say were completed but of which nothing is stored, unless an erasure record
 * accounts for them (purge removes snapshots on purpose; run records keep saying they were written).
 */
async function findVanishedSnapshots(
  container: ContainerClient,
  runs: RunRecords,
  query: SnapshotQuery,
  stored: Set<string>,
): Promise<SnapshotVerification[]> {
  const runIds = query.runId
    ? [query.runId]
    : await runs.listRunIds({ since: query.since, signal: query.signal });
  const erased = await readErasedSnapshots(container, query.signal);
  const vanished: SnapshotVerification[] = [];
  for (const runId of runIds) {
    if (query.until && runId.slice(0, 8) > utcDayStamp(query.until)) continue;
    const record = await runs.read(runId, query.signal);
    if (!record) continue;
    const authors =
      record.status === 'running'
        ? [...record.authors, ...(await runs.listOutcomes(runId, query.signal))]
        : record.authors;
    for (const author of authors) {
      if (author.status !== 'complete' || !author.snapshot || !author.authorId) continue;
      if (query.authorId && author.authorId !== query.authorId) continue;
      if (stored.has(author.snapshot) || erased.has(`${authorIdDigest(author.authorId)}:${runId}`)) continue;
      vanished.push({
        authorId: author.authorId,
        runId,
        prefix: author.snapshot,
        status: 'damaged',
        problems: [
          {
            path: author.snapshot,
            kind: 'missing',
            detail:
              'the run record says this snapshot was completed, but nothing of it is stored (and no erasure record explains it)',
          },
        ],
        files: 0,
        bytes: 0,
      });
      stored.add(author.snapshot);
    }
  }
  return vanished;
}

/** `<sha256 of author ID>:<runId>` for every snapshot an erasure record says was deleted. */
async function readErasedSnapshots(container: ContainerClient, signal?: AbortSignal): Promise<Set<string>> {
  const erased = new Set<string>();
  try {
    for await (const blob of container.listBlobsFlat({ prefix: ERASURES_ROOT, abortSignal: signal })) {
      const record = JSON.parse(
        (
          await container
            .getBlockBlobClient(blob.name)
            .downloadToBuffer(0, undefined, { abortSignal: signal })
        ).toString('utf8'),
      ) as Partial<ErasureRecord>;
      for (const runId of record.deleted?.runIds ?? []) erased.add(`${record.authorIdSha256}:${runId}`);
    }
  } catch (error) {
    if (error instanceof SyntaxError) return erased;
    throw storageError(error, 'read', ERASURES_ROOT, 'STORAGE_UNAVAILABLE');
  }
  return erased;
}

async function verifyComplete(
  container: ContainerClient,
  folder: SnapshotFolder,
  signal?: AbortSignal,
): Promise<SnapshotVerification> {
  const result: SnapshotVerification = {
    ...location(folder),
    status: 'ok',
    problems: [],
    files: 0,
    bytes: 0,
  };
  const manifestPath = `${folder.prefix}${MANIFEST_FILE}`;
  let manifest: Manifest;
  try {
    const text = (
      await container.getBlockBlobClient(manifestPath).downloadToBuffer(0, undefined, { abortSignal: signal })
    ).toString('utf8');
    manifest = JSON.parse(text) as Manifest;
  } catch (error) {
    if (statusOf(error) !== undefined || error instanceof SyntaxError) {
      return damaged(result, [
        { path: manifestPath, kind: 'manifest-invalid', detail: 'the manifest is not readable JSON' },
      ]);
    }
    throw storageError(error, 'read', manifestPath, 'STORAGE_UNAVAILABLE');
  }
  const invalid = schemaProblems('manifest', manifest);
  if (invalid.length > 0) {
    return damaged(result, [
      {
        path: manifestPath,
        kind: 'manifest-invalid',
        detail: `the manifest does not match its schema: ${invalid.join('; ')}`,
      },
    ]);
  }
  if (manifest.authorId !== folder.authorId || manifest.runId !== folder.runId) {
    return damaged(result, [
      {
        path: manifestPath,
        kind: 'manifest-invalid',
        detail: 'the manifest belongs to another author or run',
      },
    ]);
  }

  const listed = new Set<string>([MANIFEST_FILE]);
  for (const file of manifest.files) {
    listed.add(file.name);
    if (file.path !== `${folder.prefix}${file.name}`) {
      result.problems.push({
        path: file.path,
        kind: 'manifest-invalid',
        detail: 'the manifest lists a file outside its snapshot',
      });
      continue;
    }
    if (!folder.files.has(file.name)) {
      result.problems.push({
        path: file.path,
        kind: 'missing',
        detail: 'listed in the manifest but not stored',
      });
      continue;
    }
    const actual = await hashBlob(container, file.path, signal);
    result.files++;
    result.bytes += actual.bytes;
    if (actual.bytes !== file.bytes || actual.sha256 !== file.sha256) {
      result.problems.push({
        path: file.path,
        kind: 'changed',
        detail: `stored ${actual.bytes} bytes with SHA-256 ${actual.sha256}; the manifest says ${file.bytes} bytes with ${file.sha256}`,
      });
    }
  }
  for (const name of folder.files.keys()) {
    if (!listed.has(name)) {
      result.problems.push({
        path: `${folder.prefix}${name}`,
        kind: 'unexpected',
        detail: 'stored in the snapshot but not listed in its manifest',
      });
    }
  }
  return result.problems.length > 0 ? damaged(result, []) : result;
}

async function classifyWithoutManifest(
  runs: RunRecords,
  folder: SnapshotFolder,
  signal?: AbortSignal,
): Promise<SnapshotVerification> {
  const result: SnapshotVerification = {
    ...location(folder),
    status: 'incomplete',
    problems: [],
    files: 0,
    bytes: 0,
  };
  const record = await runs.read(folder.runId, signal);
  const outcomes = record?.status === 'running' ? await runs.listOutcomes(folder.runId, signal) : [];
  const recordedComplete = [...(record?.authors ?? []), ...outcomes].some(
    (author) => author.status === 'complete' && author.snapshot === folder.prefix,
  );
  if (recordedComplete || !record) {
    return damaged(result, [
      {
        path: `${folder.prefix}${MANIFEST_FILE}`,
        kind: 'manifest-missing',
        detail: record
          ? 'the run record says this snapshot was completed, but its manifest is gone'
          : 'the snapshot has no manifest and no run record explains it',
      },
    ]);
  }
  return result;
}

function location(folder: SnapshotFolder): Pick<SnapshotVerification, 'authorId' | 'runId' | 'prefix'> {
  return { authorId: folder.authorId, runId: folder.runId, prefix: folder.prefix };
}

function damaged(result: SnapshotVerification, problems: VerifyProblem[]): SnapshotVerification {
  return { ...result, status: 'damaged', problems: [...result.problems, ...problems] };
}

/** SHA-256 and size of a blob's stored bytes, streamed (snapshots can be large). */
async function hashBlob(
  container: ContainerClient,
  path: string,
  signal?: AbortSignal,
): Promise<{ sha256: string; bytes: number }> {
  try {
    const response = await container.getBlockBlobClient(path).download(0, undefined, { abortSignal: signal });
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of response.readableStreamBody ?? []) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      hash.update(buffer);
      bytes += buffer.length;
    }
    return { sha256: hash.digest('hex'), bytes };
  } catch (error) {
    throw storageError(error, 'read', path, 'STORAGE_UNAVAILABLE');
  }
}
