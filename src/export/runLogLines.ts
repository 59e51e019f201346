import { countAuthors, type RunRecord } from '../contract/formats';
import { recordRunFinished } from '../telemetry/instruments';
import type { ExportServices } from './ports';

/**
 * The log lines the alerts read (docs/architecture.md, "Log lines the alerts read"): their shape is part of
 * the operations contract, so it lives in one place.
 */

export function logTokenHealth(
  services: ExportServices,
  secretName: string,
  authorId: string,
  status: string,
  expiresAt: string | undefined,
): void {
  const hoursLeft =
    expiresAt === undefined
      ? '-'
      : ((Date.parse(expiresAt) - services.now().getTime()) / 3600_000).toFixed(1);
  services.logger.info(
    `GalleryExport.TokenHealth secret=${secretName} authorId=${authorId} status=${status} expiresAt=${expiresAt ?? '-'} hoursLeft=${hoursLeft}`,
  );
}

export function logRunFinished(services: ExportServices, record: RunRecord): void {
  recordRunFinished(record, services.now());
  const { complete, failed, skipped } = countAuthors(record.authors);
  const line = `GalleryExport.RunFinished runId=${record.runId} status=${record.status} complete=${complete} failed=${failed} skipped=${skipped}`;
  if (record.status === 'complete') services.logger.info(line);
  else services.logger.warn(line + (record.error ? ` error=${record.error.code}` : ''));
}
