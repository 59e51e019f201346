import { describeDestinations, readTelemetrySettings } from '../../src/telemetry/telemetrySettings';

/** The standard variables, read as the OpenTelemetry specification and Application Insights define them. */

const CONNECTION_STRING =
  'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';

test('nothing configured: telemetry is off, with nothing to say', () => {
  expect(readTelemetrySettings({})).toEqual({ settings: undefined, problems: [] });
  expect(
    readTelemetrySettings({ OTEL_SERVICE_NAME: 'x', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).settings,
  ).toBeUndefined();
});

test('OTEL_EXPORTER_OTLP_ENDPOINT gets each signal path appended; http/protobuf by default; 2 s and 60 s defaults', () => {
  const { settings, problems } = readTelemetrySettings({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
  });
  expect(problems).toEqual([]);
  expect(settings).toEqual({
    resourceAttributes: { 'service.name': 'gallery-export' },
    traces: {
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      headers: {},
      timeoutMs: 2000,
    },
    metrics: {
      url: 'http://collector:4318/v1/metrics',
      protocol: 'http/protobuf',
      headers: {},
      timeoutMs: 2000,
    },
    azureMonitor: undefined,
    exportTimeoutMs: 2000,
    metricExportIntervalMs: 60_000,
  });
});

test('per-signal variables win and are used as they are; a signal can be turned off', () => {
  const { settings } = readTelemetrySettings({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector.example',
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/custom',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_HEADERS: 'api-key=shared,x-team=data%20export',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'api-key=traces-only',
    OTEL_EXPORTER_OTLP_TIMEOUT: '5000',
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '7000',
    OTEL_METRIC_EXPORT_INTERVAL: '15000',
  });
  expect(settings?.traces).toEqual({
    url: 'https://traces.example/custom',
    protocol: 'http/protobuf',
    headers: { 'api-key': 'traces-only', 'x-team': 'data export' },
    timeoutMs: 5000,
  });
  expect(settings?.metrics).toEqual({
    url: 'https://collector.example/v1/metrics',
    protocol: 'http/json',
    headers: { 'api-key': 'shared', 'x-team': 'data export' },
    timeoutMs: 7000,
  });
  expect(settings?.metricExportIntervalMs).toBe(15_000);
  const off = readTelemetrySettings({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
    OTEL_TRACES_EXPORTER: 'none',
  });
  expect([off.settings?.traces, off.settings?.metrics?.url]).toEqual([undefined, 'http://c:4318/v1/metrics']);
});

test('the service name: OTEL_SERVICE_NAME, then OTEL_RESOURCE_ATTRIBUTES, then the caller, then the default', () => {
  const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' };
  const name = (env: Record<string, string>, serviceName?: string) =>
    readTelemetrySettings({ ...base, ...env }, { serviceName, serviceVersion: '1.2.3' }).settings
      ?.resourceAttributes;
  expect(name({ OTEL_SERVICE_NAME: 'a', OTEL_RESOURCE_ATTRIBUTES: 'service.name=b' }, 'c')).toEqual({
    'service.name': 'a',
    'service.version': '1.2.3',
  });
  expect(name({ OTEL_RESOURCE_ATTRIBUTES: 'service.name=b,deployment.environment=prod%2Fweu' }, 'c')).toEqual(
    {
      'service.name': 'b',
      'service.version': '1.2.3',
      'deployment.environment': 'prod/weu',
    },
  );
  expect(name({}, 'gallery-export-cli')?.['service.name']).toBe('gallery-export-cli');
  expect(name({})?.['service.name']).toBe('gallery-export');
});

test('problems are named without the values (a header is often an API key), each once', () => {
  const { settings, problems } = readTelemetrySettings({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
    OTEL_EXPORTER_OTLP_HEADERS: 'Authorization Bearer s3cr3t,ok=1,bad=%E0%A4%A',
    OTEL_EXPORTER_OTLP_TIMEOUT: 'soon',
    OTEL_METRICS_EXPORTER: 'prometheus',
  });
  expect(problems).toEqual([
    'OTEL_EXPORTER_OTLP_HEADERS has a malformed entry (expected key=value, comma-separated)',
    'OTEL_EXPORTER_OTLP_TIMEOUT must be a positive number of milliseconds',
    'OTEL_METRICS_EXPORTER=prometheus is not supported (only otlp and none)',
  ]);
  expect(problems.join(' ')).not.toContain('s3cr3t');
  expect(settings?.traces?.headers).toEqual({ ok: '1' });
  expect(settings?.traces?.timeoutMs).toBe(2000);
  expect(settings?.metrics).toBeUndefined();
  for (const endpoint of ['grpc://c:4317', 'not a url']) {
    const read = readTelemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    expect(read.settings).toBeUndefined();
    expect(read.problems).toHaveLength(1);
  }
});

test('OTEL_SDK_DISABLED=true turns everything off, Application Insights included', () => {
  const env = {
    OTEL_SDK_DISABLED: 'TRUE',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
    APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
  };
  expect(readTelemetrySettings(env)).toEqual({ settings: undefined, problems: [] });
});

describe('Application Insights', () => {
  test('the connection string alone: instrumentation-key ingestion', () => {
    const { settings } = readTelemetrySettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING });
    expect(settings?.azureMonitor).toEqual({
      connectionString: CONNECTION_STRING,
      authentication: { kind: 'key' },
    });
    expect(settings && describeDestinations(settings)).toEqual([
      'traces and metrics to Application Insights (instrumentation key)',
    ]);
  });

  test("Authorization=AAD: Entra ID with the authentication string's ClientId (the host's own setting)", () => {
    const { settings } = readTelemetrySettings({
      APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
        'ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD',
      AZURE_CLIENT_ID: 'ignored-when-the-string-names-one',
    });
    expect(settings?.azureMonitor?.authentication).toEqual({
      kind: 'entra',
      clientId: '11111111-2222-3333-4444-555555555555',
    });
  });

  test('Authorization=AAD without ClientId: AZURE_CLIENT_ID, else the system-assigned identity', () => {
    const env = {
      APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'authorization=aad',
    };
    expect(
      readTelemetrySettings({ ...env, AZURE_CLIENT_ID: 'abc' }).settings?.azureMonitor?.authentication,
    ).toEqual({
      kind: 'entra',
      clientId: 'abc',
    });
    expect(readTelemetrySettings(env).settings?.azureMonitor?.authentication).toEqual({
      kind: 'entra',
      clientId: undefined,
    });
  });

  test('the CLI can leave Application Insights out; a malformed string is a problem', () => {
    const env = { APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING };
    expect(readTelemetrySettings(env, { azureMonitor: false }).settings).toBeUndefined();
    const bad = readTelemetrySettings({ APPLICATIONINSIGHTS_CONNECTION_STRING: 'nonsense' });
    expect(bad).toEqual({
      settings: undefined,
      problems: ['APPLICATIONINSIGHTS_CONNECTION_STRING is not an Application Insights connection string'],
    });
  });

  test('with an OTLP endpoint too, both receive everything (as the Functions host does)', () => {
    const { settings } = readTelemetrySettings({
      APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:pw@collector.example:4318/base?x=1',
    });
    expect(settings && describeDestinations(settings)).toEqual([
      'traces to https://collector.example:4318/base/v1/traces (OTLP http/protobuf)',
      'metrics to https://collector.example:4318/base/v1/metrics (OTLP http/protobuf)',
      'traces and metrics to Application Insights (instrumentation key)',
    ]);
  });
});
