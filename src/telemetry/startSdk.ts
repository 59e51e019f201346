import {
  context,
  diag,
  DiagLogLevel,
  metrics,
  propagation,
  trace,
  type DiagLogger,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type MetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TracerProvider,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import type { TelemetryHandle } from './startTelemetry';
import {
  describeDestinations,
  type AzureMonitorTarget,
  type OtlpTarget,
  type TelemetrySettings,
} from './telemetrySettings';

/**
 * The OpenTelemetry SDK, wired: the only module that imports it, loaded by startTelemetry only when
 * a destination is configured. Exporters are loaded per destination and protocol, so an OTLP/JSON
 * setup never loads protobuf or Azure code.
 */
export async function startSdk(
  settings: TelemetrySettings,
  warn: (message: string) => void,
): Promise<TelemetryHandle | undefined> {
  // A flush waits as long as the slowest exporter may take (OTEL_EXPORTER_OTLP_TIMEOUT can raise it),
  // and no longer: by default 2 s, so a collector that is down never holds up a finished CLI.
  const timeoutMs = Math.max(
    settings.exportTimeoutMs,
    settings.traces?.timeoutMs ?? 0,
    settings.metrics?.timeoutMs ?? 0,
  );
  const spanExporters: SpanExporter[] = [];
  const metricExporters: PushMetricExporter[] = [];
  if (settings.traces) spanExporters.push(await otlpSpanExporter(settings.traces));
  if (settings.metrics) metricExporters.push(await otlpMetricExporter(settings.metrics));
  if (settings.azureMonitor) {
    const azure = await azureMonitorExporters(settings.azureMonitor);
    spanExporters.push(azure.spans);
    metricExporters.push(azure.metrics);
  }

  const resource = defaultResource().merge(resourceFromAttributes(settings.resourceAttributes));
  const tracerProvider = new TracerProvider({
    resource,
    // The host's traceparent may say "not sampled" (its own sampling); a run is a handful of spans a
    // night, so none is dropped for that.
    sampler: new ParentBasedSampler({
      root: new AlwaysOnSampler(),
      remoteParentNotSampled: new AlwaysOnSampler(),
    }),
    spanProcessors: spanExporters.map(
      (exporter) => new BatchSpanProcessor({ exporter, exportTimeoutMillis: timeoutMs, maxQueueSize: 8192 }),
    ),
  });
  const readers: MetricReader[] = metricExporters.map(
    (exporter) =>
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: settings.metricExportIntervalMs,
        exportTimeoutMillis: Math.min(timeoutMs, settings.metricExportIntervalMs),
      }),
  );
  const meterProvider = new MeterProvider({ resource, readers });

  const contextManager = new AsyncLocalStorageContextManager().enable();
  // Each setter refuses when another SDK got there first: then ours would record nothing, so it stops,
  // undoing only its own registrations.
  const undo: Array<() => void> = [() => contextManager.disable()];
  const register = (done: boolean, disable: () => void): boolean => {
    if (done) undo.push(disable);
    return done;
  };
  const unregister = (): void => {
    for (const step of undo.splice(0).reverse()) step();
  };
  const registered =
    register(trace.setGlobalTracerProvider(tracerProvider), () => trace.disable()) &&
    register(metrics.setGlobalMeterProvider(meterProvider), () => metrics.disable()) &&
    register(context.setGlobalContextManager(contextManager), () => context.disable()) &&
    register(propagation.setGlobalPropagator(new W3CTraceContextPropagator()), () => propagation.disable());
  if (!registered) {
    unregister();
    await bounded(Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]), timeoutMs);
    warn('Telemetry is off: another OpenTelemetry SDK is already registered in this process');
    return undefined;
  }
  const failed = firstFailureAsWarning(warn);
  diag.setLogger(failed.logger, DiagLogLevel.ERROR);
  undo.push(() => diag.disable());

  const settle = async (work: Promise<unknown>): Promise<void> => {
    const outcome = await bounded(work, timeoutMs);
    if (outcome === 'timeout') failed.report(`no answer within ${timeoutMs} ms`);
    else if (outcome !== 'done') failed.report(describe(outcome.error));
  };
  let stopped: Promise<void> | undefined;
  return {
    destinations: describeDestinations(settings),
    flush: () => settle(Promise.all([tracerProvider.forceFlush(), meterProvider.forceFlush()])),
    shutdown: () =>
      (stopped ??= (async () => {
        await settle(Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]));
        // Back to the API's no-ops, so later spans cost nothing and another start can register.
        unregister();
      })()),
  };
}

