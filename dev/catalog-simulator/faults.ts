import { SeededRandom } from './random';

/**
 * Fault injection: the settings, and the seeded decisions taken for each request.
 *
 * ## Determinism guarantee
 *
 * Every random choice about a request (latency, whether a fault happens and which, the 5xx status, the
 * truncation or malformed-body variant, and whether churn happens and what it does) is a pure function of
 *
 *   (faults seed, the request's author ID or '', the request key, the attempt number)
 *
 * where the **request key** is the HTTP method and the raw request target (path and query string, as sent),
 * and the **attempt number** is how many earlier requests with the same key this simulator has seen (since
 * it started or its data was last reset). Each kind of choice reads its own SHA-256-derived stream, so
 * turning one fault on never reshuffles the others.
 *
 * Consequences:
 * - Results do not depend on how concurrent requests interleave: a client that sends the same set of
 *   requests (a retry is the next attempt of the same key) meets the same faults, in any order and at any
 *   concurrency. Only two *identical* requests racing each other can swap outcomes.
 * - `x-ms-client-request-id` is deliberately not part of the key: clients mint a random GUID per logical
 *   request, which would make every run different. It is still logged, so a test can pair retries with
 *   their first attempt.
 * - Churn changes data, so what a churned *response contains* also depends on which requests for that
 *   author were answered before it; the churn decisions themselves (event or not, insert or delete, the
 *   position and the new entity) follow the rule above, except an inserted entity's `created_at` and
 *   `updated_at` with `insertedCreatedAt: 'now'`, which are read from the clock.
 * - Changing a rate changes the outcomes of the requests it affects, never the draws themselves: with
 *   rates r1..r5 a request's single uniform draw `u` picks throttle if `u < r1`, server error if
 *   `u < r1 + r2`, and so on (reset, truncated, malformed). Each fault therefore occurs at exactly its rate
 *   as long as the rates add up to at most 1; beyond that the later ones are squeezed out.
 */

/**
 * Changes to the data while a client pages through it, as happens with offset paging over a live store.
 * Churn is considered for every list request whose filter names one author, whether or not a fault then
 * spoils the answer: the store changes regardless of what happens to the response.
 */
export interface ChurnOptions {
  /** Probability, per list request naming an author, that one insert or delete happens before answering. */
  rate: number;
  /** Stop changing an author after this many events. @default Infinity */
  maxEventsPerAuthor?: number;
  /** Share of events that are inserts (the rest delete a random listed or unlisted entity). @default 0.5 */
  insertRatio?: number;
  /**
   * The `created_at` of an inserted entity: `'now'`, a newly published entity (what a live catalog does;
   * with `insertRatio: 1`, insert-only churn), or `'past'`, a seeded date years ago, as for an older entity
   * that only now shows in the list (unhidden, moved to this author): a client cannot tell it is new.
   * @default 'past'
   */
  insertedCreatedAt?: 'now' | 'past';
}

/** The settings that can also be given per author. Rates are probabilities per request, in [0, 1]. */
export interface CatalogFaultSettings {
  /** Answer 429 with `Retry-After`. @default 0 */
  throttleRate?: number;
  /**
   * `Retry-After` on a 429: whole seconds, or `'http-date'` for an HTTP date 1 to 2 seconds ahead (the
   * next whole second plus one, since HTTP dates have no fractions).
   * @default 1
   */
  retryAfterSeconds?: number | 'http-date';
  /** Answer with one of `serverErrorStatuses` and an ASP.NET error body. @default 0 */
  serverErrorRate?: number;
  /** @default [500, 502, 503, 504] */
  serverErrorStatuses?: number[];
  /** Destroy the socket without any response. @default 0 */
  resetRate?: number;
  /**
   * Send the right status and headers but a broken body: either the full Content-Length with the socket
   * destroyed halfway, or half of the body with a matching Content-Length (so the HTTP exchange completes
   * and only JSON parsing fails). The variant is seeded.
   * @default 0
   */
  truncatedBodyRate?: number;
  /** Answer 200 with valid JSON of the wrong shape, or with non-JSON text. Only replaces 200 answers. @default 0 */
  malformedBodyRate?: number;
  /** Added to every request before anything else happens (faults included). @default 0 */
  latencyMs?: number;
  /** Plus a uniform `[0, latencyJitterMs)`. @default 0 */
  latencyJitterMs?: number;
  /** The largest page served; a larger `$top` silently gets this many. @default 100 */
  maxTop?: number;
  /** @default no churn */
  churn?: ChurnOptions;
}

