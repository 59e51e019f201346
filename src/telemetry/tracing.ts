import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { isErrorCode } from '../contract/errors';
import { countAuthors, type AuthorOutcome, type RunRecord, type Trigger } from '../contract/formats';
import { isRunId } from '../contract/layout';
import type { AuthorWorkItem } from '../contract/workItem';
import { recordCatalogAttempt } from './instruments';
import {
  CATALOG_URL_TEMPLATES,
  INSTRUMENTATION_SCOPE,
  SPAN_ATTRIBUTES as A,
  SPAN_NAMES,
  type BlobKind,
  type CatalogRoute,
} from './names';

/**
 * The spans of gallery-export, one typed helper per span, on the vendor-neutral API only: until
 * startTelemetry registers an SDK they are no-ops that cost a function call. Callers never pass free
 * attributes: each helper derives its attributes from values whose shape is known (a run record, an
 * outcome, a route), so no call site can put a token, a URL or an author ID on a span. Errors are
 * recorded by their code only, never by message or stack: messages may name a blob path or a URL, and
 * both hold the author ID.
 */

/**
 * A run (timer, HTTP or CLI): the plan and, in-process, every author below it. Attributes of the
 * outcome (run ID, status, author counts) are set from the record the run returns.
 */
export function traceRun(trigger: Trigger, run: () => Promise<RunRecord>): Promise<RunRecord> {
  return withSpan(SPAN_NAMES.run, SpanKind.INTERNAL, { [A.trigger]: trigger }, run, (span, record) => {
    const counts = countAuthors(record.authors);
    span.setAttributes({
      ...runIdAttribute(record.runId),
      [A.runStatus]: record.status,
      [A.authorsTotal]: counts.authors,
      [A.authorsComplete]: counts.complete,
      [A.authorsFailed]: counts.failed,
      [A.authorsSkipped]: counts.skipped,
      [A.authorsPending]: counts.pending,
      ...(record.error ? { [A.errorCode]: record.error.code } : {}),
    });
    if (record.status === 'failed') span.setStatus({ code: SpanStatusCode.ERROR, message: 'run failed' });
  });
}

/** One author of a run (a work item): its outcome's status, error code and entity count. */
export function traceAuthor<T extends { outcome: AuthorOutcome }>(
  work: Pick<AuthorWorkItem, 'runId' | 'secretName' | 'trigger'>,
  exportAuthor: () => Promise<T>,
): Promise<T> {
  const attributes: Attributes = {
    ...runIdAttribute(work.runId),
    [A.trigger]: work.trigger,
    // Key Vault secret names are letters, digits and dashes: anything else is not recorded.
    ...(SECRET_NAME.test(work.secretName) ? { [A.secretName]: work.secretName } : {}),
  };
  return withSpan(SPAN_NAMES.author, SpanKind.INTERNAL, attributes, exportAuthor, (span, { outcome }) => {
    span.setAttributes({
      [A.authorStatus]: outcome.status,
      ...(outcome.error ? { [A.errorCode]: outcome.error.code } : {}),
      ...(outcome.counts ? { [A.entities]: outcome.counts.entities } : {}),
    });
    if (outcome.status === 'failed') {
      span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error?.code ?? 'failed' });
    }
  });
}

/** One HTTP attempt at the catalog. */
export interface CatalogAttempt {
  route: CatalogRoute;
  /** The catalog's base URL: only its host and port are recorded. */
  baseUrl: string;
  /** How many attempts of this request went before (0 for the first). */
  resendCount: number;
}

/** What an attempt came back with: the HTTP status, or 0 and the error when no response came. */
export interface CatalogAttemptResult {
  status: number;
  error?: unknown;
}

/**
 * An HTTP client span per attempt (the semantic conventions' shape: `GET /entities` with
 * `url.template`, `server.address`, `http.response.status_code`, `http.request.resend_count`), and the
 * attempt's metrics: `catalog.requests`, `catalog.duration` and, for a 429, `catalog.throttled`.
 * Neither the URL (its filter holds the author ID) nor any header (the token) is recorded.
 */
