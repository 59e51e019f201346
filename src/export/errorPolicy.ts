import type { ErrorCode } from '../errors';

/**
 * Failures another delivery of the same work may cure (the service or storage was down, the list kept
 * moving, the deadline passed). The rest would fail the same way again: they are recorded at once.
 */
const TRANSIENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CATALOG_UNAVAILABLE',
  'CATALOG_INVALID',
  'CATALOG_INCONSISTENT',
  'STORAGE_UNAVAILABLE',
  'SNAPSHOT_WRITE',
  'VAULT_UNAVAILABLE',
  'ABORTED',
  'INTERNAL',
]);

export function isTransient(code: ErrorCode): boolean {
  return TRANSIENT.has(code);
}
