import { createHash } from 'node:crypto';
import { startAzurite } from '../dev/azurite';
import { startVaultEmulator } from '../dev/vault-emulator';
import type { RunRecord } from '../src/contract/formats';
import { mib, runExporterProcess, startSimulatorProcess, writeResults } from './support';

/**
 * One author with 200,000 entities (issue: snapshots must never need to fit in memory): exports it in a
 * process of its own, reports that process's peak RSS and wall time, then verifies the snapshot.
 * Usage: npm run bench:large [-- <entities>]
 */
async function main(): Promise<void> {
  const entities = Number(process.argv[2] ?? 200_000);
  const authorId = createHash('sha256').update('large-author').digest('hex').toUpperCase();
  const azurite = await startAzurite({ extentMemoryLimitMb: 4096 });
  const vault = await startVaultEmulator();
  console.error(`Generating ${entities} entities in the simulator process...`);
  const simulator = await startSimulatorProcess({
    seed: 1,
    authors: [{ authorId, entities, unlistedRatio: 0.1 }],
  });
  try {
    vault.setSecret(
      'gallery-author-large',
      JSON.stringify({ authorId, accessToken: simulator.tokens[authorId] }),
      {
        tags: { authorId },
      },
    );
    const env = {
      CATALOG_BASE_URL: simulator.url,
      KEY_VAULT_URL: vault.url,
      EXPORT_STORAGE: azurite.connectionString,
      EXPORT_CONTAINER: 'bench-large',
    };
    console.error('Exporting...');
    process.env.BENCH_MEMORY_PEAKS ??= '1';
    const exported = await runExporterProcess(['run', '--json'], env);
    const record = JSON.parse(exported.output) as RunRecord;
    const author = record.authors[0]!;
    console.error('Verifying...');
    const verified = await runExporterProcess(['verify', '--json'], env);
    const results = {
      entities,
      exitCode: exported.code,
      status: author.status,
      exported: author.counts?.entities,
      wallSeconds: +(exported.wallMs / 1000).toFixed(1),
      peakRssMiB: +(exported.maxRssBytes / 1024 / 1024).toFixed(1),
      memoryPeaksMiB: Object.fromEntries(
        Object.entries(exported.memoryPeaks).map(([key, value]) => [key, +(value / 1024 / 1024).toFixed(1)]),
      ),
      catalog: author.catalog,
      verifyExitCode: verified.code,
      verifyPeakRssMiB: +(verified.maxRssBytes / 1024 / 1024).toFixed(1),
      node: process.version,
    };
    console.log(JSON.stringify(results, null, 2));
    console.error(
      `${entities} entities: ${author.status}, ${(exported.wallMs / 1000).toFixed(1)} s, peak RSS ${mib(exported.maxRssBytes)} (limit 300 MiB); verify exit ${verified.code}`,
    );
    console.error(`Results: ${await writeResults('large-author', results)}`);
    if (exported.code !== 0 || verified.code !== 0 || exported.maxRssBytes > 300 * 1024 * 1024)
      process.exitCode = 1;
  } finally {
    await simulator.stop();
    await vault.close();
    await azurite.stop();
  }
}

void main();
