import { normalizeAuthorId } from './authorId';
import { isRunId } from './layout';

/** One message per author of a fan-out run: names the secret, never carries the token. */
export interface AuthorWorkItem {
  v: 1;
  runId: string;
  secretName: string;
  trigger: 'timer' | 'http' | 'cli';
}

const SECRET_NAME = /^[A-Za-z0-9-]{1,127}$/;
const TRIGGERS = new Set(['timer', 'http', 'cli']);

/**
 * Validates a queue message. The Functions host hands over either the decoded text or, when it parsed
 * as JSON, the object; both are accepted. Anything else is refused with a reason (never echoed whole:
 * a message is not supposed to hold secrets, but a wrong one might).
 */
/**
 * An erasure requested over HTTP, run off the request by the queue worker as `purge --yes` runs it. The
 * same queue as the authors of a run: the worker tells them apart by `kind`.
 */
export interface ErasureWorkItem {
  v: 1;
  kind: 'erasure';
  erasureId: string;
  authorId: string;
  /** How many times the erasure waited for an export run to release the lock. */
  waits?: number;
}

/** A work item the queue did not take, with why. */
export interface NotQueued {
  item: AuthorWorkItem;
  error: unknown;
}

/** A queue message: an author of a run, or a requested erasure; a string says why it is neither. */
export function parseQueueMessage(entry: unknown): AuthorWorkItem | ErasureWorkItem | string {
  const value = decode(entry);
  if (typeof value === 'string') return value;
  if ((value as { kind?: unknown }).kind === 'erasure') {
    const { v, erasureId, authorId, waits } = value as Record<string, unknown>;
    if (v !== 1) return 'the message has an unknown version';
    if (!isRunId(erasureId)) return 'the message has no valid erasureId';
    const id = normalizeAuthorId(authorId);
    if (!id) return 'the message has no valid authorId';
    if (waits !== undefined && (typeof waits !== 'number' || !Number.isSafeInteger(waits) || waits < 0))
      return 'the message has an invalid waits count';
    return { v: 1, kind: 'erasure', erasureId, authorId: id, ...(waits !== undefined ? { waits } : {}) };
  }
  return parseWorkItem(value);
}

function decode(entry: unknown): object | string {
  let value = entry;
  if (typeof entry === 'string' || Buffer.isBuffer(entry)) {
    try {
      value = JSON.parse(entry.toString());
    } catch {
      return 'the message is not JSON';
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'the message is not a JSON object';
  return value;
}

export function parseWorkItem(entry: unknown): AuthorWorkItem | string {
  let value = entry;
  if (typeof entry === 'string' || Buffer.isBuffer(entry)) {
    try {
      value = JSON.parse(entry.toString());
    } catch {
      return 'the message is not JSON';
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'the message is not a JSON object';
  const { v, runId, secretName, trigger } = value as Record<string, unknown>;
  if (v !== 1) return 'the message has an unknown version';
  if (!isRunId(runId)) return 'the message has no valid runId';
  if (typeof secretName !== 'string' || !SECRET_NAME.test(secretName))
    return 'the message has no valid secretName';
  if (typeof trigger !== 'string' || !TRIGGERS.has(trigger)) return 'the message has no valid trigger';
  return { v: 1, runId, secretName, trigger: trigger as AuthorWorkItem['trigger'] };
}
