import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  cloneCatalogData,
  formatCatalogTimestamp,
  generateEntity,
  serializeCatalogJson,
  type CatalogData,
  type SimAuthor,
  type SimEntity,
} from './catalogData';
import { createDemoCatalog } from './demoData';
import {
  AttemptCounter,
  decideChurn,
  decideFaults,
  resolveFaultSettings,
  validateFaults,
  type CatalogFaults,
  type ChurnDecision,
  type FaultDecision,
  type FaultKind,
  type ResolvedFaultSettings,
} from './faults';
import { signJwt, TOKEN_ISSUER, verifyJwt } from './jwt';
import {
  evaluateFilter,
  ODataFilterError,
  parseFilter,
  requiredEqualities,
  type FilterNode,
} from './odataFilter';
import { hashUnit } from './random';

/**
 * A loopback HTTP server that behaves like the retired AI Gallery Catalog API
 * (`shared/reference/catalog-api.md`): `GET /users/{authorId}` and `GET /entities?$filter=...`, offset
 * paging in a `{value, count, total_count}` envelope, unlisted entities behind `DataLabAccessToken`, plus
 * seeded fault injection, data churn and server-side instrumentation for tests of the client.
 */

export interface CatalogSimulatorOptions {
  /** Served data; deep-copied, so churn never changes the caller's object. @default createDemoCatalog() */
  data?: CatalogData;
  /** @default 0 (any free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default no faults */
  faults?: CatalogFaults;
  /**
   * Share of list items sent wrapped as `{"entity": {...}}`. Which items are wrapped is a pure function of
   * the faults seed and the entity id, so a given page is always wrapped the same way.
   * @default 0
   */
  wrapRate?: number;
  /** Whether the profile's `entities_count` includes unlisted entities (nobody knows what the API did). @default true */
  profileCountsUnlisted?: boolean;
  /** `$top` when the request has none: the gallery UI's page size. @default 20 */
  defaultTop?: number;
  /** HMAC-SHA256 key for issued tokens. @default 32 random bytes (tokens of one simulator fail on another) */
  tokenSecret?: Buffer | string;
  /**
   * Serve `GET /_simulator/sign-in?author=<64 hex>[&expires-in=<seconds>]`: a fresh DataLabAccessToken for
   * that author as text, the stand-in for signing in to the gallery and copying the header (the local
   * stack turns it on, so a person can register or renew a token by hand). Never faulted, never logged.
   * @default false
   */
  signIn?: boolean;
  /**
   * Answer a list request that has `$orderby` with 400, as an OData service whose
   * `AllowedOrderByProperties` is empty does: the list can then only be read in its natural order.
   * @default false
   */
  refuseOrderBy?: boolean;
}

export const DEFAULT_HOST = '127.0.0.1';
/** The sign-in stand-in's path (CatalogSimulatorOptions.signIn). */
export const SIGN_IN_PATH = '/_simulator/sign-in';
export const DEFAULT_TOP = 20;
export const DEFAULT_WRAP_RATE = 0;
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 8 * 60 * 60;

export interface IssueTokenOptions {
  /** Negative values give a token that is already expired. @default 28800 (8 hours, as the gallery's) */
  expiresInSeconds?: number;
  /** Takes precedence over `expiresInSeconds`. */
  expiresAt?: Date;
  /** The `author_id` claim, to make a token for the wrong author. @default the upper-cased authorId */
  authorIdClaim?: string;
}

export interface CatalogSimulatorStats {
  /** Requests that arrived (including those that got no answer). */
  requests: number;
  /** From arrival until the response has ended or its socket is gone; latency counts as in flight. */
  inFlight: number;
  maxInFlight: number;
  /** TCP connections accepted: few with a keep-alive pool, one per request without. */
  connections: number;
  /** Responses by status, counted when the status line is sent (truncated bodies included). */
  byStatus: Record<number, number>;
  /** Injected faults by kind (`throttle`, `server-error`, `reset`, `truncated`, `malformed`). */
  faults: Record<string, number>;
  churn: { inserts: number; deletes: number };
  /**
   * Requests that arrived before the Retry-After this simulator had sent for the same request target
   * (method, path and query) had elapsed: a client that honours Retry-After for every later request of
   * that URL, whichever pass or author sends it, keeps this at 0.
   */
  beforeRetryAfter: number;
}

