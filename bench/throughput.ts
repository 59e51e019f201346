import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { startAzurite } from '../dev/azurite';
import { startVaultEmulator } from '../dev/vault-emulator';
import type { RunRecord } from '../src/contract/formats';
import { lineChartSvg, type Series } from './chart';
import { runExporterProcess, startSimulatorProcess, writeResults, type ExporterResult } from './support';

/**
 * How close gallery-export runs to what the service allows, and how much faster than a naive exporter.
 * Against the catalog simulator (its own process) with a fixed latency L, A authors with E entities each:
 * gallery-export at concurrency C (each run a fresh process, start included) against the lower bound
 * ceil(requests / C) * L, and against the naive baseline (bench/naiveExporter.ts) in the same session.
 * Usage: npm run bench [-- --authors 200 --entities 500 --latencies 100,0 --concurrency 1,4,16,64]
 */
interface Measurement {
  latencyMs: number;
  concurrency: number | 'naive';
  wallSeconds: number;
  requests: number;
  entities: number;
  entitiesPerSecond: number;
  peakRssMiB: number;
  maxInFlight: number;
  connections: number;
  lowerBoundSeconds?: number;
  ratioToBound?: number;
  speedupOverNaive?: number;
  complete: boolean;
}

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

async function main(): Promise<void> {
  const authorCount = Number(option('authors', '200'));
  const entities = Number(option('entities', '500'));
  const latencies = option('latencies', '100,0').split(',').map(Number);
  const concurrencies = option('concurrency', '1,4,16,64').split(',').map(Number);
  const authorIds = Array.from({ length: authorCount }, (_, index) =>
    createHash('sha256').update(`bench-author-${index}`).digest('hex').toUpperCase(),
  );
  const azurite = await startAzurite({ extentMemoryLimitMb: 4096 });
  const vault = await startVaultEmulator();
  const measurements: Measurement[] = [];
  try {
    for (const latencyMs of latencies) {
      const simulator = await startSimulatorProcess({
        seed: 1,
        authors: authorIds.map((authorId) => ({ authorId, entities, unlistedRatio: 0.1 })),
        faults: { latencyMs },
      });
      try {
        for (const authorId of authorIds) {
          vault.setSecret(
            `gallery-author-${authorId.slice(0, 12).toLowerCase()}`,
            JSON.stringify({ authorId, accessToken: simulator.tokens[authorId] }),
            {
              tags: { authorId },
            },
          );
        }
        const env = (container: string, concurrency: number): Record<string, string> => ({
          CATALOG_BASE_URL: simulator.url,
          KEY_VAULT_URL: vault.url,
          EXPORT_STORAGE: azurite.connectionString,
          EXPORT_CONTAINER: container,
          CATALOG_CONCURRENCY: String(concurrency),
          AUTHOR_CONCURRENCY: String(Math.min(64, Math.max(4, 2 * concurrency))),
        });
        const measure = async (concurrency: number | 'naive'): Promise<Measurement> => {
          await simulator.resetStats();
          const container = `bench-${latencyMs}-${concurrency}-${Date.now().toString(36)}`;
          console.error(
            `L=${latencyMs} ms, ${concurrency === 'naive' ? 'naive baseline' : `C=${concurrency}`}...`,
          );
          const result: ExporterResult =
            concurrency === 'naive'
              ? await runExporterProcess([], env(container, 1), 'naiveExporter.js')
              : await runExporterProcess(['run', '--json'], env(container, concurrency));
          const stats = await simulator.stats();
          let exported = authorCount * entities;
          let complete = result.code === 0;
          if (concurrency !== 'naive') {
            const record = JSON.parse(result.output) as RunRecord;
            exported = record.authors.reduce((sum, author) => sum + (author.counts?.entities ?? 0), 0);
            complete = complete && record.status === 'complete';
          }
          const wallSeconds = result.processWallMs / 1000;
          const measurement: Measurement = {
            latencyMs,
            concurrency,
            wallSeconds: +wallSeconds.toFixed(2),
            requests: stats.requests,
            entities: exported,
            entitiesPerSecond: Math.round(exported / wallSeconds),
            peakRssMiB: +(result.maxRssBytes / 1048576).toFixed(1),
            maxInFlight: stats.maxInFlight,
            connections: stats.connections,
            complete,
          };
          if (concurrency !== 'naive' && latencyMs > 0) {
            const bound = (Math.ceil(stats.requests / concurrency) * latencyMs) / 1000;
            measurement.lowerBoundSeconds = +bound.toFixed(2);
            measurement.ratioToBound = +(wallSeconds / bound).toFixed(3);
          }
          console.error(`  ${JSON.stringify(measurement)}`);
          return measurement;
        };
        const naive = await measure('naive');
        measurements.push(naive);
        for (const concurrency of concurrencies) {
          const ours = await measure(concurrency);
          ours.speedupOverNaive = +(naive.wallSeconds / ours.wallSeconds).toFixed(2);
          measurements.push(ours);
        }
      } finally {
        await simulator.stop();
      }
    }
  } finally {
    await vault.close();
    await azurite.stop();
  }

  const results = {
    date: new Date().toISOString(),
    node: process.version,
    machine: 'shared 2-core machine; Azurite and the simulator run on it too',
    authors: authorCount,
    entitiesPerAuthor: entities,
    measurements,
  };
  const path = await writeResults('throughput', results);
  const svgPath = path.replace(/\.json$/, '.svg');
  await writeFile(svgPath, chart(measurements, authorCount, entities));
  printTable(measurements);
  console.error(`Results: ${path}\nChart: ${svgPath}`);

  const reference = measurements.find((entry) => entry.latencyMs === 100 && entry.concurrency === 16);
  if (reference) {
    const ok =
      reference.complete &&
      (reference.ratioToBound ?? Infinity) <= 1.3 &&
      reference.maxInFlight <= 16 &&
      (reference.speedupOverNaive ?? 0) >= 12;
    console.error(
      `Reference (L=100 ms, C=16): ${reference.ratioToBound}x the lower bound (target <= 1.3), ${reference.speedupOverNaive}x the naive baseline (target >= 12), at most ${reference.maxInFlight} in flight: ${ok ? 'PASS' : 'FAIL'}`,
    );
    if (!ok) process.exitCode = 1;
  }
}

