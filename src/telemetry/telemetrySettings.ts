/**
 * Where telemetry goes, read from the standard variables (OpenTelemetry's OTEL_* and Application
 * Insights' connection and authentication strings). Pure: the caller passes the environment in, and
 * nothing here loads the SDK. Problems are described without the values, which may hold API keys.
 */

export type OtlpProtocol = 'http/json' | 'http/protobuf';

export interface OtlpTarget {
  /** The signal's full URL (`.../v1/traces`, `.../v1/metrics`). */
  url: string;
  protocol: OtlpProtocol;
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface AzureMonitorTarget {
  connectionString: string;
  /**
   * `entra`: ingestion with a managed identity's token (local auth disabled), the identity named by
   * APPLICATIONINSIGHTS_AUTHENTICATION_STRING's ClientId (else AZURE_CLIENT_ID, else system-assigned).
   * `key`: the instrumentation key alone.
   */
  authentication: { kind: 'entra'; clientId: string | undefined } | { kind: 'key' };
}

export interface TelemetrySettings {
  resourceAttributes: Record<string, string>;
  traces: OtlpTarget | undefined;
  metrics: OtlpTarget | undefined;
  azureMonitor: AzureMonitorTarget | undefined;
  exportTimeoutMs: number;
  metricExportIntervalMs: number;
}

export interface TelemetrySettingsOptions {
  /** `service.name` unless OTEL_SERVICE_NAME (or OTEL_RESOURCE_ATTRIBUTES) names one. @default 'gallery-export' */
  serviceName?: string;
  /** `service.version`. @default undefined (not recorded) */
  serviceVersion?: string;
  /**
   * Whether APPLICATIONINSIGHTS_CONNECTION_STRING sends telemetry to Application Insights. The CLI
   * passes false: it exports with the OTEL_* variables only (an operator's machine has no managed
   * identity). @default true
   */
  azureMonitor?: boolean;
  /**
   * The longest one export, a flush or shutdown() may take, so a collector that is down never holds a
   * process up for long. OTEL_EXPORTER_OTLP_TIMEOUT (and the per-signal variables) override it for the
   * OTLP exporters. @default 2000
   */
  exportTimeoutMs?: number;
  /** How often metrics are exported; OTEL_METRIC_EXPORT_INTERVAL overrides it. @default 60000 */
  metricExportIntervalMs?: number;
}

export const DEFAULT_TELEMETRY = {
  serviceName: 'gallery-export',
  exportTimeoutMs: 2000,
  metricExportIntervalMs: 60_000,
  /** The OpenTelemetry specification's default for OTEL_EXPORTER_OTLP_PROTOCOL. */
  protocol: 'http/protobuf' as OtlpProtocol,
} as const;

type Env = Readonly<Record<string, string | undefined>>;

export interface ReadTelemetrySettings {
  /** Undefined when telemetry is off: nothing configured, or OTEL_SDK_DISABLED=true. */
  settings: TelemetrySettings | undefined;
  /** What was ignored and why, for one warning. */
  problems: string[];
}

export function readTelemetrySettings(
  env: Env,
  options: TelemetrySettingsOptions = {},
): ReadTelemetrySettings {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const text = env[name]?.trim();
    return text === undefined || text === '' ? undefined : text;
  };
  if (value('OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return { settings: undefined, problems };

  const exportTimeoutMs = options.exportTimeoutMs ?? DEFAULT_TELEMETRY.exportTimeoutMs;
  const otlp = (signal: 'TRACES' | 'METRICS', path: string): OtlpTarget | undefined => {
    const exporter = value(`OTEL_${signal}_EXPORTER`)?.toLowerCase() ?? 'otlp';
    if (exporter === 'none') return undefined;
    const specific = value(`OTEL_EXPORTER_OTLP_${signal}_ENDPOINT`);
    const base = value('OTEL_EXPORTER_OTLP_ENDPOINT');
    if (specific === undefined && base === undefined) return undefined;
    if (exporter !== 'otlp') {
      problems.push(`OTEL_${signal}_EXPORTER=${exporter.slice(0, 20)} is not supported (only otlp and none)`);
      return undefined;
    }
    const where =
      specific !== undefined ? `OTEL_EXPORTER_OTLP_${signal}_ENDPOINT` : 'OTEL_EXPORTER_OTLP_ENDPOINT';
    // The base endpoint gets the signal's path appended; a signal's own endpoint is used as it is.
    const url = checkUrl(specific ?? base!, where, problems, specific === undefined ? path : undefined);
    const protocol = readProtocol(
      value(`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`) ?? value('OTEL_EXPORTER_OTLP_PROTOCOL'),
      problems,
    );
    if (url === undefined || protocol === undefined) return undefined;
    const headers = {
      ...readPairs(value('OTEL_EXPORTER_OTLP_HEADERS'), 'OTEL_EXPORTER_OTLP_HEADERS', problems),
      ...readPairs(
        value(`OTEL_EXPORTER_OTLP_${signal}_HEADERS`),
        `OTEL_EXPORTER_OTLP_${signal}_HEADERS`,
        problems,
      ),
    };
    const timeout = value(`OTEL_EXPORTER_OTLP_${signal}_TIMEOUT`) ?? value('OTEL_EXPORTER_OTLP_TIMEOUT');
    return {
      url,
      protocol,
      headers,
      timeoutMs: readPositive(timeout, 'OTEL_EXPORTER_OTLP_TIMEOUT', exportTimeoutMs, problems),
    };
  };

  const traces = otlp('TRACES', 'v1/traces');
  const metrics = otlp('METRICS', 'v1/metrics');
  const azureMonitor = options.azureMonitor === false ? undefined : readAzureMonitor(value, problems);
  if (!traces && !metrics && !azureMonitor) return { settings: undefined, problems: unique(problems) };

  const resourceAttributes = readPairs(
    value('OTEL_RESOURCE_ATTRIBUTES'),
    'OTEL_RESOURCE_ATTRIBUTES',
    problems,
  );
  resourceAttributes['service.name'] =
    value('OTEL_SERVICE_NAME') ??
    resourceAttributes['service.name'] ??
    options.serviceName ??
    DEFAULT_TELEMETRY.serviceName;
  if (options.serviceVersion !== undefined) resourceAttributes['service.version'] ??= options.serviceVersion;
  const metricExportIntervalMs = readPositive(
    value('OTEL_METRIC_EXPORT_INTERVAL'),
    'OTEL_METRIC_EXPORT_INTERVAL',
    options.metricExportIntervalMs ?? DEFAULT_TELEMETRY.metricExportIntervalMs,
    problems,
  );
  return {
    settings: { resourceAttributes, traces, metrics, azureMonitor, exportTimeoutMs, metricExportIntervalMs },
    problems: unique(problems),
  };
}

/** Where telemetry goes, for a log line: URLs without credentials, query or headers. */
export function describeDestinations(settings: TelemetrySettings): string[] {
  const otlp = (signal: string, target: OtlpTarget | undefined): string[] => {
    if (!target) return [];
    const url = new URL(target.url);
    return [`${signal} to ${url.origin}${url.pathname} (OTLP ${target.protocol})`];
  };
  return [
    ...otlp('traces', settings.traces),
    ...otlp('metrics', settings.metrics),
    ...(settings.azureMonitor
      ? [
          `traces and metrics to Application Insights (${settings.azureMonitor.authentication.kind === 'entra' ? 'Entra ID' : 'instrumentation key'})`,
        ]
      : []),
  ];
}

/** Both signals read the shared variables: one problem is said once. */
function unique(problems: string[]): string[] {
  return [...new Set(problems)];
}

function checkUrl(text: string, name: string, problems: string[], appendPath?: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    problems.push(`${name} is not a URL`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`${name} must be an http or https URL (grpc is not supported)`);
    return undefined;
  }
  if (appendPath !== undefined) url.pathname = `${url.pathname.replace(/\/+$/, '')}/${appendPath}`;
  return url.href;
}

function readProtocol(text: string | undefined, problems: string[]): OtlpProtocol | undefined {
  if (text === undefined) return DEFAULT_TELEMETRY.protocol;
  if (text === 'http/json' || text === 'http/protobuf') return text;
  problems.push(
    `OTEL_EXPORTER_OTLP_PROTOCOL=${text.slice(0, 20)} is not supported (http/protobuf or http/json)`,
  );
  return undefined;
}

/** `key1=value1,key2=value2`, values percent-encoded (the W3C baggage format the specification uses). */
function readPairs(text: string | undefined, name: string, problems: string[]): Record<string, string> {
  const pairs: Record<string, string> = {};
  if (text === undefined) return pairs;
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const at = entry.indexOf('=');
    const key = at > 0 ? entry.slice(0, at).trim() : '';
    let decoded: string | undefined;
    try {
      decoded = at > 0 ? decodeURIComponent(entry.slice(at + 1).trim()) : undefined;
    } catch {
      decoded = undefined;
    }
    if (key === '' || decoded === undefined) {
      // Not the entry itself: a header's value is often an API key.
      problems.push(`${name} has a malformed entry (expected key=value, comma-separated)`);
      continue;
    }
    pairs[key] = decoded;
  }
  return pairs;
}

