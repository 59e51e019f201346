import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { authorIdDigest } from '../contract/authorId';
import type { Manifest } from '../contract/formats';
import { MANIFEST_FILE, snapshotPrefix, type SnapshotLocation } from '../contract/layout';
import type { SnapshotProofSummary } from '../contract/proof';
import { readBlob } from './blobDocuments';
import type { ErasureEvidence } from './erasureEvidence';
import type { SnapshotFolder } from './snapshotListing';
import type { VerifyProblem } from './verifyTypes';

const DAY_MS = 24 * 3600_000;

/** What the archive holds of a snapshot a chain link names. */
export type StoredLink =
  | { state: 'stored'; sha256: string; startedAt: string | undefined }
  | { state: 'archived' }
  | { state: 'missing' };

/**
 * What a chain link is judged against: the whole archive of the author, whatever was selected for
 * checking. A link to a snapshot that is stored but was not selected is as good as one that was.
 */
export interface ChainContext {
  /** The stored manifest of a snapshot of the author. */
  manifestOf(authorId: string, runId: string): Promise<StoredLink>;
  /** Run IDs of the author's stored snapshots that have a manifest. */
  storedRuns(authorId: string): readonly string[];
  erasures: Pick<ErasureEvidence, 'erased'>;
  retentionDays: number;
  now: Date;
}

export type LinkVerdict =
  | { ok: true; chain: SnapshotProofSummary['chain']; note?: string | undefined }
  | { ok: false; problem: VerifyProblem };

/**
 * The snapshots of an author form a hash chain: each manifest names its predecessor (`previous`: run ID
 * and SHA-256 of its manifest). A link is broken when the predecessor's manifest was replaced, or when
 * the predecessor is gone and neither an erasure record nor the retention rule explains it; a manifest
 * that claims to be the first while an older snapshot is stored breaks it too. Explained gaps are notes.
 */
export async function judgeLink(
  snapshot: SnapshotLocation & { manifest: Manifest },
  context: ChainContext,
): Promise<LinkVerdict> {
  const { authorId, runId, prefix, manifest } = snapshot;
  const previous = manifest.previous;
  if (previous === undefined) return { ok: true, chain: { state: 'not-recorded' } };
  if (previous === null) {
    const older = await olderStoredRun(snapshot, context);
    if (older === undefined) return { ok: true, chain: { state: 'first' } };
    return {
      ok: false,
      problem: {
        path: `${prefix}${MANIFEST_FILE}`,
        kind: 'chain-broken',
        detail: `the manifest says it is the author's first snapshot, but an older one is stored (${older})`,
      },
    };
  }
  const link = await context.manifestOf(authorId, previous.runId);
  if (link.state === 'stored') {
    if (link.sha256 === previous.manifestSha256) {
      return { ok: true, chain: { state: 'linked', runId: previous.runId } };
    }
    return {
      ok: false,
      problem: {
        path: `${snapshotPrefix(authorId, previous.runId)}${MANIFEST_FILE}`,
        kind: 'chain-broken',
        detail: `${runId} links to a manifest of ${previous.runId} with SHA-256 ${previous.manifestSha256}, but the stored one is ${link.sha256}: it was replaced`,
      },
    };
  }
  const explained = (why: string, note: string): LinkVerdict => ({
    ok: true,
    chain: { state: 'explained', runId: previous.runId, why },
    note,
  });
  if (link.state === 'archived') {
    return explained(
      'its manifest is in the Archive tier, so the link was not checked',
      `the link to ${previous.runId} was not checked: its manifest is in the Archive tier`,
    );
  }
  if (context.erasures.erased.has(`${authorIdDigest(authorId)}:${previous.runId}`)) {
    return explained(
      'it was erased (an erasure record says so)',
      `the previous snapshot ${previous.runId} was erased (an erasure record says so)`,
    );
  }
  if (runStartedBefore(previous.runId, context.now.getTime() - (context.retentionDays - 1) * DAY_MS)) {
    return explained(
      `it is older than the retention (${context.retentionDays} days) and was removed by the lifecycle rule`,
      `the previous snapshot ${previous.runId} is older than the retention (${context.retentionDays} days): removed by the lifecycle rule`,
    );
  }
  return {
    ok: false,
    problem: {
      path: snapshotPrefix(authorId, previous.runId),
      kind: 'chain-broken',
      detail: `${runId} links to the snapshot ${previous.runId}, which is not stored, and neither an erasure record nor the retention rule explains it`,
    },
  };
}

