import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Launcher, Product } from './measuredProcess';
import type { BenchCatalogShape } from './support';

/** The RSA key the fleet vault holds for `--signing` (3072 bits, as the templates create it). */
export const BENCH_SIGNING_KEY_NAME = 'bench-snapshot-signing';

/** Share of list items the documented catalog sends wrapped as `{"entity": {...}}`. */
export const DOCUMENTED_WRAP_RATE = 0.5;

/** The parts of the bench, each runnable alone with `--only`. */
export const PARTS = ['throughput', 'large', 'scale', 'fanout', 'startup'] as const;
export type Part = (typeof PARTS)[number];

/**
 * What one bench session measures. Only the sizes differ between the full bench and `--quick`; the
 * settings given to the product are always the contract's (see bench/throughput.ts).
 */
export interface BenchOptions {
  quick: boolean;
  parts: ReadonlySet<Part>;
  /** The code under work first, then (with `--before <dir>`) the "today", side by side. */
  products: readonly Product[];
  launcher: Launcher;
  /** The entities the catalog serves in every part. */
  catalog: BenchCatalogShape;
  repetitions: number;
  throughput: { authors: number; entities: number; latencyMs: number; concurrency: number; pageSize: number };
  large: { entities: number; verify: boolean; bundle: boolean };
  scale: { fleets: readonly [number, number]; entities: number; latencyMs: number; repetitions: number };
  fanOut: { concurrency: number; timeoutMs: number };
  startup: { processes: number };
  /** `--cpu-prof <dir>`: a CPU profile of every measured throughput run, under <dir>/<product>-<run>/. */
  cpuProfileDir?: string | undefined;
  /** `--version` runs per product to measure process start. */
  startSamples: number;
}

const FULL = {
  repetitions: 3,
  throughput: { authors: 200, entities: 500 },
  large: 200_000,
  fleets: [200, 1000] as const,
  scaleRepetitions: 3,
  startup: 24,
  startSamples: 5,
};

/**
 * `--quick`: the throughput part alone unless `--only` names others, at the full fleet (its ratios mean
 * what the goals mean), one run of each product and of the naive exporter: a few minutes. The other
 * parts, when asked for, run smaller.
 */
const QUICK = {
  repetitions: 1,
  throughput: { authors: 200, entities: 500 },
  large: 50_000,
  fleets: [20, 100] as const,
  scaleRepetitions: 1,
  startup: 8,
  startSamples: 2,
};

