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
