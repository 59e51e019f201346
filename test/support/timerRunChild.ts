import './warningWatch';
import { exportTimer } from '../../src/functions/exportTimer';
import { useEnvironment } from '../../src/functions/runtime';
import { invocation, timer } from './functionsHarness';

/**
 * The timer function called as the host calls it, once, with the settings in this process's environment
 * (EXPORT_MODE says queue or inline), in a child process of its own: see warningWatch.ts.
 */
async function timerRun(): Promise<void> {
  await useEnvironment({ ...process.env });
  const { context, logs } = invocation('exportTimer');
  try {
    await exportTimer(timer(), context);
    process.stdout.write(`${logs.join('\n')}\n`);
  } finally {
    await useEnvironment(undefined);
  }
}

void timerRun().catch((error: unknown) => {
  process.stderr.write(`timer run failed: ${String(error)}\n`);
  process.exitCode = 1;
});