export interface RequestLogEntry {
  /** 1, 2, 3... in arrival order. */
  seq: number;
  /** `performance.now()` at arrival (ms, monotonic): compare entries to check waits such as Retry-After. */
  arrivedAt: number;
  method: string;
  /** The path as sent, without the query string. */
  path: string;
  /** Decoded query options (the last value of a repeated one). */
  query: Record<string, string>;
  /** Upper-case: the profile's author, or the single author a list filter names. */
  authorId?: string;
  clientRequestId?: string;
  /** Whether a DataLabAccessToken header was sent. The token itself is never recorded. */
  hadToken: boolean;
  /** For list requests with a token: whether it unlocked unlisted entities. */
  tokenAccepted?: boolean;
  /** Absent when the socket was reset or closed before an answer. */
  status?: number;
  fault?: FaultKind;
  /** Which variant of a truncated (`cut`, `broken`) or malformed body was sent. */
  faultVariant?: string;
  /** On a throttle: the seconds the client must wait (for an HTTP date, measured when it was sent). */
  retryAfterSeconds?: number;
  /** Effective paging of a list request (after the default and the cap). */
  skip?: number;
  top?: number;
  totalCount?: number;
  /** Set if answering threw (a simulator bug): the client got a 500. */
  internalError?: string;
  /** `performance.now()` when the response ended or its socket went: with `arrivedAt`, time in flight. */
  finishedAt?: number;
  /** Set when it arrived before the Retry-After sent earlier for the same target had elapsed. */
  beforeRetryAfter?: boolean;
}

type Route =
  | { kind: 'profile'; authorId: string }
  | { kind: 'list' }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed' }
  | { kind: 'bad-uri' };

interface ListQuery {
  filter: FilterNode | undefined;
  /** The single author the filter requires, upper-case. */
  authorId: string | undefined;
  /** Requested or default, before the cap. */
  top: number;
  skip: number;
  orderBy: Array<{ path: string[]; descending: boolean }>;
  /** The filter and order as sent: with the caller's unlock state, the key of the match cache. */
  matchKey: string;
}

interface PlannedResponse {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';
const CLIENT_REQUEST_ID = 'x-ms-client-request-id';
const TOKEN_HEADER = 'datalabaccesstoken';
const QUERY_INVALID = 'The query specified in the URI is not valid.';

/** Starts a simulator listening on loopback; `close()` it when done. */
export async function startCatalogSimulator(
  options: CatalogSimulatorOptions = {},
): Promise<CatalogSimulator> {
  const simulator = new CatalogSimulator(options);
  await simulator.listen(options.port ?? 0, options.host ?? DEFAULT_HOST);
  return simulator;
}

export class CatalogSimulator {
  /** Every token handed out by {@link issueToken}, so tests can search logs and blobs for them. */
  readonly issuedTokens: string[] = [];
  /** One entry per request, in arrival order (cleared by {@link resetStats}). */
  readonly requestLog: RequestLogEntry[] = [];
  readonly stats: CatalogSimulatorStats = emptyStats();

  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  /** One promise per request not yet ended, settled when its response ends or its socket goes. */
  private readonly pendingResponses = new Set<Promise<void>>();
  private readonly secret: Buffer;
  private readonly wrapRate: number;
  private readonly profileCountsUnlisted: boolean;
  private readonly defaultTop: number;
  private readonly refuseOrderBy: boolean;
  private readonly signIn: boolean;
  private readonly attempts = new AttemptCounter();
  private currentFaults: CatalogFaults;
  private liveData: CatalogData;
  private baseline: CatalogData;
  private initialIds = new Map<string, string[]>();
  private inserted = new Map<string, string[]>();
  private deleted = new Map<string, string[]>();
  private churnEvents = new Map<string, number>();
  /**
   * The full match list of recent list queries, so paging through 200,000 entities costs O(page) per
   * request rather than a filter over every entity. Cleared whenever the data may change.
   */
  private readonly matchCache = new Map<string, SimEntity[]>();
  /** Each entity's JSON, computed once; entities are replaced, not edited, by churn (see `data`). */
  private serializedEntities = new WeakMap<SimEntity, string>();
  private seq = 0;
  /** Per request target: until when (performance.now()) the last Retry-After sent for it holds. */
  private readonly retryAfterUntil = new Map<string, number>();
  private address: { url: string; port: number } | undefined;
  private closing: Promise<void> | undefined;

