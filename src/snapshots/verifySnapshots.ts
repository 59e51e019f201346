import type { ContainerClient } from '@azure/storage-blob';
import { authorIdDigest } from '../contract/authorId';
import { isGalleryExportError } from '../contract/errors';
import type { RunRecord } from '../contract/formats';
import { MANIFEST_FILE, runRecordPath } from '../contract/layout';
import { utcDayStamp } from '../contract/stamps';
import type { BlobRunStore } from './BlobRunStore';
import { readErasureEvidence, type ErasureEvidence } from './erasureEvidence';
import { newestCompleteRun, selectFolders, takeInventory, type SnapshotFolder } from './snapshotListing';
import { checkChains, InventoryChainContext, runStartedBefore } from './verifyChain';
import { verifyComplete, type CheckedSnapshot } from './verifyManifest';
import type { SnapshotVerification, VerifyOptions, VerifyProblem, VerifyReport } from './verifyTypes';

export type {
  PublicKeyResolver,
  SnapshotVerification,
  VerifyOptions,
  VerifyProblem,
  VerifyProblemKind,
  VerifyReport,
} from './verifyTypes';

/** The run records verify reads: which snapshots were completed, to tell a lost manifest from a crash. */
type RunRecords = Pick<BlobRunStore, 'read' | 'listOutcomes' | 'listRunIds'>;

/**
 * Run records as verify reads them: one that is not a valid run record is named once, as damage of its
 * own, and counts as absent, so it never stops the check of everything else.
 */
class TolerantRuns {
  readonly problems: VerifyProblem[] = [];
  private readonly records = new Map<string, Promise<RunRecord | undefined>>();

  constructor(private readonly runs: RunRecords) {}

  read(runId: string, signal?: AbortSignal): Promise<RunRecord | undefined> {
    let record = this.records.get(runId);
    if (!record) {
      record = this.runs.read(runId, signal).catch((error: unknown) => {
        if (!isGalleryExportError(error, 'SNAPSHOT_DAMAGED')) throw error;
        this.problems.push({ path: runRecordPath(runId), kind: 'run-invalid', detail: error.message });
        return undefined;
      });
      this.records.set(runId, record);
    }
    return record;
  }

  listOutcomes(...args: Parameters<RunRecords['listOutcomes']>): ReturnType<RunRecords['listOutcomes']> {
    return this.runs.listOutcomes(...args);
  }

  listRunIds(...args: Parameters<RunRecords['listRunIds']>): ReturnType<RunRecords['listRunIds']> {
    return this.runs.listRunIds(...args);
  }
}

const DAY_MS = 24 * 3600_000;

/**
 * Verifies the archive: re-hashes every file of the matching snapshots against their manifests, checks
 * each manifest's signature and each link of every author's chain, reads every erasure record, and
 * names every blob under snapshots/ that belongs to no snapshot. A folder without a manifest is damage
 * when the run record says that author's export completed (the manifest was lost or removed), and merely
 * incomplete when the run says it did not (or the lifecycle rule has removed the run record).
 */
export async function verifySnapshots(
  container: ContainerClient,
  storedRuns: RunRecords,
  options: VerifyOptions,
  onSnapshot?: (result: SnapshotVerification) => void,
): Promise<VerifyReport> {
  const now = options.now ?? new Date();
  const runs = new TolerantRuns(storedRuns);
  // The whole archive of the authors concerned: a selection (a run, some days) is checked against it, so
  // a link to a snapshot that is stored but not selected holds.
  const { folders: archive, strays } = await takeInventory(container, {
    authorId: options.authorId,
    signal: options.signal,
  });
  const runId = options.latestRun ? newestCompleteRun(archive) : options.runId;
  const selection = { ...options, runId };
  const selective = runId !== undefined || options.since !== undefined || options.until !== undefined;
  if (options.latestRun && runId === undefined) return { runId, snapshots: [], problems: [] };
  const folders = selectFolders(archive, selection);
  const evidence = await readErasureEvidence(container, {
    ...options,
    authorIdSha256: options.authorId ? authorIdDigest(options.authorId) : undefined,
  });
  const checked: CheckedSnapshot[] = [];
  const results: SnapshotVerification[] = [];
  for (const folder of folders) {
    if (folder.archived) {
      checked.push({ result: archived(folder) });
    } else if (folder.hasManifest) {
      checked.push(await verifyComplete(container, folder, options));
    } else {
      results.push(await classifyWithoutManifest(runs, folder, options, now));
    }
  }
  const chain = new InventoryChainContext(
    container,
    archive,
    evidence,
    options.retentionDays,
    now,
    options.signal,
  );
  for (const snapshot of checked) {
    if (snapshot.manifestSha256 !== undefined)
      chain.remember(snapshot.result, snapshot.manifestSha256, snapshot.manifest);
  }
  await checkChains(checked, chain);
  results.unshift(...checked.map((snapshot) => snapshot.result));
  const stored = new Set(archive.map((folder) => folder.prefix));
  results.push(...(await findVanishedSnapshots(runs, selection, stored, evidence)));
  for (const result of results) onSnapshot?.(result);
  return {
    runId,
    erasures: evidence.records,
    snapshots: results,
    problems: [
      // Blobs that fit no snapshot folder belong to no run or day: reported when nothing narrows the check.
      ...(selective ? [] : strays).map((path) => ({
        path,
        kind: 'unexpected' as const,
        detail:
          'stored under snapshots/ but not in any snapshot folder (<authorId>/<YYYY>/<MM>/<DD>/<runId>/<file>)',
      })),
      ...evidence.problems,
      ...runs.problems,
    ],
  };
}

