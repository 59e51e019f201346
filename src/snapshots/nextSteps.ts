import type { VerifyProblem } from './verifyTypes';

/**
 * What a person does about each kind of damage, in one line: the compliance officer who reads `verify`
 * months later, and the operator who is told why `get` refused a snapshot. Storage keeps what is needed
 * to repair most of it (soft delete and blob versioning are on in the templates).
 */
export function nextStep(
  problem: Pick<VerifyProblem, 'kind' | 'path' | 'detail' | 'authorId'>,
  snapshotAuthorId?: string,
): string {
  const authorId = problem.authorId ?? snapshotAuthorId;
  const earlier = authorId
    ? `an earlier snapshot can be handed out meanwhile (gallery-export list --author ${authorId})`
    : 'an earlier snapshot can be handed out meanwhile (gallery-export list)';
  switch (problem.kind) {
    case 'missing':
      return `restore it from soft delete or an earlier blob version (az storage blob undelete, or list it with --include v); ${earlier}`;
    case 'changed':
      return `restore its earlier blob version (az storage blob list --include v) and run verify again; ${earlier}`;
    case 'unexpected':
      return 'find out what wrote it (the storage account logs) and delete it if it is not part of the archive';
    case 'manifest-missing':
      return 'restore manifest.json from soft delete or an earlier blob version; until then readers ignore this snapshot';
    case 'manifest-invalid':
      return `restore manifest.json from an earlier blob version; ${earlier}`;
    case 'signature-invalid':
      return /none of the keys in/.test(problem.detail)
        ? 'the key file is older than this signature (a key rotation): write it again with gallery-export public-key --out, which holds every version'
        : `restore manifest.json and signature.json from earlier blob versions, and compare the key with gallery-export public-key; ${earlier}`;
    case 'signature-unchecked':
      return 'check it with the archive key: set SIGNING_KEY_NAME and KEY_VAULT_URL, or pass --public-key <file.pem> (written by gallery-export public-key --out)';
    case 'unsigned':
      return /removed/.test(problem.detail)
        ? `restore signature.json from an earlier blob version (az storage blob list --include v); ${earlier}`
        : 'written without a signing key (SIGNING_KEY_NAME); later snapshots are signed once it is set';
    case 'chain-broken':
      return /replaced/.test(problem.detail)
        ? `restore the earlier version of that manifest (az storage blob list --include v); ${earlier}`
        : `restore that snapshot from soft delete, or find the erasure record that removed it (gallery-export erasures${authorId ? ` --author ${authorId}` : ''})`;
    case 'run-invalid':
      return 'restore the run record from an earlier blob version (az storage blob list --include v); the snapshots do not depend on it';
    case 'erasure-invalid':
      return 'restore the erasure record from an earlier blob version';
    case 'erasure-unfinished':
      return authorId
        ? `finish it: gallery-export purge --author ${authorId} --yes`
        : "finish it: gallery-export purge --author <the author's ID> --yes (the ID whose SHA-256 the path names)";
  }
}
