import type { ExportServices } from './ports';

/** Renews the run lock in the background until stopped. */
export function keepLockAlive(
  services: Pick<ExportServices, 'lock' | 'logger' | 'lockRenewIntervalMs'>,
  leaseId: string,
): { stop(): void } {
  const timer = setInterval(() => {
    services.lock.renew(leaseId).then(
      (held) => {
        if (!held)
          services.logger.warn('The run lock was lost (it expired and another run may have taken it)');
      },
      (error: unknown) => services.logger.warn(`Could not renew the run lock: ${(error as Error).message}`),
    );
  }, services.lockRenewIntervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
