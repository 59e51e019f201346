import { isUtf8 } from 'node:buffer';
import type { ListedEntity, Profile } from '../contract/catalogApi';
import { JsonBytes, JsonSyntaxError } from './jsonBytes';

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
  return json.array(arrayStart, (start) => {
    const item = readItem(json, start, items.length);
    items.push(item.entity);
    return item.end;
  });
}

interface ItemMembers {
  id?: { start: number; end: number } | undefined;
  hidden?: { start: number; end: number } | undefined;
  entity?: { start: number; end: number } | undefined;
}

/** One list item, read in the same pass that validates it: an entity object, or `{"entity": {...}}`. */
function readItem(json: JsonBytes, start: number, index: number): { entity: ListedEntity; end: number } {
  const { bytes } = json;
  if (bytes[start] !== OPEN_BRACE) {
    json.value(start);
    throw new InvalidBodyError(`item ${index} is not an object`);
  }
  const outer: ItemMembers = {};
  const end = readMembers(json, start, index, outer);
  let members = outer;
  let raw = bytes.subarray(start, end);
  if (!outer.id && outer.entity && bytes[outer.entity.start] === OPEN_BRACE) {
    raw = bytes.subarray(outer.entity.start, outer.entity.end);
    members = {};
    readMembers(json, outer.entity.start, index, members);
  }
  const { id } = members;
  let text: string | undefined;
  let numericId: number | undefined;
  if (id && bytes[id.start] === QUOTE_BYTE) {
    text = json.stringValue(id.start, id.end);
    if (text.trim() === '') text = undefined;
  } else if (id && (bytes[id.start] === MINUS_BYTE || isDigitByte(bytes[id.start]))) {
    numericId = Number(json.text(id.start, id.end));
    text = Number.isFinite(numericId) ? String(numericId) : undefined;
  }
  if (text === undefined) throw new InvalidBodyError(`item ${index} has no usable "id"`);
  const hiddenText = members.hidden ? json.text(members.hidden.start, members.hidden.end) : undefined;
  return {
    entity: {
      id: text,
      ...(numericId === undefined ? {} : { numericId }),
      raw,
      hidden: hiddenText === 'true' || hiddenText === '"true"',
    },
    end,
  };
}

/** Validates an item's object, noting where `id`, `hidden` and `entity` are; one of them twice is ambiguous. */
function readMembers(json: JsonBytes, start: number, index: number, members: ItemMembers): number {
  return json.object(start, (keyStart, keyEnd, escaped, valueStart) => {
    const key = { start: keyStart, end: keyEnd, escaped };
    const name = json.keyIs(key, 'id')
      ? 'id'
      : json.keyIs(key, 'hidden')
        ? 'hidden'
        : json.keyIs(key, 'entity')
          ? 'entity'
          : undefined;
    if (name === undefined) return undefined;
    if (members[name]) throw new InvalidBodyError(`item ${index} has "${name}" twice`);
    const valueEnd = json.value(valueStart);
    members[name] = { start: valueStart, end: valueEnd };
    return valueEnd;
  });
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
