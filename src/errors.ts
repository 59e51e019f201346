/**
 * The one error family of gallery-export. Every failure that reaches a run record, a log line, an HTTP
 * response or the CLI carries a stable `code`; messages say what failed and where, and never contain a
 * token (callers build messages from validated, non-secret values only).
 */
export type ErrorCode =
  | 'CONFIG'
  | 'USAGE'
  | 'AUTHOR_CONFIG'
  | 'AUTHOR_NOT_REGISTERED'
  | 'VAULT_UNAVAILABLE'
  | 'CATALOG_HTTP'
  | 'CATALOG_NOT_FOUND'
  | 'CATALOG_INVALID'
  | 'CATALOG_INCONSISTENT'
  | 'CATALOG_UNAVAILABLE'
  | 'CATALOG_TOO_LARGE'
  | 'SNAPSHOT_EXISTS'
  | 'SNAPSHOT_WRITE'
  | 'STORAGE_UNAVAILABLE'
  | 'RUN_LOCKED'
  | 'RUN_NOT_FOUND'
  | 'OUTPUT_NOT_EMPTY'
  | 'ABORTED'
  | 'INTERNAL';

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
  if (isAbortError(error))
    return new GalleryExportError('ABORTED', 'The operation was aborted', { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new GalleryExportError(fallbackCode, message, { cause: error });
}

export function isAbortError(error: unknown): boolean {
  if (error instanceof GalleryExportError) return error.code === 'ABORTED';
  if (!(error instanceof Error)) return false;
  return error.name === 'AbortError' || (error as { code?: unknown }).code === 'ABORT_ERR';
}

/** Throws ABORTED with the signal's reason as cause if the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new GalleryExportError('ABORTED', describeAbort(signal), { cause: signal.reason });
  }
}

export function describeAbort(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'TimeoutError') return 'The run deadline passed';
  if (reason instanceof Error && reason.message) return `Aborted: ${reason.message}`;
  return 'The operation was aborted';
}
