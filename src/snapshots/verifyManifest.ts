import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import type { Manifest } from '../contract/formats';
import { MANIFEST_FILE, SIGNATURE_FILE } from '../contract/layout';
import { readJsonBlob } from './blobDocuments';
import { readStoredManifest } from './manifestDocument';
import { checkSignature, type SignatureVerdict } from './signatureCheck';
import type { SnapshotFolder } from './snapshotListing';
import { storageError } from './storageErrors';
import type { SnapshotVerification, VerifyOptions, VerifyProblem } from './verifyTypes';

/** One complete snapshot checked, with what its author's chain needs from it. */
export interface CheckedSnapshot {
  result: SnapshotVerification;
  /** Undefined when the manifest could not be read or is not a valid manifest of this snapshot. */
  manifest?: Manifest | undefined;
  /** SHA-256 of the manifest's stored bytes (also when it is not a valid manifest). */
  manifestSha256?: string | undefined;
  /** The manifest's exact bytes, when it is valid. */
  manifestBytes?: Buffer | undefined;
  /** What the signature check found; undefined when the snapshot is not signed. */
  signature?: SignatureVerdict | undefined;
  /** signature.json's exact bytes, as checked. */
  signatureBytes?: Buffer | undefined;
  /** The snapshot has a signature.json (whatever its check found). */
  signed?: boolean | undefined;
}

export type ManifestCheckOptions = Pick<VerifyOptions, 'keys' | 'requireSignatures' | 'signal'> & {
  /**
   * Re-hash every data file (verify, the HTTP bundle). `get` hashes each file as it downloads it instead,
   * so the bytes handed out are the bytes checked. @default true
   */
  hashFiles?: boolean | undefined;
};

/**
 * Checks one complete snapshot: the manifest (valid against its schema, of this snapshot, naming exactly
 * its two data files), its signature, every file it lists (stored, and re-hashed unless `hashFiles` is
 * false), and names every stored file the manifest does not list.
 */
export async function verifyComplete(
  container: ContainerClient,
  folder: SnapshotFolder,
  options: ManifestCheckOptions,
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
  const reading = await readStoredManifest(container, folder, signal);
  const done = (checked: Omit<CheckedSnapshot, 'result'> = {}): CheckedSnapshot => ({
    result: problems.length > 0 ? { ...result, status: 'damaged' } : result,
    ...checked,
  });
  if (reading.state === 'missing') {
    problems.push({
      path: manifestPath,
      kind: 'manifest-missing',
      detail: 'the manifest disappeared while it was checked',
    });
    return done();
  }
  if (reading.state === 'invalid') {
    problems.push({ path: manifestPath, kind: 'manifest-invalid', detail: reading.detail });
    return done({ manifestSha256: reading.sha256 });
  }
  const { manifest, bytes: manifestBytes, sha256: manifestSha256 } = reading;
  const { verdict: signature, bytes: signatureBytes } = await checkSignatureOf(
    container,
    folder,
    manifestBytes,
    result,
    options,
  );
  const listed = new Set<string>([MANIFEST_FILE, SIGNATURE_FILE]);
  for (const file of manifest.files) {
    listed.add(file.name);
    if (!folder.files.has(file.name)) {
      problems.push({ path: file.path, kind: 'missing', detail: 'listed in the manifest but not stored' });
      continue;
    }
    result.files++;
    if (options.hashFiles === false) {
      result.bytes += file.bytes;
      continue;
    }
    const actual = await hashBlob(container, file.path, signal);
    result.bytes += actual.bytes;
    if (actual.bytes !== file.bytes || actual.sha256 !== file.sha256) {
      problems.push(changed(file.path, actual, file));
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
  return done({
    manifest,
    manifestSha256,
    manifestBytes,
    signature,
    signatureBytes,
    signed: folder.files.has(SIGNATURE_FILE),
  });
}

/** The problem of a file whose stored bytes are not the ones its manifest describes. */
export function changed(
  path: string,
  actual: { bytes: number; sha256: string },
  expected: { bytes: number; sha256: string },
): VerifyProblem {
  return {
    path,
    kind: 'changed',
    detail: `stored ${actual.bytes} bytes with SHA-256 ${actual.sha256}; the manifest says ${expected.bytes} bytes with ${expected.sha256}`,
  };
}

async function checkSignatureOf(
  container: ContainerClient,
  folder: SnapshotFolder,
  manifestBytes: Buffer,
  result: SnapshotVerification,
  options: ManifestCheckOptions,
): Promise<{ verdict?: SignatureVerdict | undefined; bytes?: Buffer | undefined }> {
  const path = `${folder.prefix}${SIGNATURE_FILE}`;
  if (!folder.files.has(SIGNATURE_FILE)) {
    if (options.requireSignatures) {
      result.problems.push({
        path,
        kind: 'unsigned',
        detail: 'the snapshot has no signature (--require-signatures)',
      });
    }
    return {};
  }
  const document = await readJsonBlob<unknown>(container, path, options.signal);
  const verdict: SignatureVerdict =
    document.state === 'ok'
      ? await checkSignature(
          document.value,
          { name: MANIFEST_FILE, bytes: manifestBytes },
          options.keys,
          options.signal,
        )
      : {
          ok: false,
          detail:
            document.state === 'missing'
              ? 'the signature disappeared while it was checked'
              : 'the signature is not readable JSON',
        };
  if (verdict.ok) {
    if (verdict.verified) result.signedBy = verdict.keyId;
    else result.notes.push(`signed by ${verdict.keyId} (not checked: no public key)`);
  } else {
    result.problems.push({ path, kind: 'signature-invalid', detail: verdict.detail });
  }
  return { verdict, bytes: document.state === 'missing' ? undefined : document.bytes };
}

/** SHA-256 and size of a blob's stored bytes, streamed (snapshots can be large). */
export async function hashBlob(
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
