import {
  InvalidBodyError,
  parseEntityPage as parseBuffer,
  parseProfile,
} from '../../src/catalog/catalogResponses';

/** Parses a page given as text, and shows each item's raw bytes as text for readable expectations. */
function parseEntityPage(text: string): {
  items: Array<{ id: string; raw: string; hidden: boolean }>;
  totalCount: number | undefined;
} {
  const page = parseBuffer(Buffer.from(text, 'utf8'));
  return { ...page, items: page.items.map((item) => ({ ...item, raw: item.raw.toString('utf8') })) };
}

describe('parseEntityPage', () => {
  test('keeps every entity byte for byte, unknown fields and number spellings included', () => {
    const body =
      '{ "value" : [ {"id":"b","score":86.351575190956922,"x":{"nested":[1,2,{"}":"]"}]}} ,\n{"id":"a","text":"quote \\" and \\\\ and ✓ 李"} ], "count":2, "total_count": 7 }';
    const page = parseEntityPage(body);
    expect(page.totalCount).toBe(7);
    expect(page.items).toEqual([
      { id: 'b', raw: '{"id":"b","score":86.351575190956922,"x":{"nested":[1,2,{"}":"]"}]}}', hidden: false },
      { id: 'a', raw: '{"id":"a","text":"quote \\" and \\\\ and ✓ 李"}', hidden: false },
    ]);
  });

  test('unwraps {"entity": {...}} items and reads hidden', () => {
    const page = parseEntityPage(
      '{"value":[{"entity":{"id":"x","hidden":true}},{"id":"y","hidden":false}],"total_count":2}',
    );
    expect(page.items).toEqual([
      { id: 'x', raw: '{"id":"x","hidden":true}', hidden: true },
      { id: 'y', raw: '{"id":"y","hidden":false}', hidden: false },
    ]);
  });

  test('reads a wrapped entity in the same pass: its own members decide, an "entity" field of an entity is data', () => {
    const page = parseEntityPage(
      '{"value":[{"entity":{"hidden":"true","id":"w","e\\u006etity":{"id":1,"id":2}}},' +
        '{"id":"v","entity":{"id":"u","id":"t"}},{"\\u0065ntity":{"id":"s"}}],"total_count":3}',
    );
    expect(page.items).toEqual([
      { id: 'w', raw: '{"hidden":"true","id":"w","e\\u006etity":{"id":1,"id":2}}', hidden: true },
      { id: 'v', raw: '{"id":"v","entity":{"id":"u","id":"t"}}', hidden: false },
      { id: 's', raw: '{"id":"s"}', hidden: false },
    ]);
  });

  test.each([
    ['an id twice', '{"value":[{"id":"a","id":"b"}],"total_count":1}'],
    ['a wrapped entity with an id twice', '{"value":[{"entity":{"id":"a","\\u0069d":"b"}}],"total_count":1}'],
    [
      'a wrapped entity with hidden twice',
      '{"value":[{"entity":{"id":"a","hidden":true,"hidden":false}}],"total_count":1}',
    ],
    ['an entity member twice', '{"value":[{"entity":{"id":"a"},"entity":{"id":"b"}}],"total_count":1}'],
    ['an entity member that is not an object, and no id', '{"value":[{"entity":"x"}],"total_count":1}'],
  ])('refuses %s (ambiguous or without an id)', (_, body) => {
    expect(() => parseEntityPage(body)).toThrow(InvalidBodyError);
  });

  test('accepts entity_type as an integer or a string, and numeric ids', () => {
    const page = parseEntityPage(
      '{"value":[{"id":5,"entity_type":1},{"id":"z","entity_type":"Experiment"}],"total_count":2}',
    );
    expect(page.items.map((item) => item.id)).toEqual(['5', 'z']);
  });

  test('a bare array is accepted without a total', () => {
    expect(parseEntityPage('[{"id":"a"}]')).toEqual({
      items: [{ id: 'a', raw: '{"id":"a"}', hidden: false }],
      totalCount: undefined,
    });
  });

  test.each([
    ['not JSON', '{"value":['],
    ['null', 'null'],
    ['no value', '{"items":[]}'],
    ['value not an array', '{"value":"oops","total_count":1}'],
    ['an item that is not an object', '{"value":[1],"total_count":1}'],
    ['an item without id', '{"value":[{"name":"x"}],"total_count":1}'],
    ['an empty id', '{"value":[{"id":" "}],"total_count":1}'],
    ['a negative total', '{"value":[],"total_count":-1}'],
    ['a fractional total', '{"value":[],"total_count":1.5}'],
  ])('refuses %s', (_, body) => {
    expect(() => parseEntityPage(body)).toThrow(InvalidBodyError);
  });
});

describe('parseProfile', () => {
  const id = 'C'.repeat(64);
  test('keeps the body as received and reads entities_count', () => {
    const body = Buffer.from(`{"entities_count":9,"contribution_score":86.351575190956922,"id":"${id}"}`);
    const profile = parseProfile(body, id);
    expect(profile.raw).toBe(body);
    expect(profile.entitiesCount).toBe(9);
  });

  test('refuses another author and non-objects', () => {
    expect(() => parseProfile(Buffer.from(`{"id":"${'D'.repeat(64)}"}`), id)).toThrow(/another author/);
    expect(() => parseProfile(Buffer.from('[]'), id)).toThrow(InvalidBodyError);
  });
});

test('invalid UTF-8 is refused before parsing', () => {
  expect(() => parseBuffer(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]))).toThrow(
    /not valid UTF-8/,
  );
});

test('a duplicated "value" key cannot make bytes and ids disagree', () => {
  expect(() =>
    parseBuffer(Buffer.from('{"value":[{"id":"a"}],"value":[{"id":"b"}],"total_count":1}')),
  ).toThrow(InvalidBodyError);
});

test('a list body with a duplicate top-level key is refused rather than read two ways', () => {
  const item = (id: string, name: string): string => JSON.stringify({ id, name });
  // Same length and the same first and last ids in both arrays: only the middle differs.
  const body = `{"value":[${item('a', 'one')},${item('b', 'two')},${item('c', 'three')}],"count":3,"value":[${item('a', 'one')},${item('x', 'other')},${item('c', 'three')}],"total_count":3}`;
  expect(() => parseEntityPage(body)).toThrow(InvalidBodyError);
  expect(() => parseEntityPage(body)).toThrow(/duplicate|twice/i);
  const twoTotals = `{"value":[${item('a', 'one')}],"total_count":1,"total_count":2}`;
  expect(() => parseEntityPage(twoTotals)).toThrow(InvalidBodyError);
});
