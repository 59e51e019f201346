import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Manifest } from '../contract/formats';
import { MANIFEST_FILE, SIGNATURE_FILE, SNAPSHOT_DATA_FILES } from '../contract/layout';
import { schemaProblems } from '../contract/schemas';
import { readBlob, readJsonBlob } from './blobDocuments';
import { checkSignature } from './signatureCheck';
import type { SnapshotFolder } from './snapshotListing';
import { storageError } from './storageErrors';
import type { SnapshotVerification, VerifyOptions, VerifyProblem } from './verifyTypes';

/** One complete snapshot checked, with what its author's chain needs from it. */
export interface CheckedSnapshot {
  result: SnapshotVerification;
  /** Undefined when the manifest could not be read or is not a manifest of this snapshot. */
  manifest?: Manifest | undefined;
  /** SHA-256 of the manifest's stored bytes. */
  manifestSha256?: string | undefined;
}

/**
 * Re-hashes every file of a complete snapshot against its manifest, checks the manifest (readable, of
 * this snapshot, naming profile.json and entities.json exactly once each and nothing else) and its
 * signature, and names every stored file the manifest does not list.
 */
export async function verifyComplete(
  container: ContainerClient,
  folder: SnapshotFolder,
  options: Pick<VerifyOptions, 'keys' | 'requireSignatures' | 'signal'>,
): Promise<CheckedSnapshot> {
  const { signal } = options;
  const result: SnapshotVerification = {
    authorId: folder.authorId,
    runId: folder.runId,
    prefix: folder.prefix,
    status: 'ok',
    problems: [],
    notes: [],
    files: 0,
    bytes: 0,
  };
  const problems = result.problems;
  const manifestPath = `${folder.prefix}${MANIFEST_FILE}`;
  const stored = await readBlob(container, manifestPath, signal);
  const done = (manifest?: Manifest, manifestSha256?: string): CheckedSnapshot => ({
    result: problems.length > 0 ? { ...result, status: 'damaged' } : result,
    manifest,
    manifestSha256,
  });
  if (!stored) {
    problems.push({
      path: manifestPath,
      kind: 'manifest-missing',
      detail: 'the manifest disappeared while it was checked',
    });
    return done();
  }
  const manifestSha256 = createHash('sha256').update(stored.bytes).digest('hex');
  let manifest: Manifest;
  try {
    manifest = JSON.parse(stored.bytes.toString('utf8')) as Manifest;
  } catch {
    problems.push({
      path: manifestPath,
      kind: 'manifest-invalid',
      detail: 'the manifest is not readable JSON',
    });
    return done();
  }
  const invalid = schemaProblems('manifest', manifest);
  if (invalid.length > 0) {
    problems.push({
      path: manifestPath,
      kind: 'manifest-invalid',
      detail: `the manifest does not match its schema: ${invalid.join('; ')}`,
    });
    return done();
  }
  if (manifest.authorId !== folder.authorId || manifest.runId !== folder.runId) {
    problems.push({
      path: manifestPath,
      kind: 'manifest-invalid',
      detail: 'the manifest belongs to another author or run',
    });
    return done();
  }
  const named = manifest.files.map((file) => file.name).sort();
  if (named.join('\n') !== [...SNAPSHOT_DATA_FILES].sort().join('\n')) {
    problems.push({
      path: manifestPath,
      kind: 'manifest-invalid',
      detail: `the manifest must name ${SNAPSHOT_DATA_FILES.join(' and ')} exactly once each (it names ${named.join(', ') || 'nothing'})`,
    });
  }

  await checkSignatureOf(container, folder, stored.bytes, result, options);
  const listed = new Set<string>([MANIFEST_FILE, SIGNATURE_FILE]);
  for (const file of new Map(manifest.files.map((entry) => [entry.name, entry])).values()) {
    listed.add(file.name);
    if (file.path !== `${folder.prefix}${file.name}`) {
      problems.push({
        path: file.path,
        kind: 'manifest-invalid',
        detail: 'the manifest lists a file outside its snapshot',
      });
      continue;
    }
    if (!folder.files.has(file.name)) {
      problems.push({ path: file.path, kind: 'missing', detail: 'listed in the manifest but not stored' });
      continue;
    }
    const actual = await hashBlob(container, file.path, signal);
    result.files++;
    result.bytes += actual.bytes;
    if (actual.bytes !== file.bytes || actual.sha256 !== file.sha256) {
      problems.push({
        path: file.path,
        kind: 'changed',
        detail: `stored ${actual.bytes} bytes with SHA-256 ${actual.sha256}; the manifest says ${file.bytes} bytes with ${file.sha256}`,
      });
    }
  }
  for (const name of folder.files.keys()) {
    if (!listed.has(name)) {
      problems.push({
        path: `${folder.prefix}${name}`,
        kind: 'unexpected',
        detail: 'stored in the snapshot but not listed in its manifest',
      });
    }
  }
  return done(manifest, manifestSha256);
}

async function checkSignatureOf(
  container: ContainerClient,
  folder: SnapshotFolder,
  manifestBytes: Buffer,
  result: SnapshotVerification,
  options: Pick<VerifyOptions, 'keys' | 'requireSignatures' | 'signal'>,
): Promise<void> {
  const path = `${folder.prefix}${SIGNATURE_FILE}`;
  if (!folder.files.has(SIGNATURE_FILE)) {
    if (options.requireSignatures) {
      result.problems.push({
        path,
        kind: 'unsigned',
        detail: 'the snapshot has no signature (--require-signatures)',
      });
    }
    return;
  }
  const document = await readJsonBlob<unknown>(container, path, options.signal);
  const verdict =
    document.state === 'ok'
      ? await checkSignature(
          document.value,
          { name: MANIFEST_FILE, bytes: manifestBytes },
          options.keys,
          options.signal,
        )
      : ({ ok: false, detail: 'the signature is not readable JSON' } as const);
  if (verdict.ok) {
    if (options.keys) result.signedBy = verdict.keyId;
    else result.notes.push(`signed by ${verdict.keyId} (not checked: no public key)`);
  } else {
    result.problems.push({ path, kind: 'signature-invalid', detail: verdict.detail } satisfies VerifyProblem);
  }
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
