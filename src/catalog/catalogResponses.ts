import { isUtf8 } from 'node:buffer';
import type { ListedEntity, Profile } from '../contract/catalogApi';

/**
 * Defensive parsing of catalog responses. Entities are kept byte-for-byte as the catalog sent them
 * (JSON.parse + stringify would rewrite numbers such as 86.351575190956922), so the list body is
 * validated with JSON.parse and then scanned for the exact bytes of every item.
 */

export class InvalidBodyError extends Error {
  override readonly name = 'InvalidBodyError';
}

export interface EntityPage {
  items: ListedEntity[];
  /** `total_count`, or undefined when the catalog did not send a usable one. */
  totalCount: number | undefined;
}

/**
 * Validates a list page (UTF-8, JSON, the envelope, every item an object with an id) and finds each
 * item's exact bytes. JSON's structural characters are ASCII and never occur inside a UTF-8 multi-byte
 * sequence, so the page is scanned as bytes and every entity is a zero-copy slice of the body.
 */
export function parseEntityPage(received: Buffer): EntityPage {
  const body = withoutBom(received);
  if (!isUtf8(body)) throw new InvalidBodyError('the body is not valid UTF-8');
  const parsed = parseJson(body.toString('utf8'));
  const scanner = new JsonByteScanner(body);
  let values: unknown[];
  let valueSpans: Array<[number, number]>;
  let totalCount: number | undefined;

  if (Array.isArray(parsed)) {
    // Not the documented envelope, but unambiguous: page it without a total.
    values = parsed;
    valueSpans = scanner.arrayElements(scanner.skipWhitespace(0));
  } else if (isObject(parsed)) {
    const value = parsed.value;
    if (!Array.isArray(value)) throw new InvalidBodyError('the list envelope has no "value" array');
    values = value;
    // JSON.parse keeps the last of two equal keys and the byte scan finds the first: a body with either
    // twice would be read two ways, so it is refused.
    const repeated = scanner.repeatedMember(scanner.skipWhitespace(0));
    if (repeated !== undefined) throw new InvalidBodyError(`the list envelope has "${repeated}" twice`);
    const start = scanner.memberStart(scanner.skipWhitespace(0), 'value');
    if (start === undefined) throw new InvalidBodyError('the list envelope has no "value" array');
    valueSpans = scanner.arrayElements(start);
    const total = parsed.total_count;
    if (total !== undefined && total !== null) {
      if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) {
        throw new InvalidBodyError('"total_count" is not a non-negative integer');
      }
      totalCount = total;
    }
  } else {
    throw new InvalidBodyError('the list response is neither an envelope object nor an array');
  }
  if (valueSpans.length !== values.length)
    throw new InvalidBodyError('the "value" array could not be scanned');

  const items = values.map((value, index): ListedEntity => {
    const [start, end] = valueSpans[index]!;
    let entity = value;
    let raw = body.subarray(start, end);
    if (isObject(value) && value.id === undefined && isObject(value.entity)) {
      entity = value.entity;
      const inner = scanner.memberStart(start, 'entity')!;
      raw = body.subarray(inner, scanner.endOfValue(inner));
    }
    if (!isObject(entity)) throw new InvalidBodyError(`item ${index} is not an object`);
    const id = entity.id;
    if (!((typeof id === 'string' && id.trim() !== '') || (typeof id === 'number' && Number.isFinite(id)))) {
      throw new InvalidBodyError(`item ${index} has no usable "id"`);
    }
    return {
      id: String(id),
      ...(typeof id === 'number' ? { numericId: id } : {}),
      raw,
      hidden: entity.hidden === true || entity.hidden === 'true',
    };
  });
  // The bytes and the parsed values must describe the same items (a duplicated "value" key could not).
  for (const item of [items[0], items.at(-1)]) {
    if (item && String((parseJson(item.raw.toString('utf8')) as { id?: unknown }).id) !== item.id) {
      throw new InvalidBodyError('the list items could not be located in the body');
    }
  }
  return { items, totalCount };
}

/** Validates `GET /users/{id}`: a JSON object for this author. */
export function parseProfile(body: Buffer, authorId: string): Profile {
  const parsed = parseJson(withoutBom(body).toString('utf8'));
  if (!isObject(parsed)) throw new InvalidBodyError('the profile is not a JSON object');
  if (typeof parsed.id === 'string' && parsed.id.toUpperCase() !== authorId.toUpperCase()) {
    throw new InvalidBodyError('the profile belongs to another author id');
  }
  const count = parsed.entities_count;
  return {
    raw: body,
    entitiesCount: typeof count === 'number' && Number.isSafeInteger(count) && count >= 0 ? count : undefined,
  };
}

