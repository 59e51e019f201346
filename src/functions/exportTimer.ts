import { app, type InvocationContext, type Timer } from '@azure/functions';
import { isGalleryExportError } from '../contract/errors';
import { startFanOutRun } from '../export/fanOut';
import { runInProcess } from '../export/runInProcess';
import { StorageWorkQueue } from '../snapshots/StorageWorkQueue';
import { invocationDeadlineMs } from './functionTimeout';
import { servicesFor } from './runtime';

/** Planning (lock, vault listing, run record, messages) must finish well inside the plan's timeout. */
const PLANNING_TIMEOUT_MS = 5 * 60_000;

/** The nightly run: fans out one queue message per author, or (EXPORT_MODE=inline) exports them itself. */
export async function exportTimer(timer: Timer, context: InvocationContext): Promise<void> {
  const services = servicesFor(context);
  if (timer.isPastDue) {
    context.warn(
      'The export timer is past due: the previous occurrence was missed (the app was stopped or busy)',
    );
  }
  const inline = services.config.exportMode === 'inline';
  // Inline, the whole run happens in this invocation: its deadline is the invocation's own.
  const signal = AbortSignal.timeout(
    inline ? invocationDeadlineMs(Number.MAX_SAFE_INTEGER) : PLANNING_TIMEOUT_MS,
  );
  try {
    await services.ensureStorage(signal);
    const record = inline
      ? await runInProcess(services, { trigger: 'timer', signal })
      : await startFanOutRun(services, new StorageWorkQueue(services.queue), { trigger: 'timer', signal });
    context.log(
      `Export run ${record.runId}: ${record.counts.pending} author(s) queued, ${record.counts.complete} complete, ${record.counts.failed} failed, ${record.counts.skipped} skipped (${record.status})`,
    );
  } catch (error) {
    if (isGalleryExportError(error, 'RUN_LOCKED')) {
      context.warn('Another export run holds the lock; this occurrence is skipped');
      return;
    }
    throw error;
  }
}

app.timer('exportTimer', {
  schedule: '%EXPORT_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  handler: exportTimer,
});