function archived(folder: SnapshotFolder): SnapshotVerification {
  return {
    authorId: folder.authorId,
    runId: folder.runId,
    prefix: folder.prefix,
    status: 'archived',
    problems: [],
    notes: ['its manifest is in the Archive tier: rehydrate the snapshot to verify it'],
    files: 0,
    bytes: 0,
  };
}

/**
 * Snapshots the run records say were completed but of which nothing is stored, unless an erasure record
 * accounts for them (purge removes snapshots on purpose; run records keep saying they were written).
 */
async function findVanishedSnapshots(
  runs: RunRecords,
  query: VerifyOptions,
  stored: Set<string>,
  evidence: ErasureEvidence,
): Promise<SnapshotVerification[]> {
  const runIds = query.runId
    ? [query.runId]
    : await runs.listRunIds({ since: query.since, signal: query.signal });
  const vanished: SnapshotVerification[] = [];
  for (const runId of runIds) {
    if (query.until && runId.slice(0, 8) > utcDayStamp(query.until)) continue;
    const record = await runs.read(runId, query.signal);
    if (!record) continue;
    const authors =
      record.status === 'running'
        ? [
            ...record.authors,
            ...(await runs.listOutcomes(runId, { signal: query.signal, detail: 'summary' })),
          ]
        : record.authors;
    for (const author of authors) {
      if (author.status !== 'complete' || !author.snapshot || !author.authorId) continue;
      if (query.authorId && author.authorId !== query.authorId) continue;
      if (stored.has(author.snapshot) || evidence.erased.has(`${authorIdDigest(author.authorId)}:${runId}`))
        continue;
      vanished.push({
        authorId: author.authorId,
        runId,
        prefix: author.snapshot,
        status: 'damaged',
        problems: [
          {
            path: author.snapshot,
            kind: 'missing',
            detail:
              'the run record says this snapshot was completed, but nothing of it is stored (and no erasure record explains it)',
          },
        ],
        notes: [],
        files: 0,
        bytes: 0,
      });
      stored.add(author.snapshot);
    }
  }
  return vanished;
}

async function classifyWithoutManifest(
  runs: RunRecords,
  folder: SnapshotFolder,
  options: VerifyOptions,
  now: Date,
): Promise<SnapshotVerification> {
  const result: SnapshotVerification = {
    authorId: folder.authorId,
    runId: folder.runId,
    prefix: folder.prefix,
    status: 'incomplete',
    problems: [],
    notes: [],
    files: 0,
    bytes: 0,
  };
  const record = await runs.read(folder.runId, options.signal);
  const outcomes =
    record?.status === 'running'
      ? await runs.listOutcomes(folder.runId, { signal: options.signal, detail: 'summary' })
      : [];
  const recordedComplete = [...(record?.authors ?? []), ...outcomes].some(
    (author) => author.status === 'complete' && author.snapshot === folder.prefix,
  );
  if (!record && runStartedBefore(folder.runId, now.getTime() - (options.retentionDays - 1) * DAY_MS)) {
    // The lifecycle rule keeps run records as long as snapshots, but deletes each on its own day.
    result.notes.push(
      'its run record is older than the retention and has been removed by the lifecycle rule',
    );
    return result;
  }
  if (recordedComplete || !record) {
    return {
      ...result,
      status: 'damaged',
      problems: [
        {
          path: `${folder.prefix}${MANIFEST_FILE}`,
          kind: 'manifest-missing',
          detail: record
            ? 'the run record says this snapshot was completed, but its manifest is gone'
            : 'the snapshot has no manifest and no run record explains it',
        },
      ],
    };
  }
  return result;
}
