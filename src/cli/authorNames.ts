/**
 * How the CLI names an author to a person: the label of its secret (what the platform engineer chose
 * at register-author) and its ID, or the first characters of it, which every command's --author accepts
 * as a unique prefix and prints back in full.
 */

/** Characters of an author ID shown where the whole ID does not fit (a unique prefix, as git shows hashes). */
export const AUTHOR_ID_PREFIX_LENGTH = 12;

/** The label of an author secret: its name without AUTHOR_SECRET_PREFIX (the whole name otherwise). */
export function labelOf(secretName: string, secretPrefix: string): string {
  return secretPrefix && secretName.startsWith(secretPrefix) && secretName.length > secretPrefix.length
    ? secretName.slice(secretPrefix.length)
    : secretName;
}

/** `ada-lovelace E814FF3DC480`: the label and the ID's prefix (the label alone when the ID is unknown). */
export function authorCell(secretName: string, authorId: string | null, secretPrefix: string): string {
  const label = labelOf(secretName, secretPrefix);
  return authorId ? `${label} ${authorId.slice(0, AUTHOR_ID_PREFIX_LENGTH)}` : label;
}