export interface CatalogFaults extends CatalogFaultSettings {
  /** Seeds every decision (see the determinism guarantee above). @default 0 */
  seed?: number;
  /** Overrides for requests about one author (its profile or a list filtered on it); keys in any case. */
  perAuthor?: Record<string, Partial<CatalogFaultSettings>>;
}

export const DEFAULT_FAULT_SEED = 0;
export const DEFAULT_RETRY_AFTER_SECONDS = 1;
export const DEFAULT_SERVER_ERROR_STATUSES: readonly number[] = [500, 502, 503, 504];
export const DEFAULT_MAX_TOP = 100;
export const DEFAULT_CHURN_INSERT_RATIO = 0.5;

export type FaultKind = 'throttle' | 'server-error' | 'reset' | 'truncated' | 'malformed';

/** Settings with every default filled in, for one request. */
export interface ResolvedFaultSettings {
  seed: number;
  throttleRate: number;
  retryAfterSeconds: number | 'http-date';
  serverErrorRate: number;
  serverErrorStatuses: readonly number[];
  resetRate: number;
  truncatedBodyRate: number;
  malformedBodyRate: number;
  latencyMs: number;
  latencyJitterMs: number;
  maxTop: number;
  churn: Required<ChurnOptions> | undefined;
}

/** Checks every field once, so a typo in a test fails loudly instead of silently injecting nothing. */
export function validateFaults(faults: CatalogFaults): void {
  check(faults, 'faults');
  for (const [authorId, override] of Object.entries(faults.perAuthor ?? {}))
    check(override, `perAuthor[${authorId}]`);

  function check(settings: CatalogFaultSettings, where: string): void {
    for (const name of [
      'throttleRate',
      'serverErrorRate',
      'resetRate',
      'truncatedBodyRate',
      'malformedBodyRate',
    ] as const) {
      const rate = settings[name];
      if (rate !== undefined && !(rate >= 0 && rate <= 1))
        throw new RangeError(`${where}.${name} must be in [0, 1], got ${rate}`);
    }
    for (const name of ['latencyMs', 'latencyJitterMs'] as const) {
      const ms = settings[name];
      if (ms !== undefined && !(ms >= 0 && Number.isFinite(ms)))
        throw new RangeError(`${where}.${name} must be >= 0, got ${ms}`);
    }
    const { retryAfterSeconds, serverErrorStatuses, maxTop, churn } = settings;
    if (
      retryAfterSeconds !== undefined &&
      retryAfterSeconds !== 'http-date' &&
      !(Number.isInteger(retryAfterSeconds) && retryAfterSeconds >= 0)
    ) {
      throw new RangeError(`${where}.retryAfterSeconds must be a whole number of seconds or 'http-date'`);
    }
    if (
      serverErrorStatuses !== undefined &&
      (serverErrorStatuses.length === 0 ||
        serverErrorStatuses.some((s) => !(Number.isInteger(s) && s >= 500 && s <= 599)))
    ) {
      throw new RangeError(`${where}.serverErrorStatuses must be a non-empty list of 5xx statuses`);
    }
    if (maxTop !== undefined && !(Number.isInteger(maxTop) && maxTop >= 1))
      throw new RangeError(`${where}.maxTop must be a positive integer`);
    if (churn !== undefined) {
      if (!(churn.rate >= 0 && churn.rate <= 1))
        throw new RangeError(`${where}.churn.rate must be in [0, 1]`);
      if (churn.insertRatio !== undefined && !(churn.insertRatio >= 0 && churn.insertRatio <= 1)) {
        throw new RangeError(`${where}.churn.insertRatio must be in [0, 1]`);
      }
      if (churn.maxEventsPerAuthor !== undefined && !(churn.maxEventsPerAuthor >= 0)) {
        throw new RangeError(`${where}.churn.maxEventsPerAuthor must be >= 0`);
      }
      const createdAt = churn.insertedCreatedAt;
      if (createdAt !== undefined && createdAt !== 'now' && createdAt !== 'past') {
        throw new RangeError(`${where}.churn.insertedCreatedAt must be 'now' or 'past'`);
      }
    }
  }
}

