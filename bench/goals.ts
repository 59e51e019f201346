import type { BenchOptions } from './benchOptions';
import type { LargeAuthorResults } from './parts/largeAuthorPart';
import type { SmallFleetsResults } from './parts/smallFleetsPart';
import type { StartupResults } from './parts/startupPart';
import type { ThroughputResults, ThroughputRun } from './parts/throughputPart';
import { spread, type Spread } from './support';

/** The figures of issue 14's table (and issue 17's start-up cost), per product, with the goals judged. */
export interface BenchResults {
  throughput?: ThroughputResults;
  large?: LargeAuthorResults;
  smallFleets?: SmallFleetsResults;
  startup?: StartupResults;
}

/**
 * `yes`: every run meets the goal; `median`: the median run does, not every run (noise on a shared
 * machine, or a real spread: look at the runs); `no`; `n/a`: not measured this session.
 */
export type Met = 'yes' | 'median' | 'no' | 'n/a';

export interface GoalRow {
  figure: string;
  /** Per product label: the figure as text. */
  values: Record<string, string>;
  goal: string;
  /** Judged on the code under work (`after`). */
  met: Met;
}

type Direction = 'at most' | 'at least' | 'below';

function judge(values: readonly number[], limit: number, direction: Direction): Met {
  if (values.length === 0 || values.some((value) => Number.isNaN(value))) return 'n/a';
  const ok = (value: number): boolean =>
    direction === 'at most' ? value <= limit : direction === 'below' ? value < limit : value >= limit;
  if (values.every(ok)) return 'yes';
  return ok(spread(values).median) ? 'median' : 'no';
}

function both(first: Met, second: Met): Met {
  const order: Met[] = ['no', 'n/a', 'median', 'yes'];
  return order[Math.min(order.indexOf(first), order.indexOf(second))]!;
}

function ranged(values: readonly number[], digits: number, unit = ''): string {
  if (values.length === 0) return '-';
  const s: Spread = spread(values);
  const f = (value: number): string => `${value.toFixed(digits)}${unit}`;
  if (values.length === 1 || s.min === s.max) return f(s.min);
  return `${f(s.min)} - ${f(s.max)} (median ${f(s.median)})`;
}

