import type { Manifest, Trigger } from '../contract/formats';
import type { TokenStatus } from '../contract/tokenHealth';

/**
 * The report's sentences about what the manifest records, in plain words for a data subject: what the
 * access token's status means for the unlisted (hidden) entities, and who started the export.
 */

export interface TokenStatusWording {
  /** A short label, such as "valid" or "expired". */
  label: string;
  /** What it means for this export, in a sentence or two. */
  meaning: string;
  /** Whether unlisted entities may be missing because of it. */
  unlistedMayBeMissing: boolean;
}

const MISSING_UNLISTED =
  'The catalog answers without complaint in that case but leaves out unlisted (hidden) entities, so any unlisted entities you published are missing from this export; the public ones are all here.';

/** The token status in plain words; `expiresAt` is quoted when the manifest has it. */
export function describeTokenStatus(token: Manifest['token']): TokenStatusWording {
  const expiry = token.expiresAt ? ` (it expired at ${token.expiresAt})` : '';
  const wordings: Record<TokenStatus, TokenStatusWording> = {
    valid: {
      label: 'valid',
      meaning:
        'The access token on file was valid for this author when the export ran, so unlisted (hidden) entities are included alongside the public ones.',
      unlistedMayBeMissing: false,
    },
    expired: {
      label: 'expired',
      meaning: `The access token on file had expired when the export ran${expiry}. ${MISSING_UNLISTED} A fresh token (taken after logging in to the gallery again) is needed to include them.`,
      unlistedMayBeMissing: true,
    },
    absent: {
      label: 'absent',
      meaning: `No access token was on file for this author, so the export asked only for public data. ${MISSING_UNLISTED}`,
      unlistedMayBeMissing: true,
    },
    mismatch: {
      label: 'belongs to someone else',
      meaning: `The access token on file was issued to a different author, so it was not used. ${MISSING_UNLISTED}`,
      unlistedMayBeMissing: true,
    },
    unreadable: {
      label: 'unreadable',
      meaning: `The access token on file is not a token the gallery issued (it could not be read), so it was not used. ${MISSING_UNLISTED}`,
      unlistedMayBeMissing: true,
    },
  };
  return (
    wordings[token.status] ?? {
      label: String(token.status),
      meaning: `The manifest records an access token status this report does not know ("${String(token.status)}"). Unlisted entities may be missing.`,
      unlistedMayBeMissing: true,
    }
  );
}

/** Who started the export, in words. */
export function describeTrigger(trigger: Trigger): string {
  switch (trigger) {
    case 'timer':
      return 'the nightly scheduled export';
    case 'http':
      return 'an export requested through the service’s HTTP API';
    case 'cli':
      return 'an export started by an operator from the command line';
    default:
      return `an export started by "${String(trigger)}"`;
  }
}
