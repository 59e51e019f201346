import type { ContainerClient } from '@azure/storage-blob';
import { authorIdDigest } from '../contract/authorId';
import { GalleryExportError } from '../contract/errors';
import type { ErasureMarker, ErasurePlan, ErasureRecord } from '../contract/formats';
import {
  ERASURES_ROOT,
  erasurePlanPath,
  erasureRecordPath,
  erasureSignaturePath,
  LEGACY_ERASURE_MARKERS_ROOT,
  legacyErasureMarkersPrefix,
  erasureMarkersPrefix,
  parseErasureMarkerPath,
  parseErasureRecordPath,
  PURGE_PROGRESS_ROOT,
} from '../contract/layout';
import { schemaProblems, type DocumentKind } from '../contract/schemas';
import { readJsonBlob } from './blobDocuments';
import { checkSignature } from './signatureCheck';
import { storageError } from './storageErrors';
import type { PublicKeyResolver, VerifyProblem } from './verifyTypes';

/** An erasure record as stored, judged: valid against its schema, and its signature checked when possible. */
export interface StoredErasureRecord {
  path: string;
  record: ErasureRecord;
  /** When storage created the record (its own clock). */
  createdOn: Date;
  signature:
    | { state: 'verified'; keyId: string }
    | { state: 'not-checked'; keyId: string }
    | { state: 'unsigned' }
    | { state: 'invalid'; detail: string };
}

/** An erasure that began (its marker is stored) and that no record has closed yet. */
export interface UnfinishedErasure {
  erasureId: string;
  authorIdSha256: string;
  markerPath: string;
  begunAt: Date;
  /** The marker's content, when it is a valid marker. */
  marker?: ErasureMarker | undefined;
  /** What it erases (and whom), when the purge got as far as writing its plan. */
  plan?: ErasurePlan | undefined;
}

export interface ErasureLedger {
  records: StoredErasureRecord[];
  unfinished: UnfinishedErasure[];
  /** Records and markers that cannot be read or trusted, each named: one does not hide the others. */
  problems: VerifyProblem[];
}