  /** Use {@link startCatalogSimulator}; the constructor does not listen. */
  constructor(options: CatalogSimulatorOptions = {}) {
    const faults = options.faults ?? {};
    validateFaults(faults);
    this.currentFaults = { ...faults };
    this.wrapRate = options.wrapRate ?? DEFAULT_WRAP_RATE;
    if (!(this.wrapRate >= 0 && this.wrapRate <= 1))
      throw new RangeError(`wrapRate must be in [0, 1], got ${this.wrapRate}`);
    this.profileCountsUnlisted = options.profileCountsUnlisted ?? true;
    this.defaultTop = options.defaultTop ?? DEFAULT_TOP;
    this.refuseOrderBy = options.refuseOrderBy ?? false;
    this.signIn = options.signIn ?? false;
    if (!(Number.isInteger(this.defaultTop) && this.defaultTop >= 0))
      throw new RangeError('defaultTop must be a non-negative integer');
    this.secret =
      options.tokenSecret === undefined
        ? randomBytes(32)
        : Buffer.isBuffer(options.tokenSecret)
          ? options.tokenSecret
          : Buffer.from(options.tokenSecret, 'utf8');
    this.baseline = withUpperCaseKeys(options.data ?? createDemoCatalog());
    this.liveData = cloneCatalogData(this.baseline);
    this.recordInitialIds();

    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.stats.connections++;
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  get url(): string {
    if (!this.address) throw new Error('The catalog simulator is not listening');
    return this.address.url;
  }

  get port(): number {
    if (!this.address) throw new Error('The catalog simulator is not listening');
    return this.address.port;
  }

  /** The live data: churn changes it, and tests may change it too. */
  get data(): CatalogData {
    // The caller may change what it gets: forget cached matches and serializations.
    this.matchCache.clear();
    this.serializedEntities = new WeakMap();
    return this.liveData;
  }

  /** The faults in force (a copy). */
  get faults(): CatalogFaults {
    return { ...this.currentFaults };
  }

  /** @internal Called by {@link startCatalogSimulator}. */
  async listen(port: number, host: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('Unexpected server address');
    const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.address = { url: `http://${hostPart}:${address.port}`, port: address.port };
  }

  /**
   * Merges `faults` into the faults in force, shallowly (`perAuthor` and `churn` are replaced whole; a field
   * set to `undefined` goes back to its default). Takes effect for requests that arrive afterwards; attempt
   * counters are kept (see {@link resetData}).
   */
  setFaults(faults: Partial<CatalogFaults>): void {
    const next = { ...this.currentFaults, ...faults };
    validateFaults(next);
    this.currentFaults = next;
  }

  /** Removes every fault (keeps the seed). */
  clearFaults(): void {
    this.currentFaults = { seed: this.currentFaults.seed };
  }

  /** A DataLabAccessToken-like JWT for an author (HS256 with this simulator's secret, issuer MAMLSTS). */
  issueToken(authorId: string, options: IssueTokenOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    const exp =
      options.expiresAt !== undefined
        ? Math.floor(options.expiresAt.getTime() / 1000)
        : now + Math.round(options.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS);
    const token = signJwt(
      {
        iss: TOKEN_ISSUER,
        author_id: options.authorIdClaim ?? authorId.toUpperCase(),
        exp,
        iat: now,
        nbf: now,
        jti: randomUUID(),
      },
      this.secret,
    );
    this.issuedTokens.push(token);
    return token;
  }

  /** Clears the counters and the request log (in place: references held by tests stay valid). */
  resetStats(): void {
    Object.assign(this.stats, emptyStats(), {
      inFlight: this.stats.inFlight,
      maxInFlight: this.stats.inFlight,
    });
    this.requestLog.length = 0;
  }

  /**
   * Restores the data the simulator started with, or replaces it (and makes that the new baseline), and
   * clears churn bookkeeping and the fault attempt counters, so a fresh run reproduces the same decisions.
   */
  resetData(data?: CatalogData): void {
    if (data) this.baseline = withUpperCaseKeys(data);
    this.liveData = cloneCatalogData(this.baseline);
    this.matchCache.clear();
    this.recordInitialIds();
    this.attempts.clear();
  }

  /** Ids (listed and unlisted) the author had at start or at the last {@link resetData}. */
  initialEntityIds(authorId: string): string[] {
    return [...(this.initialIds.get(authorId.toUpperCase()) ?? [])];
  }

  /** Ids removed by churn since then, in order (an inserted entity may later be deleted too). */
  deletedEntityIds(authorId: string): string[] {
    return [...(this.deleted.get(authorId.toUpperCase()) ?? [])];
  }

  /** Ids added by churn since then, in order. */
  insertedEntityIds(authorId: string): string[] {
    return [...(this.inserted.get(authorId.toUpperCase()) ?? [])];
  }

  /** Stops listening and destroys every socket, idle keep-alive ones and those waiting on latency included. */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        if (!this.server.listening) {
          resolve();
          return;
        }
        this.server.close(() => resolve());
      }).then(async () => {
        // Responses hear of their destroyed sockets a little later than the server does: wait for every
        // one, so stats (inFlight) are final and no latency timer outlives close().
        await Promise.all(this.pendingResponses);
      });
      this.server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    }
    return this.closing;
  }

  private recordInitialIds(): void {
    this.initialIds = new Map(
      [...this.liveData.authors].map(([authorId, author]) => [
        authorId,
        author.entities.map((entity) => entity.id),
      ]),
    );
    this.inserted = new Map();
    this.deleted = new Map();
    this.churnEvents = new Map();
  }

  // ------------------------------------------------------------------------------------------------------
  // Request handling

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const arrivedAt = performance.now();
    this.stats.requests++;
    this.stats.inFlight++;
    this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
    const aborted = new AbortController();
    let ended = false;
    let settle = (): void => undefined;
    const pending = new Promise<void>((resolve) => (settle = resolve));
    this.pendingResponses.add(pending);
    const onEnd = (): void => {
      if (ended) return;
      ended = true;
      entry.finishedAt = performance.now();
      this.stats.inFlight--;
      aborted.abort();
      this.pendingResponses.delete(pending);
      settle();
    };
    res.once('finish', onEnd);
    res.once('close', onEnd);

    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    const queryStart = target.indexOf('?');
    const rawPath = queryStart < 0 ? target : target.slice(0, queryStart);
    const params = new URLSearchParams(queryStart < 0 ? '' : target.slice(queryStart + 1));
    const clientRequestId = headerValue(req, CLIENT_REQUEST_ID);
    const token = headerValue(req, TOKEN_HEADER);
    const entry: RequestLogEntry = {
      seq: ++this.seq,
      arrivedAt,
      method,
      path: rawPath,
      query: Object.fromEntries(params),
      hadToken: token !== undefined && token.trim() !== '',
    };
    if (clientRequestId !== undefined) entry.clientRequestId = clientRequestId;
    this.requestLog.push(entry);

    try {
      if (this.signIn && rawPath === SIGN_IN_PATH) this.answerSignIn(res, entry, method, params);
      else
        await this.answer(req, res, entry, {
          method,
          target,
          rawPath,
          params,
          token,
          signal: aborted.signal,
        });
    } catch (error) {
      entry.internalError = error instanceof Error ? error.message : String(error);
      try {
        if (res.headersSent || res.destroyed) throw error;
        this.send(res, entry, {
          status: 500,
          body: serializeCatalogJson({ Message: 'An error has occurred.' }),
        });
      } catch {
        res.destroy();
      }
    }
  }

  private async answer(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    entry: RequestLogEntry,
    request: {
      method: string;
      target: string;
      rawPath: string;
      params: URLSearchParams;
      token: string | undefined;
      signal: AbortSignal;
    },
  ): Promise<void> {
    const route = parseRoute(request.method, request.rawPath);
    let listQuery: ListQuery | undefined;
    let badRequest: string | undefined;
    let authorId: string | undefined;
    if (route.kind === 'profile') {
      authorId = route.authorId.toUpperCase();
    } else if (route.kind === 'list') {
      const parsed = parseListQuery(request.params, this.defaultTop);
      if (typeof parsed === 'string') badRequest = parsed;
      else {
        listQuery = parsed;
        authorId = parsed.authorId;
        const ordered = parsed.orderBy[0];
        if (this.refuseOrderBy && ordered) {
          badRequest = `${QUERY_INVALID} Order by '${ordered.path.join('/')}' is not allowed. To allow it, set the 'AllowedOrderByProperties' property on EnableQueryAttribute or QueryValidationSettings.`;
        }
      }
    }
    if (authorId !== undefined) entry.authorId = authorId;

    const settings = resolveFaultSettings(this.currentFaults, authorId);
    const requestKey = `${request.method} ${request.target}`;
    const notBefore = this.retryAfterUntil.get(requestKey);
    if (notBefore !== undefined && entry.arrivedAt < notBefore) {
      entry.beforeRetryAfter = true;
      this.stats.beforeRetryAfter++;
    }
    const key = { authorId, requestKey, attempt: this.attempts.next(requestKey) };
    const decision = decideFaults(settings, key);

    if (decision.latencyMs > 0 && !(await sleep(decision.latencyMs, request.signal))) return;
    if (request.signal.aborted) return;

    if (listQuery?.authorId !== undefined) {
      this.churn(
        listQuery.authorId,
        decideChurn(settings, key, this.churnEvents.get(listQuery.authorId) ?? 0),
      );
    }

    switch (decision.fault) {
      case 'throttle': {
        this.countFault(entry, 'throttle');
        const throttled = throttleResponse(settings, entry);
        // From the moment the answer leaves: the client must not ask for this target again before.
        const waitMs = (entry.retryAfterSeconds ?? 0) * 1000;
        this.retryAfterUntil.set(
          requestKey,
          Math.max(this.retryAfterUntil.get(requestKey) ?? 0, performance.now() + waitMs),
        );
        this.send(res, entry, throttled);
        return;
      }
      case 'server-error': {
        this.countFault(entry, 'server-error');
        this.send(res, entry, {
          status: decision.status ?? 500,
          body: serializeCatalogJson({ Message: 'An error has occurred.' }),
        });
        return;
      }
      case 'reset':
        this.countFault(entry, 'reset');
        req.socket.destroy();
        return;
      default:
        break;
    }

    let planned: PlannedResponse;
    if (badRequest !== undefined)
      planned = { status: 400, body: serializeCatalogJson({ Message: badRequest }) };
    else if (route.kind === 'profile') planned = this.profileResponse(route.authorId);
    else if (route.kind === 'list' && listQuery)
      planned = this.listResponse(listQuery, settings, request.token, entry);
    else if (route.kind === 'method-not-allowed') {
      planned = {
        status: 405,
        body: serializeCatalogJson({
          Message: `The requested resource does not support http method '${request.method}'.`,
        }),
        headers: { Allow: 'GET' },
      };
    } else if (route.kind === 'bad-uri')
      planned = { status: 400, body: serializeCatalogJson({ Message: 'The request URI is malformed.' }) };
    else {
      planned = {
        status: 404,
        body: serializeCatalogJson({
          Message: `No HTTP resource was found that matches the request URI '${request.rawPath}'.`,
        }),
      };
    }

    if (decision.fault === 'truncated') {
      this.countFault(entry, 'truncated');
      this.sendTruncated(req, res, entry, planned, decision);
      return;
    }
    if (decision.fault === 'malformed' && planned.status === 200) {
      this.countFault(entry, 'malformed');
      const malformed = malformedBody(
        route.kind === 'profile' ? 'profile' : 'list',
        planned.body,
        decision.variant,
      );
      entry.faultVariant = malformed.variant;
      planned = { status: 200, body: malformed.body, contentType: malformed.contentType };
    }
    this.send(res, entry, planned);
  }

  private profileResponse(rawAuthorId: string): PlannedResponse {
    const author = this.liveData.authors.get(rawAuthorId.toUpperCase());
    if (!author) {
      return {
        status: 404,
        body: serializeCatalogJson({ Message: `The user '${rawAuthorId}' was not found.` }),
      };
    }
    const count = author.entities.filter(
      (entity) => this.profileCountsUnlisted || entity.hidden !== true,
    ).length;
    // Replace in place so the field keeps its position (first, as the API sent it).
    const profile: Record<string, unknown> =
      'entities_count' in author.profile ? { ...author.profile } : { entities_count: 0, ...author.profile };
    profile.entities_count = count;
    return { status: 200, body: serializeCatalogJson(profile) };
  }

  /**
   * Serializes every entity ahead of time, so that answering costs little CPU: benchmarks call it so the
   * simulator's own work does not add to the latency they configure.
   */
  warmUp(): void {
    for (const author of this.liveData.authors.values()) {
      for (const entity of author.entities) this.serializedEntity(entity);
    }
  }

  private serializedEntity(entity: SimEntity): string {
    let json = this.serializedEntities.get(entity);
    if (json === undefined) {
      json = serializeCatalogJson(entity);
      this.serializedEntities.set(entity, json);
    }
    return json;
  }

  private cachedMatches(key: string, compute: () => SimEntity[]): SimEntity[] {
    let matches = this.matchCache.get(key);
    if (!matches) {
      if (this.matchCache.size >= 64) this.matchCache.clear();
      matches = compute();
      this.matchCache.set(key, matches);
    }
    return matches;
  }

  private listResponse(
    query: ListQuery,
    settings: ResolvedFaultSettings,
    token: string | undefined,
    entry: RequestLogEntry,
  ): PlannedResponse {
    // Unlisted entities are unlocked only by a valid, unexpired token of the very author the filter names;
    // anything else quietly gets the public list, as the real API did.
    let unlockedAuthor: string | undefined;
    if (token !== undefined && token.trim() !== '') {
      const verification = verifyJwt(token, this.secret);
      if (
        verification.valid &&
        query.authorId !== undefined &&
        verification.claims.author_id.toUpperCase() === query.authorId
      ) {
        unlockedAuthor = query.authorId;
      }
      entry.tokenAccepted = unlockedAuthor !== undefined;
    }

    const matches = this.cachedMatches(`${unlockedAuthor ?? ''}|${query.matchKey}`, () => {
      const candidates: SimAuthor[] =
        query.authorId !== undefined
          ? [this.liveData.authors.get(query.authorId)].filter(
              (author): author is SimAuthor => author !== undefined,
            )
          : [...this.liveData.authors.values()];
      let found: SimEntity[] = [];
      for (const author of candidates) {
        for (const entity of author.entities) {
          const visible =
            entity.hidden !== true ||
            (unlockedAuthor !== undefined && entity.author?.id.toUpperCase() === unlockedAuthor);
          if (visible && (query.filter === undefined || evaluateFilter(query.filter, entity)))
            found.push(entity);
        }
      }
      if (query.orderBy.length > 0) found = sortEntities(found, query.orderBy);
      return found;
    });

    const top = Math.min(query.top, settings.maxTop);
    const page = matches.slice(query.skip, query.skip + top);
    entry.skip = query.skip;
    entry.top = top;
    entry.totalCount = matches.length;
    const seed = settings.seed;
    // Byte for byte what serializeCatalogJson({ value, count, total_count }) writes, built from each
    // entity's cached serialization so a busy simulator is not the bottleneck of a benchmark.
    const value = page.map((entity) => {
      const json = this.serializedEntity(entity);
      return this.wrapRate > 0 && hashUnit('wrap', seed, entity.id) < this.wrapRate
        ? `{"entity":${json}}`
        : json;
    });
    return {
      status: 200,
      body: `{"value":[${value.join(',')}],"count":${page.length},"total_count":${matches.length}}`,
    };
  }

  private churn(authorId: string, decision: ChurnDecision | undefined): void {
    const author = this.liveData.authors.get(authorId);
    if (!decision || !author) return;
    this.matchCache.clear();
    const { random } = decision;
    const entities = author.entities;
    this.churnEvents.set(authorId, (this.churnEvents.get(authorId) ?? 0) + 1);
    if (decision.kind === 'delete' && entities.length > 0) {
      const [removed] = entities.splice(random.int(entities.length), 1);
      if (removed) pushTo(this.deleted, authorId, removed.id);
      this.stats.churn.deletes++;
      return;
    }
    // Keep the author's listed/unlisted mix; insert anywhere, since offset paging suffers most from inserts
    // before the current page.
    const hiddenShare =
      entities.length === 0
        ? 0
        : entities.filter((entity) => entity.hidden === true).length / entities.length;
    const usedIds = new Set([...entities.map((entity) => entity.id), ...(this.deleted.get(authorId) ?? [])]);
    const profile = author.profile;
    const entity: SimEntity = generateEntity(
      random,
      { id: authorId, name: typeof profile.name === 'string' ? profile.name : authorId },
      {
        hidden: random.chance(hiddenShare),
        usedIds,
        tenantId: typeof profile.tenant_id === 'string' ? profile.tenant_id : undefined,
        communityId: typeof profile.community_id === 'string' ? profile.community_id : undefined,
      },
    );
    if (decision.insertedCreatedAt === 'now') {
      // Published just now: both stamps from the clock, in the catalog's format (100 ns ticks).
      const stamp = formatCatalogTimestamp(Date.now(), random.int(10000));
      entity.created_at = stamp;
      entity.updated_at = stamp;
    }
    entities.splice(random.int(entities.length + 1), 0, entity);
    pushTo(this.inserted, authorId, entity.id);
    this.stats.churn.inserts++;
  }

  private countFault(entry: RequestLogEntry, fault: FaultKind): void {
    entry.fault = fault;
    this.stats.faults[fault] = (this.stats.faults[fault] ?? 0) + 1;
  }

  private headersFor(
    entry: RequestLogEntry,
    contentType: string,
    length: number,
    extra: Record<string, string> = {},
  ) {
    const headers: Record<string, string | number> = {
      'Content-Type': contentType,
      'Content-Length': length,
      'Cache-Control': 'no-cache',
      ...extra,
    };
    if (entry.clientRequestId !== undefined) headers[CLIENT_REQUEST_ID] = entry.clientRequestId;
    return headers;
  }

  /** The sign-in stand-in (see CatalogSimulatorOptions.signIn): a token as text, or 400 saying why not. */
  private answerSignIn(
    res: http.ServerResponse,
    entry: RequestLogEntry,
    method: string,
    params: URLSearchParams,
  ): void {
    const authorId = params.get('author') ?? '';
    const expiresIn = params.get('expires-in');
    const seconds = expiresIn === null ? undefined : Number(expiresIn);
    const problem =
      method !== 'GET'
        ? 'use GET'
        : !/^[0-9A-Fa-f]{64}$/.test(authorId)
          ? 'author must be an author ID (64 hexadecimal characters)'
          : seconds !== undefined && !Number.isInteger(seconds)
            ? 'expires-in must be a whole number of seconds'
            : undefined;
    this.send(res, entry, {
      status: problem ? 400 : 200,
      body: problem ?? this.issueToken(authorId, seconds === undefined ? {} : { expiresInSeconds: seconds }),
      contentType: 'text/plain; charset=utf-8',
    });
  }

  private send(res: http.ServerResponse, entry: RequestLogEntry, response: PlannedResponse): void {
    if (res.destroyed) return;
    const body = Buffer.from(response.body, 'utf8');
    this.countStatus(entry, response.status);
    res.writeHead(
      response.status,
      this.headersFor(entry, response.contentType ?? JSON_CONTENT_TYPE, body.length, response.headers),
    );
    res.end(body);
  }

  private sendTruncated(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    entry: RequestLogEntry,
    response: PlannedResponse,
    decision: FaultDecision,
  ): void {
    if (res.destroyed) return;
    const body = Buffer.from(response.body, 'utf8');
    const half = utf8Boundary(body, Math.max(1, Math.floor(body.length / 2)));
    const contentType = response.contentType ?? JSON_CONTENT_TYPE;
    this.countStatus(entry, response.status);
    if (decision.variant < 0.5) {
      // Promise the whole body, deliver half, then drop the connection: the client sees a premature close.
      entry.faultVariant = 'cut';
      res.writeHead(response.status, this.headersFor(entry, contentType, body.length, response.headers));
      const socket = req.socket;
      res.write(body.subarray(0, half), () => socket.destroy());
    } else {
      // A complete HTTP exchange whose body is not valid JSON: only parsing can notice.
      entry.faultVariant = 'broken';
      res.writeHead(response.status, this.headersFor(entry, contentType, half, response.headers));
      res.end(body.subarray(0, half));
    }
  }

  private countStatus(entry: RequestLogEntry, status: number): void {
    entry.status = status;
    this.stats.byStatus[status] = (this.stats.byStatus[status] ?? 0) + 1;
  }
}

