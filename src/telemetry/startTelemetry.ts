import { readTelemetrySettings, type TelemetrySettingsOptions } from './telemetrySettings';

/**
 * Starts OpenTelemetry when a destination is configured: OTLP over HTTP (OTEL_EXPORTER_OTLP_ENDPOINT
 * or the per-signal endpoints, OTEL_EXPORTER_OTLP_PROTOCOL http/protobuf or http/json, headers,
 * timeout, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) and/or Application Insights
 * (APPLICATIONINSIGHTS_CONNECTION_STRING, with APPLICATIONINSIGHTS_AUTHENTICATION_STRING for Entra ID).
 * With nothing configured (or OTEL_SDK_DISABLED=true) it returns undefined having loaded no SDK module:
 * the SDK is imported only past that point. Telemetry is never a hard dependency: whatever goes wrong
 * is said in one warning and the process carries on without it.
 */
export async function startTelemetry(
  env: Readonly<Record<string, string | undefined>>,
  options: StartTelemetryOptions = {},
): Promise<TelemetryHandle | undefined> {
  const warn = options.warn ?? defaultWarn;
  const messages: string[] = [];
  try {
    const { settings, problems } = readTelemetrySettings(env, options);
    messages.push(...problems);
    if (!settings) return undefined;
    const { startSdk } = await import('./startSdk');
    return await startSdk(settings, warn);
  } catch (error) {
    messages.push(`it could not be started: ${describe(error)}; telemetry is off`);
    return undefined;
  } finally {
    if (messages.length > 0) warn(`Telemetry: ${messages.join('; ')}`);
  }
}

export interface StartTelemetryOptions extends TelemetrySettingsOptions {
  /** Where the warnings go (at most one at start, one for the first export failure). @default console.warn */
  warn?: (message: string) => void;
}

/** A started SDK. Neither method ever throws, and neither waits longer than `exportTimeoutMs`. */
export interface TelemetryHandle {
  /** Where telemetry goes, for a log line: URLs without credentials, query or headers. */
  readonly destinations: readonly string[];
  /** Exports the spans and metrics recorded so far (before a Functions instance may be frozen). */
  flush(): Promise<void>;
  /** Flushes, stops the exporters and unregisters the SDK; call it before the process exits. */
  shutdown(): Promise<void>;
}

function defaultWarn(message: string): void {
  console.warn(message);
}

function describe(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 300);
}
