import {
  CATALOG_CLOCK_SPREAD_MS,
  HTTP_DATE_RESOLUTION_MS,
  ListingClock,
  parseCatalogTimestamp,
  parseHttpDate,
  UNMEASURED_CLOCK_SKEW_MS,
} from '../../src/catalog/catalogClock';

describe('parseCatalogTimestamp', () => {
  const at = Date.UTC(2018, 4, 7, 14, 30, 25, 930);

  it.each([
    ['2018-05-07T14:30:25.9305671+00:00', at],
    ['2018-05-07T14:30:25.930Z', at],
    ['2018-05-07T14:30:25.93z', at],
    ['2018-05-07t14:30:25.930999999Z', at],
    ['2018-05-07T14:30:25Z', at - 930],
    ['2018-05-07T16:30:25.9305671+02:00', at],
    ['2018-05-07T09:00:25.9305671-05:30', at],
    ['2018-05-07T16:30:25.9305671+0200', at],
    ['2016-02-29T00:00:00+00:00', Date.UTC(2016, 1, 29)],
  ])('reads %s', (text, expected) => {
    expect(parseCatalogTimestamp(text)).toBe(expected);
  });

  it('truncates the fraction: a later instant than written is never claimed', () => {
    expect(parseCatalogTimestamp('2018-05-07T14:30:25.9309999+00:00')).toBe(at);
  });

  it.each([
    ['no time zone (local or UTC? nobody can tell)', '2018-05-07T14:30:25.9305671'],
    ['a date only', '2018-05-07'],
    ['a space for T', '2018-05-07 14:30:25Z'],
    ['a leap second', '2016-12-31T23:59:60Z'],
    ['February 30th', '2018-02-30T00:00:00Z'],
    ['hour 24', '2018-05-07T24:00:00Z'],
    ['an offset past 23:59', '2018-05-07T14:30:25+24:00'],
    ['an HTTP date', 'Mon, 07 May 2018 14:30:25 GMT'],
    ['epoch milliseconds', '1525703425930'],
    ['.NET JSON', '/Date(1525703425930)/'],
    ['words', 'yesterday'],
    ['nothing', ''],
    ['trailing text', '2018-05-07T14:30:25Z and then some'],
  ])('gives nothing for %s', (_case, text) => {
    expect(parseCatalogTimestamp(text)).toBeUndefined();
  });
});

describe('parseHttpDate', () => {
  it('reads an IMF-fixdate', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseHttpDate(new Date(Date.UTC(2026, 11, 8, 1, 2, 3)).toUTCString())).toBe(
      Date.UTC(2026, 11, 8, 1, 2, 3),
    );
  });

  it.each([
    ['RFC 850', 'Sunday, 06-Nov-94 08:49:37 GMT'],
    ['asctime (no time zone)', 'Sun Nov  6 08:49:37 1994'],
    ['another zone', 'Sun, 06 Nov 1994 08:49:37 PST'],
    ['an unknown month', 'Sun, 06 Noe 1994 08:49:37 GMT'],
    ['an impossible day', 'Sun, 31 Nov 1994 08:49:37 GMT'],
    ['ISO 8601', '1994-11-06T08:49:37Z'],
  ])('gives nothing for %s', (_case, text) => {
    expect(parseHttpDate(text)).toBeUndefined();
  });
});

describe('ListingClock', () => {
  const margin = HTTP_DATE_RESOLUTION_MS + CATALOG_CLOCK_SPREAD_MS;
  const first = Date.UTC(1994, 10, 6, 8, 49, 37);

  it("dates newcomers by the catalog's first Date: a second for its truncation and a margin for the catalog's own clocks", () => {
    const clock = new ListingClock(() => 0);
    clock.observe(undefined);
    clock.observe('not a date');
    clock.observe('Sun, 06 Nov 1994 08:49:37 GMT');
    expect(clock.window()).toEqual({ after: first + margin, notAfter: first + margin });
    // Later answers do not move the start (the first reading after the listing began is the tightest),
    // only how late a stamp may be; an earlier Date (another server) moves neither.
    clock.observe('Sun, 06 Nov 1994 08:59:37 GMT');
    clock.observe('Sun, 06 Nov 1994 08:40:00 GMT');
    expect(clock.window()).toEqual({ after: first + margin, notAfter: first + 600_000 + margin });
    const settle = clock.msUntilSettled();
    expect(settle).toBeGreaterThan(0);
    expect(settle).toBeLessThanOrEqual(HTTP_DATE_RESOLUTION_MS + 2 * CATALOG_CLOCK_SPREAD_MS);
  });

  it("without a Date, this machine's clock stands in, with the skew it may have", () => {
    let now = 1_000_000;
    const clock = new ListingClock(() => now);
    now += 60_000;
    expect(clock.window()).toEqual({
      after: 1_000_000 + UNMEASURED_CLOCK_SKEW_MS,
      notAfter: 1_060_000 + UNMEASURED_CLOCK_SKEW_MS,
    });
    expect(clock.msUntilSettled()).toBe(2 * UNMEASURED_CLOCK_SKEW_MS - 60_000);
  });
});
