/**
 * A validating JSON scanner over bytes: it checks a body is exactly one valid JSON value (RFC 8259)
 * without building it, and reports where the values it is asked about are. A list page is tens of
 * kilobytes of entities that are stored as they are: decoding it to a string and JSON.parse-ing it only
 * to find each entity's bytes again cost most of an export's CPU and garbage. JSON's structural
 * characters are ASCII and never occur inside a UTF-8 multi-byte sequence (the body is checked as UTF-8
 * first), so every offset found here is a byte offset of the body.
 */

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
}

/**
 * A member's key: where its string is (quotes included), not decoded until someone asks, and whether it
 * holds an escape (only then can it spell a name with other bytes).
 */
export interface KeySpan {
  start: number;
  end: number;
  escaped: boolean;
}

/**
 * Called for each member at its value's start, with its key's span: returns the value's end when it read
 * the value itself, or undefined to let the scanner validate it. The span is passed as numbers, not as an
 * object: a page has tens of thousands of members, and an object each was a measurable share of the garbage.
 */
export type MemberReader = (
  keyStart: number,
  keyEnd: number,
  keyEscaped: boolean,
  valueStart: number,
) => number | undefined;

/** Called for each element at its start: returns its end when it read it, or undefined. */
export type ElementReader = (start: number) => number | undefined;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
/** The bytes that end a run of plain string bytes: a quote, a backslash, a control character. */
const ENDS_A_RUN = new Uint8Array(256);
ENDS_A_RUN.fill(1, 0, 0x20);
ENDS_A_RUN[QUOTE] = 1;
ENDS_A_RUN[BACKSLASH] = 1;
/** Deeper nesting than any entity has is refused rather than risking the stack. */
const MAX_DEPTH = 512;

export class JsonBytes {
  private depth = 0;
  /** Whether the string `string()` scanned last held a backslash. */
  private lastStringEscaped = false;

  constructor(readonly bytes: Buffer) {}

  /** Offset of the first non-whitespace byte at or after `index`. */
  skipWhitespace(index: number): number {
    const bytes = this.bytes;
    let i = index;
    for (; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    }
    return i;
  }

  /** Checks the whole body is one JSON value with only whitespace around it; returns where it starts. */
  document(): { start: number; end: number } {
    const start = this.skipWhitespace(0);
    const end = this.value(start);
    if (this.skipWhitespace(end) !== this.bytes.length) this.fail(end, 'data after the JSON value');
    return { start, end };
  }

  /** Validates the value at `index` (which must not be whitespace); returns the offset just past it. */
  value(index: number): number {
    const c = this.bytes[index];
    switch (c) {
      case QUOTE:
        return this.string(index);
      case OPEN_BRACE:
        return this.object(index, undefined);
      case OPEN_BRACKET:
        return this.array(index, undefined);
      case 0x74: // t
        return this.literal(index, 'true');
      case 0x66: // f
        return this.literal(index, 'false');
      case 0x6e: // n
        return this.literal(index, 'null');
      default:
        if (c === MINUS || (c !== undefined && c >= ZERO && c <= NINE)) return this.number(index);
        return this.fail(index, c === undefined ? 'unexpected end of the body' : 'unexpected character');
    }
  }

  /**
   * Validates the object at `index`, handing each member to `readMember` first (which may read the value
   * itself, in the same pass). Returns the offset past the object.
   */
  object(index: number, readMember: MemberReader | undefined): number {
    const bytes = this.bytes;
    if (bytes[index] !== OPEN_BRACE) this.fail(index, 'expected an object');
    this.enter(index);
    let i = this.skipWhitespace(index + 1);
    if (bytes[i] === CLOSE_BRACE) return this.leave(i + 1);
    for (;;) {
      if (bytes[i] !== QUOTE) this.fail(i, 'expected a key');
      const keyStart = i;
      const keyEnd = this.string(i);
      const keyEscaped = this.lastStringEscaped;
      i = this.skipWhitespace(keyEnd);
      if (bytes[i] !== COLON) this.fail(i, 'expected ":"');
      const start = this.skipWhitespace(i + 1);
      const end = readMember?.(keyStart, keyEnd, keyEscaped, start) ?? this.value(start);
      i = this.skipWhitespace(end);
      if (bytes[i] === COMMA) {
        i = this.skipWhitespace(i + 1);
        continue;
      }
      if (bytes[i] === CLOSE_BRACE) return this.leave(i + 1);
      this.fail(i, 'expected "," or "}"');
    }
  }

