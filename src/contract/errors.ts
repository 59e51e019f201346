/**
 * The one error family of gallery-export. Every failure that reaches a run record, a log line, an HTTP
 * response or the CLI carries a stable `code`; messages say what failed and where, and never contain a
 * token or a setting's value that may hold a credential (callers build messages from validated,
 * non-secret values only).
 */
export const ERROR_CODES = [
  /** A setting is missing or malformed. */
  'CONFIG',
  /** A command line or HTTP request is malformed. */
  'USAGE',
  /** An author's Key Vault secret is malformed, disabled or gone. */
  'AUTHOR_CONFIG',
  /** An author named by a request has no secret in the vault. */
  'AUTHOR_NOT_REGISTERED',
  /** An erasure of this author began after this run started: nothing more is written. */
  'AUTHOR_ERASED',
  'VAULT_UNAVAILABLE',
  /** A Key Vault key could not sign (missing, disabled, no permission) or the vault refused. */
  'SIGNING_FAILED',
  'CATALOG_HTTP',
  'CATALOG_NOT_FOUND',
  'CATALOG_INVALID',
  'CATALOG_INCONSISTENT',
  'CATALOG_UNAVAILABLE',
  'CATALOG_TOO_LARGE',
  /** A create-only blob exists already (never overwritten). */
  'SNAPSHOT_EXISTS',
  /** Another delivery of the same work item is writing this snapshot right now. */
  'SNAPSHOT_BUSY',
  /** A blob could not be written (the service answered with an error). */
  'SNAPSHOT_WRITE',
  /** No complete snapshot matches (author, run). */
  'SNAPSHOT_NOT_FOUND',
  /** A stored snapshot does not match its manifest, or its manifest is not usable. */
  'SNAPSHOT_DAMAGED',
  /** A snapshot's blobs are in the Archive tier: they must be rehydrated before they can be read. */
  'SNAPSHOT_ARCHIVED',
  /** Erasing an author's blobs did not finish (an immutability policy, blobs that keep reappearing). */
  'PURGE_FAILED',
  'STORAGE_UNAVAILABLE',
  /** Another run (or a purge) holds the one-run-at-a-time lock. */
  'RUN_LOCKED',
  /** This run no longer holds the lock (it lapsed and was taken, or the run is over): it writes nothing. */
  'RUN_LOCK_LOST',
  'RUN_NOT_FOUND',
  /** A run record kept changing under a conditional update. */
  'RUN_RECORD_CONFLICT',
  /** Every delivery of a queued work item failed. */
  'RETRIES_EXHAUSTED',
  'OUTPUT_NOT_EMPTY',
  'ABORTED',
  /** A bug: never retried. */
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

export interface GalleryExportErrorOptions {
  cause?: unknown;
  /** Non-secret context: URL without query secrets, page offset, blob path, HTTP status... */
  details?: Record<string, string | number | boolean | undefined>;
  statusCode?: number;
}

export class GalleryExportError extends Error {
  override readonly name = 'GalleryExportError';
  readonly code: ErrorCode;
  readonly details: Record<string, string | number | boolean | undefined>;
  readonly statusCode: number | undefined;

  constructor(code: ErrorCode, message: string, options: GalleryExportErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.statusCode = options.statusCode;
  }
}

export function isGalleryExportError(error: unknown, code?: ErrorCode): error is GalleryExportError {
  return error instanceof GalleryExportError && (code === undefined || error.code === code);
}

/** Turns anything thrown into a GalleryExportError, keeping the original as `cause`. */
export function toGalleryExportError(
  error: unknown,
  fallbackCode: ErrorCode = 'INTERNAL',
): GalleryExportError {
  if (error instanceof GalleryExportError) return error;
  if (isAbortError(error)) return abortError(undefined, error);
  const message = error instanceof Error ? error.message : String(error);
  return new GalleryExportError(fallbackCode, message, { cause: error });
}

export function isAbortError(error: unknown): boolean {
  if (error instanceof GalleryExportError) return error.code === 'ABORTED' || error.code === 'RUN_LOCK_LOST';
  if (!(error instanceof Error)) return false;
  return error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR';
}

/**
 * The error for a fired signal: its reason when that is already one of ours (RUN_LOCK_LOST stops a
 * holder's work with its own code), otherwise ABORTED saying why (a deadline, Ctrl-C).
 */
export function abortError(signal: AbortSignal | undefined, cause?: unknown): GalleryExportError {
  const reason: unknown = signal?.reason;
  if (reason instanceof GalleryExportError) return reason;
  return new GalleryExportError('ABORTED', signal ? describeAbort(signal) : 'The operation was aborted', {
    cause: cause ?? reason,
  });
}

/** Throws `abortError(signal)` if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

export function describeAbort(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return 'The run deadline passed';
  if (reason instanceof Error && reason.message) return `Aborted: ${reason.message}`;
  return 'The operation was aborted';
}
