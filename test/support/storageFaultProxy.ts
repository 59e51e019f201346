import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP proxy in front of Azurite's blob and queue endpoints that breaks storage the way Azure
 * Storage breaks: some requests are answered 503 ServerBusy or 500 InternalError (with Azure's XML error
 * body and `x-ms-error-code`), some connections are reset before the request is passed on, some requests
 * are held before they go, and some are passed on and their answer is then lost (storage did the work;
 * the client sees a reset or an error and cannot tell). Faults come from rules (exact scenarios) or from
 * a seeded random choice at a given rate.
 *
 * The random choice is keyed by what a request is, not by when it arrives: a hash of the seed, the
 * request's identity (service, method, blob or queue path with run IDs, dates and test-unique names
 * replaced, the `comp` of the operation) and how many times that identity was seen before. The same seed
 * therefore breaks the same requests in every run, however the concurrent requests interleave, as long as
 * each resource sees its requests in the same order.
 */
export type StorageFault =
  /** 503 ServerBusy, the request not passed on. */
  | { kind: 'busy' }
  /** 500 InternalError, the request not passed on. */
  | { kind: 'internal' }
  /** The connection reset before the request is passed on. */
  | { kind: 'reset' }
  /** The request held `ms` before it is passed on. */
  | { kind: 'slow'; ms: number }
  /** The request passed on and answered by storage; the client instead gets `then` (default: a reset). */
  | { kind: 'lost'; then?: 'reset' | 'busy' | 'internal' };

export type StorageFaultKind = StorageFault['kind'];

export interface StorageRequest {
  service: 'blob' | 'queue';
  method: string;
  /** The decoded path below the account: `<container>/<blob>` or `<queue>/messages`. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** What the random choice is keyed by (see above). */
  identity: string;
  /** How many requests with this identity came before this one. */
  occurrence: number;
}

/** Decides a request's fault, or lets it pass (undefined). */
export type FaultRule = (request: StorageRequest) => StorageFault | undefined;

export interface StorageFaultProxyOptions {
  /** Azurite's blob endpoint, `http://127.0.0.1:<port>/devstoreaccount1`. */
  blobEndpoint: string;
  /** Azurite's queue endpoint, when queues should go through the proxy too. */
  queueEndpoint?: string;
  /** @default 1 */
  seed?: number;
  /** Share of requests (0-1) given a random fault when no rule decides. @default 0 */
  rate?: number;
  /** The faults a random choice draws from, equally likely. @default every kind */
  kinds?: readonly StorageFaultKind[];
  /** How long a random `slow` fault holds a request, at most. @default 400 */
  slowMs?: number;
}

export interface InjectedFault {
  service: 'blob' | 'queue';
  method: string;
  path: string;
  comp: string | null;
  fault: StorageFault;
  /** Whether a rule chose it (otherwise the random choice did). */
  byRule: boolean;
}

export interface StorageFaultProxy {
  readonly blobEndpoint: string;
  readonly queueEndpoint: string | undefined;
  /** Share of requests given a random fault from now on (0 turns random faults off). */
  rate: number;
  /** Every request seen, in arrival order. */
  readonly requests: ReadonlyArray<Omit<StorageRequest, 'body' | 'headers'>>;
  /** Every fault injected, in order. */
  readonly injected: readonly InjectedFault[];
  /** Adds a rule, tried before the random choice; rules are tried in the order they were added. */
  addRule(rule: FaultRule): void;
  clearRules(): void;
  /** The connection string with its blob (and queue) endpoint pointed at the proxy. */
  connectionString(azuriteConnectionString: string): string;
  close(): Promise<void>;
}

const EVERY_KIND: readonly StorageFaultKind[] = ['busy', 'internal', 'reset', 'slow', 'lost'];

/** The message Azure Storage sends with each error code the proxy answers. */
const ERROR_MESSAGES = {
  ServerBusy: 'The server is busy.',
  InternalError: 'The server encountered an internal error. Please retry the request.',
} as const;

export async function startStorageFaultProxy(options: StorageFaultProxyOptions): Promise<StorageFaultProxy> {
  const seed = options.seed ?? 1;
  const kinds = options.kinds ?? EVERY_KIND;
  const slowMs = options.slowMs ?? 400;
  const state = { rate: options.rate ?? 0 };
  const rules: FaultRule[] = [];
  const requests: Array<Omit<StorageRequest, 'body' | 'headers'>> = [];
  const injected: InjectedFault[] = [];
  const seen = new Map<string, number>();

  const decide = (request: StorageRequest): { fault: StorageFault; byRule: boolean } | undefined => {
    for (const rule of rules) {
      const fault = rule(request);
      if (fault) return { fault, byRule: true };
    }
    if (state.rate <= 0) return undefined;
    const digest = createHash('sha256').update(`${seed}|${request.identity}|${request.occurrence}`).digest();
    if (digest.readUInt32BE(0) / 2 ** 32 >= state.rate) return undefined;
    const kind = kinds[digest.readUInt32BE(4) % kinds.length]!;
    const fault: StorageFault =
      kind === 'slow'
        ? { kind, ms: 1 + (digest.readUInt32BE(8) % slowMs) }
        : kind === 'lost'
          ? { kind, then: (['reset', 'busy', 'internal'] as const)[digest.readUInt32BE(8) % 3] }
          : { kind };
    return { fault, byRule: false };
  };

  const upstreams: Array<{ service: 'blob' | 'queue'; endpoint: string }> = [
    { service: 'blob', endpoint: options.blobEndpoint },
    ...(options.queueEndpoint ? [{ service: 'queue' as const, endpoint: options.queueEndpoint }] : []),
  ];
  const started = await Promise.all(
    upstreams.map(({ service, endpoint }) =>
      serve(service, new URL(endpoint), (request) => {
        const occurrence = seen.get(request.identity) ?? 0;
        seen.set(request.identity, occurrence + 1);
        const full = { ...request, occurrence };
        const { body: _body, headers: _headers, ...logged } = full;
        requests.push(logged);
        const decision = decide(full);
        if (decision) {
          injected.push({
            service,
            method: request.method,
            path: request.path,
            comp: request.query.get('comp'),
            ...decision,
          });
        }
        return decision?.fault;
      }),
    ),
  );
  const byService = new Map(started.map((server, index) => [upstreams[index]!.service, server]));
  const blob = byService.get('blob')!;
  const queue = byService.get('queue');

  return {
    blobEndpoint: blob.endpoint,
    queueEndpoint: queue?.endpoint,
    get rate() {
      return state.rate;
    },
    set rate(value: number) {
      state.rate = value;
    },
    requests,
    injected,
    addRule: (rule) => rules.push(rule),
    clearRules: () => rules.splice(0),
    connectionString(azurite) {
      let result = azurite.replace(/BlobEndpoint=[^;]*/, `BlobEndpoint=${blob.endpoint}`);
      if (queue) result = result.replace(/QueueEndpoint=[^;]*/, `QueueEndpoint=${queue.endpoint}`);
      return result;
    },
    async close() {
      await Promise.all(started.map((server) => server.close()));
    },
  };
}

