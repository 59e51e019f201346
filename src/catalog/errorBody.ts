/** The ASP.NET-style `{"Message": ...}` of an error body, shortened, with the token scrubbed out. */
export function describeErrorBody(body: Buffer, token: string | undefined): string | undefined {
  if (body.length === 0) return undefined;
  let text = body.subarray(0, 64 * 1024).toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'Message' in parsed) {
      text = String(parsed.Message);
    }
  } catch {
    // not JSON: keep the text
  }
  // Scrub before shortening, so no prefix of the token can survive a cut.
  if (token) text = text.split(token).join('[redacted]');
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text || undefined;
}