export function goalRows(results: BenchResults, options: BenchOptions): GoalRow[] {
  const labels = options.products.map((product) => product.label);
  const rows: GoalRow[] = [];
  const perProduct = (format: (label: string) => string): Record<string, string> =>
    Object.fromEntries(labels.map((label) => [label, format(label)]));

  const throughput = results.throughput;
  if (throughput) {
    const runsOf = (label: string): ThroughputRun[] => throughput.runs.filter((run) => run.product === label);
    const pick = (label: string, field: (run: ThroughputRun) => number): number[] => runsOf(label).map(field);
    const fleet = `${throughput.authors} authors x ${throughput.entitiesPerAuthor}`;
    const minimum = throughput.authors * (1 + Math.ceil(throughput.entitiesPerAuthor / throughput.maxTop));
    const entities = throughput.authors * throughput.entitiesPerAuthor;
    const add = (
      figure: string,
      field: (run: ThroughputRun) => number,
      digits: number,
      unit: string,
      limit: number,
      direction: Direction,
      goal: string,
    ): void => {
      rows.push({
        figure,
        values: perProduct((label) => ranged(pick(label, field), digits, unit)),
        goal,
        met: judge(pick('after', field), limit, direction),
      });
    };
    add(
      `wall / bound ceil(requests/16) x 100 ms, process start included (${fleet}, ${throughput.launcher})`,
      (run) => run.ratioToBound,
      2,
      '',
      1.3,
      'at most',
      '<= 1.3',
    );
    add(
      'same, process start (`--version`, same launcher) taken out',
      (run) => run.ratioToBoundWithoutStart,
      2,
      '',
      1.1,
      'at most',
      '<= 1.1',
    );
    add(
      'speed-up over the naive sequential exporter, same session',
      (run) => run.speedupOverNaive,
      1,
      'x',
      14,
      'at least',
      '>= 14x',
    );
    add(
      'mean catalog requests in flight (of 16), over the catalog phase (first request to last answer)',
      (run) => run.meanInFlight,
      1,
      '',
      15,
      'at least',
      '>= 15',
    );
    rows.push({
      figure:
        'where the catalog phase was below 16 in flight: ms before it first reached 16 / between / after it last left 16',
      values: perProduct((label) =>
        runsOf(label)
          .map((run) => (run.gaps ? `${run.gaps.startMs} / ${run.gaps.middleMs} / ${run.gaps.tailMs}` : '-'))
          .join('; '),
      ),
      goal: '-',
      met: 'n/a',
    });
    rows.push({
      figure: 'for reference: mean in flight over the whole wall (process start and final writes included)',
      values: perProduct((label) =>
        ranged(
          pick(label, (run) => run.meanInFlightOverWall),
          1,
        ),
      ),
      goal: '-',
      met: 'n/a',
    });
    add(
      `catalog requests (fewest: ${minimum})`,
      (run) => run.requests,
      0,
      '',
      Math.floor(minimum * 1.05),
      'at most',
      `<= ${Math.floor(minimum * 1.05)}`,
    );
    rows.push({
      figure: `product CPU (user + sys) for the ${entities.toLocaleString('en-US')} ${throughput.catalog.shape} entities, with its wall; over the naive exporter's CPU in the same session`,
      values: perProduct((label) => {
        const runs = runsOf(label);
        if (runs.length === 0) return '-';
        return `${ranged(
          runs.map((run) => run.cpuOverNaive),
          2,
          'x',
        )} (CPU ${ranged(
          runs.map((run) => run.cpuS),
          2,
          ' s',
        )}; wall ${ranged(
          runs.map((run) => run.wallS),
          2,
          ' s',
        )})`;
      }),
      goal: `<= 0.6x (naive: CPU ${throughput.naive.cpuS.toFixed(2)} s, wall ${throughput.naive.wallS.toFixed(1)} s)`,
      met: judge(
        pick('after', (run) => run.cpuOverNaive),
        0.6,
        'at most',
      ),
    });
    rows.push({
      figure: 'for reference: wall, bound, max in flight, peak RSS',
      values: perProduct(
        (label) =>
          `${ranged(
            pick(label, (run) => run.wallS),
            2,
            ' s',
          )}; bound ${ranged(
            pick(label, (run) => run.boundS),
            1,
            ' s',
          )}; max ${ranged(
            pick(label, (run) => run.maxInFlight),
            0,
          )}; ${ranged(
            pick(label, (run) => run.peakRssMiB),
            0,
            ' MiB',
          )}`,
      ),
      goal: `naive: ${throughput.naive.wallS.toFixed(1)} s, ${throughput.naive.requests} requests`,
      met: 'n/a',
    });
  }

  const large = results.large;
  if (large) {
    const runOf = (label: string) => large.runs.find((run) => run.product === label);
    const after = runOf('after');
    rows.push({
      figure: `${large.entities.toLocaleString('en-US')}-entity author at latency 0: peak RSS / wall (CPU)`,
      values: perProduct((label) => {
        const run = runOf(label);
        return run
          ? `${run.peakRssMiB.toFixed(0)} MiB / ${run.wallS.toFixed(1)} s (CPU ${run.cpuS.toFixed(1)} s)`
          : '-';
      }),
      goal: '< 200 MiB / <= 10 s',
      met: after ? both(judge([after.peakRssMiB], 200, 'below'), judge([after.wallS], 10, 'at most')) : 'n/a',
    });
  }

  const small = results.smallFleets;
  if (small) {
    const [few, many] = small.fleets;
    const linear = many / few;
    const cliMedian = (label: string, fleet: number): number =>
      spread(small.cli.filter((run) => run.product === label && run.fleet === fleet).map((run) => run.wallS))
        .median;
    const cliCpu = (label: string, fleet: number): number =>
      spread(small.cli.filter((run) => run.product === label && run.fleet === fleet).map((run) => run.cpuS))
        .median;
    if (small.cli.length > 0) {
      const ratio = (label: string): number => cliMedian(label, many) / cliMedian(label, few);
      rows.push({
        figure: `${few} -> ${many} small authors (${small.entitiesPerAuthor} entities, ${small.latencyMs} ms), CLI: time ratio (walls, CPU)`,
        values: perProduct(
          (label) =>
            `${ratio(label).toFixed(2)} (${cliMedian(label, few).toFixed(1)} s -> ${cliMedian(label, many).toFixed(1)} s; CPU ${cliCpu(label, few).toFixed(1)} s -> ${cliCpu(label, many).toFixed(1)} s)`,
        ),
        goal: `<= ${(linear * 1.1).toFixed(1)} (linear: ${linear})`,
        met: labels.includes('after') ? judge([ratio('after')], linear * 1.1, 'at most') : 'n/a',
      });
    }
    if (small.fanOut.length > 0) {
      const fan = (label: string, fleet: number) =>
        small.fanOut.find((run) => run.product === label && run.fleet === fleet);
      const describe = (label: string): string => {
        const a = fan(label, few);
        const b = fan(label, many);
        if (!a || !b) return '-';
        const drain = (run: typeof a): string =>
          run.finalised
            ? `${run.drainS.toFixed(1)} s`
            : `not done after ${run.drainS.toFixed(0)} s (${run.outcomes} complete, ${run.pending} pending)`;
        const ratios =
          a.finalised && b.finalised
            ? `; ratio ${(b.drainS / a.drainS).toFixed(2)}, ${(b.drainS / cliMedian(label, many)).toFixed(2)}x the CLI`
            : '';
        return `${few}: ${drain(a)}, ${many}: ${drain(b)}${ratios}; CPU ${a.cpuS.toFixed(1)} s / ${b.cpuS.toFixed(1)} s`;
      };
      const a = fan('after', few);
      const b = fan('after', many);
      const met: Met =
        !a || !b
          ? 'n/a'
          : !a.finalised || !b.finalised
            ? 'no'
            : both(
                judge([b.drainS / a.drainS], linear * 1.1, 'at most'),
                small.cli.length > 0 ? judge([b.drainS / cliMedian('after', many)], 2, 'at most') : 'n/a',
              );
      const perAuthor = (label: string): string => {
        const run = fan(label, few);
        return run?.blobOperationsPerAuthor === undefined
          ? '-'
          : `${run.blobOperationsPerAuthor.toFixed(1)} (${Object.entries(run.blobOperationsByKind ?? {})
              .sort((x, y) => y[1] - x[1])
              .map(([kind, count]) => `${kind} ${(count / Math.max(1, run.outcomes)).toFixed(1)}`)
              .join(', ')})`;
      };
      rows.push({
        figure: `fan-out: blob operations per small author through the queue (${few} authors, counted at a proxy, the timer's planning left out)`,
        values: perProduct(perAuthor),
        goal: 'fewer than before (test/functions/fanOutCost.test.ts bounds one delivery)',
        met: (() => {
          const after = fan('after', few)?.blobOperationsPerAuthor;
          const before = fan('before', few)?.blobOperationsPerAuthor;
          return after === undefined || before === undefined ? 'n/a' : after < before ? 'yes' : 'no';
        })(),
      });
      rows.push({
        figure: `the same through the queue fan-out (timer, then every message, ${options.fanOut.concurrency} invocations at a time)`,
        values: perProduct(describe),
        goal: `${many} drain within ${(linear * 1.1).toFixed(1)}x the time of ${few}, and within 2x the CLI's time`,
        met,
      });
    }
  }

  const startup = results.startup;
  if (startup) {
    const COMMAND_TEXT = {
      version: '`gallery-export --version`',
      'run-settings-error': '`gallery-export run` with a settings error (exit 2)',
    };
    const figure = (label: string, command: string) =>
      startup.figures.find((entry) => entry.product === label && entry.command === command);
    for (const command of ['version', 'run-settings-error'] as const) {
      const after = figure('after', command);
      const before = figure('before', command);
      const added = after && before ? after.medianMs - before.medianMs : NaN;
      rows.push({
        figure: `start-up with no OTEL_* endpoint: ${COMMAND_TEXT[command]}, median / p90 of ${startup.processes} processes`,
        values: perProduct((label) => {
          const entry = figure(label, command);
          if (!entry) return '-';
          const delta =
            label === 'after' && !Number.isNaN(added)
              ? ` (${added >= 0 ? '+' : ''}${added.toFixed(0)} ms)`
              : '';
          return `${entry.medianMs.toFixed(0)} / ${entry.p90Ms.toFixed(0)} ms${delta}`;
        }),
        goal: '<= 50 ms added',
        met: Number.isNaN(added) ? 'n/a' : judge([added], 50, 'at most'),
      });
    }
  }
  for (const row of packageRows(results.startup, perProduct)) rows.push(row);
  return rows;
}

