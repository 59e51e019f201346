/**
 * Defensive parsing of catalog responses. Entities are kept byte-for-byte as the catalog sent them
 * (JSON.parse + stringify would rewrite numbers such as 86.351575190956922 and reorder nothing but
 * still change bytes), so the list body is validated with JSON.parse and then scanned for the exact
 * text span of every item.
 */

export class InvalidBodyError extends Error {
  override readonly name = 'InvalidBodyError';
}

export interface ListedEntity {
  /** The entity's id as a string (ids are compared and sorted by their UTF-16 code units). */
  id: string;
  /** The entity's JSON text exactly as received, unwrapped from `{"entity": ...}`. */
  raw: string;
  hidden: boolean;
}

export interface EntityPage {
  items: ListedEntity[];
  /** `total_count`, or undefined when the catalog did not send a usable one. */
  totalCount: number | undefined;
}

export function parseEntityPage(text: string): EntityPage {
  const parsed = parseJson(text);
  const scanner = new JsonScanner(text);
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
    const span = scanner.objectMembers(scanner.skipWhitespace(0)).get('value');
    if (!span) throw new InvalidBodyError('the list envelope has no "value" array');
    valueSpans = scanner.arrayElements(span[0]);
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
    let raw = text.slice(start, end);
    if (isObject(value) && value.id === undefined && isObject(value.entity)) {
      entity = value.entity;
      const inner = scanner.objectMembers(start).get('entity')!;
      raw = text.slice(inner[0], inner[1]);
    }
    if (!isObject(entity)) throw new InvalidBodyError(`item ${index} is not an object`);
    const id = entity.id;
    if (!((typeof id === 'string' && id.trim() !== '') || (typeof id === 'number' && Number.isFinite(id)))) {
      throw new InvalidBodyError(`item ${index} has no usable "id"`);
    }
    return { id: String(id), raw, hidden: entity.hidden === true || entity.hidden === 'true' };
  });
  return { items, totalCount };
}

export interface Profile {
  /** The body exactly as received. */
  raw: Buffer;
  entitiesCount: number | undefined;
}

/** Validates `GET /users/{id}`: a JSON object for this author. */
export function parseProfile(body: Buffer, authorId: string): Profile {
  const parsed = parseJson(body.toString('utf8'));
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

/** Finds value boundaries in text already known to be valid JSON. */
class JsonScanner {
  constructor(private readonly text: string) {}

  skipWhitespace(index: number): number {
    const text = this.text;
    while (index < text.length) {
      const c = text.charCodeAt(index);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      index++;
    }
    return index;
  }

  /** Index just past the value starting at `index`. */
  endOfValue(index: number): number {
    const text = this.text;
    const first = text.charCodeAt(index);
    if (first === QUOTE) return this.endOfString(index);
    if (first === 0x7b || first === 0x5b) {
      let depth = 0;
      for (let i = index; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === QUOTE) i = this.endOfString(i) - 1;
        else if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) {
          depth--;
          if (depth === 0) return i + 1;
        }
      }
      throw new InvalidBodyError('unbalanced JSON');
    }
    let i = index;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x2c || c === 0x5d || c === 0x7d || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)
        break;
      i++;
    }
    return i;
  }

  private endOfString(index: number): number {
    const text = this.text;
    for (let i = index + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) return i + 1;
    }
    throw new InvalidBodyError('unterminated JSON string');
  }

  /** Spans of an object's member values, by key (the last one wins, as with JSON.parse). */
  objectMembers(index: number): Map<string, [number, number]> {
    const members = new Map<string, [number, number]>();
    let i = this.skipWhitespace(index) + 1; // past '{'
    for (;;) {
      i = this.skipWhitespace(i);
      if (this.text.charCodeAt(i) === 0x7d) return members;
      const keyEnd = this.endOfString(i);
      const key = JSON.parse(this.text.slice(i, keyEnd)) as string;
      i = this.skipWhitespace(this.skipWhitespace(keyEnd) + 1); // past ':'
      const end = this.endOfValue(i);
      members.set(key, [i, end]);
      i = this.skipWhitespace(end);
      if (this.text.charCodeAt(i) === 0x2c) i++;
    }
  }

  arrayElements(index: number): Array<[number, number]> {
    const spans: Array<[number, number]> = [];
    let i = this.skipWhitespace(index) + 1; // past '['
    for (;;) {
      i = this.skipWhitespace(i);
      if (this.text.charCodeAt(i) === 0x5d) return spans;
      const end = this.endOfValue(i);
      spans.push([i, end]);
      i = this.skipWhitespace(end);
      if (this.text.charCodeAt(i) === 0x2c) i++;
    }
  }
}
