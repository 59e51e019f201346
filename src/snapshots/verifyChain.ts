import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { authorIdDigest } from '../contract/authorId';
import type { Manifest } from '../contract/formats';
import { MANIFEST_FILE, SIGNATURE_FILE, snapshotPrefix, type SnapshotLocation } from '../contract/layout';
import type { SnapshotProofSummary } from '../contract/proof';
import { readBlob } from './blobDocuments';
import type { ErasureEvidence } from './erasureEvidence';
import { judgeManifest } from './manifestDocument';
import type { SnapshotFolder } from './snapshotListing';
import type { VerifyProblem } from './verifyTypes';

const DAY_MS = 24 * 3600_000;

/** What the archive holds of a snapshot a chain link names. */
export type StoredLink =
  | {
      state: 'stored';
      sha256: string;
      /** The snapshot has a signature.json. */
      signed: boolean;
      /** Its manifest, when it is a valid manifest of that snapshot. */
      manifest: Manifest | undefined;
    }
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
  erasures: Pick<ErasureEvidence, 'erased' | 'erasedBySigned'>;
  retentionDays: number;
  now: Date;
}

/** A snapshot whose links are judged: where it is, its valid manifest, its manifest's hash, whether it is signed. */
export interface ChainedSnapshot extends SnapshotLocation {
  manifest: Manifest;
  manifestSha256: string;
  signed: boolean;
}

export type LinkVerdict =
  | { ok: true; chain: SnapshotProofSummary['chain']; note?: string | undefined }
  | {
      ok: false;
      problem: VerifyProblem;
      /** The predecessor's manifest was replaced: the damage is the predecessor's, not this snapshot's. */
      replacedPredecessor?: string | undefined;
    };

/**
 * The snapshots of an author form a hash chain: each manifest names its predecessor (`previous`: run ID
 * and SHA-256 of its manifest). A link is broken when the predecessor's manifest was replaced, or when
 * the predecessor is gone and neither an erasure record nor the retention rule explains it; a manifest
 * that claims to be the first while an older snapshot is stored breaks it too, and so does an unsigned
 * snapshot whose predecessor is signed (its signature was removed). Explained gaps are notes.
 */
export async function judgeLink(snapshot: ChainedSnapshot, context: ChainContext): Promise<LinkVerdict> {
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
  const previousManifest = `${snapshotPrefix(authorId, previous.runId)}${MANIFEST_FILE}`;
  if (link.state === 'stored') {
    if (link.sha256 !== previous.manifestSha256) {
      return {
        ok: false,
        replacedPredecessor: previous.runId,
        problem: {
          path: previousManifest,
          kind: 'chain-broken',
          detail: `replaced: the next snapshot ${runId} links to a manifest of ${previous.runId} with SHA-256 ${previous.manifestSha256}, but the stored one is ${link.sha256}`,
        },
      };
    }
    if (link.signed && !snapshot.signed) {
      return {
        ok: false,
        problem: {
          path: `${prefix}signature.json`,
          kind: 'unsigned',
          detail: `the previous snapshot ${previous.runId} is signed and this one is not: its signature was removed, or signing was turned off (SIGNING_KEY_NAME)`,
        },
      };
    }
    return { ok: true, chain: { state: 'linked', runId: previous.runId } };
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
  // A signed snapshot's gap is explained only by a signed record: the erasure came after signing began.
  const erased = snapshot.signed ? context.erasures.erasedBySigned : context.erasures.erased;
  if (erased.has(`${authorIdDigest(authorId)}:${previous.runId}`)) {
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
      detail: `${runId} links to the snapshot ${previous.runId}, which is not stored, and neither a trusted erasure record nor the retention rule explains it`,
    },
  };
}

/**
 * The other side of a link: the author's next stored snapshot names this one's manifest by its hash, so a
 * manifest replaced after its successor was written shows even when it is checked on its own.
 */
export async function judgeSuccessor(
  snapshot: ChainedSnapshot,
  context: ChainContext,
): Promise<VerifyProblem | undefined> {
  const next = context
    .storedRuns(snapshot.authorId)
    .filter((runId) => runId > snapshot.runId)
    .sort()[0];
  if (next === undefined) return undefined;
  const link = await context.manifestOf(snapshot.authorId, next);
  const previous = link.state === 'stored' ? link.manifest?.previous : undefined;
  if (!previous || previous.runId !== snapshot.runId || previous.manifestSha256 === snapshot.manifestSha256)
    return undefined;
  return {
    path: `${snapshot.prefix}${MANIFEST_FILE}`,
    kind: 'chain-broken',
    detail: `replaced: the next snapshot ${next} links to a manifest of ${snapshot.runId} with SHA-256 ${previous.manifestSha256}, but the stored one is ${snapshot.manifestSha256}`,
  };
}

