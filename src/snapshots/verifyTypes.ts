import type { KeyObject } from 'node:crypto';
import type { StoredErasureRecord } from './erasureLedger';

export type VerifyProblemKind =
  | 'missing'
  | 'changed'
  | 'unexpected'
  | 'manifest-missing'
  | 'manifest-invalid'
  | 'signature-invalid'
  /** Signed, but no public key was at hand to check it (a bundle is not handed out so). */
  | 'signature-unchecked'
  | 'unsigned'
  | 'chain-broken'
  | 'erasure-invalid'
  /** An erasure began (its marker is stored) and has no record yet: purge again to finish it. */
  | 'erasure-unfinished'
  /** A run record that cannot be read or is not valid against its schema. */
  | 'run-invalid';

export interface VerifyProblem {
  path: string;
  kind: VerifyProblemKind;
  detail: string;
  /** The author concerned, when the problem belongs to no snapshot of theirs (an unfinished erasure). */
  authorId?: string | undefined;
}

export interface SnapshotVerification {
  authorId: string;
  runId: string;
  prefix: string;
  /**
   * ok: every file matches its manifest (and its signature and chain link hold, where there are any).
   * damaged: something is missing, changed, unexpected, unsigned when signatures are required, or a link
   * of the author's chain is broken without an explanation. incomplete: no manifest, and the run record
   * says this export never finished (or the lifecycle rule has removed that record): readers ignore such
   * folders, so they are reported but not counted as damage. archived: the manifest is in the Archive
   * tier and cannot be read until it is rehydrated.
   */
  status: 'ok' | 'damaged' | 'incomplete' | 'archived';
  problems: VerifyProblem[];
  /** Why something that looks like a gap is not damage (an erasure, the retention rule). */
  notes: string[];
  files: number;
  bytes: number;
  /** The key version that signed the manifest, when it is signed and the signature holds. */
  signedBy?: string;
}

/** What a signature's keyId may be checked with: the vault's public key of that version, or a PEM file. */
export interface PublicKeyResolver {
  /** Where the keys come from, for messages ("Key Vault https://…/keys/name", "key.pem"). */
  readonly source: string;
  /**
   * The public keys that may have made a signature naming keyId (one of them must verify it), each with
   * the key version it is; or why no key of the archive may have (another vault or key, a version the
   * vault does not have).
   */
  keyFor(
    keyId: string,
    signal?: AbortSignal,
  ): Promise<{ keys: Array<{ key: KeyObject; keyId: string }> } | { problem: string }>;
}

export interface VerifyOptions {
  authorId?: string | undefined;
  runId?: string | undefined;
  /** Only the newest run that holds a complete snapshot (of `authorId`, when given). */
  latestRun?: boolean | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  signal?: AbortSignal | undefined;
  /** SNAPSHOT_RETENTION_DAYS: what the lifecycle rule removes is older than this. */
  retentionDays: number;
  /** @default new Date() */
  now?: Date | undefined;
  /** Checks every signature when given; without it signatures are listed but not checked. */
  keys?: PublicKeyResolver | undefined;
  /** An unsigned snapshot is damage. @default false */
  requireSignatures?: boolean | undefined;
}

export interface VerifyReport {
  /** The erasure records of the authors concerned (every author's when none was selected). */
  erasures?: StoredErasureRecord[];
  /** The run checked, when one was selected (`latestRun` resolved); undefined when none was. */
  runId?: string | undefined;
  snapshots: SnapshotVerification[];
  /** Damage that belongs to no snapshot: stray blobs, erasure records that cannot be read or trusted. */
  problems: VerifyProblem[];
}
