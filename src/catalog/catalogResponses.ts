import { isUtf8 } from 'node:buffer';
import type { ListedEntity, Profile } from '../contract/catalogApi';
import { JsonBytes, JsonSyntaxError, type MemberReader } from './jsonBytes';

/**
 * Defensive parsing of catalog responses. Entities are kept byte-for-byte as the catalog sent them
 * (JSON.parse + stringify would rewrite numbers such as 86.351575190956922): a list body is validated
 * and scanned once, as bytes, and each entity is a zero-copy slice of it (see JsonBytes).
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
 * item's exact bytes, in one pass over the body's bytes.
 */
export function parseEntityPage(received: Buffer): EntityPage {
  const body = withoutBom(received);
  if (!isUtf8(body)) throw new InvalidBodyError('the body is not valid UTF-8');
  const json = new JsonBytes(body);
  try {
    const start = json.skipWhitespace(0);
    let items: ListedEntity[] | undefined;
    let totalCount: number | undefined;
    let end: number;
    if (body[start] === OPEN_BRACKET) {
      // Not the documented envelope, but unambiguous: page it without a total.
      items = [];
      end = readItems(json, start, items);
    } else if (body[start] === OPEN_BRACE) {
      const seen = new Set<string>();
      end = json.object(start, (keyStart, keyEnd, _keyEscaped, valueStart) => {
        // Two equal keys would be read two ways (JSON.parse keeps the last): refused.
        const name = json.stringValue(keyStart, keyEnd);
        if (seen.has(name)) throw new InvalidBodyError(`the list envelope has "${name.slice(0, 40)}" twice`);
        seen.add(name);
        if (name === 'value' && body[valueStart] === OPEN_BRACKET) {
          items = [];
          return readItems(json, valueStart, items);
        }
        if (name !== 'total_count') return undefined;
        const valueEnd = json.value(valueStart);
        totalCount = readTotal(json.text(valueStart, valueEnd));
        return valueEnd;
      });
      if (!items) throw new InvalidBodyError('the list envelope has no "value" array');
    } else {
      // Still checked as JSON first: a body that is not JSON says so.
      json.document();
      throw new InvalidBodyError('the list response is neither an envelope object nor an array');
    }
    if (json.skipWhitespace(end) !== body.length) json.document();
    return { items, totalCount };
  } catch (error) {
    if (error instanceof JsonSyntaxError)
      throw new InvalidBodyError(`the body is not valid JSON (${error.message})`);
    throw error;
  }
}

function readItems(json: JsonBytes, arrayStart: number, items: ListedEntity[]): number {
  const reader = new ItemReader(json);
  return json.array(arrayStart, (start) => {
    const end = reader.read(start, items.length);
    items.push(reader.entity());
    return end;
  });
}

/** Where a member's value is in the body; -1 when the member is absent. */
interface Span {
  start: number;
  end: number;
}

/** The members of an item that matter, as spans. `twice` names one seen twice (ambiguous). */
class ItemMembers {
  id: Span = { start: -1, end: -1 };
  hidden: Span = { start: -1, end: -1 };
  entity: Span = { start: -1, end: -1 };
  twice: string | undefined;

  clear(): void {
    this.id.start = this.hidden.start = this.entity.start = -1;
    this.twice = undefined;
  }
}

/**
 * Reads list items in the pass that validates them: an entity object, or `{"entity": {...}}` whose inner
 * object is read while the outer one is (a wrapped entity's bytes are scanned once, not twice). One
 * reader serves a whole page: a page has tens of thousands of members, and an object or a closure each
 * was a measurable share of the garbage.
 */
class ItemReader {
  private readonly outer = new ItemMembers();
  private readonly inner = new ItemMembers();
  private target = this.outer;
  private index = 0;
  private start = 0;
  private end = 0;
  private readonly onMember: MemberReader;

  constructor(private readonly json: JsonBytes) {
    this.onMember = (keyStart, keyEnd, keyEscaped, valueStart) =>
      this.member(keyStart, keyEnd, keyEscaped, valueStart);
  }

  /** Validates the item at `start`; returns its end. */
  read(start: number, index: number): number {
    const { json } = this;
    if (json.bytes[start] !== OPEN_BRACE) {
      json.value(start);
      throw new InvalidBodyError(`item ${index} is not an object`);
    }
    this.index = index;
    this.start = start;
    this.outer.clear();
    this.inner.clear();
    this.target = this.outer;
    this.end = json.object(start, this.onMember);
    return this.end;
  }

