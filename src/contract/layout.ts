import { randomBytes } from 'node:crypto';
import { compactUtcStamp } from './stamps';

/**
 * The blob layout of the contract, in one place:
 *   snapshots/<authorId>/<YYYY>/<MM>/<DD>/<runId>/{profile,entities,manifest}.json
 *   runs/<YYYY>/<MM>/<DD>/<runId>.json            the run record
 *   runs/<YYYY>/<MM>/<DD>/<runId>/<secret>.json   one author's outcome, gathered when the run is finalised
 *   runs/<YYYY>/<MM>/<DD>/<runId>/claims/<authorId>.json   which secret writes that author in the run
 *   erasures/<erasureId>.json                      erasure records (and <erasureId>.signature.json), only
 *   purge-progress/<sha256 of author ID>/<erasureId>.json   an erasure has begun (written first, kept)
 *   purge-progress/<sha256 of author ID>/<erasureId>/plan.json     what it erases (until it is finished)
 *   purge-progress/<sha256 of author ID>/<erasureId>/record.json   its record, fixed before it is signed
 *   erasures/begun/<sha256 of author ID>/<erasureId>.json   where versions before 0.2 marked a begun erasure
 * The one-run-at-a-time lock is a lease on the container itself (see BlobRunLock): no blob.
 */
export const SNAPSHOTS_ROOT = 'snapshots/';
export const RUNS_ROOT = 'runs/';
export const ERASURES_ROOT = 'erasures/';
/** The purge's own progress documents: out of erasures/, where an auditor finds only records and signatures. */
export const PURGE_PROGRESS_ROOT = 'purge-progress/';
/** Where earlier versions wrote the marker of a begun erasure: still read, never written. */
export const LEGACY_ERASURE_MARKERS_ROOT = 'erasures/begun/';

export const PROFILE_FILE = 'profile.json';
export const ENTITIES_FILE = 'entities.json';
export const MANIFEST_FILE = 'manifest.json';
/** Written after entities.json and before manifest.json when a signing key is configured. */
export const SIGNATURE_FILE = 'signature.json';
export const SNAPSHOT_DATA_FILES = [PROFILE_FILE, ENTITIES_FILE] as const;
/** The snapshot files an export writes before its manifest, in that order. */
export type SnapshotFileName = (typeof SNAPSHOT_DATA_FILES)[number];

/** `<YYYYMMDDTHHMMSSZ>-<6 lowercase hex>`: UTC start time, so run IDs sort by time. */
const RUN_ID = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-[0-9a-f]{6}$/;

export function newRunId(startedAt: Date, suffix = timeOrderedSuffix(startedAt)): string {
  return `${compactUtcStamp(startedAt)}-${suffix}`;
}

/**
 * The milliseconds of the start (3 hex digits, 000-3e7) then 3 random ones: two runs that start within
 * the same second still sort in the order they started, and stay distinct.
 */
function timeOrderedSuffix(startedAt: Date): string {
  const millis = startedAt.getUTCMilliseconds().toString(16).padStart(3, '0');
  return `${millis}${randomBytes(2).toString('hex').slice(0, 3)}`;
}

