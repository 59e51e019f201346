import { performance } from 'node:perf_hooks';

/**
 * The catalog's clock, as far as this machine can know it: what tells an entity published while a list
 * was read (its `created_at` after the listing began) from one that was there all along.
 *
 * `created_at` is stamped by the catalog's clock, so it is compared with the catalog's clock, read from
 * the `Date` header of its first answer to the listing (HTTP requires an origin server with a clock to
 * send one): no skew between the catalog and this machine enters. What remains unknown is bounded:
 * - a `Date` has whole seconds, truncated, so the catalog's clock may have been up to a second past it;
 * - the machine that stamped `Date` and the one that stamped `created_at` may disagree a little
 *   (servers of one service keep time to within milliseconds; `CATALOG_CLOCK_SPREAD_MS` is a wide berth).
 * A stamp later than the catalog's clock (by its latest `Date`) is odd, and proves nothing either.
 * Without a usable `Date`, this machine's clock stands in, off by as much as `UNMEASURED_CLOCK_SKEW_MS`.
 * A `created_at` is only trusted when it is unambiguous: ISO 8601 with a time zone (the catalog writes
 * `2018-05-07T14:30:25.9305671+00:00`); anything else proves nothing.
 */

/** HTTP dates have whole seconds: the catalog's clock was up to this much past a `Date` it sent. */
export const HTTP_DATE_RESOLUTION_MS = 1_000;
/**
 * How far apart the catalog's own clocks may be: the one that stamped a response's `Date` and the one
 * that stamped an entity's `created_at` (another machine of the same service, both kept to UTC).
 */
export const CATALOG_CLOCK_SPREAD_MS = 1_000;
/**
 * Without a usable `Date` header, how far this machine's clock may be from the catalog's: five minutes,
 * the skew Kerberos and Microsoft Entra ID token validation tolerate between machines.
 */
export const UNMEASURED_CLOCK_SKEW_MS = 5 * 60_000;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** RFC 9110's preferred format, the only one whose time zone cannot be misread (`asctime` has none). */
const IMF_FIXDATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):?(\d{2}))$/;

/** An HTTP `Date` (IMF-fixdate) in epoch milliseconds, or undefined when it is anything else. */
export function parseHttpDate(text: string): number | undefined {
  const match = IMF_FIXDATE.exec(text.trim());
  if (!match) return undefined;
  const [, day, month, year, hour, minute, second] = match;
  return utcMillis(Number(year), MONTHS.indexOf(month!) + 1, Number(day), Number(hour), Number(minute), {
    second: Number(second),
    millis: 0,
    offsetMinutes: 0,
  });
}

/**
 * A catalog timestamp (`2018-05-07T14:30:25.9305671+00:00`, or with `Z`) in epoch milliseconds, its
 * fraction truncated (a later instant is never claimed), or undefined when it is not one: without a time
 * zone, out of range, or anything else.
 */
export function parseCatalogTimestamp(text: string): number | undefined {
  const match = ISO_TIMESTAMP.exec(text);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, fraction, sign, offsetHours, offsetMinutes] = match;
  const offset = sign === undefined ? 0 : Number(offsetHours) * 60 + Number(offsetMinutes);
  if (Number(offsetHours ?? 0) > 23 || Number(offsetMinutes ?? 0) > 59) return undefined;
  return utcMillis(Number(year), Number(month), Number(day), Number(hour), Number(minute), {
    second: Number(second),
    millis: Number((fraction ?? '').slice(0, 3).padEnd(3, '0')),
    offsetMinutes: sign === '-' ? -offset : offset,
  });
}

function utcMillis(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  rest: { second: number; millis: number; offsetMinutes: number },
): number | undefined {
  // A leap second (:60) or a day past the month's end is no instant this parser vouches for.
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || rest.second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, rest.second, rest.millis);
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return undefined;
  return date.getTime() - rest.offsetMinutes * 60_000;
}

/** When an entity published during a listing was stamped, by the catalog's clock (epoch ms). */
export interface NewcomerWindow {
  /** Every entity there before the listing began was stamped at or before this. */
  after: number;
  /** No entity read so far can have been stamped after this: a later stamp is the catalog's future. */
  notAfter: number;
}

/**
 * One listing's view of the catalog's clock: made when the listing begins, told the `Date` of every
 * answer. The first usable one is the earliest reading taken after the listing began; the latest one
 * bounds what the entities read so far can say.
 */
export class ListingClock {
  private readonly startedAt: number;
  private firstDate: number | undefined;
  private latestDate: number | undefined;
  private latestText: string | undefined;
  /** `performance.now()` when the first one was seen. */
  private firstSeenAt = 0;

  /** @param now this machine's clock, for a catalog that sends no `Date` (its skew is assumed bounded). */
  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  observe(dateHeader: string | undefined): void {
    // Answers within one second carry the same text: parsed once.
    if (dateHeader === undefined || dateHeader === this.latestText) return;
    const date = parseHttpDate(dateHeader);
    if (date === undefined) return;
    this.latestText = dateHeader;
    this.latestDate = Math.max(this.latestDate ?? date, date);
    if (this.firstDate === undefined) {
      this.firstDate = date;
      this.firstSeenAt = performance.now();
    }
  }

  /** What a `created_at` must fall in to prove an entity was published after the listing began. */
  window(): NewcomerWindow {
    if (this.firstDate === undefined || this.latestDate === undefined) {
      return {
        after: this.startedAt + UNMEASURED_CLOCK_SKEW_MS,
        notAfter: this.now() + UNMEASURED_CLOCK_SKEW_MS,
      };
    }
    const margin = HTTP_DATE_RESOLUTION_MS + CATALOG_CLOCK_SPREAD_MS;
    return { after: this.firstDate + margin, notAfter: this.latestDate + margin };
  }

  /**
   * Milliseconds until every entity whose `created_at` is not after `window().after` exists in the
   * catalog, by the most its clocks can disagree: a pass that begins later holds every such entity.
   */
  msUntilSettled(): number {
    if (this.firstDate === undefined) return this.startedAt + 2 * UNMEASURED_CLOCK_SKEW_MS - this.now();
    // The catalog's clock was at least at `firstDate` when that answer was seen.
    return this.firstSeenAt + HTTP_DATE_RESOLUTION_MS + 2 * CATALOG_CLOCK_SPREAD_MS - performance.now();
  }
}
