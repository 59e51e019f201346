import { JsonBytes, JsonSyntaxError } from '../../src/catalog/jsonBytes';

/**
 * The byte scanner must accept exactly what JSON.parse accepts: checked on generated documents and on
 * every one-byte mutation of them (a deletion, an insertion, a replacement), deterministically seeded.
 */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function generate(next: () => number, depth = 0): unknown {
  const pick = next();
  if (depth > 3 || pick < 0.3) {
    const leaf = next();
    if (leaf < 0.2) return Math.floor(next() * 1e6) - 5e5;
    if (leaf < 0.35) return next() * 1e3 - 500;
    if (leaf < 0.45) return [true, false, null][Math.floor(next() * 3)];
    const chars = ['a', 'é', '李', '"', '\\', '\n', '\u0001', '🚀', '/', ' ', '\t', '\u2028'];
    return Array.from(
      { length: Math.floor(next() * 8) },
      () => chars[Math.floor(next() * chars.length)],
    ).join('');
  }
  if (pick < 0.65) return Array.from({ length: Math.floor(next() * 4) }, () => generate(next, depth + 1));
  return Object.fromEntries(
    Array.from({ length: Math.floor(next() * 4) }, (_, i) => [
      `k${i}${next() < 0.2 ? '"' : ''}`,
      generate(next, depth + 1),
    ]),
  );
}

function accepts(text: string): boolean {
  try {
    new JsonBytes(Buffer.from(text, 'utf8')).document();
    return true;
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return false;
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

test('agrees with JSON.parse on generated documents and their one-byte mutations', () => {
  const next = random(20261203);
  const alphabet = [
    '"',
    '\\',
    '{',
    '}',
    '[',
    ']',
    ',',
    ':',
    '0',
    '-',
    'e',
    '.',
    'u',
    ' ',
    'x',
    't',
    'n',
    '\u0000',
  ];
  let checked = 0;
  for (let round = 0; round < 300; round++) {
    const text = JSON.stringify(generate(next), null, next() < 0.5 ? 2 : undefined) ?? 'null';
    expect([text, accepts(text)]).toEqual([text, true]);
    for (let m = 0; m < 20; m++) {
      const at = Math.floor(next() * (text.length + 1));
      const kind = next();
      const ch = alphabet[Math.floor(next() * alphabet.length)]!;
      const mutated =
        kind < 0.33
          ? text.slice(0, at) + text.slice(at + 1)
          : kind < 0.66
            ? text.slice(0, at) + ch + text.slice(at)
            : text.slice(0, at) + ch + text.slice(at + 1);
      expect([mutated, accepts(mutated)]).toEqual([mutated, parses(mutated)]);
      checked++;
    }
  }
  expect(checked).toBe(6000);
});

test.each([
  ['a number with a leading zero', '01'],
  ['a bare minus', '-'],
  ['a dot without digits', '1.'],
  ['an exponent without digits', '1e+'],
  ['a short \\u escape', '"\\u12"'],
  ['an unknown escape', '"\\x"'],
  ['a raw control character', '"a\u0007b"'],
  ['a trailing comma', '[1,]'],
  ['two values', '1 2'],
  ['an unterminated string', '"abc'],
  ['a truncated literal', 'tru'],
])('refuses %s', (_, text) => {
  expect(accepts(text)).toBe(false);
  expect(parses(text)).toBe(false);
});

test('refuses nesting deeper than its limit instead of overflowing the stack', () => {
  expect(accepts(`${'['.repeat(100_000)}${']'.repeat(100_000)}`)).toBe(false);
});
