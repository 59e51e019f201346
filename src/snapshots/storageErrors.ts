import { GalleryExportError, isAbortError, type ErrorCode } from '../contract/errors';

/** HTTP status of an Azure SDK RestError, if any. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The storage service's error code (e.g. BlobAlreadyExists, LeaseAlreadyPresent), if any. */
export function storageCodeOf(error: unknown): string | undefined {
  const details = (error as { details?: { errorCode?: unknown } } | undefined)?.details;
  const code = details?.errorCode ?? (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Wraps a storage failure with what was being done and where, keeping the original as cause. */
export function storageError(
  error: unknown,
  action: string,
  path: string,
  code: ErrorCode = 'SNAPSHOT_WRITE',
): GalleryExportError {
  if (error instanceof GalleryExportError) return error;
  if (isAbortError(error))
    return new GalleryExportError('ABORTED', `Aborted while trying to ${action} ${path}`);
  const status = statusOf(error);
  const reason =
    storageCodeOf(error) ?? (error instanceof Error ? error.message.split('\n')[0] : String(error));
  return new GalleryExportError(
    status === undefined ? 'STORAGE_UNAVAILABLE' : code,
    `Could not ${action} ${path}: ${status === undefined ? 'storage unreachable' : `HTTP ${status}`} (${reason})`,
    { cause: error, statusCode: status, details: { path } },
  );
}