export interface LedgerQuery {
  /** Only this author's erasures (records are read to learn whose they are; markers are per author). */
  authorIdSha256?: string | undefined;
  keys?: PublicKeyResolver | undefined;
  requireSignatures?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

interface Listed {
  name: string;
  createdOn: Date;
}

/**
 * Everything the archive holds about erasures: the records (`erasures/<erasureId>.json`, each checked
 * against its schema and its signature), and the erasures that began and were never finished. A marker is
 * closed by its own record, or by any later record of the same author (a complete purge erases
 * everything, so it finishes every erasure begun before it); times are storage's own, in whole seconds,
 * and a record written in the second its marker was is taken as written after it.
 */
export async function readErasureLedger(
  container: ContainerClient,
  query: LedgerQuery = {},
): Promise<ErasureLedger> {
  const digest = query.authorIdSha256;
  const [erasureBlobs, markerBlobs, legacyBlobs] = await Promise.all([
    listBlobs(container, ERASURES_ROOT, query.signal),
    listBlobs(container, digest ? erasureMarkersPrefix(digest) : PURGE_PROGRESS_ROOT, query.signal),
    listBlobs(
      container,
      digest ? legacyErasureMarkersPrefix(digest) : LEGACY_ERASURE_MARKERS_ROOT,
      query.signal,
    ),
  ]);
  const names = new Set(erasureBlobs.map((blob) => blob.name));
  const records: StoredErasureRecord[] = [];
  const problems: VerifyProblem[] = [];
  for (const blob of erasureBlobs.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const erasureId = parseErasureRecordPath(blob.name);
    if (!erasureId) continue;
    const stored = await readDocument<ErasureRecord>(container, blob.name, 'erasure', query.signal);
    if ('problem' in stored) {
      problems.push({
        path: blob.name,
        kind: 'erasure-invalid',
        detail: `the erasure record ${stored.problem}`,
      });
      continue;
    }
    if (digest && stored.value.authorIdSha256 !== digest) continue;
    if (stored.value.erasureId !== erasureId) {
      problems.push({
        path: blob.name,
        kind: 'erasure-invalid',
        detail: 'the erasure record names another erasure',
      });
      continue;
    }
    const signaturePath = erasureSignaturePath(erasureId);
    let signature: StoredErasureRecord['signature'] = { state: 'unsigned' };
    if (names.has(signaturePath)) {
      const document = await readJsonBlob<unknown>(container, signaturePath, query.signal);
      const verdict =
        document.state === 'ok'
          ? await checkSignature(
              document.value,
              {
                name: signaturePath.slice(ERASURES_ROOT.length).replace('.signature', ''),
                bytes: stored.bytes,
              },
              query.keys,
              query.signal,
            )
          : ({ ok: false, detail: 'the signature is not readable JSON' } as const);
      signature = verdict.ok
        ? { state: verdict.verified ? 'verified' : 'not-checked', keyId: verdict.keyId }
        : { state: 'invalid', detail: verdict.detail };
      if (!verdict.ok)
        problems.push({ path: signaturePath, kind: 'signature-invalid', detail: verdict.detail });
    } else if (query.requireSignatures) {
      problems.push({ path: blob.name, kind: 'unsigned', detail: 'the erasure record has no signature' });
    }
    records.push({ path: blob.name, record: stored.value, createdOn: blob.createdOn, signature });
  }
  const unfinished = await findUnfinished(
    container,
    [...markerBlobs, ...legacyBlobs],
    records,
    problems,
    query,
  );
  return { records, unfinished, problems };
}

async function findUnfinished(
  container: ContainerClient,
  markers: readonly Listed[],
  records: readonly StoredErasureRecord[],
  problems: VerifyProblem[],
  query: LedgerQuery,
): Promise<UnfinishedErasure[]> {
  const unfinished = new Map<string, UnfinishedErasure>();
  for (const blob of markers) {
    const parsed = parseErasureMarkerPath(blob.name);
    if (!parsed) continue;
    // Closed by its own record, or by that of an erasure of the author begun after it (erasure IDs order
    // them to the millisecond): a purge erases everything, so it finished what the earlier one began.
    // Only a record whose signature holds (or is not checked) closes an erasure: a forged one cannot.
    const closed = records.some(
      (stored) =>
        stored.record.authorIdSha256 === parsed.authorIdSha256 &&
        stored.signature.state !== 'invalid' &&
        stored.record.erasureId >= parsed.erasureId,
    );
    if (closed || unfinished.has(`${parsed.authorIdSha256}:${parsed.erasureId}`)) continue;
    const marker = await readDocument<ErasureMarker>(container, blob.name, 'erasure-marker', query.signal);
    if ('problem' in marker) {
      problems.push({
        path: blob.name,
        kind: 'erasure-invalid',
        detail: `the erasure marker ${marker.problem}`,
      });
    }
    const planPath = erasurePlanPath(parsed.authorIdSha256, parsed.erasureId);
    const plan = parsed.legacy
      ? undefined
      : await readDocument<ErasurePlan>(container, planPath, 'erasure-plan', query.signal);
    // A plan is believed only when it is of this erasure and names the author whose folder holds it.
    const planValue = plan && 'value' in plan ? plan.value : undefined;
    const planHolds =
      planValue !== undefined &&
      planValue.erasureId === parsed.erasureId &&
      authorIdDigest(planValue.authorId) === parsed.authorIdSha256;
    if (planValue && !planHolds) {
      problems.push({
        path: planPath,
        kind: 'erasure-invalid',
        detail:
          'the plan of this erasure names another erasure or another author than its folder: it cannot be trusted (move it aside)',
      });
    }
    unfinished.set(`${parsed.authorIdSha256}:${parsed.erasureId}`, {
      erasureId: parsed.erasureId,
      authorIdSha256: parsed.authorIdSha256,
      markerPath: blob.name,
      begunAt: blob.createdOn,
      marker: 'value' in marker ? marker.value : undefined,
      plan: planHolds ? planValue : undefined,
    });
  }
  return [...unfinished.values()].sort((a, b) => a.begunAt.getTime() - b.begunAt.getTime());
}

/** A stored document valid against its schema, with its exact bytes; or why it is not. */
export async function readDocument<T>(
  container: ContainerClient,
  path: string,
  kind: DocumentKind,
  signal?: AbortSignal,
): Promise<{ value: T; bytes: Buffer } | { problem: string }> {
  const stored = await readJsonBlob<unknown>(container, path, signal);
  if (stored.state === 'missing') return { problem: 'is gone' };
  if (stored.state === 'unreadable') return { problem: 'is not readable JSON' };
  const invalid = schemaProblems(kind, stored.value);
  if (invalid.length > 0) return { problem: `does not match its schema: ${invalid.join('; ')}` };
  return { value: stored.value as T, bytes: stored.bytes };
}

async function listBlobs(
  container: ContainerClient,
  prefix: string,
  signal?: AbortSignal,
): Promise<Listed[]> {
  const blobs: Listed[] = [];
  try {
    for await (const blob of container.listBlobsFlat({ prefix, abortSignal: signal })) {
      blobs.push({ name: blob.name, createdOn: blob.properties.createdOn ?? blob.properties.lastModified });
    }
  } catch (error) {
    throw storageError(error, 'list', prefix, 'STORAGE_UNAVAILABLE');
  }
  return blobs;
}

/** Storage's clock counts whole seconds. */
export function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** One erasure record by its ID, valid against its schema, with what its signature says; undefined when there is none. */
export async function readErasureRecord(
  container: ContainerClient,
  erasureId: string,
  keys: PublicKeyResolver | undefined,
  signal?: AbortSignal,
): Promise<
  { path: string; record: ErasureRecord; signature: StoredErasureRecord['signature']['state'] } | undefined
> {
  const path = erasureRecordPath(erasureId);
  const stored = await readDocument<ErasureRecord>(container, path, 'erasure', signal);
  if ('problem' in stored) {
    if (stored.problem === 'is gone') return undefined;
    throw new GalleryExportError('SNAPSHOT_DAMAGED', `The erasure record ${path} ${stored.problem}`);
  }
  const signature = await readJsonBlob<unknown>(container, erasureSignaturePath(erasureId), signal);
  if (signature.state === 'missing') return { path, record: stored.value, signature: 'unsigned' };
  const verdict =
    signature.state === 'ok'
      ? await checkSignature(
          signature.value,
          { name: `${erasureId}.json`, bytes: stored.bytes },
          keys,
          signal,
        )
      : ({ ok: false } as const);
  return {
    path,
    record: stored.value,
    signature: verdict.ok ? (verdict.verified ? 'verified' : 'not-checked') : 'invalid',
  };
}
