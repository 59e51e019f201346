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

/**
 * Wraps a storage failure with what was being done and where, keeping the original as cause. The message
 * names the endpoint (never a key or a SAS: the URL's query is dropped) and the setting to check, and for
 * a missing container which container: a person reading it knows what to fix.
 */
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
  const storageCode = storageCodeOf(error);
  const reason = storageCode ?? (error instanceof Error ? error.message.split('\n')[0] : String(error));
  const where = requestLocation(error);
  const at = where ? ` at ${where.endpoint}` : '';
  let why: string;
  if (status === undefined) {
    why = `storage unreachable${at} (${reason}); check EXPORT_STORAGE and that the storage account (or Azurite) is running and reachable from here`;
  } else if (storageCode === 'ContainerNotFound') {
    why = `container ${where?.container ? `"${where.container}" ` : ''}does not exist${at} (HTTP 404 ContainerNotFound); check EXPORT_CONTAINER (the container) and EXPORT_STORAGE (the account): a run creates it with a connection string, the templates create it in Azure`;
  } else if (status === 403) {
    why = `access denied${at} (HTTP 403 ${reason}); check the identity's role on the account (see docs/deploy.md) or EXPORT_STORAGE's key`;
  } else {
    why = `HTTP ${status} (${reason})`;
  }
  return new GalleryExportError(
    status === undefined ? 'STORAGE_UNAVAILABLE' : code,
    `Could not ${action} ${path}: ${why}`,
    { cause: error, statusCode: status, details: { path } },
  );
}

/**
 * The storage endpoint a failed request went to, and the container its path names: the account's URL
 * (with the account for path-style URLs: Azurite and IP endpoints), never the query (a SAS).
 */
function requestLocation(error: unknown): { endpoint: string; container: string | undefined } | undefined {
  const url = (error as { request?: { url?: unknown } } | undefined)?.request?.url;
  if (typeof url !== 'string') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const segments = parsed.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const pathStyle = /^(\d+\.\d+\.\d+\.\d+|localhost|\[[0-9a-f:]+\])$/i.test(parsed.hostname);
  const account = pathStyle ? segments.shift() : undefined;
  return {
    endpoint: `${parsed.protocol}//${parsed.host}${account ? `/${account}` : ''}`,
    container: segments[0],
  };
}
