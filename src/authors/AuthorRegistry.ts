/** One registered author as listed from the vault: properties only, the value is not read yet. */
export interface AuthorSecretRef {
  secretName: string;
  /** The part of the secret name after AUTHOR_SECRET_PREFIX. */
  label: string;
  enabled: boolean;
  notBefore: Date | undefined;
  expiresOn: Date | undefined;
  /** The `authorId` tag, upper-cased, when it is a valid author ID. */
  taggedAuthorId: string | undefined;
}

/** A validated secret value. The token is carried, never printed. */
export interface AuthorCredentials {
  secretName: string;
  authorId: string;
  accessToken: string | null;
  /** The secret's own expiry: once passed, the token is not used (public data is still exported). */
  secretExpiresOn?: Date | undefined;
}

/** Where authors are registered. The export core knows only this interface. */
export interface AuthorRegistry {
  /** Where the authors live, for messages (e.g. the vault URL). */
  readonly location: string;
  listAuthorSecrets(signal?: AbortSignal): Promise<AuthorSecretRef[]>;
  /** Reads and validates one author's secret; AUTHOR_CONFIG when it is malformed. */
  readAuthor(secretName: string, signal?: AbortSignal): Promise<AuthorCredentials>;
}

/** Why a listed secret is not exported in this run, or undefined when it should be. */
export function reasonToSkip(ref: AuthorSecretRef, now: Date): string | undefined {
  if (!ref.enabled) return 'the secret is disabled';
  if (ref.notBefore && ref.notBefore.getTime() > now.getTime()) {
    return `the secret is not yet valid (valid from ${ref.notBefore.toISOString()})`;
  }
  return undefined;
}
