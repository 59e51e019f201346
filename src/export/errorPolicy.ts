import type { ErrorCode } from '../contract/errors';

/**
 * Failures another delivery of the same work may cure (the service or storage was down, the list kept
 * moving, the deadline passed). The rest would fail the same way again: they are recorded at once, and
 * INTERNAL (a bug) is never retried.
 */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CATALOG_UNAVAILABLE',
  'CATALOG_INVALID',
  'CATALOG_INCONSISTENT',
  'STORAGE_UNAVAILABLE',
  'SNAPSHOT_WRITE',
  'VAULT_UNAVAILABLE',
  'ABORTED',
  'SIGNING_FAILED',
  // Another delivery (or a second secret of the same author) writing the same snapshot at the same time:
  // the next delivery finds it complete and reuses it.
  'SNAPSHOT_EXISTS',
  'SNAPSHOT_BUSY',
]);

export function isTransient(code: ErrorCode): boolean {
  return TRANSIENT.has(code);
}