/** Issue 28's cold start: each product's deployment package, and loading its entry point. */
function packageRows(
  startup: StartupResults | undefined,
  perProduct: (format: (label: string) => string) => Record<string, string>,
): GoalRow[] {
  const packages = startup?.packages;
  if (!packages || packages.length === 0) return [];
  const of = (label: string) => packages.find((entry) => entry.product === label);
  const after = of('after');
  const before = of('before');
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return [
    {
      figure: 'deployment package (scripts/package.js): size, files',
      values: perProduct((label) => {
        const entry = of(label);
        return entry ? `${mib(entry.bytes)}, ${entry.files.toLocaleString('en-US')} files` : '-';
      }),
      goal: '<= 10 MiB, <= 100 files',
      met: after ? (after.bytes <= 10 * 2 ** 20 && after.files <= 100 ? 'yes' : 'no') : 'n/a',
    },
    {
      figure: `cold start: loading the package's entry point as the worker does (every function registered), CPU / wall, median (p90) of ${packages[0]!.processes} processes; whole process in brackets`,
      values: perProduct((label) => {
        const entry = of(label);
        if (!entry) return '-';
        const ratio =
          label === 'after' && before
            ? `; ${(entry.loadMedianCpuMs / before.loadMedianCpuMs).toFixed(2)}x before's CPU`
            : '';
        return `${entry.loadMedianCpuMs.toFixed(0)} (${entry.loadP90CpuMs.toFixed(0)}) ms / ${entry.loadMedianWallMs.toFixed(0)} (${entry.loadP90WallMs.toFixed(0)}) ms [${entry.processMedianCpuMs.toFixed(0)} / ${entry.processMedianWallMs.toFixed(0)} ms]; ${entry.functions} functions${ratio}`;
      }),
      goal: 'less than before',
      met: after && before ? (after.loadMedianCpuMs < before.loadMedianCpuMs ? 'yes' : 'no') : 'n/a',
    },
  ];
}

/** A markdown table (also what the console shows): figure, one column per product, goal, met. */
export function renderGoalTable(rows: readonly GoalRow[], labels: readonly string[]): string {
  const ordered = [...labels].sort((a, b) => (a === 'before' ? -1 : b === 'before' ? 1 : 0));
  const header = ['figure', ...ordered, 'goal', 'met?'];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(
      (row) =>
        `| ${[row.figure, ...ordered.map((label) => row.values[label] ?? '-'), row.goal, row.met].join(' | ')} |`,
    ),
  ];
  return lines.join('\n');
}