function readPositive(text: string | undefined, name: string, fallback: number, problems: string[]): number {
  if (text === undefined) return fallback;
  const number = Number(text);
  if (Number.isSafeInteger(number) && number > 0) return number;
  problems.push(`${name} must be a positive number of milliseconds`);
  return fallback;
}

function readAzureMonitor(
  value: (name: string) => string | undefined,
  problems: string[],
): AzureMonitorTarget | undefined {
  const connectionString = value('APPLICATIONINSIGHTS_CONNECTION_STRING');
  if (connectionString === undefined) return undefined;
  if (!/(^|;)\s*(InstrumentationKey|IngestionEndpoint)\s*=/i.test(connectionString)) {
    problems.push('APPLICATIONINSIGHTS_CONNECTION_STRING is not an Application Insights connection string');
    return undefined;
  }
  const authentication = value('APPLICATIONINSIGHTS_AUTHENTICATION_STRING');
  if (authentication === undefined) return { connectionString, authentication: { kind: 'key' } };
  const fields = readConnectionFields(authentication);
  if (fields.authorization?.toLowerCase() !== 'aad') {
    problems.push(
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING must say Authorization=AAD; the instrumentation key is used',
    );
    return { connectionString, authentication: { kind: 'key' } };
  }
  return {
    connectionString,
    authentication: { kind: 'entra', clientId: fields.clientid ?? value('AZURE_CLIENT_ID') },
  };
}

/** `Key=Value;Key=Value`, keys case-insensitive (lower-cased here). */
function readConnectionFields(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) fields[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim();
  }
  return fields;
}