/** An older stored snapshot of the author, by its run's start (a manifest's startedAt breaks a tie). */
async function olderStoredRun(
  snapshot: SnapshotLocation & { manifest: Manifest },
  context: ChainContext,
): Promise<string | undefined> {
  const stamp = snapshot.runId.slice(0, 16);
  for (const other of context.storedRuns(snapshot.authorId)) {
    if (other === snapshot.runId) continue;
    const otherStamp = other.slice(0, 16);
    if (otherStamp < stamp) return other;
    if (otherStamp > stamp) continue;
    const link = await context.manifestOf(snapshot.authorId, other);
    if (link.state === 'stored' && (link.startedAt ?? other) < snapshot.manifest.startedAt) return other;
  }
  return undefined;
}

/**
 * The chain context of an inventory of the archive (every folder of the authors concerned, selected or
 * not): manifests already read are reused, the others read once, when a link names them.
 */
export class InventoryChainContext implements ChainContext {
  private readonly folders = new Map<string, SnapshotFolder>();
  private readonly runsByAuthor = new Map<string, string[]>();
  private readonly links = new Map<string, Promise<StoredLink>>();

  constructor(
    private readonly container: ContainerClient,
    folders: readonly SnapshotFolder[],
    readonly erasures: Pick<ErasureEvidence, 'erased'>,
    readonly retentionDays: number,
    readonly now: Date,
    private readonly signal?: AbortSignal,
  ) {
    for (const folder of folders) {
      this.folders.set(folder.prefix, folder);
      if (!folder.hasManifest) continue;
      const runs = this.runsByAuthor.get(folder.authorId) ?? [];
      runs.push(folder.runId);
      this.runsByAuthor.set(folder.authorId, runs);
    }
  }

  /** A manifest already read (and hashed) by the caller, so it is not read again. */
  remember(location: SnapshotLocation, sha256: string, startedAt: string | undefined): void {
    this.links.set(location.prefix, Promise.resolve({ state: 'stored', sha256, startedAt }));
  }

  storedRuns(authorId: string): readonly string[] {
    return this.runsByAuthor.get(authorId) ?? [];
  }

  manifestOf(authorId: string, runId: string): Promise<StoredLink> {
    const prefix = snapshotPrefix(authorId, runId);
    let link = this.links.get(prefix);
    if (!link) {
      link = this.read(prefix);
      this.links.set(prefix, link);
    }
    return link;
  }

  private async read(prefix: string): Promise<StoredLink> {
    const folder = this.folders.get(prefix);
    if (!folder?.hasManifest) return { state: 'missing' };
    if (folder.archived) return { state: 'archived' };
    const stored = await readBlob(this.container, `${prefix}${MANIFEST_FILE}`, this.signal);
    if (!stored) return { state: 'missing' };
    return {
      state: 'stored',
      sha256: createHash('sha256').update(stored.bytes).digest('hex'),
      startedAt: startedAtOf(stored.bytes),
    };
  }
}

/** A manifest's startedAt, only to order two runs of one second; undefined when it has none. */
function startedAtOf(bytes: Buffer): string | undefined {
  try {
    const value = (JSON.parse(bytes.toString('utf8')) as { startedAt?: unknown }).startedAt;
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a run ID's start (its `YYYYMMDDTHHMMSSZ` stamp) is before a time. */
export function runStartedBefore(runId: string, epochMs: number): boolean {
  const stamp = runId.slice(0, 16);
  const started = Date.UTC(
    Number(stamp.slice(0, 4)),
    Number(stamp.slice(4, 6)) - 1,
    Number(stamp.slice(6, 8)),
    Number(stamp.slice(9, 11)),
    Number(stamp.slice(11, 13)),
    Number(stamp.slice(13, 15)),
  );
  return started < epochMs;
}

/** Judges the link of every checked snapshot that has a valid manifest; a broken one makes it damaged. */
export async function checkChains(
  checked: ReadonlyArray<{
    result: {
      authorId: string;
      runId: string;
      prefix: string;
      status: string;
      problems: VerifyProblem[];
      notes: string[];
    };
    manifest?: Manifest | undefined;
  }>,
  context: ChainContext,
): Promise<void> {
  for (const snapshot of checked) {
    const { result, manifest } = snapshot;
    if (!manifest) continue;
    const verdict = await judgeLink({ ...result, manifest }, context);
    if (!verdict.ok) result.problems.push(verdict.problem);
    else if (verdict.note) result.notes.push(verdict.note);
    if (result.problems.length > 0 && result.status === 'ok') result.status = 'damaged';
  }
}