export const USAGE = `Usage: node dist/bench/throughput.js [options]   (npm run bench [-- options])
  --quick                 the throughput part only (unless --only), one run of each product and of the naive
                          exporter: a check of a change in a few minutes; other parts asked for run smaller
  --only <parts>          comma-separated: ${PARTS.join(',')} (default: all)
  --before <dir>          also measure the build in <dir> (a worktree of the old code, built), side by side
  --product <dir>         the build under test (default: this repository)
  --launcher npx|node     start the product as \`npx --no-install gallery-export\` (default) or \`node bin/gallery-export.js\`
  --repetitions <n>       throughput runs per product (default 3, quick 1)
  --authors <n>           throughput fleet (default 200)
  --entities <n>          entities per throughput author (default 500)
  --large-entities <n>    the large author (default 200000)
  --fleets <a>,<b>        small-author fleets of the scale and fan-out runs (default 200,1000)
  --fanout-timeout <s>    give up on a fan-out drain after this long (default 600)
  --entity-shape <s>      documented (default: HTML descriptions with unicode and escapes, a few of 200 KB,
                          half the list items wrapped) or compact (the small entities of earlier sessions)
  --signing               also measure this build with SIGNING_KEY_NAME set (a key in the fleet vault)
  --cpu-prof <dir>        write a CPU profile (node --cpu-prof) of every throughput run under <dir>
  --latency <ms>          the throughput catalog's latency (default 100; 0 shows the product's CPU alone)
  --verify                also run \`gallery-export verify\` on the large author's snapshot
  --bundle                also download the large author's bundle through GET /api/authors/{id}/bundle
                          (the real handler, in a process of its own): its peak RSS, wall and zip size`;

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const value = (name: string): string | undefined => {
    const index = argv.indexOf(`--${name}`);
    if (index < 0) return undefined;
    const next = argv[index + 1];
    if (next === undefined || next.startsWith('--')) throw new Error(`--${name} needs a value\n${USAGE}`);
    return next;
  };
  const number = (name: string, fallback: number): number => {
    const text = value(name);
    if (text === undefined) return fallback;
    const parsed = Number(text);
    if (!(Number.isFinite(parsed) && parsed > 0)) throw new Error(`--${name} must be a positive number`);
    return parsed;
  };
  const quick = argv.includes('--quick');
  const sizes = quick ? QUICK : FULL;

  const only = value('only');
  const parts = new Set<Part>(
    only === undefined
      ? quick
        ? ['throughput']
        : PARTS
      : only.split(',').map((name) => {
          if (!(PARTS as readonly string[]).includes(name)) throw new Error(`unknown part ${name}\n${USAGE}`);
          return name as Part;
        }),
  );

  const repositoryRoot = resolve(__dirname, '..', '..');
  const products: Product[] = [{ label: 'after', root: checkedProduct(value('product') ?? repositoryRoot) }];
  const before = value('before');
  if (before !== undefined) products.push({ label: 'before', root: checkedProduct(before) });
  if (argv.includes('--signing')) {
    // The same build again with the contract's SIGNING_KEY_NAME set: what signing costs (issue 15).
    products.push({
      label: 'after+signing',
      root: products[0]!.root,
      settings: { SIGNING_KEY_NAME: BENCH_SIGNING_KEY_NAME },
    });
  }

  const launcher = value('launcher') ?? 'npx';
  if (launcher !== 'npx' && launcher !== 'node') throw new Error('--launcher is npx or node');

  const shape = value('entity-shape') ?? 'documented';
  if (shape !== 'documented' && shape !== 'compact')
    throw new Error('--entity-shape is documented or compact');

  const fleetText = value('fleets');
  const fleets = fleetText === undefined ? sizes.fleets : fleetText.split(',').map(Number);
  if (fleets.length !== 2 || fleets.some((size) => !(Number.isInteger(size) && size > 0))) {
    throw new Error('--fleets takes two sizes, e.g. 200,1000');
  }

  return {
    quick,
    parts,
    products,
    launcher,
    catalog: { shape, wrapRate: shape === 'documented' ? DOCUMENTED_WRAP_RATE : 0 },
    repetitions: number('repetitions', sizes.repetitions),
    throughput: {
      authors: number('authors', sizes.throughput.authors),
      entities: number('entities', sizes.throughput.entities),
      latencyMs: value('latency') === undefined ? 100 : Number(value('latency')),
      concurrency: 16,
      pageSize: 100,
    },
    large: {
      entities: number('large-entities', sizes.large),
      verify: argv.includes('--verify'),
      bundle: argv.includes('--bundle'),
    },
    scale: {
      fleets: [fleets[0], fleets[1]],
      entities: 4,
      latencyMs: 10,
      repetitions: sizes.scaleRepetitions,
    },
    fanOut: { concurrency: 16, timeoutMs: number('fanout-timeout', 600) * 1000 },
    startup: { processes: sizes.startup },
    startSamples: sizes.startSamples,
    cpuProfileDir: value('cpu-prof') && resolve(value('cpu-prof')!),
  };
}

function checkedProduct(folder: string): string {
  const root = resolve(folder);
  for (const needed of [
    'bin/gallery-export.js',
    'dist/src/cli/main.js',
    'dist/src/functions/exportTimer.js',
  ]) {
    if (!existsSync(join(root, needed))) {
      throw new Error(
        `${root} is not a built gallery-export (no ${needed}): run npm ci && npm run build there`,
      );
    }
  }
  return root;
}
