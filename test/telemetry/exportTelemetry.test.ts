import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { RunRecord } from '../../src/contract/formats';
import { SPAN_ATTRIBUTES as A, SPAN_NAMES } from '../../src/telemetry/names';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlpReceiver';
import { createWorld, useAzuriteAndVault } from '../support/world';
import { expectRunTelemetry } from './expectRunTelemetry';

/**
 * Observability (issue 17): a real export against the local stack (the CLI in its own process: the OTLP
 * exporters cannot send from inside a jest module) with an in-process OTLP receiver on loopback. The
 * spans nest run → author → catalog request / blob write, the metrics match the run record, and nothing
 * received holds a token. With no endpoint configured, nothing is sent anywhere.
 */
const servers = useAzuriteAndVault();
const root = join(__dirname, '..', '..');

function cliProcess(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [join(root, 'test/support/tsChild.js'), join(root, 'test/support/cliChild.ts'), ...args],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test.each(['http/protobuf', 'http/json'])(
  'an export sends its spans and metrics over OTLP %s, matching the run record, with no token anywhere',
  async (protocol) => {
    const world = await createWorld(servers, [{ entities: 250 }, { entities: 40 }, { entities: 0 }], {
      simulator: { faults: { throttleRate: 0.1, retryAfterSeconds: 0, seed: 3 } },
    });
    const receiver: OtlpReceiver = await startOtlpReceiver();
    try {
      const result = await cliProcess(['run', '--json'], {
        ...world.env,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_SERVICE_NAME: 'gallery-export-test',
      });
      expect(result.code).toBe(0);
      const record = JSON.parse(result.stdout) as RunRecord;
      expectRunTelemetry(receiver, record, { secrets: world.catalog.issuedTokens });
      // The catalog requests the simulator answered are the catalog spans the receiver got.
      const catalogSpans = receiver.spans.filter((span) =>
        [SPAN_NAMES.catalog.profile, SPAN_NAMES.catalog.entities].includes(span.name),
      );
      expect(catalogSpans).toHaveLength(world.catalog.stats.requests);
      expect(catalogSpans.filter((span) => span.attributes[A.httpStatusCode] === 429)).toHaveLength(
        world.catalog.stats.byStatus[429] ?? 0,
      );
      // Each complete author's writes are spans of their own: profile, entities, manifest.
      const writes = receiver.spans.filter((span) => span.name === SPAN_NAMES.blobWrite);
      const complete = record.authors.filter((author) => author.status === 'complete').length;
      expect(writes.length).toBeGreaterThanOrEqual(3 * complete);
      // No author ID in any attribute of a catalog span (it would make metrics and traces personal).
      for (const span of catalogSpans) {
        for (const authorId of world.authorIds)
          expect(JSON.stringify(span.attributes)).not.toContain(authorId);
      }
    } finally {
      await receiver.close();
      await world.catalog.close();
    }
  },
  60_000,
);

test('with no endpoint configured the CLI sends nothing and says nothing about telemetry', async () => {
  const world = await createWorld(servers, 1);
  const receiver = await startOtlpReceiver();
  try {
    const result = await cliProcess(['run'], world.env);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(/telemetry/i);
    expect(receiver.requests).toHaveLength(0);
  } finally {
    await receiver.close();
    await world.catalog.close();
  }
}, 60_000);
