import { app } from '@azure/functions';
import { startTelemetry } from '../telemetry/startTelemetry';
import { bindToTraceContext } from '../telemetry/tracing';
import { GENERATOR } from '../version';

/**
 * OpenTelemetry for the Functions worker, as the Azure Functions Node.js docs describe it: the worker
 * exports its own spans and metrics (the host's OpenTelemetry mode only exports the host's), to the
 * app's Application Insights (APPLICATIONINSIGHTS_CONNECTION_STRING, with Entra ID) or an OTLP endpoint.
 * Each invocation runs inside the host's trace context, so a run's spans hang under its timer, HTTP or
 * queue invocation. It reads the standard OTEL_* and APPLICATIONINSIGHTS_* variables, not the app's
 * settings (src/config.ts reads those).
 */
const telemetry = startTelemetry(process.env, { serviceVersion: GENERATOR.version });

app.hook.preInvocation(async (hook) => {
  await telemetry;
  hook.functionHandler = bindToTraceContext(hook.invocationContext.traceContext, hook.functionHandler);
});

// A Flex Consumption instance may be frozen between invocations: what an invocation recorded goes out first.
app.hook.postInvocation(async () => {
  await (await telemetry)?.flush();
});

app.hook.appTerminate(async () => {
  await (await telemetry)?.shutdown();
});
