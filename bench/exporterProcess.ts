import { PassThrough } from 'node:stream';
import { main } from '../src/cli/main';

/**
 * Runs one gallery-export command in a fresh process and reports what a benchmark needs: exit code, output,
 * wall time and the process's peak resident memory. Prints one JSON line on stdout.
 */
async function run(): Promise<void> {
  const argv = process.argv.slice(2);
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  let ticks = 0;
  const started = performance.now();
  const mb = (bytes: number): string => `${Math.round(bytes / 1048576)}M`;
  const peaks = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, rss: 0 };
  // Sampling memoryUsage() costs CPU: only when asked for (BENCH_MEMORY_TIMELINE or BENCH_MEMORY_PEAKS).
  const sampling = Boolean(process.env.BENCH_MEMORY_TIMELINE ?? process.env.BENCH_MEMORY_PEAKS);
  const sampler = setInterval(() => {
    if (!sampling) return;
    const usage = process.memoryUsage();
    for (const key of Object.keys(peaks) as Array<keyof typeof peaks>)
      peaks[key] = Math.max(peaks[key], usage[key]);
    if (process.env.BENCH_MEMORY_TIMELINE && ++ticks % 10 === 0) {
      process.stderr.write(
        `${Math.round(performance.now() - started)} ms: rss ${mb(usage.rss)} heap ${mb(usage.heapUsed)} buffers ${mb(usage.arrayBuffers)}\n`,
      );
    }
  }, 50);
  sampler.unref();
  const code = await main(argv, {
    env: process.env,
    stdout,
    stderr: process.stderr,
    signal: new AbortController().signal,
  });
  const wallMs = performance.now() - started;
  process.stdout.write(
    `${JSON.stringify({ code, wallMs, maxRssBytes: process.resourceUsage().maxRSS * 1024, cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000, memoryPeaks: peaks, output: Buffer.concat(chunks).toString('utf8') })}\n`,
  );
}

void run();