  /** The item just read, as an entity: unwrapped when it had no id of its own but an `entity` object. */
  entity(): ListedEntity {
    const { json, outer, inner, index } = this;
    const { bytes } = json;
    const wrapped = outer.id.start < 0 && outer.entity.start >= 0 && bytes[outer.entity.start] === OPEN_BRACE;
    const members = wrapped ? inner : outer;
    if (members.twice !== undefined) {
      throw new InvalidBodyError(`item ${index} has "${members.twice}" twice`);
    }
    const raw = wrapped
      ? bytes.subarray(outer.entity.start, outer.entity.end)
      : bytes.subarray(this.start, this.end);
    const { id, hidden } = members;
    let text: string | undefined;
    let numericId: number | undefined;
    if (id.start >= 0 && bytes[id.start] === QUOTE_BYTE) {
      text = json.stringValue(id.start, id.end);
      if (text.trim() === '') text = undefined;
    } else if (id.start >= 0 && (bytes[id.start] === MINUS_BYTE || isDigitByte(bytes[id.start]))) {
      numericId = Number(json.text(id.start, id.end));
      text = Number.isFinite(numericId) ? String(numericId) : undefined;
    }
    if (text === undefined) throw new InvalidBodyError(`item ${index} has no usable "id"`);
    return {
      id: text,
      ...(numericId === undefined ? {} : { numericId }),
      raw,
      hidden: hidden.start >= 0 && isTrue(bytes, hidden.start, hidden.end),
    };
  }

  private member(
    keyStart: number,
    keyEnd: number,
    keyEscaped: boolean,
    valueStart: number,
  ): number | undefined {
    const { json, target } = this;
    const name = memberName(json, keyStart, keyEnd, keyEscaped);
    if (name === undefined) return undefined;
    const span = target[name];
    if (span.start >= 0) {
      // Ambiguous: an outer one fails the item now; an inner one only if the inner object is the entity.
      if (target === this.outer) throw new InvalidBodyError(`item ${this.index} has "${name}" twice`);
      target.twice ??= name;
      return undefined;
    }
    let valueEnd: number;
    if (name === 'entity' && target === this.outer && json.bytes[valueStart] === OPEN_BRACE) {
      this.target = this.inner;
      try {
        valueEnd = json.object(valueStart, this.onMember);
      } finally {
        this.target = this.outer;
      }
    } else {
      valueEnd = json.value(valueStart);
    }
    span.start = valueStart;
    span.end = valueEnd;
    return valueEnd;
  }
}

/** `id`, `hidden` or `entity` when the key is one of them (compared as bytes), otherwise undefined. */
function memberName(
  json: JsonBytes,
  keyStart: number,
  keyEnd: number,
  keyEscaped: boolean,
): 'id' | 'hidden' | 'entity' | undefined {
  if (keyEscaped) {
    // A key spelled with escapes (`"\u0069d"`) can still be one of them: rare, decoded.
    const name = json.stringValue(keyStart, keyEnd);
    return name === 'id' || name === 'hidden' || name === 'entity' ? name : undefined;
  }
  const length = keyEnd - keyStart;
  if (length === 4) return json.bytesAre(keyStart + 1, 'id') ? 'id' : undefined;
  if (length !== 8) return undefined;
  if (json.bytesAre(keyStart + 1, 'hidden')) return 'hidden';
  return json.bytesAre(keyStart + 1, 'entity') ? 'entity' : undefined;
}

/** `true` or `"true"`. */
function isTrue(bytes: Buffer, start: number, end: number): boolean {
  const length = end - start;
  const at = length === 4 ? start : length === 6 && bytes[start] === QUOTE_BYTE ? start + 1 : -1;
  return (
    at >= 0 &&
    bytes[at] === 0x74 &&
    bytes[at + 1] === 0x72 &&
    bytes[at + 2] === 0x75 &&
    bytes[at + 3] === 0x65
  );
}

function readTotal(text: string): number | undefined {
  if (text === 'null') return undefined;
  const total = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(total)) throw new InvalidBodyError('"total_count" is not a non-negative integer');
  return total;
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const QUOTE_BYTE = 0x22;
const MINUS_BYTE = 0x2d;

function isDigitByte(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
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