/** A deep copy keyed by upper-case author IDs, so hand-built data is found whatever case it used. */
function withUpperCaseKeys(data: CatalogData): CatalogData {
  const copy = cloneCatalogData(data);
  return {
    authors: new Map([...copy.authors].map(([authorId, author]) => [authorId.toUpperCase(), author])),
  };
}

function emptyStats(): CatalogSimulatorStats {
  return {
    requests: 0,
    inFlight: 0,
    maxInFlight: 0,
    connections: 0,
    byStatus: {},
    faults: {},
    churn: { inserts: 0, deletes: 0 },
    beforeRetryAfter: 0,
  };
}

function headerValue(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function pushTo(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function parseRoute(method: string, rawPath: string): Route {
  const segments = rawPath
    .split('/')
    .filter((segment, index, all) => index > 0 && !(segment === '' && index === all.length - 1));
  let decoded: string[];
  try {
    decoded = segments.map((segment) => decodeURIComponent(segment));
  } catch {
    return { kind: 'bad-uri' };
  }
  const [resource, id, ...rest] = decoded;
  // ASP.NET routes ignore case.
  const isProfile = resource?.toLowerCase() === 'users' && id !== undefined && id !== '' && rest.length === 0;
  const isList = resource?.toLowerCase() === 'entities' && id === undefined;
  if (!isProfile && !isList) return { kind: 'not-found' };
  if (method !== 'GET' && method !== 'HEAD') return { kind: 'method-not-allowed' };
  return isProfile ? { kind: 'profile', authorId: id ?? '' } : { kind: 'list' };
}

const QUERY_OPTIONS = ['$filter', '$top', '$skip', '$orderby'] as const;

/** Returns the parsed list query, or the message of a 400. */
function parseListQuery(params: URLSearchParams, defaultTop: number): ListQuery | string {
  for (const option of QUERY_OPTIONS) {
    if (params.getAll(option).length > 1)
      return `${QUERY_INVALID} Query option '${option}' was specified more than once, but it must be specified at most once.`;
  }
  const top = parseNonNegativeInteger(params.get('$top'), '$top');
  if (typeof top === 'string') return top;
  const skip = parseNonNegativeInteger(params.get('$skip'), '$skip');
  if (typeof skip === 'string') return skip;

  let filter: FilterNode | undefined;
  const filterText = params.get('$filter');
  if (filterText !== null) {
    try {
      filter = parseFilter(filterText);
    } catch (error) {
      if (error instanceof ODataFilterError)
        return `${QUERY_INVALID} Syntax error: ${error.message} in '${filterText}'.`;
      throw error;
    }
  }
  const authors = new Set(
    (filter ? requiredEqualities(filter, 'author/id') : []).map((id) => id.toUpperCase()),
  );
  const orderBy = parseOrderBy(params.get('$orderby'));
  if (typeof orderBy === 'string') return orderBy;
  return {
    filter,
    authorId: authors.size === 1 ? [...authors][0] : undefined,
    top: top ?? defaultTop,
    skip: skip ?? 0,
    matchKey: `${params.get('$filter') ?? ''}|${params.get('$orderby') ?? ''}`,
    orderBy,
  };
}

function parseNonNegativeInteger(text: string | null, option: string): number | undefined | string {
  if (text === null) return undefined;
  if (!/^\d+$/.test(text.trim())) {
    return `${QUERY_INVALID} Invalid value '${text}' for ${option} query option found. The ${option} query option requires a non-negative integer value.`;
  }
  return Number(text.trim());
}

function parseOrderBy(text: string | null): ListQuery['orderBy'] | string {
  if (text === null || text.trim() === '') return [];
  const clauses: ListQuery['orderBy'] = [];
  for (const clause of text.split(',')) {
    const match = /^\s*([A-Za-z_$][A-Za-z0-9_]*(?:\/[A-Za-z_$][A-Za-z0-9_]*)*)(?:\s+(asc|desc))?\s*$/.exec(
      clause,
    );
    if (!match) return `${QUERY_INVALID} Syntax error in $orderby clause '${clause.trim()}'.`;
    clauses.push({ path: (match[1] ?? '').split('/'), descending: match[2] === 'desc' });
  }
  return clauses;
}

function sortEntities(entities: SimEntity[], orderBy: ListQuery['orderBy']): SimEntity[] {
  const valueAt = (entity: SimEntity, path: string[]): unknown =>
    path.reduce<unknown>(
      (value, segment) =>
        typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[segment] : undefined,
      entity,
    );
  // Array.prototype.sort is stable, so ties keep natural order.
  return [...entities].sort((a, b) => {
    for (const { path, descending } of orderBy) {
      const order = compareValues(valueAt(a, path), valueAt(b, path));
      if (order !== 0) return descending ? -order : order;
    }
    return 0;
  });
}

/** Nulls first, then numbers, then strings; other types compare equal. */
function compareValues(a: unknown, b: unknown): number {
  const rank = (value: unknown): number =>
    value === null || value === undefined
      ? 0
      : typeof value === 'number'
        ? 1
        : typeof value === 'string'
          ? 2
          : 3;
  const [ra, rb] = [rank(a), rank(b)];
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return 0;
}

function throttleResponse(settings: ResolvedFaultSettings, entry: RequestLogEntry): PlannedResponse {
  let header: string;
  if (settings.retryAfterSeconds === 'http-date') {
    // HTTP dates have whole seconds: the next second plus one is 1 to 2 seconds ahead, never in the past.
    const at = (Math.floor(Date.now() / 1000) + 2) * 1000;
    header = new Date(at).toUTCString();
    entry.retryAfterSeconds = (at - Date.now()) / 1000;
  } else {
    header = String(settings.retryAfterSeconds);
    entry.retryAfterSeconds = settings.retryAfterSeconds;
  }
  return {
    status: 429,
    body: serializeCatalogJson({
      Message: 'Too many requests. Please retry after the time given in the Retry-After header.',
    }),
    headers: { 'Retry-After': header },
  };
}

/** Wrong-shape bodies a broken proxy or a half-deployed service might send with a 200. */
function malformedBody(
  route: 'profile' | 'list',
  realBody: string,
  variant: number,
): { body: string; variant: string; contentType?: string } {
  const html = {
    body: '<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>',
    variant: 'html',
    contentType: 'text/html; charset=utf-8',
  };
  const choices: Array<() => { body: string; variant: string; contentType?: string }> =
    route === 'list'
      ? [
          () => ({ body: '{"value":"oops","count":1,"total_count":1}', variant: 'value-not-array' }),
          () => ({ body: '{"items":[]}', variant: 'no-value' }),
          () => ({ body: withoutIds(realBody), variant: 'items-without-id' }),
          () => ({ body: 'null', variant: 'null' }),
          () => html,
        ]
      : [
          () => ({ body: '"oops"', variant: 'string' }),
          () => ({ body: '{"value":[],"count":0,"total_count":0}', variant: 'list-envelope' }),
          () => ({ body: withoutIds(realBody), variant: 'profile-without-id' }),
          () => ({ body: 'null', variant: 'null' }),
          () => html,
        ];
  const choose = choices[Math.min(choices.length - 1, Math.floor(variant * choices.length))] ?? (() => html);
  return choose();
}

/** Removes `id` from a profile or from every list item (wrapped or not); an empty page gets one id-less item. */
function withoutIds(realBody: string): string {
  const parsed = JSON.parse(realBody) as Record<string, unknown>;
  const strip = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const { id: _id, ...rest } = value as Record<string, unknown>;
    return 'entity' in rest ? { ...rest, entity: strip(rest.entity) } : rest;
  };
  if (Array.isArray(parsed.value)) {
    const items = parsed.value.length > 0 ? parsed.value.map(strip) : [{ name: 'An item without an id' }];
    return serializeCatalogJson({ ...parsed, value: items });
  }
  return serializeCatalogJson(strip(parsed));
}

/** Moves `index` back to the start of a UTF-8 character, so a cut body is still valid text. */
function utf8Boundary(buffer: Buffer, index: number): number {
  let at = Math.min(index, buffer.length);
  while (at > 0 && at < buffer.length && ((buffer[at] ?? 0) & 0xc0) === 0x80) at--;
  return at;
}

/** Resolves true after `ms`, or false as soon as `signal` aborts (the client went away or close()). */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