  /** Validates the array at `index`, handing each element to `readElement` first (as `object` does). */
  array(index: number, readElement: ElementReader | undefined): number {
    const bytes = this.bytes;
    if (bytes[index] !== OPEN_BRACKET) this.fail(index, 'expected an array');
    this.enter(index);
    let i = this.skipWhitespace(index + 1);
    if (bytes[i] === CLOSE_BRACKET) return this.leave(i + 1);
    for (;;) {
      const end = readElement?.(i) ?? this.value(i);
      i = this.skipWhitespace(end);
      if (bytes[i] === COMMA) {
        i = this.skipWhitespace(i + 1);
        continue;
      }
      if (bytes[i] === CLOSE_BRACKET) return this.leave(i + 1);
      this.fail(i, 'expected "," or "]"');
    }
  }

  /** Whether a key is `name` (an ASCII name): compared as bytes, nothing decoded. */
  keyIs(key: KeySpan, name: string): boolean {
    // A key spelled with escapes (`"\u0069d"`) can still be that name: rare, decoded.
    if (key.escaped) return this.stringValue(key.start, key.end) === name;
    if (key.end - key.start !== name.length + 2) return false;
    const bytes = this.bytes;
    for (let k = 0; k < name.length; k++) if (bytes[key.start + 1 + k] !== name.charCodeAt(k)) return false;
    return true;
  }

  /** Whether the bytes at `at` spell `name` (ASCII): compared as bytes, nothing decoded. */
  bytesAre(at: number, name: string): boolean {
    const bytes = this.bytes;
    for (let k = 0; k < name.length; k++) if (bytes[at + k] !== name.charCodeAt(k)) return false;
    return true;
  }

  /** The value of a string span (quotes included), decoded. */
  stringValue(start: number, end: number): string {
    for (let i = start + 1; i < end - 1; i++) {
      if (this.bytes[i] === BACKSLASH) return JSON.parse(this.bytes.toString('utf8', start, end)) as string;
    }
    return this.bytes.toString('utf8', start + 1, end - 1);
  }

  /** The text of a span (a number, a literal). */
  text(start: number, end: number): string {
    return this.bytes.toString('latin1', start, end);
  }

  /** Validates the string at `index` (at its opening quote); returns the offset past its closing quote. */
  string(index: number): number {
    const bytes = this.bytes;
    const length = bytes.length;
    let i = index + 1;
    this.lastStringEscaped = false;
    for (;;) {
      // Most of a page is string bytes: one tight loop over them, the rare cases below it.
      while (i < length && ENDS_A_RUN[bytes[i]!] === 0) i++;
      if (i >= length) this.fail(i, 'unterminated string');
      const c = bytes[i]!;
      if (c === QUOTE) return i + 1;
      if (c !== BACKSLASH) this.fail(i, 'control character in a string');
      this.lastStringEscaped = true;
      const escaped = bytes[i + 1];
      if (escaped === 0x75) {
        // \uXXXX
        for (let k = 2; k < 6; k++) if (!isHexDigit(bytes[i + k])) this.fail(i, 'bad \\u escape');
        i += 6;
        continue;
      }
      if (
        escaped === QUOTE ||
        escaped === BACKSLASH ||
        escaped === SLASH ||
        escaped === 0x62 ||
        escaped === 0x66 ||
        escaped === 0x6e ||
        escaped === 0x72 ||
        escaped === 0x74
      ) {
        i += 2;
        continue;
      }
      this.fail(i, 'bad escape');
    }
  }

  private number(index: number): number {
    const bytes = this.bytes;
    let i = index;
    if (bytes[i] === MINUS) i++;
    if (bytes[i] === ZERO) i++;
    else if (isDigit(bytes[i])) while (isDigit(bytes[i])) i++;
    else this.fail(i, 'bad number');
    if (bytes[i] === DOT) {
      i++;
      if (!isDigit(bytes[i])) this.fail(i, 'bad number');
      while (isDigit(bytes[i])) i++;
    }
    if (bytes[i] === LOWER_E || bytes[i] === UPPER_E) {
      i++;
      if (bytes[i] === PLUS || bytes[i] === MINUS) i++;
      if (!isDigit(bytes[i])) this.fail(i, 'bad number');
      while (isDigit(bytes[i])) i++;
    }
    return i;
  }

  private literal(index: number, word: 'true' | 'false' | 'null'): number {
    for (let k = 0; k < word.length; k++) {
      if (this.bytes[index + k] !== word.charCodeAt(k)) this.fail(index, 'unexpected character');
    }
    return index + word.length;
  }

  private enter(index: number): void {
    if (++this.depth > MAX_DEPTH) this.fail(index, `nested deeper than ${MAX_DEPTH}`);
  }

  private leave(end: number): number {
    this.depth--;
    return end;
  }

  private fail(index: number, problem: string): never {
    throw new JsonSyntaxError(`${problem} at byte ${index}`);
  }
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

function isHexDigit(c: number | undefined): boolean {
  return (
    c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46))
  );
}