function chart(measurements: Measurement[], authors: number, entities: number): string {
  const series: Series[] = [];
  const colors = ['#1f77b4', '#2ca02c', '#9467bd'];
  const latencies = [...new Set(measurements.map((entry) => entry.latencyMs))];
  latencies.forEach((latencyMs, index) => {
    const ours = measurements.filter(
      (entry) => entry.latencyMs === latencyMs && entry.concurrency !== 'naive',
    );
    series.push({
      name: `gallery-export, L=${latencyMs} ms`,
      color: colors[index % colors.length]!,
      points: ours.map((entry) => ({ x: entry.concurrency as number, y: entry.entitiesPerSecond })),
    });
    if (latencyMs > 0) {
      series.push({
        name: `lower bound, L=${latencyMs} ms`,
        color: '#888',
        dashed: true,
        points: ours.map((entry) => ({
          x: entry.concurrency as number,
          y: Math.round(entry.entities / entry.lowerBoundSeconds!),
        })),
      });
    }
    const naive = measurements.find(
      (entry) => entry.latencyMs === latencyMs && entry.concurrency === 'naive',
    );
    if (naive && ours.length > 0) {
      series.push({
        name: `naive baseline, L=${latencyMs} ms`,
        color: index === 0 ? '#d62728' : '#ff9896',
        dashed: true,
        points: ours.map((entry) => ({ x: entry.concurrency as number, y: naive.entitiesPerSecond })),
      });
    }
  });
  return lineChartSvg(
    `Throughput: ${authors} authors x ${entities} entities`,
    'catalog concurrency C (requests in flight)',
    'entities per second (log scale)',
    series,
  );
}

function printTable(measurements: Measurement[]): void {
  const rows = measurements.map((entry) =>
    [
      `${entry.latencyMs}`,
      `${entry.concurrency}`,
      entry.wallSeconds.toFixed(2),
      `${entry.requests}`,
      `${entry.entitiesPerSecond}`,
      entry.lowerBoundSeconds?.toFixed(2) ?? '-',
      entry.ratioToBound?.toFixed(2) ?? '-',
      entry.speedupOverNaive?.toFixed(1) ?? '-',
      `${entry.maxInFlight}`,
      entry.peakRssMiB.toFixed(0),
    ].join('\t'),
  );
  console.log(
    [
      'L ms\tC\twall s\trequests\tentities/s\tbound s\tx bound\tx naive\tmax in flight\tpeak RSS MiB',
      ...rows,
    ].join('\n'),
  );
}

void main();
