import { normalizeAuthorId } from '../contract/authorId';
import { schemaProblems } from '../contract/schemas';

/** Largest accepted body of `POST /api/exports`: 1,000 author IDs fit with room to spare. */
export const MAX_EXPORT_REQUEST_BYTES = 96 * 1024;
export const MAX_AUTHORS_PER_REQUEST = 1000;

export type ExportRequest = { authorIds: string[] | undefined } | { problem: string };

/**
 * Validates the body of an export request: empty (every author) or `{"authors": ["<64 hex>", ...]}`.
 * Unknown fields are refused rather than ignored, so a typo ("author") cannot silently export everyone.
 */
export function parseExportRequest(body: string): ExportRequest {
  if (Buffer.byteLength(body, 'utf8') > MAX_EXPORT_REQUEST_BYTES) {
    return { problem: `the body is larger than ${MAX_EXPORT_REQUEST_BYTES} bytes` };
  }
  if (body.trim() === '') return { authorIds: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { problem: 'the body is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { problem: 'the body must be a JSON object such as {"authors":["<64 hex author ID>"]}' };
  }
  const unknown = Object.keys(parsed).filter((key) => key !== 'authors');
  if (unknown.length > 0) {
    return {
      problem: `unknown field(s): ${unknown.map((key) => JSON.stringify(key.slice(0, 40))).join(', ')}`,
    };
  }
  const { authors } = parsed as { authors?: unknown };
  if (authors === undefined) return { authorIds: undefined };
  if (!Array.isArray(authors)) return { problem: '"authors" must be an array of author IDs' };
  if (authors.length === 0)
    return { problem: '"authors" is empty: omit it to export every registered author' };
  if (authors.length > MAX_AUTHORS_PER_REQUEST) {
    return { problem: `"authors" lists more than ${MAX_AUTHORS_PER_REQUEST} authors` };
  }
  const authorIds: string[] = [];
  for (const [index, value] of authors.entries()) {
    const authorId = normalizeAuthorId(value);
    if (!authorId) return { problem: `authors[${index}] is not an author ID (64 hexadecimal characters)` };
    authorIds.push(authorId);
  }
  // The checks above say what is wrong in words; the schema (also what /api/openapi.json publishes) has
  // the last word.
  const problems = schemaProblems('export-request', parsed);
  if (problems.length > 0) return { problem: `the body does not match its schema: ${problems.join('; ')}` };
  return { authorIds: [...new Set(authorIds)] };
}
