import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The Functions host kills an invocation at host.json's `functionTimeout`; one killed mid-export records
 * nothing (its author stays pending until the message's next delivery). So the code's own deadlines stay
 * below it, with this margin to record the outcome.
 */
export const RECORDING_MARGIN_MS = 60_000;

/** Read once: host.json sits at the app's root, a few folders above this file (src/ or dist/src/). */
let cached: { timeoutMs: number | undefined } | undefined;

/** host.json's `functionTimeout` in ms; undefined when unbounded (-1) or when no host.json is found. */
export function functionTimeoutMs(): number | undefined {
  cached ??= { timeoutMs: readFunctionTimeout(findHostJson(__dirname)) };
  return cached.timeoutMs;
}

/** `[d.]hh:mm:ss` as the host reads it, or -1 for no limit. */
export function parseFunctionTimeout(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$/.exec(value.trim());
  if (!match) return undefined;
  const [, days = '0', hours, minutes, seconds] = match as unknown as [
    string,
    string | undefined,
    string,
    string,
    string,
  ];
  return ((Number(days) * 24 + Number(hours)) * 3600 + Number(minutes) * 60 + Number(seconds)) * 1000;
}

/** The longest an author's export (or an inline run) may take inside one invocation. */
export function invocationDeadlineMs(authorTimeoutMs: number, timeoutMs = functionTimeoutMs()): number {
  if (timeoutMs === undefined) return authorTimeoutMs;
  return Math.max(1000, Math.min(authorTimeoutMs, timeoutMs - RECORDING_MARGIN_MS));
}

function findHostJson(from: string): string | undefined {
  for (let folder = from, depth = 0; depth < 5; depth++, folder = dirname(folder)) {
    const candidate = join(folder, 'host.json');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

function readFunctionTimeout(path: string | undefined): number | undefined {
  if (!path) return undefined;
  try {
    return parseFunctionTimeout(
      (JSON.parse(readFileSync(path, 'utf8')) as { functionTimeout?: unknown }).functionTimeout,
    );
  } catch {
    return undefined;
  }
}
