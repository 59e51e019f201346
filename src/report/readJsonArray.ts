import { createReadStream } from 'node:fs';
import { GalleryExportError } from '../contract/errors';

/**
 * Reads a JSON array file (entities.json, which can be hundreds of megabytes) one element at a time,
 * in bounded memory: a read chunk plus the element being read.
 *
 * The project writes entities.json one entity per line (`[\n<entity>,\n<entity>\n]\n`), but each entity
 * is kept exactly as the catalog sent it, so an entity may itself span lines, and a file from elsewhere
 * may be laid out any way at all. Rather than splitting on lines and falling back to parsing the whole
 * file when that fails (which would hold every entity at once for exactly the files that are unusual),
 * the reader finds each element's bytes with a small scanner that follows strings and nesting, whatever
 * the whitespace, and parses one element at a time.
 */

export interface ReadJsonArrayOptions {
  signal?: AbortSignal;
  /** Bytes per read. @default 1048576 */
  chunkBytes?: number;
}

export const DEFAULT_READ_CHUNK_BYTES = 1024 * 1024;

/** Every element of the array in `path`, parsed, in order. */
export async function* readJsonArray(
  path: string,
  options: ReadJsonArrayOptions = {},
): AsyncGenerator<unknown, void, undefined> {
  for await (const element of jsonArrayElementBytes(path, options)) {
    try {
      yield JSON.parse(element.toString('utf8')) as unknown;
    } catch (error) {
      if (error instanceof SyntaxError)
        throw notAnArray(path, `an element is not valid JSON (${error.message})`);
      throw error;
    }
  }
}

/** How many elements the array in `path` holds, without parsing them. */
export async function countJsonArray(path: string, options: ReadJsonArrayOptions = {}): Promise<number> {
  let count = 0;
  for await (const _element of jsonArrayElementBytes(path, { ...options, keepBytes: false })) count++;
  return count;
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

type Phase = 'before-array' | 'before-element' | 'after-open' | 'in-element' | 'after-array';

/** The bytes of each element of the top-level array, whitespace trimmed at the start. */
async function* jsonArrayElementBytes(
  path: string,
  options: ReadJsonArrayOptions & { keepBytes?: boolean },
): AsyncGenerator<Buffer, void, undefined> {
  const keepBytes = options.keepBytes ?? true;
  let phase = 'before-array' as Phase;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let offset = 0;
  let firstChunk = true;
  const stream = createReadStream(path, {
    highWaterMark: options.chunkBytes ?? DEFAULT_READ_CHUNK_BYTES,
    signal: options.signal,
  });
  for await (const received of stream as AsyncIterable<Buffer>) {
    let chunk = received;
    // A UTF-8 byte order mark is not JSON, but editors write one: tolerate it, as the catalog client does.
    if (firstChunk && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
    firstChunk = false;
    let start = phase === 'in-element' ? 0 : -1;
    let index = 0;
    // The next backslash at or after `index`, searched again only once passed: most strings hold none,
    // and searching the rest of the chunk for each string would make reading quadratic in chunk size.
    let backslash = -2;
    while (index < chunk.length) {
      const byte = chunk[index]!;
      if (phase === 'in-element') {
        if (inString) {
          // Strings are most of an entity's bytes: jump to the next quote or backslash natively.
          if (escaped) {
            escaped = false;
            index++;
            continue;
          }
          const quote = chunk.indexOf(QUOTE, index);
          if (backslash !== -1 && backslash < index) backslash = chunk.indexOf(BACKSLASH, index);
          if (backslash !== -1 && (quote === -1 || backslash < quote)) {
            escaped = true;
            index = backslash + 1;
          } else if (quote !== -1) {
            inString = false;
            index = quote + 1;
          } else {
            index = chunk.length;
          }
          continue;
        }
        if (byte === QUOTE) inString = true;
        else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
        else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
          if (depth === 0) {
            if (byte === CLOSE_BRACE) throw notAnArray(path, `unexpected "}" at byte ${offset + index}`);
            yield finish(chunk.subarray(start, index));
            phase = 'after-array';
          } else depth--;
        } else if (byte === COMMA && depth === 0) {
          yield finish(chunk.subarray(start, index));
          phase = 'before-element';
        }
        index++;
        continue;
      }
      if (isWhitespace(byte)) {
        index++;
        continue;
      }
      if (phase === 'before-array') {
        if (byte !== OPEN_BRACKET) throw notAnArray(path, 'it does not start with "["');
        phase = 'after-open';
      } else if (phase === 'after-open' && byte === CLOSE_BRACKET) {
        phase = 'after-array';
      } else if (
        (phase === 'before-element' || phase === 'after-open') &&
        byte !== COMMA &&
        byte !== CLOSE_BRACKET
      ) {
        phase = 'in-element';
        depth = 0;
        inString = false;
        start = index;
        continue; // the element's first byte is scanned in the element
      } else {
        throw notAnArray(
          path,
          `unexpected byte ${JSON.stringify(String.fromCharCode(byte))} at byte ${offset + index}`,
        );
      }
      index++;
    }
    if (phase === 'in-element' && keepBytes) parts.push(chunk.subarray(start));
    offset += chunk.length;
  }
  if (phase !== 'after-array') throw notAnArray(path, 'it ends before its closing "]"');

  function finish(last: Buffer): Buffer {
    const bytes = keepBytes ? (parts.length === 0 ? last : Buffer.concat([...parts, last])) : last;
    parts = [];
    return bytes;
  }
}

function notAnArray(path: string, reason: string): GalleryExportError {
  return new GalleryExportError('SNAPSHOT_DAMAGED', `${path} is not a JSON array of entities: ${reason}`, {
    details: { path },
  });
}
