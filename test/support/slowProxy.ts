import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A plain HTTP proxy in front of a local server (Azurite) that holds every request for `delayMs` before
 * passing it on: storage made slow on purpose, so that an operation of many requests takes as long as a
 * test needs (a purge of many blobs, a write that outlasts a lease). Counts what went through.
 */
export interface SlowProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  delayMs: number;
  /**
   * Requests this answers itself, without passing them on (a storage fault): with a 500, or with the
   * status and storage error code returned.
   */
  failIf: ((request: { method: string; path: string }) => boolean | InjectedAnswer) | undefined;
  /** Requests passed on whose answer is then lost: storage did the work, the client sees a 500. */
  loseAnswerIf: ((request: { method: string; path: string }) => boolean) | undefined;
  /** How long a failing request is held before its 500. @default 0 */
  failDelayMs: number;
  readonly requests: Array<{ method: string; path: string }>;
  close(): Promise<void>;
}

export interface InjectedAnswer {
  status: number;
  code: string;
}

export async function startSlowProxy(target: string, delayMs: number): Promise<SlowProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const requests: Array<{ method: string; path: string }> = [];
  const state: {
    delayMs: number;
    failIf: SlowProxy['failIf'];
    loseAnswerIf: SlowProxy['loseAnswerIf'];
    failDelayMs: number;
  } = {
    delayMs,
    failIf: undefined,
    loseAnswerIf: undefined,
    failDelayMs: 0,
  };
  const answerError = (res: http.ServerResponse, answer: InjectedAnswer): void => {
    res.writeHead(answer.status, { 'content-type': 'application/xml', 'x-ms-error-code': answer.code });
    res.end(
      `<?xml version="1.0" encoding="utf-8"?><Error><Code>${answer.code}</Code><Message>injected</Message></Error>`,
    );
  };
  const server = http.createServer((req, res) => {
    const request = { method: req.method ?? 'GET', path: req.url ?? '/' };
    requests.push(request);
    const injected = state.failIf?.(request);
    if (injected) {
      req.resume();
      setTimeout(() => {
        answerError(res, injected === true ? { status: 500, code: 'InternalError' } : injected);
      }, state.failDelayMs);
      return;
    }
    const loseAnswer = state.loseAnswerIf?.(request) ?? false;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      setTimeout(() => {
        const forward = http.request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
            agent,
          },
          (answer) => {
            if (loseAnswer) {
              answer.resume();
              answer.on('end', () => answerError(res, { status: 500, code: 'InternalError' }));
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forward.on('error', () => res.destroy());
        forward.end(Buffer.concat(chunks));
      }, state.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value: number) {
      state.delayMs = value;
    },
    get failDelayMs() {
      return state.failDelayMs;
    },
    set failDelayMs(value: number) {
      state.failDelayMs = value;
    },
    get failIf() {
      return state.failIf;
    },
    set failIf(value) {
      state.failIf = value;
    },
    get loseAnswerIf() {
      return state.loseAnswerIf;
    },
    set loseAnswerIf(value) {
      state.loseAnswerIf = value;
    },
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/** The Azurite connection string with its blob endpoint replaced by the proxy's. */
export function throughProxy(connectionString: string, proxy: SlowProxy, blobPort: number): string {
  return connectionString.replace(`127.0.0.1:${blobPort}`, `127.0.0.1:${proxy.port}`);
}
