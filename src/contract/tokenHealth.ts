import { isoSeconds } from './stamps';

/**
 * What can be known about a DataLabAccessToken without the issuer's key: the gallery issued RS256 JWTs
 * (issuer MAMLSTS) carrying `author_id` and `exp`, valid for 8 hours. An invalid or expired token is not
 * an error for the catalog: unlisted entities are silently left out. So the health is read from the JWT
 * payload (no signature check is possible or needed) and recorded in every snapshot.
 */
export type TokenStatus = 'valid' | 'expired' | 'absent' | 'mismatch' | 'unreadable';

export interface TokenHealth {
  status: TokenStatus;
  /** ISO 8601 UTC, whenever the token is a JWT with a numeric `exp`. */
  expiresAt?: string;
  /** Only a valid token is sent: a stale or foreign one would only be ignored by the service. */
  sendToken: boolean;
}

export interface JwtClaims {
  exp?: number;
  authorId?: string;
}

/** Decodes a JWT's payload without verifying it. Returns undefined for anything that is not a JWT. */
export function readJwtClaims(token: string): JwtClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part)) || !parts[1])
    return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return undefined;
  const { exp, author_id: authorId } = payload as Record<string, unknown>;
  return {
    exp: typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined,
    authorId: typeof authorId === 'string' ? authorId : undefined,
  };
}

/**
 * @param secretExpiresOn the Key Vault secret's expiry: an expired secret still exports public data,
 * so its token is treated as expired whatever the JWT says.
 */
export function assessToken(
  token: string | null | undefined,
  authorId: string,
  now: Date,
  secretExpiresOn?: Date,
): TokenHealth {
  if (token === undefined || token === null || token.trim() === '')
    return { status: 'absent', sendToken: false };
  const health = assessJwt(token, authorId, now);
  if (health.sendToken && secretExpiresOn && secretExpiresOn.getTime() <= now.getTime()) {
    return {
      status: 'expired',
      sendToken: false,
      expiresAt: health.expiresAt ?? isoSeconds(secretExpiresOn.getTime() / 1000),
    };
  }
  return health;
}

function assessJwt(token: string, authorId: string, now: Date): TokenHealth {
  const claims = readJwtClaims(token.trim());
  if (!claims) return { status: 'unreadable', sendToken: false };
  const expiresAt = claims.exp === undefined ? undefined : isoSeconds(claims.exp);
  const withExpiry = expiresAt === undefined ? {} : { expiresAt };
  if (claims.authorId === undefined) return { status: 'unreadable', sendToken: false, ...withExpiry };
  if (claims.authorId.toUpperCase() !== authorId.toUpperCase()) {
    return { status: 'mismatch', sendToken: false, ...withExpiry };
  }
  if (claims.exp !== undefined && claims.exp * 1000 <= now.getTime()) {
    return { status: 'expired', sendToken: false, ...withExpiry };
  }
  return { status: 'valid', sendToken: true, ...withExpiry };
}

/** Why unlisted entities are missing from a snapshot, for the manifest's warnings. */
export function describeMissingUnlisted(status: TokenStatus): string | undefined {
  switch (status) {
    case 'valid':
      return undefined;
    case 'expired':
      return 'The access token had expired, so unlisted entities are not included; the author must sign in again and register a fresh token.';
    case 'absent':
      return 'No access token is registered for this author, so only public entities are included.';
    case 'mismatch':
      return "The access token's author_id claim names another author, so it was not sent and unlisted entities are not included.";
    case 'unreadable':
      return 'The access token is not a readable JWT, so it was not sent and unlisted entities are not included.';
  }
}
