import { generateCatalogData, serializeCatalogJson, type SimEntity } from '../../dev/catalog-simulator';
import { LARGE_DESCRIPTION_BYTES } from '../../dev/catalog-simulator/documentedEntities';

/** The bench's entities (issue 28): shaped as the catalog documentation describes them. */
function entities(shape: 'compact' | 'documented', count: number): SimEntity[] {
  const data = generateCatalogData({ seed: 7, shape, authors: [{ entities: count }] });
  return [...data.authors.values()][0]!.entities;
}

test('documented entities carry HTML descriptions with unicode and escapes, entity_type both ways, and a few of 200 KB', () => {
  const documented = entities('documented', 5000);
  const serialized = documented.map((entity) => serializeCatalogJson(entity));
  const descriptions = documented.map((entity) => String(entity.description));
  expect(descriptions.every((text) => /<(p|ul|pre|table|h2)>/.test(text))).toBe(true);
  // Escapes a serializer must write: quotes, backslashes, CR LF, tabs, and \u00XX control characters.
  for (const escape of ['\\"', '\\\\', '\\r\\n', '\\t', '\\u001b', '\\u000b']) {
    expect([escape, serialized.some((json) => json.includes(escape))]).toEqual([escape, true]);
  }
  expect(serialized.some((json) => Buffer.byteLength(json) > json.length)).toBe(true);
  expect(new Set(documented.map((entity) => typeof entity.entity_type))).toEqual(
    new Set(['number', 'string']),
  );
  const large = descriptions.filter((text) => text.length >= LARGE_DESCRIPTION_BYTES);
  expect(large.length).toBeGreaterThan(0);
  expect(large.length).toBeLessThan(documented.length / 100);
  // Each is valid JSON that reads back to the same entity.
  expect(
    serialized.every((json, index) => JSON.stringify(JSON.parse(json)) === JSON.stringify(documented[index])),
  ).toBe(true);
});

test('the shape changes only the texts: ids, counts and the compact default stay as they were', () => {
  const compact = entities('compact', 300);
  const documented = entities('documented', 300);
  expect(documented.map((entity) => entity.hidden)).toEqual(compact.map((entity) => entity.hidden));
  expect(entities('compact', 300)).toEqual(compact);
  expect(generateCatalogData({ seed: 7, authors: [{ entities: 300 }] })).toEqual(
    generateCatalogData({ seed: 7, shape: 'compact', authors: [{ entities: 300 }] }),
  );
  expect(documented.map((entity) => serializeCatalogJson(entity)).join('').length).toBeGreaterThan(
    2 * compact.map((entity) => serializeCatalogJson(entity)).join('').length,
  );
});