/** A UTF-8 byte order mark is not JSON; some servers send one anyway. */
function withoutBom(body: Buffer): Buffer {
  return body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf
    ? body.subarray(3)
    : body;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidBodyError(`the body is not valid JSON (${(error as Error).message})`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/** Finds value boundaries, as byte offsets, in a body already known to be valid JSON. */
class JsonByteScanner {
  constructor(private readonly bytes: Buffer) {}

  skipWhitespace(index: number): number {
    const bytes = this.bytes;
    while (index < bytes.length) {
      const c = bytes[index]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      index++;
    }
    return index;
  }

  /** Offset just past the value starting at `index`. */
  endOfValue(index: number): number {
    const bytes = this.bytes;
    const first = bytes[index];
    if (first === QUOTE) return this.endOfString(index);
    if (first === OPEN_BRACE || first === OPEN_BRACKET) {
      let depth = 0;
      for (let i = index; i < bytes.length; i++) {
        const c = bytes[i]!;
        if (c === QUOTE) i = this.endOfString(i) - 1;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          depth--;
          if (depth === 0) return i + 1;
        }
      }
      throw new InvalidBodyError('unbalanced JSON');
    }
    let i = index;
    while (i < bytes.length) {
      const c = bytes[i]!;
      if (
        c === COMMA ||
        c === CLOSE_BRACKET ||
        c === CLOSE_BRACE ||
        c === 0x20 ||
        c === 0x0a ||
        c === 0x0d ||
        c === 0x09
      )
        break;
      i++;
    }
    return i;
  }

  /** Strings are skipped with indexOf (native) rather than byte by byte: entities are mostly text. */
  private endOfString(index: number): number {
    const bytes = this.bytes;
    let quote = index;
    for (;;) {
      quote = bytes.indexOf(QUOTE, quote + 1);
      if (quote < 0) throw new InvalidBodyError('unterminated JSON string');
      let backslashes = 0;
      while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++;
      if (backslashes % 2 === 0) return quote + 1;
    }
  }

  /** Where the value of `key` starts in the object at `index`, or undefined. The first match wins. */
  memberStart(index: number, key: string): number | undefined {
    const bytes = this.bytes;
    let i = this.skipWhitespace(index) + 1; // past '{'
    for (;;) {
      i = this.skipWhitespace(i);
      if (bytes[i] !== QUOTE) return undefined;
      const keyEnd = this.endOfString(i);
      const name = JSON.parse(bytes.toString('utf8', i, keyEnd)) as string;
      i = this.skipWhitespace(this.skipWhitespace(keyEnd) + 1); // past ':'
      if (name === key) return i;
      i = this.skipWhitespace(this.endOfValue(i));
      if (bytes[i] === COMMA) i++;
    }
  }

  /** The first key that occurs twice in the object at `index`, or undefined. */
  repeatedMember(index: number): string | undefined {
    const bytes = this.bytes;
    const seen = new Set<string>();
    let i = this.skipWhitespace(index) + 1; // past '{'
    for (;;) {
      i = this.skipWhitespace(i);
      if (bytes[i] !== QUOTE) return undefined;
      const keyEnd = this.endOfString(i);
      const name = JSON.parse(bytes.toString('utf8', i, keyEnd)) as string;
      if (seen.has(name)) return name.slice(0, 40);
      seen.add(name);
      i = this.skipWhitespace(this.skipWhitespace(keyEnd) + 1); // past ':'
      i = this.skipWhitespace(this.endOfValue(i));
      if (bytes[i] === COMMA) i++;
    }
  }

  arrayElements(index: number): Array<[number, number]> {
    const spans: Array<[number, number]> = [];
    let i = this.skipWhitespace(index) + 1; // past '['
    for (;;) {
      i = this.skipWhitespace(i);
      if (this.bytes[i] === CLOSE_BRACKET || i >= this.bytes.length) return spans;
      const end = this.endOfValue(i);
      spans.push([i, end]);
      i = this.skipWhitespace(end);
      if (this.bytes[i] === COMMA) i++;
    }
  }
}
