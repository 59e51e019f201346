import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTelemetry } from '../../src/telemetry/startTelemetry';
import { startOtlpReceiver } from '../support/otlpReceiver';
import { startTelemetryProcess } from './telemetryProcess';

/**
 * Telemetry is never a hard dependency: with nothing configured nothing of the SDK is even loaded,
 * and a collector that is down, hangs or refuses costs at most one warning and a bounded wait at exit.
 */

interface Modules {
  started: boolean;
  warnings: string[];
  loaded: string[];
}
interface Stopped {
  shutdownMs: number;
  warnings: string[];
}

const SDK_MODULE = /node_modules\/(@opentelemetry\/(?!api\/)|@azure\/monitor-opentelemetry-exporter\/)/;
const openTelemetryPackages = (loaded: string[]) =>
  [...new Set(loaded.map((file) => /node_modules\/(@[^/]+\/[^/]+)\//.exec(file)?.[1] ?? ''))].filter(
    (name) => name.startsWith('@opentelemetry/') || name.startsWith('@azure/monitor'),
  );

describe('what gets loaded', () => {
  test('with nothing configured, no SDK module is loaded (the API alone, no-op)', async () => {
    const result = await startTelemetryProcess('modules', { HOME: '/tmp' }).line<Modules>('loaded');
    expect(result.started).toBe(false);
    expect(result.warnings).toEqual([]);
    expect(result.loaded.filter((file) => SDK_MODULE.test(file))).toEqual([]);
    expect(openTelemetryPackages(result.loaded)).toEqual(['@opentelemetry/api']);
  });

  test('OTEL_SDK_DISABLED=true wins over a configured endpoint', async () => {
    const result = await startTelemetryProcess('modules', {
      OTEL_SDK_DISABLED: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
    }).line<Modules>('loaded');
    expect(result).toMatchObject({ started: false, warnings: [] });
    expect(result.loaded.filter((file) => SDK_MODULE.test(file))).toEqual([]);
  });

  test('OTLP/JSON loads the JSON exporters only: no protobuf exporter, no Azure code', async () => {
    const result = await startTelemetryProcess('modules', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    }).line<Modules>('loaded');
    expect(result.started).toBe(true);
    const packages = openTelemetryPackages(result.loaded);
    expect(packages).toEqual(expect.arrayContaining(['@opentelemetry/exporter-trace-otlp-http']));
    expect(packages.filter((name) => /proto|azure/.test(name))).toEqual([]);
  });
});

describe('a collector that is not there', () => {
  let hanging: Server;
  let hangingUrl: string;
  let refusedUrl: string;

  beforeAll(async () => {
    // Accepts, reads, never answers.
    hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    // A port that was just free: connections are refused.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    refusedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });

  test.each([
    ['refuses connections', () => refusedUrl, 'http/protobuf'],
    ['never answers', () => hangingUrl, 'http/json'],
  ])(
    'one that %s: one warning, and the process exits within ~2 s of shutdown',
    async (_what, url, protocol) => {
      const child = startTelemetryProcess('run', {
        OTEL_EXPORTER_OTLP_ENDPOINT: url(),
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        TEST_WAIT_BEFORE_SHUTDOWN: '1',
      });
      await child.line('ran');
      child.send('shutdown');
      const stopped = await child.line<Stopped>('shutdownMs');
      const exit = await child.exit;
      expect(exit.code).toBe(0);
      expect(stopped.shutdownMs).toBeLessThanOrEqual(2100);
      expect(exit.msSinceLastSend).toBeLessThan(3000);
      expect(stopped.warnings).toHaveLength(1);
      expect(stopped.warnings[0]).toMatch(
        /^Telemetry export failed \(.+\); further telemetry errors are not reported$/,
      );
    },
  );

  test('one that answers 400 to everything: one warning, nothing thrown', async () => {
    const receiver = await startOtlpReceiver({ status: () => 400 });
    try {
      const child = startTelemetryProcess('run', { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
      const stopped = await child.line<Stopped>('shutdownMs');
      expect((await child.exit).code).toBe(0);
      expect(receiver.requests.map((r) => r.path).sort()).toEqual(['/v1/metrics', '/v1/traces']);
      expect(stopped.warnings).toHaveLength(1);
      expect(stopped.warnings[0]).toContain('Telemetry export failed');
    } finally {
      await receiver.close();
    }
  });
});

describe('start-up problems are one warning, never a throw', () => {
  test('nothing configured: no handle, no warning', async () => {
    const warnings: string[] = [];
    await expect(
      startTelemetry({ PATH: '/usr/bin' }, { warn: (m) => warnings.push(m) }),
    ).resolves.toBeUndefined();
    expect(warnings).toEqual([]);
  });

  test('an unusable setting is named (never its value) and telemetry stays off', async () => {
    const warnings: string[] = [];
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key',
    };
    await expect(startTelemetry(env, { warn: (m) => warnings.push(m) })).resolves.toBeUndefined();
    expect(warnings).toEqual([
      'Telemetry: OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported (http/protobuf or http/json)',
    ]);
  });

  test('a second SDK in the same process is refused with a warning; the first keeps working', async () => {
    const warnings: string[] = [];
    const env = {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces',
      OTEL_METRICS_EXPORTER: 'none',
    };
    const first = await startTelemetry(env, { warn: (m) => warnings.push(m) });
    try {
      expect(first?.destinations).toEqual(['traces to http://127.0.0.1:4318/v1/traces (OTLP http/protobuf)']);
      await expect(startTelemetry(env, { warn: (m) => warnings.push(m) })).resolves.toBeUndefined();
      expect(warnings).toEqual([
        'Telemetry is off: another OpenTelemetry SDK is already registered in this process',
      ]);
    } finally {
      await first?.shutdown();
    }
    // After a shutdown the globals are free again.
    const again = await startTelemetry(env, { warn: (m) => warnings.push(m) });
    expect(again).toBeDefined();
    await again?.shutdown();
    await again?.shutdown();
    expect(warnings).toHaveLength(1);
  });
});
