import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP proxy that passes every request on, except those `holdIf` picks: those it holds for
 * ever (never forwarded, never answered) and reports through `onHeld`; and those `holdAnswerIf` picks,
 * which it forwards and then never answers (reported once the service has answered). A drill uses it to stop a child
 * process exactly between two steps: the first request of the next step is held, then the child is killed,
 * so everything before it happened and nothing after it did.
 */
export interface HoldingProxy {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  holdIf: ((request: HeldRequest) => boolean) | undefined;
  /** Requests passed on whose answer is then held: the work is done, the client never hears of it. */
  holdAnswerIf: ((request: HeldRequest) => boolean) | undefined;
  onHeld: ((request: HeldRequest) => void) | undefined;
  /** Every request seen, oldest first, held or passed on. */
  readonly requests: HeldRequest[];
  close(): Promise<void>;
}

export interface HeldRequest {
  method: string;
  /** The path with its query string. */
  path: string;
}

export async function startHoldingProxy(target: string): Promise<HoldingProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const requests: HeldRequest[] = [];
  const state: Pick<HoldingProxy, 'holdIf' | 'holdAnswerIf' | 'onHeld'> = {
    holdIf: undefined,
    holdAnswerIf: undefined,
    onHeld: undefined,
  };
  const server = http.createServer((req, res) => {
    const request = { method: req.method ?? 'GET', path: req.url ?? '/' };
    requests.push(request);
    if (state.holdIf?.(request)) {
      req.resume();
      state.onHeld?.(request);
      return;
    }
    const holdAnswer = state.holdAnswerIf?.(request) ?? false;
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
        if (holdAnswer) {
          answer.resume();
          answer.on('end', () => state.onHeld?.(request));
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get holdIf() {
      return state.holdIf;
    },
    set holdIf(value) {
      state.holdIf = value;
    },
    get holdAnswerIf() {
      return state.holdAnswerIf;
    },
    set holdAnswerIf(value) {
      state.holdAnswerIf = value;
    },
    get onHeld() {
      return state.onHeld;
    },
    set onHeld(value) {
      state.onHeld = value;
    },
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
