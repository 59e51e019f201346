import { authorIdDigest } from '../contract/authorId';
import type {
  ErasureRequestBody,
  ErasureRequestEvent,
  ErasureRequestRecord,
  ErasureStatus,
} from '../contract/dsar';
import { isGalleryExportError, toGalleryExportError, type ErrorCode } from '../contract/errors';
import { newRunId } from '../contract/layout';
import type { ErasureWorkItem } from '../contract/workItem';
import type { ErasureQueue, ErasureRequestStore } from './ports';
import { purgeAuthor, type PurgeServices } from './purgeAuthor';

export type ErasureRequestServices = PurgeServices & {
  requests: ErasureRequestStore;
  erasureQueue: ErasureQueue;
};

/** How long a requested erasure waits, each time, for an export run to release the lock. */
export const ERASURE_LOCK_WAIT_SECONDS = 300;
/** Waits before a requested erasure gives up on a lock that is never released (4 hours). */
export const MAX_ERASURE_LOCK_WAITS = 48;
/** Tries at an erasure ID no other request has taken. */
const MAX_ID_TRIES = 5;

/** Failures a later attempt cannot cure: the request fails at once, saying what to fix. */
const PERMANENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['CONFIG', 'USAGE', 'PURGE_FAILED']);

/**
 * An erasure requested over HTTP: stored, then queued, and answered at once. Its ID is the one the erasure
 * record will have: a new one, or that of an erasure of the author that began and did not finish (this
 * request finishes it, and joins the request that began it, whose requester stands). The stored request
 * names the author by the SHA-256 of the ID only; the queue message carries the ID to the worker.
 */
export async function requestErasure(
  services: ErasureRequestServices,
  request: {
    authorId: string;
    body: ErasureRequestBody;
    principal: { objectId: string; name: string };
    signal?: AbortSignal | undefined;
  },
): Promise<{ erasureId: string; joined: boolean }> {
  const { authorId, signal } = request;
  const authorIdSha256 = authorIdDigest(authorId);
  const unfinished = (await services.erasures.unfinished(authorId, signal)).at(-1);
  for (let attempt = 0; attempt < MAX_ID_TRIES; attempt++) {
    const now = services.now();
    const erasureId = attempt === 0 && unfinished ? unfinished.erasureId : newRunId(now);
    const record: ErasureRequestRecord = {
      schemaVersion: 1,
      erasureId,
      authorIdSha256,
      requestedAt: now.toISOString(),
      requestedBy: request.body.requestedBy,
      reference: request.body.reference,
      principal: request.principal,
    };
    if (!(await services.requests.createRequest(record, signal))) {
      // Taken: by the request that began this unfinished erasure (joined), or by another request.
      const stored = await services.requests.readRequest(erasureId, signal);
      if (stored?.authorIdSha256 !== authorIdSha256 || !unfinished || attempt > 0) continue;
    }
    await services.erasureQueue.send({ v: 1, kind: 'erasure', erasureId, authorId }, { signal });
    return { erasureId, joined: attempt === 0 && unfinished !== undefined };
  }
  throw new Error(`No free erasure ID after ${MAX_ID_TRIES} tries`);
}

export type ErasureAttempt =
  /** Finished: the erasure record exists (this one, or an earlier one that covers the request). */
  | { state: 'complete'; recordErasureId: string | undefined }
  /** Failed for a reason another delivery may cure: the host delivers the message again. */
  | { state: 'retry'; error: { code: string; message: string } }
  /** An export run holds the lock: queued again, to try after it. */
  | { state: 'waiting' }
  /** Failed for good: a new request, once the cause is fixed, finishes it. */
  | { state: 'failed'; error: { code: string; message: string } }
  /** Not a request this app stored: nothing was done. */
  | { state: 'dropped'; reason: string };

/** The request a queue message names, when it is one this app stored for that author. */
async function storedRequest(
  services: Pick<ErasureRequestServices, 'requests'>,
  item: ErasureWorkItem,
  signal?: AbortSignal,
): Promise<ErasureRequestRecord | string> {
  const request = await services.requests.readRequest(item.erasureId, signal);
  if (!request) return `no erasure request ${item.erasureId} is stored`;
  if (request.authorIdSha256 !== authorIdDigest(item.authorId)) {
    return `the message names another author than request ${item.erasureId}`;
  }
  return request;
}

/**
 * Runs a requested erasure as `purge --yes` runs it (the same resumable steps, the registration deleted),
 * recording what became of it as events of the request. A message delivered again after the request was
 * finished does nothing: queues deliver at least once, and an author registered again since must not be
 * erased again by an old request.
 */
