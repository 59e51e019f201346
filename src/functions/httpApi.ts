import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { normalizeAuthorId } from '../contract/authorId';
import { GalleryExportError, toGalleryExportError, type ErrorCode } from '../contract/errors';
import { MAX_EXPORT_REQUEST_BYTES, parseExportRequest } from '../export/exportRequest';
import { startFanOutRun } from '../export/fanOut';
import { readRunStatus } from '../export/finalizeRun';
import { StorageWorkQueue } from '../snapshots/StorageWorkQueue';
import type { RunRecord } from '../contract/formats';
import { isRunId } from '../contract/layout';
import { listCompleteSnapshots } from '../snapshots/snapshotListing';
import { errorBody, servicesFor } from './runtime';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  USAGE: 400,
  AUTHOR_NOT_REGISTERED: 400,
  RUN_LOCKED: 409,
  RUN_NOT_FOUND: 404,
  SNAPSHOT_NOT_FOUND: 404,
  VAULT_UNAVAILABLE: 503,
  STORAGE_UNAVAILABLE: 503,
};

function failure(error: unknown, context: InvocationContext): HttpResponseInit {
  const known = toGalleryExportError(error);
  const status = STATUS_BY_CODE[known.code] ?? 500;
  if (status >= 500) context.error(`${known.code}: ${known.message}`);
  return { status, jsonBody: errorBody(known) };
}

function badRequest(message: string): HttpResponseInit {
  return { status: 400, jsonBody: errorBody(new GalleryExportError('USAGE', message)) };
}

/** The run record as the API shows it: the lock's lease ID is internal. */
function publicRecord(record: RunRecord): Omit<RunRecord, 'lockLeaseId'> {
  const { lockLeaseId: _lease, ...rest } = record;
  return rest;
}

/** POST /api/exports: start a run for everyone or for the listed authors; 202 with where to follow it. */
export async function startExport(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (declared > MAX_EXPORT_REQUEST_BYTES)
    return badRequest(`the body is larger than ${MAX_EXPORT_REQUEST_BYTES} bytes`);
  const parsed = parseExportRequest(await request.text());
  if ('problem' in parsed) return badRequest(parsed.problem);
  const services = servicesFor(context);
  try {
    const signal = AbortSignal.timeout(120_000);
    await services.ensureStorage(signal);
    const record = await startFanOutRun(services, new StorageWorkQueue(services.queue), {
      trigger: 'http',
      authorIds: parsed.authorIds,
      signal,
    });
    const statusUrl = `${new URL(request.url).origin}/api/exports/${record.runId}`;
    return {
      status: 202,
      headers: { location: statusUrl },
      jsonBody: { runId: record.runId, statusUrl, status: record.status, counts: record.counts },
    };
  } catch (error) {
    return failure(error, context);
  }
}

/** GET /api/exports/{runId}: the run record, with the outcomes recorded so far while it runs. */
export async function getExport(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const runId = request.params.runId;
  if (!isRunId(runId)) return badRequest('the run ID must look like 20261128T020000Z-3fa9c1');
  try {
    const record = await readRunStatus(servicesFor(context), runId);
    if (!record)
      return { status: 404, jsonBody: errorBody(new GalleryExportError('RUN_NOT_FOUND', `No run ${runId}`)) };
    return { status: 200, jsonBody: publicRecord(record) };
  } catch (error) {
    return failure(error, context);
  }
}

/** GET /api/authors/{authorId}/snapshots: the author's complete snapshots, newest first. */
export async function listAuthorSnapshots(
  request: HttpRequest,
  context: InvocationContext,
): Promise<HttpResponseInit> {
  const authorId = normalizeAuthorId(request.params.authorId);
  if (!authorId) return badRequest('the author ID must be 64 hexadecimal characters');
  try {
    const snapshots = await listCompleteSnapshots(servicesFor(context).container, { authorId });
    return {
      status: 200,
      jsonBody: {
        authorId,
        snapshots: snapshots.map((snapshot) =>
          snapshot.archived
            ? { runId: snapshot.runId, path: snapshot.prefix, archived: true }
            : snapshot.damage !== undefined
              ? { runId: snapshot.runId, path: snapshot.prefix, archived: false, damaged: snapshot.damage }
              : {
                  runId: snapshot.runId,
                  path: snapshot.prefix,
                  archived: false,
                  trigger: snapshot.manifest.trigger,
                  completedAt: snapshot.manifest.completedAt,
                  token: snapshot.manifest.token,
                  includesUnlisted: snapshot.manifest.includesUnlisted,
                  counts: snapshot.manifest.counts,
                  warnings: snapshot.manifest.warnings,
                  files: snapshot.manifest.files,
                },
        ),
      },
    };
  } catch (error) {
    return failure(error, context);
  }
}

app.http('startExport', { route: 'exports', methods: ['POST'], authLevel: 'function', handler: startExport });
app.http('getExport', {
  route: 'exports/{runId}',
  methods: ['GET'],
  authLevel: 'function',
  handler: getExport,
});
app.http('listAuthorSnapshots', {
  route: 'authors/{authorId}/snapshots',
  methods: ['GET'],
  authLevel: 'function',
  handler: listAuthorSnapshots,
});
