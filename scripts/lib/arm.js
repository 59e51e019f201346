'use strict';
// Azure Resource Manager for the azd hooks, with nothing but Node.js: on a fresh clone azd provisions
// (and runs the postprovision hooks) before anything installs node_modules.
//
// - The token comes from the CLI the operator signed in with: `azd auth token` (what the SDK's
//   AzureDeveloperCliCredential runs; under azd it is the account that deployed), or, for a plain
//   `az deployment`, `az account get-access-token`. It is only ever put in an Authorization header:
//   never printed, never part of an error.
// - Requests are retried as ARM asks: 429 and 5xx after Retry-After (or a short backoff), network
//   failures a few times. Everything else is the caller's to judge.
// - The endpoint is the template's `environment().resourceManager`; https only, except a loopback
//   address (the hooks' tests), so a token never travels in clear over a network.
const { execFile } = require('node:child_process');

const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_TIMEOUT_MS = 60_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 30_000;
const CLI_TIMEOUT_MS = 60_000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A failure the hook reports as it is (the message says what failed and what to do). */
class HookError extends Error {
  constructor(message, exitCode = 1) {
    super(message);
    this.name = 'HookError';
    this.exitCode = exitCode;
  }
}

/** Input the hook cannot work with: a missing or malformed setting (exit code 2). */
function inputError(message) {
  return new HookError(message, 2);
}

/** The ARM endpoint from `name`, ending with "/"; refuses plain http except on loopback. */
function resourceManagerEndpoint(env, name = 'AZURE_RESOURCE_MANAGER_ENDPOINT') {
  const raw = env[name];
  if (raw === undefined || raw === '') throw inputError(`${name} is not set (an output of the template)`);
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw inputError(`${name} "${raw}" is not a URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname))) {
    throw inputError(`${name} "${raw}" must be https (plain http only on a loopback address)`);
  }
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

/** Runs a CLI and returns its stdout; the error names the command, never its output. */
function runCli(command, args) {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: CLI_TIMEOUT_MS, maxBuffer: 1024 * 1024, shell: process.platform === 'win32' },
      (error, stdout, stderr) => {
        if (error) {
          const reason =
            error.code === 'ENOENT'
              ? `${command} is not installed or not on PATH`
              : `${command} ${args.slice(0, 2).join(' ')} failed: ${String(stderr).trim().slice(0, 500) || error.message}`;
          reject(new HookError(reason));
          return;
        }
        resolve(String(stdout));
      },
    );
  });
}

/**
 * An access token for `endpoint` from azd (default) or the Azure CLI (`tool: 'az'`), as the signed-in
 * account, for the deployment's tenant when `tenantId` is given (the template's AZURE_TENANT_ID: a
 * guest account's default tenant may not be the subscription's).
 */
async function getToken(endpoint, tool = 'azd', tenantId = undefined) {
  const tenant = typeof tenantId === 'string' && GUID.test(tenantId) ? [tenantId] : [];
  const stdout =
    tool === 'az'
      ? await runCli('az', [
          'account',
          'get-access-token',
          '--resource',
          endpoint,
          '--output',
          'json',
          ...tenant.flatMap((t) => ['--tenant', t]),
        ])
      : await runCli('azd', [
          'auth',
          'token',
          '--output',
          'json',
          '--scope',
          new URL('.default', endpoint).href,
          ...tenant.flatMap((t) => ['--tenant-id', t]),
        ]);
  let parsed;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    parsed = undefined;
  }
  const token = tool === 'az' ? parsed?.accessToken : parsed?.token;
  if (typeof token !== 'string' || token === '') {
    throw new HookError(
      `${tool === 'az' ? 'az account get-access-token' : 'azd auth token'} returned no token; sign in first (${tool === 'az' ? 'az login' : 'azd auth login'})`,
    );
  }
  return token;
}

function retryAfterMs(response) {
  const header = response.headers.get('retry-after');
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, BACKOFF_CAP_MS);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(date - Date.now(), 0), BACKOFF_CAP_MS);
}

function backoffMs(attempt) {
  return Math.min(BACKOFF_BASE_MS * 2 ** (attempt - 1), BACKOFF_CAP_MS);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One ARM request, retried on 429, 5xx and network failures. Resolves with
 * `{ status, body, error: { code, message } | undefined }` for every answer it stops at.
 */
async function armRequest({ method, url, token, body, maxAttempts = DEFAULT_MAX_ATTEMPTS }) {
  for (let attempt = 1; ; attempt += 1) {
    let response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS),
      });
    } catch (error) {
      if (attempt < maxAttempts) {
        await sleep(backoffMs(attempt));
        continue;
      }
      throw new HookError(`${method} ${url} failed after ${attempt} attempts: ${error.message}`);
    }
    const text = await response.text();
    if ((response.status === 429 || response.status >= 500) && attempt < maxAttempts) {
      await sleep(retryAfterMs(response) ?? backoffMs(attempt));
      continue;
    }
    let parsed;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const error =
      response.status >= 400
        ? {
            code: typeof parsed?.error?.code === 'string' ? parsed.error.code : `HTTP ${response.status}`,
            message: typeof parsed?.error?.message === 'string' ? parsed.error.message : text.slice(0, 500),
          }
        : undefined;
    return { status: response.status, body: parsed, error };
  }
}

/** `/subscriptions/<id>/resourceGroups/<group>/providers/<namespace>/<type>/<name>[/...]`, or throws. */
function resourceId(env, name, pattern) {
  const raw = env[name];
  if (raw === undefined || raw === '') throw inputError(`${name} is not set (an output of the template)`);
  if (!pattern.test(raw)) throw inputError(`${name} "${raw}" is not the resource ID it should be`);
  return raw;
}

/** Prints a hook's failure the same way everywhere and sets its exit code. */
function reportFailure(prefix, error) {
  if (error instanceof HookError) {
    console.error(`${prefix}: ${error.message}`);
    process.exitCode = error.exitCode;
    return;
  }
  console.error(`${prefix}: unexpected failure: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}

module.exports = {
  HookError,
  armRequest,
  getToken,
  inputError,
  reportFailure,
  resourceId,
  resourceManagerEndpoint,
  sleep,
};
