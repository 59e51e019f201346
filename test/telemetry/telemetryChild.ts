import { once } from 'node:events';
import { startTelemetry } from '../../src/telemetry/startTelemetry';
import { bindToTraceContext } from '../../src/telemetry/tracing';
import { simulateTracedRun } from './simulatedRun';

/**
 * The process side of the telemetry tests (run by test/support/tsChild.js): OpenTelemetry's HTTP
 * exporters load `http` with a native `import()`, which Jest's module sandbox refuses, so whatever
 * exports runs in a real Node process, as the CLI does, and the receiver stays in the test.
 *
 * Modes (argv[2]):
 * - `run`: starts telemetry from its environment, runs the simulated run (under TEST_TRACEPARENT's
 *   context when set), prints `{"ran": ...}`, waits for a line on stdin, shuts down, prints
 *   `{"shutdownMs": ...}`.
 * - `modules`: starts telemetry from its environment and prints the node_modules files loaded.
 */
async function main(): Promise<void> {
  const mode = process.argv[2];
  const warnings: string[] = [];
  const handle = await startTelemetry(process.env, {
    warn: (message) => warnings.push(message),
    serviceVersion: '9.9.9',
  });
  if (mode === 'modules') {
    const loaded = Object.keys(require.cache).filter((file) => file.includes('node_modules'));
    print({ started: handle !== undefined, warnings, loaded });
    return;
  }
  const now = new Date(process.env.TEST_NOW ?? Date.now());
  const traceParent = process.env.TEST_TRACEPARENT;
  const run = bindToTraceContext(traceParent ? { traceParent } : undefined, () => simulateTracedRun(now));
  const { record, attempts } = await run();
  print({ ran: { record, attempts, destinations: handle?.destinations ?? [] } });
  if (process.env.TEST_WAIT_BEFORE_SHUTDOWN === '1') {
    await once(process.stdin, 'data');
    process.stdin.destroy();
  }
  const startedAt = performance.now();
  await handle?.shutdown();
  print({ shutdownMs: Math.round(performance.now() - startedAt), warnings });
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

void main();
