import { schemaProblems } from './schemas';

/**
 * Data-subject requests over HTTP: the Entra app roles that allow them, the principal App Service
 * built-in authentication injects, and the documents they leave (requests, events, audit entries).
 */
export const DSAR_READ_ROLE = 'Dsar.Read';
export const DSAR_ERASE_ROLE = 'Dsar.Erase';
export type DsarRole = typeof DSAR_READ_ROLE | typeof DSAR_ERASE_ROLE;

/** Who made a request, as App Service authenticated it. */
export interface ClientPrincipal {
  objectId: string;
  name: string;
  identityProvider: string;
  roles: string[];
}

const OBJECT_ID_CLAIMS = ['http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid'];
const NAME_CLAIMS = [
  'name',
  'preferred_username',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  'appid',
  'azp',
];
const ROLE_CLAIMS = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];

/**
 * The principal of `x-ms-client-principal`: undefined when the header is absent or is not the document
 * App Service writes. Only meaningful when built-in authentication is on: App Service then removes any
 * such header a client sends and sets its own; when it is off, anyone can send one (callers check).
 */
export function parseClientPrincipal(header: string | null | undefined): ClientPrincipal | undefined {
  if (!header || header.length > 64 * 1024) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!principalShape(value)) return undefined;
  const claims = value.claims;
  const first = (types: readonly string[]): string | undefined =>
    types.map((type) => claims.find((claim) => claim.typ === type)?.val).find((val) => val !== undefined);
  // Only Entra ID (App Service names it "aad") issues the app roles these routes check.
  if (value.auth_typ.toLowerCase() !== 'aad') return undefined;
  const objectId = first(OBJECT_ID_CLAIMS);
  if (!objectId) return undefined;
  const roleTypes = value.role_typ ? [value.role_typ, ...ROLE_CLAIMS] : ROLE_CLAIMS;
  return {
    objectId: objectId.slice(0, 100),
    name: (first(value.name_typ ? [value.name_typ, ...NAME_CLAIMS] : NAME_CLAIMS) ?? objectId).slice(0, 200),
    identityProvider: value.auth_typ.slice(0, 40),
    roles: [
      ...new Set(claims.filter((claim) => roleTypes.includes(claim.typ)).map((claim) => claim.val)),
    ].slice(0, 50),
  };
}

interface PrincipalDocument {
  auth_typ: string;
  name_typ?: string;
  role_typ?: string;
  claims: Array<{ typ: string; val: string }>;
}

/** The claims App Service puts in `x-ms-client-principal` (base64 JSON), checked against their shape. */
function principalShape(value: unknown): value is PrincipalDocument {
  return schemaProblems('client-principal', value).length === 0;
}

/** The body of POST /api/authors/{authorId}/erasure (schemas/erasure-request.schema.json). */
export interface ErasureRequestBody {
  requestedBy: string;
  reference: string;
}

/** erasure-requests/<erasureId>.json (schemas/erasure-request-record.schema.json). */
export interface ErasureRequestRecord {
  schemaVersion: 1;
  erasureId: string;
  /** The author by the SHA-256 of the ID: the queue message alone carries the ID. */
  authorIdSha256: string;
  requestedAt: string;
  requestedBy: string;
  reference: string;
  principal: { objectId: string; name: string };
}

/** erasure-requests/<erasureId>/<at>-<kind>.json (schemas/erasure-request-event.schema.json). */
export interface ErasureRequestEvent {
  schemaVersion: 1;
  kind: 'retrying' | 'waiting' | 'complete' | 'failed';
  at: string;
  recordErasureId?: string;
  /** Complete with nothing to erase: nothing of the author was stored or registered. */
  nothingToErase?: boolean;
  error?: { code: string; message: string };
}

/** What GET /api/erasures/{erasureId} answers (schemas/erasure-status.schema.json). */
export interface ErasureStatus {
  erasureId: string;
  state: 'running' | 'complete' | 'failed';
  nothingToErase?: boolean;
  waitingForExportRun?: boolean;
  authorIdSha256?: string;
  requestedAt?: string;
  requestedBy?: string;
  reference?: string;
  lastError?: { code: string; message: string; at?: string };
  failure?: { code: string; message: string; next: string };
  record?: unknown;
  recordPath?: string;
  signature?: 'verified' | 'not-checked' | 'unsigned' | 'invalid';
}

/** audit/<YYYY>/<MM>/<DD>/<id>.json (schemas/audit-entry.schema.json). */
export interface AuditEntry {
  schemaVersion: 1;
  id: string;
  at: string;
  action: 'bundle' | 'erasure-request' | 'erasure-status' | 'erasure-list';
  authorId?: string;
  runId?: string;
  erasureId?: string;
  reference?: string;
  principal: {
    authenticated: boolean;
    objectId?: string;
    name?: string;
    identityProvider?: string;
    roles?: string[];
  };
  outcome: { status: number; code?: string; detail?: string };
}

/** Whether a data-subject request may go on, and who asked as far as can be trusted (for the audit). */
export type DsarAccess =
  | { allowed: true; principal: ClientPrincipal }
  | { allowed: false; reason: string; principal: ClientPrincipal | undefined };

/**
 * The rule of the data-subject routes: only with App Service built-in authentication on (the only time
 * `x-ms-client-principal` is App Service's own: it strips one a client sends), only for a principal it
 * authenticated, and only with the route's Entra app role. A function key proves none of that.
 */
export function decideDsarAccess(
  builtInAuthentication: boolean,
  principalHeader: string | null | undefined,
  role: DsarRole,
): DsarAccess {
  if (!builtInAuthentication) {
    return {
      allowed: false,
      reason:
        'App Service built-in authentication is not enabled on this app (WEBSITE_AUTH_ENABLED), so no caller can be identified: the data-subject routes refuse every request',
      principal: undefined,
    };
  }
  const principal = parseClientPrincipal(principalHeader);
  if (!principal) {
    return {
      allowed: false,
      reason: 'the request carries no Entra ID principal: call with an access token for the app registration',
      principal: undefined,
    };
  }
  if (!principal.roles.includes(role)) {
    return {
      allowed: false,
      reason: `the caller does not have the app role ${role}: assign it to them in the app registration's Enterprise application`,
      principal,
    };
  }
  return { allowed: true, principal };
}