/** The settings for one request: global faults, then the author's overrides, then the defaults. */
export function resolveFaultSettings(
  faults: CatalogFaults,
  authorId: string | undefined,
): ResolvedFaultSettings {
  const override = authorId === undefined ? undefined : findOverride(faults.perAuthor, authorId);
  const merged: CatalogFaultSettings = { ...faults, ...override };
  return {
    seed: faults.seed ?? DEFAULT_FAULT_SEED,
    throttleRate: merged.throttleRate ?? 0,
    retryAfterSeconds: merged.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS,
    serverErrorRate: merged.serverErrorRate ?? 0,
    serverErrorStatuses: merged.serverErrorStatuses ?? DEFAULT_SERVER_ERROR_STATUSES,
    resetRate: merged.resetRate ?? 0,
    truncatedBodyRate: merged.truncatedBodyRate ?? 0,
    malformedBodyRate: merged.malformedBodyRate ?? 0,
    latencyMs: merged.latencyMs ?? 0,
    latencyJitterMs: merged.latencyJitterMs ?? 0,
    maxTop: merged.maxTop ?? DEFAULT_MAX_TOP,
    churn:
      merged.churn === undefined
        ? undefined
        : {
            rate: merged.churn.rate,
            maxEventsPerAuthor: merged.churn.maxEventsPerAuthor ?? Infinity,
            insertRatio: merged.churn.insertRatio ?? DEFAULT_CHURN_INSERT_RATIO,
            insertedCreatedAt: merged.churn.insertedCreatedAt ?? 'past',
          },
  };
}

function findOverride(
  perAuthor: CatalogFaults['perAuthor'],
  authorId: string,
): Partial<CatalogFaultSettings> | undefined {
  if (!perAuthor) return undefined;
  const wanted = authorId.toUpperCase();
  const key = Object.keys(perAuthor).find((candidate) => candidate.toUpperCase() === wanted);
  return key === undefined ? undefined : perAuthor[key];
}

/** Identifies one request for the decisions (see the determinism guarantee). */
export interface FaultDecisionKey {
  authorId: string | undefined;
  /** `${method} ${raw request target}`. */
  requestKey: string;
  attempt: number;
}

export interface FaultDecision {
  latencyMs: number;
  fault: FaultKind | undefined;
  /** The status of a server-error fault. */
  status: number | undefined;
  /** Picks the variant of a truncated or malformed body; in [0, 1). */
  variant: number;
}

export function decideFaults(settings: ResolvedFaultSettings, key: FaultDecisionKey): FaultDecision {
  const latency = stream(settings.seed, 'latency', key);
  const latencyMs =
    settings.latencyMs + (settings.latencyJitterMs > 0 ? latency.next() * settings.latencyJitterMs : 0);

  const draws = stream(settings.seed, 'fault', key);
  const u = draws.next();
  const variant = draws.next();
  const thresholds: Array<[FaultKind, number]> = [
    ['throttle', settings.throttleRate],
    ['server-error', settings.serverErrorRate],
    ['reset', settings.resetRate],
    ['truncated', settings.truncatedBodyRate],
    ['malformed', settings.malformedBodyRate],
  ];
  let cumulative = 0;
  let fault: FaultKind | undefined;
  for (const [kind, rate] of thresholds) {
    cumulative += rate;
    if (rate > 0 && u < cumulative) {
      fault = kind;
      break;
    }
  }
  const statuses = settings.serverErrorStatuses;
  const status = fault === 'server-error' ? statuses[Math.floor(variant * statuses.length)] : undefined;
  return { latencyMs, fault, status, variant };
}

export interface ChurnDecision {
  kind: 'insert' | 'delete';
  /** The `created_at` of an inserted entity (see `ChurnOptions.insertedCreatedAt`). */
  insertedCreatedAt: 'now' | 'past';
  /** Draws the position, the victim or the new entity. */
  random: SeededRandom;
}

/** Whether a list request changes its author's data first, and how. */
export function decideChurn(
  settings: ResolvedFaultSettings,
  key: FaultDecisionKey,
  eventsSoFar: number,
): ChurnDecision | undefined {
  const churn = settings.churn;
  if (!churn || churn.rate <= 0 || eventsSoFar >= churn.maxEventsPerAuthor) return undefined;
  const random = stream(settings.seed, 'churn', key);
  if (!random.chance(churn.rate)) return undefined;
  return {
    kind: random.chance(churn.insertRatio) ? 'insert' : 'delete',
    insertedCreatedAt: churn.insertedCreatedAt,
    random,
  };
}

function stream(seed: number, label: string, key: FaultDecisionKey): SeededRandom {
  return SeededRandom.fromKey('faults', seed, label, key.authorId ?? '', key.requestKey, key.attempt);
}

/** Counts attempts per request key (the "attempt number" of the determinism guarantee). */
export class AttemptCounter {
  private readonly seen = new Map<string, number>();

  /** The attempt number of this arrival (0 for the first), recording it. */
  next(requestKey: string): number {
    const attempt = this.seen.get(requestKey) ?? 0;
    this.seen.set(requestKey, attempt + 1);
    return attempt;
  }

  clear(): void {
    this.seen.clear();
  }
}
