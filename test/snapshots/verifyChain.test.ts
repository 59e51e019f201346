import { authorIdDigest } from '../../src/contract/authorId';
import type { Manifest } from '../../src/contract/formats';
import { snapshotPrefix } from '../../src/contract/layout';
import type { ErasureEvidence } from '../../src/snapshots/erasureEvidence';
import { checkChains, type ChainContext } from '../../src/snapshots/verifyChain';
import type { CheckedSnapshot } from '../../src/snapshots/verifyManifest';

/** The chain rules on their own: which gaps are damage and which are explained. */
const AUTHOR = 'AB'.repeat(32);
const NOW = new Date('2026-12-03T12:00:00Z');

function snapshot(
  runId: string,
  previous: Manifest['previous'],
  sha = `${runId.slice(-6)}`.padEnd(64, '0'),
): CheckedSnapshot {
  return {
    result: {
      authorId: AUTHOR,
      runId,
      prefix: snapshotPrefix(AUTHOR, runId),
      status: 'ok',
      problems: [],
      notes: [],
      files: 2,
      bytes: 10,
    },
    manifest: {
      runId,
      authorId: AUTHOR,
      startedAt: `${runId.slice(0, 4)}-01-01T00:00:00Z`,
      previous,
    } as Manifest,
    manifestSha256: sha,
  };
}

const none = { erased: new Set<string>(), problems: [] };

/** The checks against an archive that holds exactly these snapshots. */
function archiveOf(
  stored: readonly CheckedSnapshot[],
  erasures: Pick<ErasureEvidence, 'erased'>,
  options: { retentionDays: number; now: Date },
): ChainContext {
  const byRun = new Map(stored.map((entry) => [entry.result.runId, entry]));
  return {
    ...options,
    erasures: { erased: erasures.erased, erasedBySigned: erasures.erased },
    storedRuns: () => [...byRun.keys()],
    manifestOf: (_authorId, runId) => {
      const entry = byRun.get(runId);
      return Promise.resolve(
        entry
          ? { state: 'stored', sha256: entry.manifestSha256!, signed: false, manifest: entry.manifest }
          : { state: 'missing' },
      );
    },
  };
}

async function check(
  checked: CheckedSnapshot[],
  erasures: Pick<ErasureEvidence, 'erased'>,
  options: { retentionDays: number; now: Date },
): Promise<void> {
  await checkChains(checked, archiveOf(checked, erasures, options));
}

test('a complete chain holds', async () => {
  const first = snapshot('20261201T020000Z-00a001', null);
  const second = snapshot('20261202T020000Z-00a002', {
    runId: first.result.runId,
    manifestSha256: first.manifestSha256!,
  });
  await check([first, second], none, { retentionDays: 730, now: NOW });
  expect([first, second].map((s) => [s.result.status, s.result.problems, s.result.notes])).toEqual([
    ['ok', [], []],
    ['ok', [], []],
  ]);
});

test('a link to a snapshot an erasure record accounts for is explained, not damage', async () => {
  const gone = '20261201T020000Z-00a001';
  const later = snapshot('20261202T020000Z-00a002', { runId: gone, manifestSha256: 'f'.repeat(64) });
  await check(
    [later],
    { erased: new Set([`${authorIdDigest(AUTHOR)}:${gone}`]) },
    { retentionDays: 730, now: NOW },
  );
  expect(later.result.status).toBe('ok');
  expect(later.result.notes.join(' ')).toMatch(/erased/);
});

test('a link to a snapshot older than the retention is explained by the lifecycle rule', async () => {
  const later = snapshot('20261202T020000Z-00a002', {
    runId: '20240101T020000Z-00a001',
    manifestSha256: 'f'.repeat(64),
  });
  await check([later], none, { retentionDays: 365, now: NOW });
  expect(later.result.status).toBe('ok');
  expect(later.result.notes.join(' ')).toMatch(/retention/);
});

test('a missing predecessor that nothing explains, a replaced one, and a false "first" are damage', async () => {
  // `first`'s manifest was replaced after `linking` named it: the damage is first's, not linking's.
  const first = snapshot('20261201T020000Z-00a001', null);
  const linking = snapshot('20261202T020000Z-00a002', {
    runId: first.result.runId,
    manifestSha256: 'e'.repeat(64),
  });
  const orphan = snapshot('20261203T020000Z-00a003', {
    runId: '20261130T020000Z-00a000',
    manifestSha256: 'f'.repeat(64),
  });
  const falseFirst = snapshot('20261203T030000Z-00a004', null);
  await check([first, linking, orphan, falseFirst], none, { retentionDays: 730, now: NOW });
  expect(first.result.problems).toEqual([
    expect.objectContaining({ kind: 'chain-broken', path: `${first.result.prefix}manifest.json` }),
  ]);
  expect(linking.result.problems).toEqual([]);
  expect(orphan.result.problems).toEqual([
    expect.objectContaining({
      kind: 'chain-broken',
      path: snapshotPrefix(AUTHOR, '20261130T020000Z-00a000'),
    }),
  ]);
  expect(falseFirst.result.problems).toEqual([expect.objectContaining({ kind: 'chain-broken' })]);
  expect([first, orphan, falseFirst].every((s) => s.result.status === 'damaged')).toBe(true);
  expect(linking.result.status).toBe('ok');
});
