import { hash } from 'node:crypto';
import type { EntityCollector, ListedEntity } from '../contract/catalogApi';
import { abortableSleep } from './abortableSleep';
import { parseCatalogTimestamp, type ListingClock, type NewcomerWindow } from './catalogClock';
import { JsonBytes } from './jsonBytes';

/**
 * Two passes of an unordered list, compared. Without `$orderby` no single pass proves itself, so a list is
 * kept when a pass agrees with the one before it: every entity of the earlier pass is in the later one
 * with the same bytes, and whatever else the later one holds was provably published after the listing
 * began (see ListingClock). Those newcomers are held back from the collector as the later pass is read,
 * so what is stored is the earlier pass's set, with the later pass's (identical) bytes. A deleted or
 * changed entity, or one that appeared without proof that it is new (which a pass may also have missed),
 * makes the two disagree.
 */

/** What one pass of an unordered list found. */
export interface UnorderedPassRecord {
  /** Every entity's id and a digest of its exact bytes. */
  readonly digests: ReadonlyMap<string, string>;
  /** Entities absent from the pass before and provably published since the listing began: id, hidden. */
  readonly newcomers: ReadonlyMap<string, boolean>;
  /** Entities absent from the pass before whose `created_at` proved nothing: id, why. */
  readonly unproven: ReadonlyMap<string, string>;
}

export type PassComparison =
  | { agree: true; newcomers: readonly string[]; hiddenNewcomers: number }
  /** `unproven`: only entities that may be new stood in the way, so a later pair may agree. */
  | { agree: false; reason: string; unproven: boolean };

/** Whether `later` is `earlier` plus newcomers, each entity of `earlier` byte for byte the same. */
export function comparePasses(
  earlier: ReadonlyMap<string, string>,
  later: UnorderedPassRecord,
): PassComparison {
  for (const [id, digest] of earlier) {
    const found = later.digests.get(id);
    if (found === undefined) {
      return { agree: false, unproven: false, reason: `entity ${id} was in one pass and not in the next` };
    }
    if (found !== digest) {
      return { agree: false, unproven: false, reason: `entity ${id} changed between two passes` };
    }
  }
  let newcomers = 0;
  let hiddenNewcomers = 0;
  for (const id of later.digests.keys()) {
    if (earlier.has(id)) continue;
    const hidden = later.newcomers.get(id);
    if (hidden === undefined) {
      const why = later.unproven.get(id) ?? 'not checked';
      return {
        agree: false,
        unproven: true,
        reason: `entity ${id} appeared between two passes, and its created_at (${why}) does not prove it was published after the listing began`,
      };
    }
    newcomers++;
    if (hidden) hiddenNewcomers++;
  }
  if (newcomers !== later.newcomers.size) {
    return { agree: false, unproven: false, reason: 'a pass held back entities it also held' };
  }
  return { agree: true, newcomers: [...later.newcomers.keys()], hiddenNewcomers };
}

/**
 * Whether an entity's own `created_at` (a top-level string, once) falls in `window` (epoch ms by the
 * catalog's clock): after the listing began, and not in the catalog's future (an odd stamp proves
 * nothing). True, or what it said instead.
 */
export function provablyPublishedDuring(raw: Buffer, window: NewcomerWindow): true | string {
  let createdAt: string | undefined;
  let seen = 0;
  try {
    const json = new JsonBytes(raw);
    json.object(json.skipWhitespace(0), (keyStart, keyEnd, escaped, valueStart) => {
      if (!json.keyIs({ start: keyStart, end: keyEnd, escaped }, 'created_at')) return undefined;
      seen++;
      if (raw[valueStart] !== QUOTE) return undefined;
      const valueEnd = json.string(valueStart);
      createdAt = json.stringValue(valueStart, valueEnd);
      return valueEnd;
    });
  } catch {
    return 'unreadable';
  }
  if (seen === 0) return 'absent';
  if (seen > 1) return 'given twice';
  if (createdAt === undefined) return 'not a string';
  const shown = JSON.stringify(createdAt.slice(0, 40));
  const at = parseCatalogTimestamp(createdAt);
  if (at === undefined) return `${shown}, not a timestamp with a time zone`;
  if (at <= window.after) return `${shown}, not after ${new Date(window.after).toISOString()}`;
  if (at > window.notAfter) return `${shown}, later than the catalog's clock`;
  return true;
}

