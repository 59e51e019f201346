import { authorIdDigest } from '../contract/authorId';
import { MANIFEST_FILE, snapshotPrefix } from '../contract/layout';
import type { ErasureEvidence } from './erasureEvidence';
import type { CheckedSnapshot } from './verifyManifest';

const DAY_MS = 24 * 3600_000;

/**
 * The snapshots of an author form a hash chain: each manifest names its predecessor (`previous`: run ID
 * and SHA-256 of its manifest). A link is broken when the predecessor's manifest was replaced, or when
 * the predecessor is gone and neither an erasure record nor the retention rule explains it; a manifest
 * that claims to be the first while an older snapshot is stored breaks it too. Explained gaps become notes.
 */
export function checkChains(
  checked: readonly CheckedSnapshot[],
  erasures: ErasureEvidence,
  options: { retentionDays: number; now: Date },
): void {
  const byAuthor = new Map<string, CheckedSnapshot[]>();
  for (const snapshot of checked) {
    const list = byAuthor.get(snapshot.result.authorId) ?? [];
    list.push(snapshot);
    byAuthor.set(snapshot.result.authorId, list);
  }
  for (const [authorId, snapshots] of byAuthor) {
    const byRun = new Map(snapshots.map((snapshot) => [snapshot.result.runId, snapshot]));
    // Run IDs sort by their start; a manifest's startedAt breaks the tie of two older IDs of one second.
    const started = (snapshot: CheckedSnapshot): string =>
      snapshot.manifest?.startedAt ?? snapshot.result.runId;
    const oldest = [...snapshots].sort(
      (a, b) =>
        a.result.runId.slice(0, 16).localeCompare(b.result.runId.slice(0, 16)) ||
        started(a).localeCompare(started(b)),
    )[0];
    for (const snapshot of snapshots) {
      const previous = snapshot.manifest?.previous;
      const { result } = snapshot;
      if (previous === undefined) continue;
      if (previous === null) {
        if (oldest !== undefined && oldest !== snapshot) {
          result.problems.push({
            path: `${result.prefix}${MANIFEST_FILE}`,
            kind: 'chain-broken',
            detail: `the manifest says it is the author's first snapshot, but an older one is stored (${oldest.result.runId})`,
          });
        }
        continue;
      }
      const linked = byRun.get(previous.runId);
      const linkedPath = `${snapshotPrefix(authorId, previous.runId)}${MANIFEST_FILE}`;
      if (linked) {
        if (linked.result.status === 'archived') {
          result.notes.push(
            `the link to ${previous.runId} was not checked: its manifest is in the Archive tier`,
          );
        } else if (linked.manifestSha256 !== previous.manifestSha256) {
          result.problems.push({
            path: linkedPath,
            kind: 'chain-broken',
            detail: `${result.runId} links to a manifest of ${previous.runId} with SHA-256 ${previous.manifestSha256}, but the stored one is ${linked.manifestSha256 ?? 'unreadable'}: it was replaced`,
          });
        }
      } else if (erasures.erased.has(`${authorIdDigest(authorId)}:${previous.runId}`)) {
        result.notes.push(`the previous snapshot ${previous.runId} was erased (an erasure record says so)`);
      } else if (
        runStartedBefore(previous.runId, options.now.getTime() - (options.retentionDays - 1) * DAY_MS)
      ) {
        result.notes.push(
          `the previous snapshot ${previous.runId} is older than the retention (${options.retentionDays} days): removed by the lifecycle rule`,
        );
      } else {
        result.problems.push({
          path: snapshotPrefix(authorId, previous.runId),
          kind: 'chain-broken',
          detail: `${result.runId} links to the snapshot ${previous.runId}, which is not stored, and neither an erasure record nor the retention rule explains it`,
        });
      }
    }
    for (const snapshot of snapshots) {
      if (snapshot.result.problems.length > 0 && snapshot.result.status === 'ok')
        snapshot.result.status = 'damaged';
    }
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
