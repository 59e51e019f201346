import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Manifest } from '../contract/formats';
import { MANIFEST_FILE, SNAPSHOT_DATA_FILES, type SnapshotLocation } from '../contract/layout';
import { schemaProblems } from '../contract/schemas';
import { readBlob } from './blobDocuments';

/** A stored manifest, read and judged: its exact bytes (what its signature and the chain cover) and its value. */
export type ManifestReading =
  | { state: 'missing' }
  | { state: 'invalid'; bytes: Buffer; sha256: string; detail: string }
  | { state: 'ok'; bytes: Buffer; sha256: string; manifest: Manifest };

/**
 * A manifest's bytes judged before any value of it is used or shown: readable JSON, valid against its
 * schema (so a count is a number and a path a path, never markup), of this snapshot, and naming exactly
 * profile.json and entities.json of this folder (a manifest decides which blobs are read and which files
 * are written: it must not reach outside its snapshot).
 */
export function judgeManifest(
  bytes: Buffer,
  location: SnapshotLocation,
): Exclude<ManifestReading, { state: 'missing' }> {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const invalid = (detail: string) => ({ state: 'invalid' as const, bytes, sha256, detail });
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return invalid('the manifest is not readable JSON');
  }
  const problems = schemaProblems('manifest', value);
  if (problems.length > 0) return invalid(`the manifest does not match its schema: ${problems.join('; ')}`);
  const manifest = value as Manifest;
  if (manifest.authorId !== location.authorId || manifest.runId !== location.runId) {
    return invalid('the manifest belongs to another author or run');
  }
  const named = manifest.files.map((file) => file.name).sort();
  if (named.join('\n') !== [...SNAPSHOT_DATA_FILES].sort().join('\n')) {
    return invalid(
      `the manifest must name ${SNAPSHOT_DATA_FILES.join(' and ')} exactly once each (it names ${named.join(', ') || 'nothing'})`,
    );
  }
  const outside = manifest.files.find((file) => file.path !== `${location.prefix}${file.name}`);
  if (outside) return invalid(`the manifest lists ${outside.path}, a file outside its snapshot`);
  return { state: 'ok', bytes, sha256, manifest };
}

/** Reads and judges a snapshot's manifest; storage failures throw STORAGE_UNAVAILABLE. */
export async function readStoredManifest(
  container: ContainerClient,
  location: SnapshotLocation,
  signal?: AbortSignal,
): Promise<ManifestReading> {
  const stored = await readBlob(container, `${location.prefix}${MANIFEST_FILE}`, signal);
  return stored ? judgeManifest(stored.bytes, location) : { state: 'missing' };
}