/**
 * A rule that gives the matching requests these faults, one each, in order (the first matching request
 * the first fault...), then lets them pass: e.g. `[lost, busy, busy, busy]` for a write whose answer was
 * lost and whose every retry was refused.
 */
export function faultSequence(
  match: (request: StorageRequest) => boolean,
  faults: readonly StorageFault[],
): FaultRule {
  let next = 0;
  return (request) => (match(request) && next < faults.length ? faults[next++] : undefined);
}

/** The work item a queue message carries (base64 JSON inside Azure's XML envelope), if it is one. */
export function queuedWorkItem(request: StorageRequest): { runId: string; secretName: string } | undefined {
  if (request.service !== 'queue' || request.method !== 'POST') return undefined;
  const text = /<MessageText>([^<]*)<\/MessageText>/.exec(request.body.toString('utf8'))?.[1];
  if (text === undefined) return undefined;
  try {
    const item = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Record<string, unknown>;
    const { runId, secretName } = item;
    return typeof runId === 'string' && typeof secretName === 'string' ? { runId, secretName } : undefined;
  } catch {
    return undefined;
  }
}

/** Path and operation parts that differ between runs of the same test: replaced in identities. */
function identityOf(service: string, method: string, path: string, query: URLSearchParams): string {
  const stable = path
    // the first segment is the test's own container or queue
    .replace(/^[^/]+/, 'C')
    .replace(/\d{8}T\d{6}Z-[0-9a-f]{6}/g, 'RUN')
    .replace(/\/\d{4}\/\d{2}(\/\d{2})?\//g, '/DATE/')
    .replace(/[a-z]+-[0-9a-f]{12}/g, 'U');
  return `${service} ${method} ${stable} ${query.get('comp') ?? ''}`;
}

interface FaultServer {
  endpoint: string;
  close(): Promise<void>;
}

async function serve(
  service: 'blob' | 'queue',
  upstream: URL,
  decide: (request: Omit<StorageRequest, 'occurrence'>) => StorageFault | undefined,
): Promise<FaultServer> {
  const agent = new http.Agent({ keepAlive: true });
  const account = upstream.pathname.replace(/^\/|\/$/g, '');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://proxy');
      const method = req.method ?? 'GET';
      const path = decodeURIComponent(url.pathname).replace(new RegExp(`^/${account}/?`), '');
      const body = Buffer.concat(chunks);
      const fault = decide({
        service,
        method,
        path,
        query: url.searchParams,
        headers: req.headers,
        body,
        identity: identityOf(service, method, path, url.searchParams),
      });
      const forward = (onAnswer: (answer: http.IncomingMessage) => void): void => {
        const outgoing = http.request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method,
            path: req.url,
            headers: req.headers,
            agent,
          },
          onAnswer,
        );
        outgoing.on('error', () => res.destroy());
        outgoing.end(body);
      };
      const pass = (): void =>
        forward((answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
      switch (fault?.kind) {
        case undefined:
          return pass();
        case 'busy':
          return answerError(req, res, 503, 'ServerBusy');
        case 'internal':
          return answerError(req, res, 500, 'InternalError');
        case 'reset':
          return void req.socket.destroy();
        case 'slow':
          return void setTimeout(pass, fault.ms);
        case 'lost':
          return forward((answer) => {
            answer.resume();
            answer.on('end', () => {
              if (fault.then === 'busy') answerError(req, res, 503, 'ServerBusy');
              else if (fault.then === 'internal') answerError(req, res, 500, 'InternalError');
              else req.socket.destroy();
            });
          });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/${account}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** An error answer as Azure Storage sends it: status, `x-ms-error-code`, and the XML body (none for HEAD). */
function answerError(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: 500 | 503,
  code: keyof typeof ERROR_MESSAGES,
): void {
  const requestId = randomUUID();
  const body =
    req.method === 'HEAD'
      ? ''
      : `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${ERROR_MESSAGES[code]}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
  res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-ms-error-code': code,
    'x-ms-request-id': requestId,
    ...(req.headers['x-ms-version'] ? { 'x-ms-version': req.headers['x-ms-version'] } : {}),
    date: new Date().toUTCString(),
  });
  res.end(body);
}
