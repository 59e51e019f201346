import type { ContainerClient } from '@azure/storage-blob';
import type { ErasureRecord } from '../contract/formats';
import { ERASURES_ROOT, erasureSignaturePath, parseErasureRecordPath } from '../contract/layout';
import { schemaProblems } from '../contract/schemas';
import { readJsonBlob } from './blobDocuments';
import { checkSignature } from './signatureCheck';
import { storageError } from './storageErrors';
import type { PublicKeyResolver, VerifyProblem } from './verifyTypes';

export interface ErasureEvidence {
  /** `<sha256 of author ID>:<runId>` for every snapshot an erasure record says was deleted. */
  erased: Set<string>;
  /** Erasure records that cannot be read or trusted, each named: one does not hide the others. */
  problems: VerifyProblem[];
}

/**
 * Every erasure record, read one by one (a malformed one is reported and the rest still count), with its
 * signature checked when there is one and keys to check it with. Markers (`erasures/begun/…`) and
 * signatures are not records.
 */
export async function readErasureEvidence(
  container: ContainerClient,
  options: {
    keys?: PublicKeyResolver | undefined;
    requireSignatures?: boolean | undefined;
    signal?: AbortSignal | undefined;
  },
): Promise<ErasureEvidence> {
  const erased = new Set<string>();
  const problems: VerifyProblem[] = [];
  const names = new Set<string>();
  try {
    for await (const blob of container.listBlobsFlat({
      prefix: ERASURES_ROOT,
      abortSignal: options.signal,
    })) {
      names.add(blob.name);
    }
  } catch (error) {
    throw storageError(error, 'list', ERASURES_ROOT, 'STORAGE_UNAVAILABLE');
  }
  for (const path of [...names].sort()) {
    const erasureId = parseErasureRecordPath(path);
    if (!erasureId) continue;
    const stored = await readJsonBlob<ErasureRecord>(container, path, options.signal);
    if (stored.state !== 'ok') {
      problems.push({ path, kind: 'erasure-invalid', detail: 'the erasure record is not readable JSON' });
      continue;
    }
    const shape = schemaProblems('erasure', stored.value);
    if (shape.length > 0) {
      problems.push({
        path,
        kind: 'erasure-invalid',
        detail: `the erasure record does not match its schema: ${shape.join('; ')}`,
      });
      continue;
    }
    const signaturePath = erasureSignaturePath(erasureId);
    if (names.has(signaturePath)) {
      const signature = await readJsonBlob<unknown>(container, signaturePath, options.signal);
      const verdict =
        signature.state === 'ok'
          ? await checkSignature(
              signature.value,
              { name: path.split('/').pop()!, bytes: stored.bytes },
              options.keys,
              options.signal,
            )
          : ({ ok: false, detail: 'the signature is not readable JSON' } as const);
      if (!verdict.ok) {
        problems.push({ path: signaturePath, kind: 'signature-invalid', detail: verdict.detail });
        continue;
      }
    } else if (options.requireSignatures) {
      problems.push({ path, kind: 'unsigned', detail: 'the erasure record has no signature' });
      continue;
    }
    for (const runId of stored.value.deleted.runIds) erased.add(`${stored.value.authorIdSha256}:${runId}`);
  }
  return { erased, problems };
}
