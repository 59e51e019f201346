import { appendFileSync } from 'node:fs';

/**
 * Loaded into a measured process with `NODE_OPTIONS=--require <this file>` (it changes nothing the product
 * does): when the process exits it appends one JSON line, a {@link MeterRecord}, to `BENCH_METER_FILE`.
 * This is how the bench reads the CPU time and peak memory of the real `gallery-export` process, also
 * when it is started through `npx` (whose own npm process writes a record too, told apart by its script).
 */
export interface MeterRecord {
  pid: number;
  /** The script node ran (process.argv[1]), as given. */
  script: string;
  /** Milliseconds since the Unix epoch when the process started (performance.timeOrigin). */
  startedAtMs: number;
  /** From the process's start to its exit, measured inside it. */
  lifetimeMs: number;
  userCpuMs: number;
  systemCpuMs: number;
  /** Peak resident set size (getrusage ru_maxrss). */
  maxRssBytes: number;
  exitCode: number;
}

const file = process.env.BENCH_METER_FILE;
if (file) {
  process.once('exit', (code) => {
    const usage = process.resourceUsage();
    const record: MeterRecord = {
      pid: process.pid,
      script: process.argv[1] ?? '',
      startedAtMs: performance.timeOrigin,
      lifetimeMs: performance.now(),
      userCpuMs: usage.userCPUTime / 1000,
      systemCpuMs: usage.systemCPUTime / 1000,
      maxRssBytes: usage.maxRSS * 1024,
      exitCode: code,
    };
    appendFileSync(file, `${JSON.stringify(record)}\n`);
  });
}
