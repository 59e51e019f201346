import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { PortInUseError } from './stackLock';

/**
 * Azurite (Microsoft's storage emulator) as a child process, spawned from node_modules with node itself
 * (killing an npx wrapper would leave Azurite running). Blob and queue services; data in memory unless
 * `location` is given, so a test can stop and restart it with its data (failure drills).
 */
export interface AzuriteOptions {
  /** Folder for persistent data; in memory when absent. */
  location?: string;
  /** @default 0 (any free port) */
  blobPort?: number;
  /** @default 0 (any free port) */
  queuePort?: number;
  /** Most memory for in-memory data. @default 2048 */
  extentMemoryLimitMb?: number;
  /** How long to wait for Azurite to listen. @default 30000 */
  startTimeoutMs?: number;
}

export interface RunningAzurite {
  blobPort: number;
  queuePort: number;
  blobEndpoint: string;
  queueEndpoint: string;
  connectionString: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
  /** Stops and starts again on the same ports (and location): the data survives only with a location. */
  restart(): Promise<void>;
}

export const DEV_ACCOUNT_NAME = 'devstoreaccount1';

/** The well-known development key, read from Azurite's own constants rather than copied here. */
export function devAccountKey(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const constants = require('azurite/dist/src/blob/utils/constants.js') as {
    EMULATOR_ACCOUNT_KEY_STR: string;
  };
  return constants.EMULATOR_ACCOUNT_KEY_STR;
}

export function azuriteEntryPoint(): string {
  return require.resolve('azurite/dist/src/azurite.js');
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startAzurite(options: AzuriteOptions = {}): Promise<RunningAzurite> {
  let ports = { blob: options.blobPort ?? 0, queue: options.queuePort ?? 0 };
  let child = await spawnAzurite(options, ports);
  ports = { blob: child.blobPort, queue: child.queuePort };

  const blobEndpoint = `http://127.0.0.1:${ports.blob}/${DEV_ACCOUNT_NAME}`;
  const queueEndpoint = `http://127.0.0.1:${ports.queue}/${DEV_ACCOUNT_NAME}`;
  const stop = async (): Promise<void> => stopChild(child.process);
  return {
    blobPort: ports.blob,
    queuePort: ports.queue,
    blobEndpoint,
    queueEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${devAccountKey()};` +
      `BlobEndpoint=${blobEndpoint};QueueEndpoint=${queueEndpoint};`,
    get pid() {
      return child.process.pid;
    },
    stop,
    async restart() {
      await stop();
      child = await spawnAzurite(options, ports);
    },
  };
}

async function spawnAzurite(
  options: AzuriteOptions,
  ports: { blob: number; queue: number },
): Promise<{ process: ChildProcess; blobPort: number; queuePort: number }> {
  const args = [
    azuriteEntryPoint(),
    '--blobHost',
    '127.0.0.1',
    '--queueHost',
    '127.0.0.1',
    '--tableHost',
    '127.0.0.1',
    '--blobPort',
    String(ports.blob),
    '--queuePort',
    String(ports.queue),
    '--tablePort',
    '0',
    '--skipApiVersionCheck',
    '--disableTelemetry',
    '--loose',
  ];
  if (options.location) {
    await mkdir(options.location, { recursive: true });
    args.push('--location', options.location);
  } else {
    args.push('--inMemoryPersistence', '--extentMemoryLimit', String(options.extentMemoryLimitMb ?? 2048));
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));

  const output: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return new Promise((resolve, reject) => {
    const found: { blob?: number; queue?: number } = {};
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`Azurite did not start within ${options.startTimeoutMs ?? 30000} ms: ${output.join('')}`),
      );
    }, options.startTimeoutMs ?? 30_000);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      output.push(line);
      const match = /Azurite (Blob|Queue) service is successfully listening at http:\/\/[^:]+:(\d+)/.exec(
        line,
      );
      if (match) found[match[1] === 'Blob' ? 'blob' : 'queue'] = Number(match[2]);
      if (found.blob !== undefined && found.queue !== undefined) {
        clearTimeout(timer);
        lines.removeAllListeners('line');
        child.stdout.resume();
        resolve({ process: child, blobPort: found.blob, queuePort: found.queue });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      // "Exit due to unhandled error: listen EADDRINUSE: address already in use 127.0.0.1:10000"
      const taken = /EADDRINUSE[^\n]*:(\d+)/.exec(output.join('\n'));
      if (taken) {
        const port = Number(taken[1]);
        reject(new PortInUseError(port === ports.queue ? 'queue' : 'blob', port));
        return;
      }
      reject(new Error(`Azurite exited with code ${String(code)} before listening: ${output.join('\n')}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
