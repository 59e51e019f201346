import { tmpdir } from 'node:os';
import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import { normalizeAuthorId } from '../contract/authorId';
import {
  decideDsarAccess,
  DSAR_ERASE_ROLE,
  DSAR_READ_ROLE,
  type AuditEntry,
  type ClientPrincipal,
  type DsarRole,
  type ErasureRequestBody,
} from '../contract/dsar';
import { toGalleryExportError } from '../contract/errors';
import { isRunId } from '../contract/layout';
import { schemaProblems } from '../contract/schemas';
import { recordDsarRequest } from '../export/dsarAudit';
import { readErasureStatus, requestErasure } from '../export/erasureRequests';
import type { AppServices } from '../services';
import { zippedBundle } from '../snapshots/bundleArchive';
import { nextStep } from '../snapshots/nextSteps';
import { SnapshotNotProvenError } from '../snapshots/proveSnapshot';
import { servicesFor } from './runtime';

/** Largest accepted body of an erasure request. */
const MAX_ERASURE_REQUEST_BYTES = 4 * 1024;
/** The answer of a request that must be refused before anything is done. */
type Refusal = { status: number; code: string; message: string };

interface DsarOutcome {
  response: HttpResponseInit;
  audit: Pick<AuditEntry, 'runId' | 'erasureId' | 'reference'> & { code?: string; detail?: string };
}

/**
 * Every data-subject route: built-in authentication on and the route's app role, or 403 for everyone;
 * then the work; and, either way, an audit entry of who asked what, when, and what they got.
 */
async function dsarRoute(
  request: HttpRequest,
  context: InvocationContext,
  action: AuditEntry['action'],
  role: DsarRole,
  work: (
    services: AppServices,
    principal: ClientPrincipal,
    authorId: string | undefined,
  ) => Promise<DsarOutcome>,
): Promise<HttpResponseInit> {
  const services = servicesFor(context);
  const authorId = normalizeAuthorId(request.params.authorId);
  const access = decideDsarAccess(
    services.config.builtInAuthentication,
    request.headers.get('x-ms-client-principal'),
    role,
  );
  let outcome: DsarOutcome;
  if (!access.allowed) {
    outcome = refuse({ status: 403, code: 'FORBIDDEN', message: access.reason });
  } else {
    try {
      outcome = await work(services, access.principal, authorId);
    } catch (error) {
      const failure = toGalleryExportError(error);
      context.error(`${failure.code}: ${failure.message}`);
      outcome = refuse({ status: 503, code: failure.code, message: failure.message });
    }
  }
  const status = outcome.response.status ?? 200;
  const { code, detail, ...about } = outcome.audit;
  try {
    await recordDsarRequest(
      services,
      {
        action,
        ...(authorId ? { authorId } : {}),
        ...about,
        principal: access.principal,
        outcome: {
          status,
          ...(code ? { code: code.slice(0, 60) } : {}),
          ...(detail ? { detail: detail.slice(0, 500) } : {}),
        },
      },
      // Without built-in authentication nobody can be identified and everything is refused: such
      // requests are counted in telemetry, not written one blob each (anyone on the internet can send them).
      { persist: services.config.builtInAuthentication },
    );
  } catch (error) {
    context.error(
      `The data-subject request could not be written to the audit trail: ${toGalleryExportError(error).message}`,
    );
    // Nothing is handed out unaudited; an erasure already queued goes on (the log line above holds it).
    if (action === 'bundle' && status === 200) {
      (outcome.response.body as { destroy?: () => void } | undefined)?.destroy?.();
      return refuse({
        status: 503,
        code: 'STORAGE_UNAVAILABLE',
        message: 'the audit trail cannot be written; try again',
      }).response;
    }
  }
  return outcome.response;
}

function refuse(refusal: Refusal, extra: Record<string, unknown> = {}): DsarOutcome {
  return {
    response: {
      status: refusal.status,
      jsonBody: { error: { code: refusal.code, message: refusal.message }, ...extra },
    },
    audit: { code: refusal.code, detail: refusal.message },
  };
}

function badAuthor(): DsarOutcome {
  return refuse({ status: 400, code: 'USAGE', message: 'the author ID must be 64 hexadecimal characters' });
}