const QUOTE = 0x22;

/**
 * Passes an unordered pass's entities on to the real collector, recording what it found; when there is
 * an earlier pass, an entity it did not hold is judged by its `created_at` and, when provably new, held
 * back (recorded, not collected).
 */
export class UnorderedPassCollector implements EntityCollector {
  private readonly digests = new Map<string, string>();
  private readonly newcomers = new Map<string, boolean>();
  private readonly unproven = new Map<string, string>();
  /** Entities were added while the list was still read ordered: this pass's record is not whole. */
  private partial = false;

  /**
   * @param recording whether the list is unordered now (only then is a pass recorded).
   * @param earlier the pass before, when there is one to compare with.
   */
  constructor(
    private readonly inner: EntityCollector,
    private readonly recording: () => boolean,
    private readonly earlier: ReadonlyMap<string, string> | undefined,
    private readonly clock: ListingClock,
  ) {}

  async reset(): Promise<void> {
    this.digests.clear();
    this.newcomers.clear();
    this.unproven.clear();
    this.partial = false;
    await this.inner.reset();
  }

  async add(entities: readonly ListedEntity[]): Promise<void> {
    if (!this.recording()) {
      this.partial = true;
      await this.inner.add(entities);
      return;
    }
    // A copy only once something is held back: most pages pass through as they came.
    let collected: ListedEntity[] | undefined;
    for (let index = 0; index < entities.length; index++) {
      const entity = entities[index]!;
      this.digests.set(entity.id, hash('sha256', entity.raw, 'base64'));
      if (this.earlier !== undefined && !this.earlier.has(entity.id)) {
        const proof = provablyPublishedDuring(entity.raw, this.clock.window());
        if (proof === true) {
          this.newcomers.set(entity.id, entity.hidden);
          collected ??= entities.slice(0, index);
          continue;
        }
        this.unproven.set(entity.id, proof);
      }
      collected?.push(entity);
    }
    if (collected === undefined) await this.inner.add(entities);
    else if (collected.length > 0) await this.inner.add(collected);
  }

  /** The pass's record, or undefined when part of it was read ordered (it only starts a comparison). */
  record(): UnorderedPassRecord | undefined {
    if (this.partial) return undefined;
    return { digests: this.digests, newcomers: this.newcomers, unproven: this.unproven };
  }
}

/** Bounds the wait for entities of uncertain age to settle (see `UnorderedPasses.settle`). */
export const MAX_SETTLE_WAIT_MS = 10_000;

/** One unordered listing's passes, each compared with the one before until two agree. */
export class UnorderedPasses {
  private earlier: UnorderedPassRecord | undefined;

  constructor(private readonly clock: ListingClock) {}

  /** A collector for the next pass, compared with the last one recorded. */
  collector(inner: EntityCollector, recording: () => boolean): UnorderedPassCollector {
    return new UnorderedPassCollector(inner, recording, this.earlier?.digests, this.clock);
  }

  /** The pass read last, against the one before (undefined: nothing to compare with yet). */
  judge(pass: UnorderedPassCollector): PassComparison | undefined {
    const record = pass.record();
    const earlier = this.earlier;
    this.earlier = record;
    return record === undefined || earlier === undefined ? undefined : comparePasses(earlier.digests, record);
  }

  /**
   * Entities published in the listing's first moments cannot be told from old ones by their `created_at`
   * (the catalog's clock is known to a second or two): once that window is over, a pass holds them all and
   * the next one differs from it only by provable newcomers. Waits for it when it is short.
   */
  async settle(signal: AbortSignal | undefined): Promise<void> {
    const waitMs = this.clock.msUntilSettled();
    if (waitMs > 0 && waitMs <= MAX_SETTLE_WAIT_MS) await abortableSleep(Math.ceil(waitMs), signal);
  }
}