/** Waits for `work`, but never longer than `ms` and never with a rejection: telemetry must not fail a run. */
async function bounded(work: Promise<unknown>, ms: number): Promise<'done' | 'timeout' | { error: unknown }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    // The wait alone must not keep a finished CLI process alive.
    timer.unref();
  });
  try {
    return await Promise.race([
      work.then(
        () => 'done' as const,
        (error: unknown) => ({ error }),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function noop(): void {}

/**
 * Export failures come two ways: periodic exports report through `diag`, a flush or shutdown rejects.
 * The first is worth a warning (the collector is down, the identity lacks its role); the rest of a
 * night's worth would only bury the log.
 */
function firstFailureAsWarning(warn: (message: string) => void): {
  logger: DiagLogger;
  report: (description: string) => void;
} {
  let said = false;
  const report = (description: string): void => {
    if (said) return;
    said = true;
    warn(`Telemetry export failed (${description}); further telemetry errors are not reported`);
  };
  const error = (message: string): void => {
    // A second start's refused registration is said by that start, in its own words.
    if (message.includes('Attempted duplicate registration')) return;
    report(firstLine(message));
  };
  return { logger: { error, warn: noop, info: noop, debug: noop, verbose: noop }, report };
}

function describe(error: unknown): string {
  return firstLine(error instanceof Error ? error.message : String(error));
}

/** The SDK's error handler passes a JSON-serialised error: its message, without the stack. */
function firstLine(message: string): string {
  let text = message;
  try {
    const parsed = JSON.parse(message) as { message?: unknown; stack?: unknown };
    const described = typeof parsed.message === 'string' ? parsed.message : parsed.stack;
    if (typeof described === 'string') text = described;
  } catch {
    // not JSON: the message as it is
  }
  const line = (text.split('\n')[0] ?? '').replace(/^Error: /, '');
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

async function otlpSpanExporter(target: OtlpTarget): Promise<SpanExporter> {
  const config = otlpConfig(target);
  if (target.protocol === 'http/json') {
    return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter(config);
  }
  return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter(config);
}

async function otlpMetricExporter(target: OtlpTarget): Promise<PushMetricExporter> {
  const config = otlpConfig(target);
  if (target.protocol === 'http/json') {
    return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter(config);
  }
  return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter(config);
}

function otlpConfig(target: OtlpTarget): {
  url: string;
  headers: Record<string, string>;
  timeoutMillis: number;
} {
  return { url: target.url, headers: target.headers, timeoutMillis: target.timeoutMs };
}

/**
 * Application Insights' own exporters. With local authentication disabled, ingestion takes only an
 * Entra ID token: the exporter does not read APPLICATIONINSIGHTS_AUTHENTICATION_STRING (the host
 * does, for its own telemetry), so the managed identity it names is passed as a credential here.
 */
async function azureMonitorExporters(
  target: AzureMonitorTarget,
): Promise<{ spans: SpanExporter; metrics: PushMetricExporter }> {
  const azure = await import('@azure/monitor-opentelemetry-exporter');
  const { authentication } = target;
  const credential =
    authentication.kind === 'entra'
      ? new (await import('@azure/identity')).ManagedIdentityCredential(
          authentication.clientId === undefined ? {} : { clientId: authentication.clientId },
        )
      : undefined;
  const options = { connectionString: target.connectionString, ...(credential ? { credential } : {}) };
  return {
    spans: new azure.AzureMonitorTraceExporter(options),
    metrics: new azure.AzureMonitorMetricExporter(options),
  };
}