export function isRunId(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  const match = RUN_ID.exec(value);
  if (!match) return false;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

/** `YYYY/MM/DD` of a run ID's start. */
export function runDatePath(runId: string): string {
  if (!isRunId(runId)) throw new Error(`Not a run ID: ${String(runId)}`);
  return `${runId.slice(0, 4)}/${runId.slice(4, 6)}/${runId.slice(6, 8)}`;
}

export function authorSnapshotsPrefix(authorId: string): string {
  return `${SNAPSHOTS_ROOT}${authorId}/`;
}

/** The folder of one author's snapshot in one run, ending with a slash. */
export function snapshotPrefix(authorId: string, runId: string): string {
  return `${authorSnapshotsPrefix(authorId)}${runDatePath(runId)}/${runId}/`;
}

export function runRecordPath(runId: string): string {
  return `${RUNS_ROOT}${runDatePath(runId)}/${runId}.json`;
}

export function runOutcomesPrefix(runId: string): string {
  return `${RUNS_ROOT}${runDatePath(runId)}/${runId}/`;
}

export function runOutcomePath(runId: string, secretName: string): string {
  return `${runOutcomesPrefix(runId)}${secretName}.json`;
}

/**
 * A fan-out run's tally of settled authors: an append blob that grows by one block per settled author,
 * so each settler learns from its own append whether it may be the last (see BlobRunStore.countSettled).
 */
export function runSettledTallyPath(runId: string): string {
  return `${runOutcomesPrefix(runId)}progress/settled.json`;
}

/** Which secret claimed an author in a fan-out run (two untagged secrets may name the same author). */
export function runClaimPath(runId: string, authorId: string): string {
  return `${runOutcomesPrefix(runId)}claims/${authorId}.json`;
}

/** The transient failures of an author in a fan-out run, one blob per delivery. */
export function runAttemptsPrefix(runId: string, secretName: string): string {
  return `${runOutcomesPrefix(runId)}attempts/${secretName}/`;
}

export function runAttemptPath(runId: string, secretName: string, attempt: number): string {
  return `${runAttemptsPrefix(runId, secretName)}${String(attempt).padStart(13, '0')}.json`;
}

export function erasureRecordPath(erasureId: string): string {
  return `${ERASURES_ROOT}${erasureId}.json`;
}

/** The signature of an erasure record, next to it. */
export function erasureSignaturePath(erasureId: string): string {
  return `${ERASURES_ROOT}${erasureId}.signature.json`;
}

/**
 * Where a purge marks, before it erases anything, that an erasure of an author has begun: under the
 * SHA-256 of the author ID (never the ID itself), so an export checks one small folder before writing.
 * The marker stays after the erasure is finished: it is what orders the erasure against runs.
 */
export function erasureMarkersPrefix(authorIdSha256: string): string {
  return `${PURGE_PROGRESS_ROOT}${authorIdSha256}/`;
}

export function erasureMarkerPath(authorIdSha256: string, erasureId: string): string {
  return `${erasureMarkersPrefix(authorIdSha256)}${erasureId}.json`;
}

/** The markers earlier versions wrote (read for blocking and resuming, never written). */
export function legacyErasureMarkersPrefix(authorIdSha256: string): string {
  return `${LEGACY_ERASURE_MARKERS_ROOT}${authorIdSha256}/`;
}

/** What a begun erasure will erase (it names the author): deleted once the erasure record is written. */
export function erasurePlanPath(authorIdSha256: string, erasureId: string): string {
  return `${erasureMarkersPrefix(authorIdSha256)}${erasureId}/plan.json`;
}

/** The erasure record's bytes, fixed before they are signed, so a resumed purge signs the same bytes. */
export function erasureDraftPath(authorIdSha256: string, erasureId: string): string {
  return `${erasureMarkersPrefix(authorIdSha256)}${erasureId}/record.json`;
}

/** A marker's path (new or legacy layout) in its parts; undefined for anything else. */
export function parseErasureMarkerPath(
  path: string,
): { authorIdSha256: string; erasureId: string; legacy: boolean } | undefined {
  const match = /^(purge-progress|erasures\/begun)\/([0-9a-f]{64})\/([^/]+)\.json$/.exec(path);
  if (!match || !isRunId(match[3])) return undefined;
  return { authorIdSha256: match[2]!, erasureId: match[3], legacy: match[1] !== 'purge-progress' };
}

/** An erasure record's own path (`erasures/<erasureId>.json`), telling it from markers and signatures. */
export function parseErasureRecordPath(path: string): string | undefined {
  const match = /^erasures\/([^/]+)\.json$/.exec(path);
  return match && isRunId(match[1]) ? match[1] : undefined;
}

export interface SnapshotLocation {
  authorId: string;
  runId: string;
  prefix: string;
}

/**
 * Reads `snapshots/<authorId>/<Y>/<M>/<D>/<runId>/<file>` back into its parts. `file` may hold slashes
 * (a blob nested deeper than the contract's layout): it still belongs to that snapshot's folder, where
 * verify reports it as unexpected.
 */
export function parseSnapshotPath(path: string): (SnapshotLocation & { file: string }) | undefined {
  const match = /^snapshots\/([0-9A-F]{64})\/(\d{4})\/(\d{2})\/(\d{2})\/([^/]+)\/(.+)$/.exec(path);
  if (!match) return undefined;
  const [, authorId, , , , runId, file] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!isRunId(runId) || runDatePath(runId) !== path.split('/').slice(2, 5).join('/')) return undefined;
  return { authorId, runId, file, prefix: snapshotPrefix(authorId, runId) };
}

/** Audit entries of data-subject requests over HTTP, one create-once blob each, by the day they came. */
export const AUDIT_ROOT = 'audit/';

/** An audit entry's ID: the time it was made (a run ID's form) and 32 more random bits, so none collide. */
export function newAuditId(at: Date): string {
  return `${newRunId(at)}-${randomBytes(4).toString('hex')}`;
}

export function auditEntryPath(id: string): string {
  return `${AUDIT_ROOT}${runDatePath(id.slice(0, 23))}/${id}.json`;
}

/** Erasures requested over HTTP: the request (before its queue message), then its events. */
export const ERASURE_REQUESTS_ROOT = 'erasure-requests/';

export function erasureRequestPath(erasureId: string): string {
  return `${ERASURE_REQUESTS_ROOT}${erasureId}.json`;
}

export function erasureRequestEventsPrefix(erasureId: string): string {
  return `${ERASURE_REQUESTS_ROOT}${erasureId}/`;
}

export function erasureRequestEventPath(erasureId: string, at: Date, kind: string): string {
  return `${erasureRequestEventsPrefix(erasureId)}${at.toISOString().replace(/[-:.]/g, '')}-${kind}.json`;
}
