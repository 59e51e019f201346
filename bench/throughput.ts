import os from 'node:os';
import { parseBenchOptions, PARTS, USAGE, type Part } from './benchOptions';
import { goalRows, renderGoalTable, type BenchResults } from './goals';
import { largeAuthorPart } from './parts/largeAuthorPart';
import { smallFleetsPart } from './parts/smallFleetsPart';
import { startupPart } from './parts/startupPart';
import { throughputPart } from './parts/throughputPart';
import { resultsPath, say, writeResults } from './support';

/**
 * `npm run bench`: every figure of issue 14's table (and issue 17's start-up cost), measured side by side
 * in one session against the repository's catalog simulator (its own process), the vault emulator and
 * Azurite, with the product started as a user starts it and given only the contract's settings:
 *
 * - throughput: 200 authors x 500 entities at 100 ms latency, `$top` capped at 100, three runs, against
 *   the bound ceil(requests / 16) x 100 ms and the naive sequential exporter (bench/naiveExporter.ts);
 * - large: one author with 200,000 entities at latency 0 (peak RSS, wall, CPU);
 * - scale: 200 and 1,000 small authors through `gallery-export run`;
 * - fanout: the same fleets through the Functions handlers, 16 invocations at a time (bench/fanOutHost.ts);
 * - startup: `--version` and a settings error in fresh processes (telemetry's cost with nothing configured).
 *
 * With `--before <dir>` every part also measures that build (the code at the start of the work), in turn
 * with this one. `--help` lists the options; docs/performance.md has the figures and how long it takes.
 */
async function main(): Promise<void> {
  if (process.argv.includes('--help')) {
    console.log(USAGE);
    return;
  }
  const options = parseBenchOptions(process.argv.slice(2));
  const started = performance.now();
  say(
    `bench${options.quick ? ' (quick)' : ''}: ${[...options.parts].join(', ')}; products ${options.products
      .map((product) => `${product.label}=${product.root}`)
      .join(', ')}; launcher ${options.launcher}`,
  );
  const results: BenchResults = {};
  const failures: Partial<Record<Part, string>> = {};
  const name = [
    'bench',
    ...(options.quick ? ['quick'] : []),
    ...(options.parts.size < PARTS.length ? [...options.parts] : []),
  ].join('-');
  const path = resultsPath(name, { scratch: options.quick });
  // Written after every part, so a part that fails (or a session cut short) keeps what was measured.
  const save = (): Promise<string> =>
    writeResults(path, {
      date: new Date().toISOString(),
      node: process.version,
      machine: `${process.platform}, ${os.cpus().length} cores, shared; Azurite, the simulator and the vault emulator run on it too`,
      quick: options.quick,
      launcher: options.launcher,
      products: options.products,
      settings:
        'CATALOG_CONCURRENCY=16, CATALOG_PAGE_SIZE=100 (+ CATALOG_BASE_URL, KEY_VAULT_URL, EXPORT_STORAGE, EXPORT_CONTAINER)',
      minutes: +((performance.now() - started) / 60_000).toFixed(1),
      goals: goalRows(results, options),
      failures,
      ...results,
    });
  const parts: Array<[Part, () => Promise<void>]> = [
    [
      'throughput',
      async () => {
        results.throughput = await throughputPart(options);
      },
    ],
    [
      'large',
      async () => {
        results.large = await largeAuthorPart(options);
      },
    ],
    [
      'scale',
      async () => {
        results.smallFleets = await smallFleetsPart(options, {
          cli: true,
          fanOut: options.parts.has('fanout'),
        });
      },
    ],
    [
      'fanout',
      async () => {
        // Measured with the scale part when both run (the fleets are set up once).
        if (!options.parts.has('scale')) {
          results.smallFleets = await smallFleetsPart(options, { cli: false, fanOut: true });
        }
      },
    ],
    [
      'startup',
      async () => {
        results.startup = await startupPart(options);
      },
    ],
  ];
  for (const [part, measure] of parts) {
    if (!options.parts.has(part)) continue;
    try {
      await measure();
    } catch (error) {
      failures[part] = error instanceof Error ? (error.stack ?? error.message) : String(error);
      say(`${part}: FAILED ${failures[part]}`);
    }
    await save();
  }

  const rows = goalRows(results, options);
  console.log(
    renderGoalTable(
      rows,
      options.products.map((product) => product.label),
    ),
  );
  say(`results: ${path} (${((performance.now() - started) / 60_000).toFixed(1)} min)`);
  const missed = rows.filter((row) => row.met === 'no');
  if (options.quick) {
    say('quick mode: smaller fleets, one run; the figures show a change, they do not judge the goals');
  } else if (missed.length > 0 || Object.keys(failures).length > 0) {
    say(
      `goals missed: ${missed.map((row) => row.figure).join('; ') || 'none'}; parts failed: ${Object.keys(failures).join(', ') || 'none'}`,
    );
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});
