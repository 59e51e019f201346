import { parseBenchOptions } from './benchOptions';
import { goalRows, renderGoalTable } from './goals';
import { largeAuthorPart } from './parts/largeAuthorPart';
import { resultsPath, say, writeResults } from './support';

/**
 * `npm run bench:large [-- <entities>] [-- --before <dir>]`: the large-author part of the bench alone
 * (one author, 200,000 entities by default, latency 0), then `gallery-export verify` of the result. The
 * same as `npm run bench -- --only large --verify`.
 */
async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const entities = argv[0] !== undefined && /^\d+$/.test(argv[0]) ? argv[0] : undefined;
  const options = parseBenchOptions([
    '--only',
    'large',
    '--verify',
    ...(entities ? ['--large-entities', entities] : []),
    ...argv.slice(entities ? 1 : 0),
  ]);
  const large = await largeAuthorPart(options);
  const rows = goalRows({ large }, options);
  console.log(
    renderGoalTable(
      rows,
      options.products.map((product) => product.label),
    ),
  );
  say(
    `results: ${await writeResults(resultsPath('large-author'), { date: new Date().toISOString(), node: process.version, large })}`,
  );
  const failed = large.runs.some(
    (run) => run.error !== undefined || (run.verify && run.verify.exitCode !== 0),
  );
  if (failed || rows.some((row) => row.met === 'no')) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(2);
});
