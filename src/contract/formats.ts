import type { ErrorCode } from './errors';
import type { TokenStatus } from './tokenHealth';

/**
 * The documents gallery-export writes, as TypeScript types. docs/snapshot-format.md describes them and
 * schemas/*.schema.json checks them; the three must change together (schemaVersion is bumped on any
 * incompatible change).
 */
export type Trigger = 'timer' | 'http' | 'cli';

export interface ManifestFile {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
  contentType: string;
}

export interface Manifest {
  schemaVersion: 1;
  runId: string;
  authorId: string;
  trigger: Trigger;
  /** This author's export, not the whole run. */
  startedAt: string;
  completedAt: string;
  source: { baseUrl: string };
  token: { status: TokenStatus; expiresAt?: string };
  includesUnlisted: boolean;
  counts: {
    entities: number;
    unlisted: number;
    /** `total_count` of the list pass that was kept. */
    reportedByCatalog: number;
    /** The profile's `entities_count`, when it had one. */
    profileEntitiesCount?: number;
  };
  /** Why the snapshot may not hold everything (e.g. an expired token), empty when nothing is in doubt. */
  warnings: string[];
  /**
   * How the list was read: `ordered` false when the catalog refused `$orderby` (the list was then kept
   * only when two passes agreed); `passes`, the passes read in all. Absent in older manifests.
   */
  listing?: {
    ordered: boolean;
    passes: number;
    /**
     * Entities an unordered listing left out because they were created in the catalog while it was read
     * (their `created_at` after the export began; the next export includes them): how many, and the first
     * `MAX_LISTED_NEWCOMER_IDS` of their ids in id order. Absent when none (and in older manifests).
     */
    createdDuringExport?: { count: number; ids: string[] };
  };
  files: ManifestFile[];
  generator: { name: string; version: string };
  /**
   * The author's latest complete snapshot when this one started (`null` for the first): the snapshots of
   * an author form a hash chain. Absent in manifests written before the chain existed.
   */
  previous?: { runId: string; manifestSha256: string } | null;
}

/** Most ids a manifest lists in `listing.createdDuringExport` (its `count` counts them all). */
export const MAX_LISTED_NEWCOMER_IDS = 1000;

/**
 * `signature.json` next to a manifest (or `<erasureId>.signature.json` next to an erasure record): an
 * RS256 signature made by a Key Vault key over the exact bytes of the signed file.
 */
export interface SignatureDocument {
  schemaVersion: 1;
  alg: 'RS256';
  /** `https://<vault>/keys/<name>/<version>`: the key version that signed. */
  keyId: string;
  /** The signed file's name, in the same folder. */
  signed: string;
  /** SHA-256 (hex) of the signed file's exact bytes. */
  sha256: string;
  /** Standard base64 of the RSASSA-PKCS1-v1_5 SHA-256 signature of those bytes. */
  signature: string;
}

export type AuthorStatus = 'pending' | 'complete' | 'failed' | 'skipped';
export type RunStatus = 'running' | 'complete' | 'partial' | 'failed';

export interface ErrorSummary {
  code: ErrorCode;
  message: string;
}

/** Catalog calls of one author's export (the run record's `catalog`), counted as they happen. */
export interface CatalogFigures {
  requests: number;
  retries: number;
  throttled: number;
  pages: number;
  passes: number;
}

export interface AuthorOutcome {
  secretName: string;
  authorId: string | null;
  status: AuthorStatus;
  /** Why it was skipped. */
  reason?: string;
  error?: ErrorSummary;
  tokenStatus?: TokenStatus;
  tokenExpiresAt?: string;
  counts?: { entities: number; unlisted: number; reportedByCatalog: number };
  /** The snapshot folder, ending with a slash. */
  snapshot?: string;
  warnings?: string[];
  startedAt?: string;
  completedAt?: string;
  durationMs?: number;
  catalog?: CatalogFigures;
  /** Delivery attempts the queue needed (fan-out only). */
  attempts?: number;
}

export interface RunRecord {
  schemaVersion: 1;
  runId: string;
  trigger: Trigger;
  startedAt: string;
  completedAt: string | null;
  status: RunStatus;
  /** The settings that shaped the run; never secrets. */
  settings: Record<string, string | number>;
  /** Authors named by the request (`--author`, HTTP body), when the run was not for everyone. */
  requestedAuthors?: string[];
  /**
   * The run lock's lease, so whichever instance finalises the run can release it. Not a secret: it only
   * means something to a caller that already has write access to the container.
   */
  lockLeaseId?: string;
  /** A failure of the run as a whole (e.g. the vault could not be read). */
  error?: ErrorSummary;
  counts: { authors: number; complete: number; failed: number; skipped: number; pending: number };
  authors: AuthorOutcome[];
}

export interface ErasureRecord {
  schemaVersion: 1;
  erasureId: string;
  /** SHA-256 (hex) of the upper-case author ID: proves which author without storing who. */
  authorIdSha256: string;
  requestedAt: string;
  completedAt: string;
  requestedBy: string;
  deleted: { snapshots: number; blobs: number; bytes: number; runIds: string[] };
  /** The author's Key Vault registration: deleted (the secret names) or kept on request. */
  registration?: { secretsRemoved: string[]; kept: boolean; vault?: string };
  generator: { name: string; version: string };
}

/**
 * The marker a purge writes before it erases anything (`purge-progress/<sha256>/<erasureId>.json`): from
 * then on no export of the author writes. Names no one: the author only by the SHA-256 of the ID.
 */
export interface ErasureMarker {
  schemaVersion: 1;
  erasureId: string;
  authorIdSha256: string;
  requestedAt: string;
  requestedBy: string;
}

/**
 * What a begun erasure erases, written before the first delete (`purge-progress/<sha256>/<erasureId>/
 * plan.json`) so that a purge killed half-way is finished with the same record, counting what the killed
 * attempt already deleted. It names the author (the command that finishes the erasure needs the ID), so it
 * is deleted once the erasure record is written.
 */
export interface ErasurePlan {
  schemaVersion: 1;
  erasureId: string;
  authorId: string;
  /** The registration is kept (`--keep-registration`). */
  keepRegistration: boolean;
  /** Every blob under the author's snapshots when the erasure began: paths below `snapshots/<authorId>/`. */
  blobs: Array<{ name: string; bytes: number }>;
  runIds: string[];
  /** The Key Vault secrets that named the author when the erasure began. */
  secrets: string[];
}

/** Counts derived from the authors list, so they can never disagree with it. */
export function countAuthors(authors: readonly AuthorOutcome[]): RunRecord['counts'] {
  const counts = { authors: authors.length, complete: 0, failed: 0, skipped: 0, pending: 0 };
  for (const author of authors) counts[author.status]++;
  return counts;
}

/** complete: nobody failed; partial: some failed, some complete; failed: nothing was exported. */
export function finalRunStatus(authors: readonly AuthorOutcome[]): RunStatus {
  const counts = countAuthors(authors);
  if (counts.failed === 0) return 'complete';
  return counts.complete > 0 ? 'partial' : 'failed';
}

/**
 * The exact bytes of every JSON document gallery-export stores (indented, with a final newline). The
 * manifest's bytes are what its SHA-256 and signature cover, so there is one way to write them.
 */
export function serializeDocument(document: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(document, null, 2)}\n`);
}