export async function traceCatalogAttempt<T extends CatalogAttemptResult>(
  attempt: CatalogAttempt,
  send: () => Promise<T>,
): Promise<T> {
  const server = serverOf(attempt.baseUrl);
  const attributes: Attributes = {
    [A.httpMethod]: 'GET',
    [A.urlTemplate]: CATALOG_URL_TEMPLATES[attempt.route],
    ...server,
    ...(attempt.resendCount > 0 ? { [A.resendCount]: attempt.resendCount } : {}),
  };
  const startedAt = performance.now();
  let statusCode: number | undefined;
  try {
    return await withSpan(
      SPAN_NAMES.catalog[attempt.route],
      SpanKind.CLIENT,
      attributes,
      send,
      (span, result) => {
        if (result.status > 0 && result.error === undefined) {
          statusCode = result.status;
          span.setAttribute(A.httpStatusCode, result.status);
          if (result.status >= 400) markFailed(span, String(result.status));
        } else {
          markFailed(span, errorTypeOf(result.error));
        }
      },
    );
  } finally {
    recordCatalogAttempt({ route: attempt.route, statusCode, durationMs: performance.now() - startedAt });
  }
}

/** The catalog route of a request path (`/users/...` or `/entities?...`). */
export function catalogRouteOf(path: string): CatalogRoute {
  return path.startsWith('/users/') ? 'profile' : 'entities';
}

/**
 * A blob write (`blob create`), with its kind and size: `bytes` when given (a write that returns
 * nothing, e.g. the manifest's bytes), else the result's numeric `bytes` (a manifest entry). The blob's
 * path is not recorded: it holds the author ID.
 */
export function traceBlobWrite<T>(kind: BlobKind, write: () => Promise<T>, bytes?: number): Promise<T> {
  return withSpan(SPAN_NAMES.blobWrite, SpanKind.CLIENT, { [A.blobKind]: kind }, write, (span, result) => {
    const size = bytes ?? (result as { bytes?: unknown } | undefined)?.bytes;
    if (typeof size === 'number' && Number.isFinite(size)) span.setAttribute(A.blobBytes, size);
  });
}

/** The W3C trace context the Functions host gives each invocation (`InvocationContext.traceContext`). */
export interface InvocationTraceContext {
  traceParent?: string | null | undefined;
  traceState?: string | null | undefined;
}

/**
 * The handler, bound to the host's trace context, so the worker's spans become children of the host's
 * invocation (a Functions `preInvocation` hook replaces `functionHandler` with this). Without a
 * registered SDK, or without a traceparent, the handler is returned as it is.
 */
export function bindToTraceContext<F extends (...args: never[]) => unknown>(
  traceContext: InvocationTraceContext | undefined,
  handler: F,
): F {
  const traceparent = traceContext?.traceParent;
  if (!traceparent) return handler;
  const carrier: Record<string, string> = { traceparent };
  if (traceContext.traceState) carrier.tracestate = traceContext.traceState;
  return context.bind(propagation.extract(context.active(), carrier), handler);
}

const SECRET_NAME = /^[0-9A-Za-z-]{1,127}$/;

function runIdAttribute(runId: string): Attributes {
  return isRunId(runId) ? { [A.runId]: runId } : {};
}

/**
 * Runs `fn` in a new active span, so spans started inside (across awaits) are its children; ends it
 * whatever happens. `onResult` derives the outcome's attributes; a throw marks the span failed with the
 * error's code.
 */
async function withSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: () => Promise<T>,
  onResult: (span: Span, result: T) => void,
): Promise<T> {
  return trace
    .getTracer(INSTRUMENTATION_SCOPE)
    .startActiveSpan(name, { kind, attributes }, async (span): Promise<T> => {
      try {
        const result = await fn();
        onResult(span, result);
        return result;
      } catch (error) {
        const type = errorTypeOf(error);
        markFailed(span, type);
        if (isErrorCode(type)) span.setAttribute(A.errorCode, type);
        throw error;
      } finally {
        span.end();
      }
    });
}

function markFailed(span: Span, errorType: string): void {
  span.setAttribute(A.errorType, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
}

/** A bounded name for what went wrong: the error's code (ours, undici's, Node's) or its class name. */
function errorTypeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code)) return code;
    if (typeof name === 'string' && /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(name)) return name;
  }
  return '_OTHER';
}

const servers = new Map<string, Attributes>();

/** `server.address` and (when explicit) `server.port` of a base URL; parsed once per URL. */
function serverOf(baseUrl: string): Attributes {
  let server = servers.get(baseUrl);
  if (!server) {
    try {
      const url = new URL(baseUrl);
      server = {
        [A.serverAddress]: url.hostname,
        ...(url.port ? { [A.serverPort]: Number(url.port) } : {}),
      };
    } catch {
      server = {};
    }
    servers.set(baseUrl, server);
  }
  return server;
}