export async function runRequestedErasure(
  services: ErasureRequestServices,
  item: ErasureWorkItem,
  options: { signal?: AbortSignal | undefined; finalDelivery?: boolean | undefined },
): Promise<ErasureAttempt> {
  const { signal } = options;
  const request = await storedRequest(services, item, signal);
  if (typeof request === 'string') return { state: 'dropped', reason: request };
  const event = (kind: ErasureRequestEvent['kind'], extra: Partial<ErasureRequestEvent> = {}) =>
    services.requests.addEvent(
      item.erasureId,
      { schemaVersion: 1, kind, at: services.now().toISOString(), ...extra },
      signal,
    );
  const finished = (await services.requests.events(item.erasureId, signal)).find(
    (entry) => entry.kind === 'complete',
  );
  if (finished) return { state: 'complete', recordErasureId: finished.recordErasureId };
  if (await services.erasures.record(item.erasureId, { signal })) {
    await event('complete', { recordErasureId: item.erasureId });
    return { state: 'complete', recordErasureId: item.erasureId };
  }
  try {
    const result = await purgeAuthor(services, {
      authorId: item.authorId,
      // Who asked first (as Entra ID says), then what they wrote: their text cannot pose as the principal.
      requestedBy:
        `via ${request.principal.name} (${request.principal.objectId}): ${request.requestedBy} (${request.reference})`.slice(
          0,
          200,
        ),
      erasureId: request.erasureId,
      signal,
    });
    if (result.state === 'erased') {
      await event('complete', { recordErasureId: result.record.erasureId });
      return { state: 'complete', recordErasureId: result.record.erasureId };
    }
    // Nothing stored, registered or begun: an earlier erasure covers the request, or there was nothing.
    const earlier = (await services.erasures.completed(item.authorId, { signal })).at(-1)?.record.erasureId;
    await event('complete', earlier ? { recordErasureId: earlier } : { nothingToErase: true });
    return { state: 'complete', recordErasureId: earlier };
  } catch (thrown) {
    const failure = toGalleryExportError(thrown);
    const error = { code: failure.code, message: failure.message.slice(0, 2000) };
    if (isGalleryExportError(failure, 'RUN_LOCKED') && (item.waits ?? 0) < MAX_ERASURE_LOCK_WAITS) {
      await services.erasureQueue.send(
        { ...item, waits: (item.waits ?? 0) + 1 },
        { delaySeconds: ERASURE_LOCK_WAIT_SECONDS, signal },
      );
      await event('waiting');
      return { state: 'waiting' };
    }
    if (PERMANENT.has(failure.code) || options.finalDelivery || isGalleryExportError(failure, 'RUN_LOCKED')) {
      await event('failed', { error });
      return { state: 'failed', error };
    }
    await event('retrying', { error });
    return { state: 'retry', error };
  }
}

/** A requested erasure every delivery of which failed (the poison queue): recorded as failed. */
export async function failRequestedErasure(
  services: ErasureRequestServices,
  item: ErasureWorkItem,
  signal?: AbortSignal,
): Promise<boolean> {
  // Only a request this app stored, for that author: a forged poison message changes nothing.
  if (typeof (await storedRequest(services, item, signal)) === 'string') return false;
  const events = await services.requests.events(item.erasureId, signal);
  if (events.some((event) => event.kind === 'complete' || event.kind === 'failed')) return false;
  const last = [...events].reverse().find((event) => event.error)?.error;
  await services.requests.addEvent(
    item.erasureId,
    {
      schemaVersion: 1,
      kind: 'failed',
      at: services.now().toISOString(),
      error: last ?? { code: 'RETRIES_EXHAUSTED', message: 'every delivery of the erasure failed' },
    },
    signal,
  );
  return true;
}

/**
 * What became of an erasure: `complete` with its record (this erasure's, or the one that covered the
 * request; or nothing to erase), `failed` with why and that a new request finishes it, else `running`
 * (queued, waiting for an export run, or being retried, with the last error). An erasure made by `purge`
 * has no request: it is complete when its record exists. Undefined when nothing is known of that ID.
 */
export async function readErasureStatus(
  services: Pick<ErasureRequestServices, 'requests' | 'erasures'>,
  erasureId: string,
  signal?: AbortSignal,
): Promise<ErasureStatus | undefined> {
  const request = await services.requests.readRequest(erasureId, signal);
  const events = request ? await services.requests.events(erasureId, signal) : [];
  const done = [...events].reverse().find((event) => event.kind === 'complete' || event.kind === 'failed');
  const recordId = done?.kind === 'complete' ? (done.recordErasureId ?? erasureId) : erasureId;
  const stored = await services.erasures.record(recordId, { signal });
  const about: Partial<ErasureStatus> = request
    ? {
        authorIdSha256: request.authorIdSha256,
        requestedAt: request.requestedAt,
        requestedBy: request.requestedBy,
        reference: request.reference,
      }
    : {};
  if (stored) {
    return {
      erasureId,
      state: 'complete',
      ...about,
      authorIdSha256: stored.record.authorIdSha256,
      record: stored.record,
      recordPath: stored.path,
      signature: stored.signature as ErasureStatus['signature'],
    };
  }
  if (!request) return undefined;
  if (done?.kind === 'complete') return { erasureId, state: 'complete', nothingToErase: true, ...about };
  const lastError = [...events].reverse().find((event) => event.error);
  if (done?.kind === 'failed' && done.error) {
    return {
      erasureId,
      state: 'failed',
      ...about,
      failure: {
        ...done.error,
        next: 'a new request for the same author (POST /api/authors/<authorId>/erasure) finishes this erasure once the cause is fixed; so does gallery-export purge --author <authorId> --yes',
      },
    };
  }
  return {
    erasureId,
    state: 'running',
    ...about,
    ...(events.at(-1)?.kind === 'waiting' ? { waitingForExportRun: true } : {}),
    ...(lastError?.error ? { lastError: { ...lastError.error, at: lastError.at } } : {}),
  };
}
