import type { AuditEntry, ClientPrincipal } from '../contract/dsar';
import { newRunId } from '../contract/layout';
import type { Logger } from './ports';

/** Where audit entries go: append-only blobs. */
export interface AuditLog {
  audit(entry: AuditEntry, signal?: AbortSignal): Promise<string>;
}

/**
 * Records one data-subject request (who, what, when, the outcome): a log line the app's telemetry keeps,
 * `GalleryExport.DsarRequest ...`, and an append-only audit blob. Holds no personal data of the author
 * beyond the author ID. Throws when the blob cannot be written (the caller decides what that means).
 */
export async function recordDsarRequest(
  services: { requests: AuditLog; logger: Logger; now: () => Date },
  entry: Omit<AuditEntry, 'schemaVersion' | 'id' | 'at' | 'principal'> & {
    principal: ClientPrincipal | undefined;
  },
  signal?: AbortSignal,
): Promise<AuditEntry> {
  const at = services.now();
  const { principal, ...rest } = entry;
  const document: AuditEntry = {
    schemaVersion: 1,
    id: newRunId(at),
    at: at.toISOString(),
    ...rest,
    principal: principal
      ? {
          authenticated: true,
          objectId: principal.objectId,
          name: principal.name,
          identityProvider: principal.identityProvider,
          roles: principal.roles,
        }
      : { authenticated: false },
  };
  services.logger.info(
    `GalleryExport.DsarRequest id=${document.id} action=${document.action} status=${document.outcome.status}${document.outcome.code ? ` code=${document.outcome.code}` : ''} principal=${document.principal.objectId ?? '-'} authorId=${document.authorId ?? '-'}${document.erasureId ? ` erasureId=${document.erasureId}` : ''}${document.runId ? ` runId=${document.runId}` : ''}`,
  );
  await services.requests.audit(document, signal);
  return document;
}