/** GET /api/authors/{authorId}/bundle?run=<runId>|latest: the proven bundle as a zip, streamed. */
export function downloadBundle(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return dsarRoute(request, context, 'bundle', DSAR_READ_ROLE, async (services, _principal, authorId) => {
    if (!authorId) return badAuthor();
    const run = request.query.get('run') ?? 'latest';
    if (run !== 'latest' && !isRunId(run)) {
      return refuse({
        status: 400,
        code: 'USAGE',
        message: 'run must be a run ID such as 20261128T020000Z-3fa9c1, or latest',
      });
    }
    const runId = run === 'latest' ? undefined : run;
    try {
      const bundle = await zippedBundle(
        services.container,
        { authorId, runId, signal: AbortSignal.timeout(200_000) },
        { keys: services.publicKeys, retentionDays: services.config.snapshotRetentionDays },
        async (folder, proof) => {
          const { writeBundleReport } = await import('../report/writeBundleReport');
          const report = await writeBundleReport(folder, proof.manifest, { proof: proof.summary });
          return report.files.map((file) => file.slice(folder.length + 1));
        },
        services.config.spoolDir ?? tmpdir(),
      );
      return {
        response: {
          status: 200,
          headers: {
            'content-type': 'application/zip',
            'content-disposition': `attachment; filename="${bundle.fileName}"`,
            'x-gallery-export-run': bundle.proof.location.runId,
          },
          body: bundle.stream,
        },
        audit: { runId: bundle.proof.location.runId },
      };
    } catch (error) {
      if (error instanceof SnapshotNotProvenError) {
        return {
          ...refuse(
            {
              status: 409,
              code: error.code,
              message: `Snapshot ${error.location.runId} fails its proof and is not handed out`,
            },
            {
              problems: error.problems.map((problem) => ({ ...problem, next: nextStep(problem, authorId) })),
            },
          ),
          audit: {
            runId: error.location.runId,
            code: error.code,
            detail: error.problems.map((problem) => problem.kind).join(', '),
          },
        };
      }
      const failure = toGalleryExportError(error);
      if (failure.code === 'SNAPSHOT_NOT_FOUND')
        return refuse({ status: 404, code: failure.code, message: failure.message });
      if (failure.code === 'SNAPSHOT_ARCHIVED')
        return refuse({ status: 409, code: failure.code, message: failure.message });
      throw failure;
    }
  });
}

/** POST /api/authors/{authorId}/erasure: 202 with where to follow the erasure, which runs off the queue. */
export function postErasure(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return dsarRoute(
    request,
    context,
    'erasure-request',
    DSAR_ERASE_ROLE,
    async (services, principal, authorId) => {
      if (!authorId) return badAuthor();
      const text = await request.text();
      if (Buffer.byteLength(text) > MAX_ERASURE_REQUEST_BYTES) {
        return refuse({
          status: 400,
          code: 'USAGE',
          message: `the body is larger than ${MAX_ERASURE_REQUEST_BYTES} bytes`,
        });
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return refuse({
          status: 400,
          code: 'USAGE',
          message: 'the body must be JSON: {"requestedBy": "<who>", "reference": "<ticket>"}',
        });
      }
      const problems = schemaProblems('erasure-request', body);
      if (problems.length > 0) {
        return refuse({
          status: 400,
          code: 'USAGE',
          message: `the body does not match the erasure request's schema: ${problems.join('; ')}`,
        });
      }
      const erasureBody = body as ErasureRequestBody;
      await services.ensureStorage();
      const { erasureId, joined } = await requestErasure(services, {
        authorId,
        body: erasureBody,
        principal: { objectId: principal.objectId, name: principal.name },
      });
      const statusUrl = `${new URL(request.url).origin}/api/erasures/${erasureId}`;
      return {
        response: {
          status: 202,
          headers: { location: statusUrl },
          jsonBody: { erasureId, statusUrl, joined },
        },
        audit: { erasureId, reference: erasureBody.reference },
      };
    },
  );
}

/** GET /api/erasures/{erasureId}: running, complete (with the record) or failed (why, and what finishes it). */
export function getErasure(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return dsarRoute(request, context, 'erasure-status', DSAR_READ_ROLE, async (services) => {
    const erasureId = request.params.erasureId;
    if (!isRunId(erasureId)) {
      return refuse({
        status: 400,
        code: 'USAGE',
        message: 'the erasure ID must look like 20261128T020000Z-3fa9c1',
      });
    }
    const status = await readErasureStatus(services, erasureId);
    if (!status)
      return {
        ...refuse({ status: 404, code: 'ERASURE_NOT_FOUND', message: `No erasure ${erasureId}` }),
        audit: { erasureId, code: 'ERASURE_NOT_FOUND' },
      };
    return {
      response: {
        status: 200,
        jsonBody: { ...status, statusUrl: `${new URL(request.url).origin}/api/erasures/${erasureId}` },
      },
      audit: { erasureId },
    };
  });
}

/** GET /api/authors/{authorId}/erasures: the author's erasure records (and an unfinished one). */
export function listErasures(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  return dsarRoute(
    request,
    context,
    'erasure-list',
    DSAR_READ_ROLE,
    async (services, _principal, authorId) => {
      if (!authorId) return badAuthor();
      const records = await services.erasures.completed(authorId);
      const unfinished = await services.erasures.unfinished(authorId);
      return {
        response: {
          status: 200,
          jsonBody: {
            authorId,
            erasures: records.map((stored) => ({
              record: stored.record,
              path: stored.path,
              signature: stored.signature,
            })),
            unfinished: unfinished.map((erasure) => ({
              erasureId: erasure.erasureId,
              requestedAt: erasure.requestedAt,
              requestedBy: erasure.requestedBy,
            })),
          },
        },
        audit: {},
      };
    },
  );
}

app.http('dsarBundle', {
  route: 'authors/{authorId}/bundle',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: downloadBundle,
});
app.http('dsarErasureRequest', {
  route: 'authors/{authorId}/erasure',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: postErasure,
});
app.http('dsarErasureStatus', {
  route: 'erasures/{erasureId}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: getErasure,
});
app.http('dsarAuthorErasures', {
  route: 'authors/{authorId}/erasures',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: listErasures,
});
