/**
 * What the azd hooks that call Azure Resource Manager (scripts/*.js) run against in tests: a real
 * HTTP server on loopback playing ARM, which records every request, and stand-ins for the `azd` and
 * `az` commands on PATH that print a token and record how they were asked.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SCRIPTS = path.resolve(__dirname, '..', '..', 'scripts');

export interface ArmRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  authorization: string | undefined;
  body: unknown;
}

export interface ArmAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface FakeArm {
  /** The endpoint to give the hook (AZURE_RESOURCE_MANAGER_ENDPOINT), ending with "/". */
  endpoint: string;
  requests: ArmRequest[];
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve(text === '' ? undefined : (JSON.parse(text) as unknown));
    });
  });
}

/** Starts a loopback server that answers every request with `answer(request, index)`. */
export async function startFakeArm(
  answer: (request: ArmRequest, index: number) => ArmAnswer,
): Promise<FakeArm> {
  const requests: ArmRequest[] = [];
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const request: ArmRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
        body,
      };
      requests.push(request);
      const reply = answer(request, requests.length - 1);
      res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface FakeCli {
  /** A folder to put first on PATH: it holds `azd` and `az`. */
  dir: string;
  /** The token both print. */
  token: string;
  /** The argument lists they were called with, in order, prefixed by the command's name. */
  calls(): string[][];
  remove(): void;
}

/**
 * `azd auth token --output json` and `az account get-access-token --output json` stand-ins that print
 * a fresh random token in each tool's format.
 */
export function fakeCli(): FakeCli {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'arm-hook-cli-'));
  const token = `test-token-${randomBytes(12).toString('hex')}`;
  const log = path.join(dir, 'calls.jsonl');
  writeFileSync(log, '');
  for (const tool of ['azd', 'az']) {
    const output =
      tool === 'az'
        ? { accessToken: token, expiresOn: '2099-01-01 00:00:00' }
        : { token, expiresOn: '2099-01-01T00:00:00Z' };
    const file = path.join(dir, tool);
    writeFileSync(
      file,
      [
        `#!${process.execPath}`,
        `require('node:fs').appendFileSync(${JSON.stringify(log)}, JSON.stringify([${JSON.stringify(tool)}, ...process.argv.slice(2)]) + '\\n');`,
        `process.stdout.write(${JSON.stringify(JSON.stringify(output))});`,
      ].join('\n'),
    );
    chmodSync(file, 0o755);
  }
  return {
    dir,
    token,
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as string[]),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface HookResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs scripts/<script> with only PATH (the fake CLIs first) and `env`. */
export function runHook(
  script: string,
  env: Record<string, string>,
  options: { cli: FakeCli; args?: string[] },
): Promise<HookResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(SCRIPTS, script), ...(options.args ?? [])], {
      env: { PATH: `${options.cli.dir}${path.delimiter}${process.env.PATH ?? ''}`, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

/** ARM's answer when Key Vault does not (yet) see the caller's data-plane role (Azure/bicep#6539). */
export function forbiddenByRbac(action: string, resource: string): ArmAnswer {
  return {
    status: 400,
    body: {
      error: {
        code: 'ForbiddenByRbac',
        message: `[ForbiddenByRbac (Forbidden)] Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: name=KeyVault/ManagementPlane;appid=04b07795-8ddb-461a-bbee-02f9e1bf7b46;oid=2f1b09f9-1887-46f5-b0e4-d7a8e47fe87f\r\nAction: '${action}'\r\nResource: '${resource.toLowerCase()}'\r\nAssignment: (not found)\r\n`,
      },
    },
  };
}
