import type { InvocationContext } from '@azure/functions';
import { loadConfig } from '../config';
import { GalleryExportError } from '../contract/errors';
import type { Logger } from '../export/ports';
import { createServices, type AppServices } from '../services';
import { invocationDeadlineMs } from './functionTimeout';

/**
 * One set of services per worker process, built on first use from the app settings and shared by every
 * invocation (one keep-alive pool, one catalog concurrency budget per process). Each invocation gets
 * its own logger.
 */
let shared: AppServices | undefined;
let environment: Readonly<Record<string, string | undefined>> | undefined;

export function servicesFor(context: InvocationContext): AppServices {
  shared ??= createFunctionServices(context);
  return { ...shared, logger: contextLogger(context) };
}

/** The app's services, with AUTHOR_TIMEOUT_MS kept below host.json's functionTimeout. */
function createFunctionServices(context: InvocationContext): AppServices {
  const config = loadConfig(environment);
  const deadlineMs = invocationDeadlineMs(config.authorTimeoutMs);
  if (deadlineMs < config.authorTimeoutMs) {
    context.warn(
      `AUTHOR_TIMEOUT_MS (${config.authorTimeoutMs}) is not below host.json's functionTimeout; ${deadlineMs} ms is used, so an invocation can record its outcome before the host stops it`,
    );
  }
  return createServices({ ...config, authorTimeoutMs: deadlineMs }, { logger: contextLogger(context) });
}

/** For tests (the host gives none): use these settings instead of process.env, with fresh services. */
export async function useEnvironment(
  env: Readonly<Record<string, string | undefined>> | undefined,
): Promise<void> {
  const previous = shared;
  shared = undefined;
  environment = env;
  await previous?.close();
}

export function contextLogger(context: InvocationContext): Logger {
  return {
    info: (message) => context.log(message),
    warn: (message) => context.warn(message),
    error: (message) => context.error(message),
  };
}

/** A JSON error body; the message is already free of secrets (GalleryExportError's rule). */
export function errorBody(error: GalleryExportError): { error: { code: string; message: string } } {
  return { error: { code: error.code, message: error.message } };
}
