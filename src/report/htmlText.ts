/**
 * Catalog text on a report page. Every value the catalog sent is untrusted: entity names hold markup,
 * quotes, right-to-left text, emoji and control characters. Text goes through {@link visibleText}
 * (what a reader should see) and then {@link escapeHtml} (what the HTML parser must not misread), and
 * is isolated with <bdi> so right-to-left text cannot reorder the cells around it.
 */

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes the five characters that matter in HTML text and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
}

/**
 * Characters a reader could not see, or that would rearrange the page, made visible as their code point
 * in angle brackets (`⟨U+001B⟩`): C0 and C1 controls and DEL, and the bidirectional embeddings,
 * overrides and isolates (U+202A-U+202E, U+2066-U+2069), since an override could make a name read as
 * something else. (Unicode's "control pictures" such as ␛ were tried first: common fonts lack them.)
 * Lone surrogates (not text at all; UTF-8 cannot hold them) become U+FFFD. Everything else is kept as
 * sent, including zero-width joiners (they join emoji) and the left-to-right and right-to-left marks
 * that real Arabic and Hebrew text uses.
 */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, (character) => {
    const code = character.charCodeAt(0);
    if (code >= 0xd800 && code <= 0xdfff) return '\ufffd';
    return `\u27e8U+${code.toString(16).toUpperCase().padStart(4, '0')}\u27e9`;
  });
}

// With the u flag a surrogate pair is one character, so \p{Cs} matches only the lone ones.
const INVISIBLE = /[\p{Cc}\p{Cs}\u202a-\u202e\u2066-\u2069]/gu;

/** Catalog text for an HTML text position: visible, escaped, and isolated from the text around it. */
export function catalogText(text: string): string {
  return `<bdi>${escapeHtml(visibleText(text))}</bdi>`;
}

/**
 * Any catalog value as text: strings as they are, numbers and booleans as written, objects and arrays as
 * compact JSON, so nothing the catalog sent is hidden or misread.
 */
export function catalogValueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  // Values parsed from JSON always stringify; nothing else reaches here.
  return JSON.stringify(value) ?? '';
}
