import { GalleryExportError } from '../../src/contract/errors';
import type { AuthorWorkItem, NotQueued } from '../../src/contract/workItem';
import { handleWorkItem, startFanOutRun } from '../../src/export/fanOut';
import type { ExportServices, WorkQueue } from '../../src/export/ports';
import { fakeWorld, type FakeWorld } from '../support/fakes';

/** The fan-out core when storage's answers cannot be trusted (issue 26), on the in-memory fakes. */
const A = 'A'.repeat(64);
const B = 'B'.repeat(64);

function worldWithAuthors(): FakeWorld {
  const world = fakeWorld();
  for (const id of [A, B]) {
    world.catalog.authors.set(id, { profile: { id, entities_count: 1 }, entities: [{ id: `${id[0]}1` }] });
    world.registry.add(id[0]!.toLowerCase(), JSON.stringify({ authorId: id, accessToken: null }), {
      taggedAuthorId: id,
    });
  }
  return world;
}

/**
 * A queue whose answer for some messages is lost: the message lands (a worker handles it at once) and
 * the sender is told it failed, as when every retry of a send that had landed was refused.
 */
class AnswerLosingQueue implements WorkQueue {
  readonly delivered: AuthorWorkItem[] = [];
  constructor(
    private readonly services: ExportServices,
    private readonly loseAnswerFor: string,
  ) {}

  async enqueue(items: readonly AuthorWorkItem[]): Promise<NotQueued[]> {
    const notQueued: NotQueued[] = [];
    for (const item of items) {
      this.delivered.push(item);
      if (item.secretName !== this.loseAnswerFor) continue;
      await handleWorkItem(this.services, item);
      notQueued.push({
        item,
        error: new GalleryExportError('STORAGE_UNAVAILABLE', 'HTTP 503 (ServerBusy)', { statusCode: 503 }),
      });
    }
    return notQueued;
  }
}

test('an author whose send was reported failed but whose message landed and was recorded by a worker is not a failure of the run', async () => {
  const world = worldWithAuthors();
  const queue = new AnswerLosingQueue(world.services, 'gallery-author-a');
  const planned = await startFanOutRun(world.services, queue, { trigger: 'timer' });

  expect(world.runs.outcomes.get(`${planned.runId}/gallery-author-a`)).toMatchObject({ status: 'complete' });
  const other = queue.delivered.find((item) => item.secretName === 'gallery-author-b')!;
  const last = await handleWorkItem(world.services, other);
  expect(last.finalised).toMatchObject({ status: 'complete', counts: { complete: 2, failed: 0 } });
});

/**
 * The claims of a secret as two live deliveries of one work item see them: while `holder` works, a
 * second delivery's claim is refused with SNAPSHOT_BUSY (its lease is held), as BlobRunStore does.
 */
function holdClaims(world: FakeWorld): { release: () => void; busyRefusals: () => number } {
  const claim = world.runs.claimAuthor.bind(world.runs);
  let held = true;
  let refusals = 0;
  world.runs.claimAuthor = (runId, authorId, secretName) => {
    if (!held) return claim(runId, authorId, secretName);
    refusals++;
    return Promise.reject(
      new GalleryExportError('SNAPSHOT_BUSY', `Another delivery is still exporting ${secretName}`),
    );
  };
  return { release: () => (held = false), busyRefusals: () => refusals };
}

test('a second copy of a message meeting the live delivery of the first waits for it and ends with its outcome, not a failed invocation', async () => {
  const world = worldWithAuthors();
  const queue = new AnswerLosingQueue(world.services, 'none');
  const planned = await startFanOutRun(world.services, queue, { trigger: 'timer' });
  const item = queue.delivered.find((entry) => entry.secretName === 'gallery-author-a')!;
  const claims = holdClaims(world);
  // The first delivery finishes (records the author, lets go of its claim) while the copy waits.
  setTimeout(() => {
    void world.runs.writeOutcome(planned.runId, {
      secretName: item.secretName,
      authorId: A,
      status: 'complete',
      completedAt: new Date().toISOString(),
    });
    claims.release();
  }, 300);

  const copy = await handleWorkItem(world.services, item, { dequeueCount: 1 });

  expect(claims.busyRefusals()).toBe(1);
  expect(world.logger.lines).toContain(
    `info Author ${item.secretName} in run ${planned.runId}: another delivery of it is still working; waiting for it`,
  );
  expect(copy).toMatchObject({ retry: false, outcome: { status: 'complete', authorId: A } });
});

test('a copy whose live twin fails without recording (its claim let go) exports the author itself', async () => {
  const world = worldWithAuthors();
  const queue = new AnswerLosingQueue(world.services, 'none');
  await startFanOutRun(world.services, queue, { trigger: 'timer' });
  const item = queue.delivered.find((entry) => entry.secretName === 'gallery-author-a')!;
  const claims = holdClaims(world);
  setTimeout(claims.release, 300);

  const copy = await handleWorkItem(world.services, item, { dequeueCount: 1 });

  expect(copy).toMatchObject({ retry: false, outcome: { status: 'complete', authorId: A } });
});

test('a copy waits no longer than its own deadline: then it is delivered again later, as before', async () => {
  const world = worldWithAuthors();
  const queue = new AnswerLosingQueue(world.services, 'none');
  await startFanOutRun(world.services, queue, { trigger: 'timer' });
  const item = queue.delivered.find((entry) => entry.secretName === 'gallery-author-a')!;
  holdClaims(world);

  const copy = await handleWorkItem(world.services, item, { signal: AbortSignal.timeout(1500) });

  expect(copy).toMatchObject({ retry: true, outcome: { status: 'failed' } });
});
