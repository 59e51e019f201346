import { InvocationContext, type Timer } from '@azure/functions';

/** An InvocationContext as the host would build one, collecting every log line. */
export function invocation(
  functionName: string,
  triggerMetadata?: Record<string, unknown>,
): { context: InvocationContext; logs: string[] } {
  const logs: string[] = [];
  const context = new InvocationContext({
    functionName,
    invocationId: `test-${functionName}`,
    triggerMetadata,
    logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
  });
  return { context, logs };
}

export function timer(isPastDue = false): Timer {
  return {
    isPastDue,
    schedule: { adjustForDST: false },
    scheduleStatus: {
      last: '2026-11-27T02:00:00Z',
      next: '2026-11-28T02:00:00Z',
      lastUpdated: '2026-11-27T02:00:00Z',
    },
  };
}
