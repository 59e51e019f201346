/**
 * The UTC time stamps of the contract, in one place: run IDs and erasure IDs start with a compact stamp,
 * blob folders and `--since`/`--until` compare days, token expiries are whole seconds.
 */

/** `YYYYMMDDTHHMMSSZ` (UTC): sorts like the time it names. */
export function compactUtcStamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-28T02:00:00.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** `YYYYMMDD` (UTC): the day a run ID or blob folder belongs to. */
export function utcDayStamp(date: Date): string {
  return compactUtcStamp(date).slice(0, 8);
}

/** ISO 8601 UTC without milliseconds (`2026-11-28T09:00:00Z`), or undefined for an invalid time. */
export function isoSeconds(epochSeconds: number): string | undefined {
  const date = new Date(Math.floor(epochSeconds) * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
