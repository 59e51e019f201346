/**
 * What the secrets and the keys routes share: request and response types, path and body parsing,
 * and paging.
 */
import { badParameter } from './vaultError';
import { decodeSkipToken, encodeSkipToken, type WireListResult } from './wire';

export interface VaultRequest {
  method: string;
  /** The path as received, still percent-encoded. */
  pathname: string;
  query: URLSearchParams;
  authorization: string | undefined;
  /** The raw body; empty when none was sent. */
  body: Buffer;
}

export interface VaultResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialisable; `undefined` for an empty body (204). */
  body?: unknown;
}

export interface VaultHandlerSettings {
  /** `http://127.0.0.1:<port>`: the base of every id and nextLink. */
  vaultUrl: string;
  pageSize: number;
  requireChallenge: boolean;
  tenantId: string;
}

/**
 * A request as the routes see it: path split and decoded, api-version known to be present,
 * authentication already done.
 */
export interface RoutedRequest extends VaultRequest {
  segments: string[];
  apiVersion: string;
}

/** `/secrets/a/` and `/secrets/a` are the same resource (the SDK sends the former for "latest"). */
export function splitPath(pathname: string): string[] {
  const segments = pathname.split('/').slice(1);
  if (segments.length > 1 && segments.at(-1) === '') segments.pop();
  try {
    return segments.map((segment) => decodeURIComponent(segment));
  } catch {
    throw badParameter('The request URI is not correctly percent-encoded.');
  }
}

export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) throw badParameter('The request body is missing.');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    // Deliberately no parser detail: its message quotes the body, which holds the secret value.
    throw badParameter('The request body is not valid JSON.');
  }
}

/**
 * One page of `items` (sorted by `key`). The SDK follows `nextLink` verbatim, so it is an
 * absolute URL on this server that carries the api-version and page size along.
 */
export function paginate<R, I>(
  items: Array<{ key: string; record: R }>,
  settings: Pick<VaultHandlerSettings, 'vaultUrl' | 'pageSize'>,
  query: URLSearchParams,
  apiVersion: string,
  path: string,
  toItem: (record: R) => I,
): WireListResult<I> {
  const size = pageSizeFor(query.get('maxresults'), settings.pageSize);
  const token = query.get('$skiptoken');
  const after = token ? decodeSkipToken(token) : undefined;
  const remaining = after === undefined ? items : items.filter((item) => item.key > after);
  const page = remaining.slice(0, size);
  const last = page.at(-1);
  const nextLink =
    remaining.length > size && last
      ? `${settings.vaultUrl}${path}?api-version=${encodeURIComponent(apiVersion)}` +
        `&$skiptoken=${encodeSkipToken(last.key)}&maxresults=${size}`
      : null;
  return { value: page.map((item) => toItem(item.record)), nextLink };
}

function pageSizeFor(maxresults: string | null, pageSize: number): number {
  if (maxresults === null || maxresults === '') return pageSize;
  const requested = /^\d+$/.test(maxresults) ? Number(maxresults) : NaN;
  if (!(requested >= 1)) throw badParameter(`maxresults must be a whole number from 1 to ${pageSize}.`);
  // The service rejects more than 25; the emulator is lenient and caps at its page size.
  return Math.min(requested, pageSize);
}

export function ok(body: unknown): VaultResponse {
  return { status: 200, body };
}
