import type { InvocationContext } from '@azure/functions';
import { loadConfig } from '../config';
import { GalleryExportError } from '../contract/errors';
import type { Logger } from '../export/ports';
import { createServices, type AppServices } from '../services';

/**
 * One set of services per worker process, built on first use from the app settings and shared by every
 * invocation (one keep-alive pool, one catalog concurrency budget per process). Each invocation gets
 * its own logger.
 */
let shared: AppServices | undefined;
let environment: Readonly<Record<string, string | undefined>> | undefined;

export function servicesFor(context: InvocationContext): AppServices {
  shared ??= createServices(loadConfig(environment), { logger: contextLogger(context) });
  return { ...shared, logger: contextLogger(context) };
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
