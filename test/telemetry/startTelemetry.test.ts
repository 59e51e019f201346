import type { RunRecord } from '../../src/contract/formats';
import { METRIC_NAMES, SPAN_ATTRIBUTES as A, SPAN_NAMES } from '../../src/telemetry/names';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlpReceiver';
import { childOf, expectRunTelemetry, latestValue } from './expectRunTelemetry';
import { AUTHOR_IDS, RUN_ID, TOKEN } from './simulatedRun';
import { startTelemetryProcess } from './telemetryProcess';

/**
 * startTelemetry and the facade, end to end: a real process (the CLI's situation) runs an instrumented
 * simulated run and exports to an OTLP/HTTP receiver on loopback in this test, in both protocols.
 */
const NOW = new Date('2026-12-03T02:00:42Z');

interface Ran {
  ran: { record: RunRecord; attempts: Record<string, string[]>; destinations: string[] };
}
interface Stopped {
  shutdownMs: number;
  warnings: string[];
}

describe.each(['http/json', 'http/protobuf'] as const)('telemetry over OTLP %s', (protocol) => {
  let receiver: OtlpReceiver;
  let ran: Ran['ran'];
  let stopped: Stopped;
  let requestsBeforeShutdown: number;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const child = startTelemetryProcess('run', {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-key=k%3D1',
      OTEL_SERVICE_NAME: 'gallery-export-test',
      TEST_NOW: NOW.toISOString(),
      TEST_WAIT_BEFORE_SHUTDOWN: '1',
    });
    ran = (await child.line<Ran>('ran')).ran;
    // Spans go out in 5 s batches and metrics every 60 s: until shutdown, nothing has been sent.
    requestsBeforeShutdown = receiver.requests.length;
    child.send('shutdown');
    stopped = await child.line<Stopped>('shutdownMs');
    expect((await child.exit).code).toBe(0);
  });
  afterAll(() => receiver?.close());

  const spans = (): ReceivedSpan[] => receiver.spans;
  const author = (secret: string): ReceivedSpan =>
    spans().find((s) => s.name === SPAN_NAMES.author && s.attributes[A.secretName] === secret)!;

  test('shutdown flushes everything, quietly, with the configured headers', () => {
    expect(ran.destinations).toEqual([
      `traces to ${receiver.url}/v1/traces (OTLP ${protocol})`,
      `metrics to ${receiver.url}/v1/metrics (OTLP ${protocol})`,
    ]);
    expect(requestsBeforeShutdown).toBe(0);
    const format = protocol === 'http/json' ? 'json' : 'protobuf';
    expect(new Set(receiver.requests.map((r) => `${r.path} ${r.format}`))).toEqual(
      new Set([`/v1/traces ${format}`, `/v1/metrics ${format}`]),
    );
    expect(receiver.requests.every((r) => r.headers['x-collector-key'] === 'k=1')).toBe(true);
    expect(stopped.warnings).toEqual([]);
    expect(stopped.shutdownMs).toBeLessThan(2000);
  });

  test('what arrived agrees with the run record, and holds no token and no author ID', () => {
    expectRunTelemetry(receiver, ran.record, { secrets: [TOKEN] });
    expect(receiver.rawText()).not.toContain('socket hang up');
  });

  test('spans nest run > author > catalog attempt and blob write, with exactly the allowed attributes', () => {
    expect(spans().every((s) => s.resource['service.name'] === 'gallery-export-test')).toBe(true);
    expect(
      spans().every((s) => s.resource['service.version'] === '9.9.9' && s.scope === 'gallery-export'),
    ).toBe(true);
    const run = spans().find((s) => s.name === SPAN_NAMES.run)!;
    expect(run.parentSpanId).toBeUndefined();
    expect(run.attributes).toEqual({
      [A.trigger]: 'cli',
      [A.runId]: RUN_ID,
      [A.runStatus]: 'partial',
      [A.authorsTotal]: 3,
      [A.authorsComplete]: 1,
      [A.authorsFailed]: 1,
      [A.authorsSkipped]: 1,
      [A.authorsPending]: 0,
    });
    const common = { [A.runId]: RUN_ID, [A.trigger]: 'cli' };
    expect(author('gallery-author-a').attributes).toEqual({
      ...common,
      [A.secretName]: 'gallery-author-a',
      [A.authorStatus]: 'complete',
      [A.entities]: 150,
    });
    expect(author('gallery-author-b').attributes).toEqual({
      ...common,
      [A.secretName]: 'gallery-author-b',
      [A.authorStatus]: 'failed',
      [A.errorCode]: 'CATALOG_TOO_LARGE',
    });
    expect(author('gallery-author-b').status).toEqual({ code: 2, message: 'CATALOG_TOO_LARGE' });

    // The two authors ran at once: each attempt is below its own author, in the order it was made.
    for (const secret of ['gallery-author-a', 'gallery-author-b']) {
      const own = spans().filter((s) => s.name.startsWith('GET ') && childOf(s, author(secret)));
      const described = own.map((s) => {
        const route = s.name === SPAN_NAMES.catalog.profile ? 'profile' : 'entities';
        const status = s.attributes[A.httpStatusCode];
        const failure = s.attributes[A.errorType] === 'ECONNRESET' ? 'error' : 'thrown';
        return `${route}:${typeof status === 'number' ? status : failure}`;
      });
      expect(described).toEqual(ran.attempts[secret]);
    }
    const blobs = spans().filter((s) => s.name === SPAN_NAMES.blobWrite);
    expect(blobs.map((s) => s.attributes)).toEqual([
      { [A.blobKind]: 'profile', [A.blobBytes]: 512 },
      { [A.blobKind]: 'entities', [A.blobBytes]: 4096 },
      { [A.blobKind]: 'manifest', [A.blobBytes]: 321 },
    ]);
    expect(blobs.every((s) => childOf(s, author('gallery-author-a')) && s.kind === 3)).toBe(true);

    const catalog = spans().filter((s) => s.name.startsWith('GET '));
    const retried = catalog.find(
      (s) => s.attributes[A.resendCount] === 1 && s.attributes[A.httpStatusCode] === 200,
    );
    expect(retried).toMatchObject({ name: SPAN_NAMES.catalog.entities, kind: 3, status: { code: 0 } });
    expect(retried?.attributes).toEqual({
      [A.httpMethod]: 'GET',
      [A.urlTemplate]: '/entities',
      [A.serverAddress]: '127.0.0.1',
      [A.serverPort]: 8642,
      [A.resendCount]: 1,
      [A.httpStatusCode]: 200,
    });
    expect(catalog.find((s) => s.attributes[A.httpStatusCode] === 429)?.status).toEqual({
      code: 2,
      message: '429',
    });
    expect(
      catalog.find((s) => s.attributes[A.errorType] === 'ECONNRESET')?.attributes[A.httpStatusCode],
    ).toBeUndefined();
    expect(catalog.find((s) => s.attributes[A.errorType] === 'CATALOG_TOO_LARGE')?.attributes).toMatchObject({
      [A.errorCode]: 'CATALOG_TOO_LARGE',
      [A.resendCount]: 2,
    });
  });

  test('metric names, units, kinds and dimension keys are exactly those the workbook and alerts use', () => {
    const { points } = receiver;
    expect(new Set(points.map((p) => p.metric))).toEqual(new Set(Object.values(METRIC_NAMES)));
    const keys = (metric: string) =>
      new Set(
        points.filter((p) => p.metric === metric).map((p) => Object.keys(p.attributes).sort().join(',')),
      );
    expect(keys(METRIC_NAMES.runs)).toEqual(new Set(['status,trigger']));
    expect(keys(METRIC_NAMES.runDuration)).toEqual(new Set(['status,trigger']));
    expect(keys(METRIC_NAMES.authors)).toEqual(new Set(['error_code,status,trigger']));
    expect(keys(METRIC_NAMES.entitiesExported)).toEqual(new Set(['trigger']));
    expect(keys(METRIC_NAMES.catalogRequests)).toEqual(new Set(['route,status_code']));
    expect(keys(METRIC_NAMES.catalogThrottled)).toEqual(new Set(['route']));
    expect(keys(METRIC_NAMES.catalogRetries)).toEqual(new Set(['reason,route']));
    expect(keys(METRIC_NAMES.catalogDuration)).toEqual(new Set(['route,status_code']));
    expect(keys(METRIC_NAMES.tokensExpiring)).toEqual(new Set(['window']));
    const first = (metric: string) => points.find((p) => p.metric === metric);
    expect([first(METRIC_NAMES.runDuration)?.unit, first(METRIC_NAMES.catalogDuration)?.unit]).toEqual([
      's',
      'ms',
    ]);
    expect([first(METRIC_NAMES.runs)?.type, first(METRIC_NAMES.runDuration)?.type]).toEqual([
      'sum',
      'histogram',
    ]);
    expect(first(METRIC_NAMES.tokensExpiring)?.type).toBe('gauge');
  });

  test('metric values: each attempt by route and status, retries by reason, outcomes, tokens, duration', () => {
    const requests = (route: string, status_code: string) =>
      latestValue(receiver, METRIC_NAMES.catalogRequests, { route, status_code });
    expect([requests('profile', '200'), requests('entities', '200'), requests('entities', '429')]).toEqual([
      2, 1, 1,
    ]);
    expect([requests('entities', '503'), requests('entities', 'error')]).toEqual([1, 2]);
    expect(latestValue(receiver, METRIC_NAMES.catalogThrottled, { route: 'entities' })).toBe(1);
    const retries = (reason: string) =>
      latestValue(receiver, METRIC_NAMES.catalogRetries, { route: 'entities', reason });
    expect([retries('throttled'), retries('server_error'), retries('network')]).toEqual([1, 1, 1]);
    const authors = (status: string, error_code: string) =>
      latestValue(receiver, METRIC_NAMES.authors, { status, error_code, trigger: 'cli' });
    expect([authors('complete', ''), authors('failed', 'CATALOG_TOO_LARGE'), authors('skipped', '')]).toEqual(
      [1, 1, 1],
    );
    expect(latestValue(receiver, METRIC_NAMES.entitiesExported, { trigger: 'cli' })).toBe(150);
    expect(latestValue(receiver, METRIC_NAMES.tokensExpiring, { window: '7d' })).toBe(1);
    expect(latestValue(receiver, METRIC_NAMES.tokensExpiring, { window: 'expired' })).toBe(0);
    const duration = receiver.latest(METRIC_NAMES.runDuration, { status: 'partial', trigger: 'cli' });
    expect([duration?.count, duration?.sum]).toEqual([1, 42]);
    expect(
      receiver.latest(METRIC_NAMES.catalogDuration, { route: 'profile', status_code: '200' })?.count,
    ).toBe(2);
  });
});

test("under the Functions host's trace context, the run is the host invocation's child, even if unsampled", async () => {
  const receiver = await startOtlpReceiver();
  try {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const hostSpanId = 'b7ad6b7169203331';
    const child = startTelemetryProcess('run', {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.url}/v1/traces`,
      OTEL_METRICS_EXPORTER: 'none',
      TEST_TRACEPARENT: `00-${traceId}-${hostSpanId}-00`,
    });
    await child.line('shutdownMs');
    expect(new Set(receiver.requests.map((r) => r.path))).toEqual(new Set(['/v1/traces']));
    const run = receiver.spans.find((s) => s.name === SPAN_NAMES.run);
    expect(run).toMatchObject({ traceId, parentSpanId: hostSpanId });
    // The host's flags said "not sampled" (its own sampling): the worker keeps its spans all the same.
    expect(receiver.spans.length).toBeGreaterThan(10);
    expect(receiver.spans.every((s) => s.traceId === traceId)).toBe(true);
    expect(receiver.rawText()).not.toContain(AUTHOR_IDS[0]);
  } finally {
    await receiver.close();
  }
});
