import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * DataLabAccessToken stand-ins. The gallery signed RS256 tokens with a key nobody outside had; the
 * simulator signs HS256 with its own secret instead. Clients never verify the signature (they cannot), so
 * only the shape (three base64url parts, `iss`, `author_id`, `exp`) has to match the real thing.
 */
export const TOKEN_ISSUER = 'MAMLSTS';

export interface CatalogTokenClaims {
  iss: string;
  /** The 64-hex author ID the token was issued to. */
  author_id: string;
  /** Unix seconds. */
  exp: number;
  iat: number;
  nbf: number;
  jti: string;
}

export type TokenRejection =
  | 'malformed'
  | 'unsupported-algorithm'
  | 'bad-signature'
  | 'wrong-issuer'
  | 'missing-claims'
  | 'not-yet-valid'
  | 'expired';

export type TokenVerification =
  { valid: true; claims: CatalogTokenClaims } | { valid: false; reason: TokenRejection };

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

export function signJwt(claims: CatalogTokenClaims, secret: Buffer): string {
  const body = `${HEADER}.${base64url(JSON.stringify(claims))}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

/**
 * Checks signature, issuer and validity window. Never throws: the catalog treats every bad token as "no
 * token", so the caller only needs to know whether it counts.
 */
export function verifyJwt(token: string, secret: Buffer, nowSeconds = Date.now() / 1000): TokenVerification {
  const parts = token.trim().split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) {
    return { valid: false, reason: 'malformed' };
  }
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  const header = parseJsonObject(headerPart);
  const payload = parseJsonObject(payloadPart);
  if (!header || !payload) return { valid: false, reason: 'malformed' };
  if (header.alg !== 'HS256') return { valid: false, reason: 'unsupported-algorithm' };

  const expected = createHmac('sha256', secret).update(`${headerPart}.${payloadPart}`).digest();
  const actual = Buffer.from(signaturePart, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    return { valid: false, reason: 'bad-signature' };
  }
  if (payload.iss !== TOKEN_ISSUER) return { valid: false, reason: 'wrong-issuer' };
  const { author_id: authorId, exp, iat, nbf, jti } = payload;
  if (typeof authorId !== 'string' || typeof exp !== 'number' || !Number.isFinite(exp)) {
    return { valid: false, reason: 'missing-claims' };
  }
  if (typeof nbf === 'number' && nbf > nowSeconds) return { valid: false, reason: 'not-yet-valid' };
  if (exp <= nowSeconds) return { valid: false, reason: 'expired' };
  return {
    valid: true,
    claims: {
      iss: TOKEN_ISSUER,
      author_id: authorId,
      exp,
      iat: typeof iat === 'number' ? iat : 0,
      nbf: typeof nbf === 'number' ? nbf : 0,
      jti: typeof jti === 'string' ? jti : '',
    },
  };
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function parseJsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
