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
  readonly requests: Array<{ method: string; path: string }>;
  close(): Promise<void>;
}

export async function startSlowProxy(target: string, delayMs: number): Promise<SlowProxy> {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const requests: Array<{ method: string; path: string }> = [];
  const state = { delayMs };
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/' });
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
