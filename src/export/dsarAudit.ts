import type { AuditEntry, ClientPrincipal } from '../contract/dsar';
import { newAuditId } from '../contract/layout';
import type { Logger } from './ports';

/** Where audit entries go: append-only blobs. */
export interface AuditLog {
  /** Creates the entry's blob once; false when its ID is taken. */
  audit(entry: AuditEntry, signal?: AbortSignal): Promise<boolean>;
}

/** Tries at an audit ID no other entry has taken (32 random bits per millisecond: a second try is rare). */
const MAX_AUDIT_ID_TRIES = 3;

/**
 * Records one data-subject request (who, what, when, the outcome): a log line the app's telemetry keeps,
 * `GalleryExport.DsarRequest ...`, and, with `persist` (the default), an append-only audit blob. Holds no
 * personal data of the author beyond the author ID. Throws when the blob cannot be written (the caller
 * decides what that means).
 */
export async function recordDsarRequest(
  services: { requests: AuditLog; logger: Logger; now: () => Date },
  entry: Omit<AuditEntry, 'schemaVersion' | 'id' | 'at' | 'principal'> & {
    principal: ClientPrincipal | undefined;
  },
  options: { signal?: AbortSignal | undefined; persist?: boolean } = {},
): Promise<AuditEntry> {
  const at = services.now();
  const { principal, ...rest } = entry;
  const document: AuditEntry = {
    schemaVersion: 1,
    id: newAuditId(at),
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
  if (options.persist === false) return document;
  for (let tries = 1; !(await services.requests.audit(document, options.signal)); tries++) {
    if (tries >= MAX_AUDIT_ID_TRIES) throw new Error(`No free audit entry ID after ${tries} tries`);
    document.id = newAuditId(at);
  }
  return document;
}