/** An older stored snapshot of the author, by its run's start (a manifest's startedAt breaks a tie). */
async function olderStoredRun(snapshot: ChainedSnapshot, context: ChainContext): Promise<string | undefined> {
  const stamp = snapshot.runId.slice(0, 16);
  for (const other of context.storedRuns(snapshot.authorId)) {
    if (other === snapshot.runId) continue;
    const otherStamp = other.slice(0, 16);
    if (otherStamp < stamp) return other;
    if (otherStamp > stamp) continue;
    const link = await context.manifestOf(snapshot.authorId, other);
    const startedAt = link.state === 'stored' ? link.manifest?.startedAt : undefined;
    if ((startedAt ?? other) < snapshot.manifest.startedAt) return other;
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
    readonly erasures: Pick<ErasureEvidence, 'erased' | 'erasedBySigned'>,
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
  remember(location: SnapshotLocation, sha256: string, manifest: Manifest | undefined): void {
    const signed = this.folders.get(location.prefix)?.files.has(SIGNATURE_FILE) ?? false;
    this.links.set(location.prefix, Promise.resolve({ state: 'stored', sha256, signed, manifest }));
  }

  storedRuns(authorId: string): readonly string[] {
    return this.runsByAuthor.get(authorId) ?? [];
  }

  manifestOf(authorId: string, runId: string): Promise<StoredLink> {
    const prefix = snapshotPrefix(authorId, runId);
    let link = this.links.get(prefix);
    if (!link) {
      link = this.read({ authorId, runId, prefix });
      this.links.set(prefix, link);
    }
    return link;
  }

  private async read(location: SnapshotLocation): Promise<StoredLink> {
    const folder = this.folders.get(location.prefix);
    if (!folder?.hasManifest) return { state: 'missing' };
    if (folder.archived) return { state: 'archived' };
    const stored = await readBlob(this.container, `${location.prefix}${MANIFEST_FILE}`, this.signal);
    if (!stored) return { state: 'missing' };
    const judged = judgeManifest(stored.bytes, location);
    return {
      state: 'stored',
      sha256: createHash('sha256').update(stored.bytes).digest('hex'),
      signed: folder.files.has(SIGNATURE_FILE),
      manifest: judged.state === 'ok' ? judged.manifest : undefined,
    };
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

/**
 * Judges the links of every checked snapshot. The damage of a replaced manifest is its own snapshot's
 * (the one that links to it is intact); each checked snapshot whose successor was not checked is judged
 * from that successor's side too.
 */
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
    manifestSha256?: string | undefined;
    signed?: boolean | undefined;
  }>,
  context: ChainContext,
): Promise<void> {
  const byPrefix = new Map(checked.map((snapshot) => [snapshot.result.prefix, snapshot]));
  const addProblem = (result: (typeof checked)[number]['result'], problem: VerifyProblem): void => {
    if (!result.problems.some((known) => known.path === problem.path && known.kind === problem.kind))
      result.problems.push(problem);
  };
  for (const snapshot of checked) {
    const { result, manifest, manifestSha256 } = snapshot;
    if (!manifest || manifestSha256 === undefined) continue;
    const chained = { ...result, manifest, manifestSha256, signed: snapshot.signed ?? false };
    const verdict = await judgeLink(chained, context);
    if (verdict.ok) {
      if (verdict.note) result.notes.push(verdict.note);
    } else {
      const replaced = verdict.replacedPredecessor
        ? byPrefix.get(snapshotPrefix(result.authorId, verdict.replacedPredecessor))
        : undefined;
      addProblem(replaced?.result ?? result, verdict.problem);
    }
    const next = context
      .storedRuns(result.authorId)
      .filter((runId) => runId > result.runId)
      .sort()[0];
    if (next === undefined || byPrefix.has(snapshotPrefix(result.authorId, next))) continue;
    const fromSuccessor = await judgeSuccessor(chained, context);
    if (fromSuccessor) addProblem(result, fromSuccessor);
  }
  for (const snapshot of checked) {
    if (snapshot.result.problems.length > 0 && snapshot.result.status === 'ok')
      snapshot.result.status = 'damaged';
  }
}
