import { authorIdFromEmail, generateCatalogData, type CatalogData } from './catalogData';

/**
 * The catalog the local stack and the demo serve: a handful of authors chosen to show every path of an
 * export (multi-page, unlisted, a single page, nothing at all, nothing public). Author IDs are derived from
 * fixed e-mail addresses, so they stay the same whatever seed fills in the content.
 */

export type DemoAuthorKind = 'large' | 'medium' | 'small' | 'empty' | 'unlisted-only';

export interface DemoAuthor {
  /** Lowercase letters, digits and dashes: usable as a Key Vault secret suffix. */
  label: string;
  /** 64 upper-case hex characters. */
  authorId: string;
  /** The profile name (with non-ASCII characters on purpose). */
  name: string;
  kind: DemoAuthorKind;
  /** All entities, listed and unlisted. */
  entities: number;
  /** How many of `entities` are unlisted. */
  unlisted: number;
  description: string;
}

interface DemoAuthorSeed {
  label: string;
  email: string;
  name: string;
  kind: DemoAuthorKind;
  entities: number;
  unlistedRatio: number;
  description: string;
}

const DEMO_AUTHOR_SEEDS: readonly DemoAuthorSeed[] = [
  {
    label: 'ada-lovelace',
    email: 'ada.lovelace@example.com',
    name: 'Ada Lovelace',
    kind: 'large',
    entities: 320,
    unlistedRatio: 0.1,
    description: 'Several pages at the default page size, with some unlisted entities.',
  },
  {
    label: 'zoe-muller',
    email: 'zoe.muller@example.com',
    name: 'Zoë Müller-Łukasiewicz',
    kind: 'large',
    entities: 260,
    unlistedRatio: 0.2,
    description:
      'Several pages, a larger unlisted share, a name with diacritics, and entity names made to break a careless renderer (DEMO_HOSTILE_ENTITY_NAMES).',
  },
  {
    label: 'li-wei',
    email: 'li.wei@example.com',
    name: '李伟 (Li Wei)',
    kind: 'medium',
    entities: 40,
    unlistedRatio: 0.1,
    description: 'A single page at $top=100, two pages at the UI size of 20; a CJK name.',
  },
  {
    label: 'sofia-ramirez',
    email: 'sofia.ramirez@example.com',
    name: 'Sofía Ramírez 🚀',
    kind: 'small',
    entities: 5,
    unlistedRatio: 0.2,
    description: 'A handful of entities, one unlisted; an emoji in the name.',
  },
  {
    label: 'aasa-odegaard',
    email: 'asa.odegard@example.com',
    name: 'Åsa Ødegård',
    kind: 'empty',
    entities: 0,
    unlistedRatio: 0,
    description: 'A profile with no entities at all.',
  },
  {
    label: 'quiet-quentin',
    email: 'quentin.quiet@example.com',
    name: 'Quentin "Q" O\'Brien',
    kind: 'unlisted-only',
    entities: 3,
    unlistedRatio: 1,
    description: 'Only unlisted entities: an empty list without a valid token; quotes in the name.',
  },
];

/** The demo author whose first entities (by id) carry {@link DEMO_HOSTILE_ENTITY_NAMES}. */
export const DEMO_HOSTILE_NAMES_AUTHOR = 'zoe-muller';

/**
 * Entity names that a report, a terminal or a log must show as text and nothing else: markup and a
 * script, quotes and ampersands, right-to-left Arabic and Hebrew next to left-to-right text, emoji joined
 * by zero-width joiners, C0 controls (a bell, NUL, terminal colour escapes), a right-to-left override that
 * would make a name read backwards, and a very long name. They replace the names of the author's entities
 * with the smallest ids, so they sit on the first page of a listing ordered by id; the number of entities
 * and everything else stay as generated.
 */
export const DEMO_HOSTILE_ENTITY_NAMES: readonly string[] = [
  '<script>alert(1)</script> Churn model',
  '"Quotes" & \'apostrophes\' & <b>not bold</b> &amp; </td></tr></table>',
  'تحليل بيانات العملاء (Customer analysis) 2024',
  'ניתוח נתונים – גרסה 2',
  'Family 👨\u200d👩\u200d👧 and 🏳️\u200d🌈 flags, 🚀 launch',
  'Bell\u0007 NUL\u0000 and \u001b[31mred\u001b[0m terminal escapes',
  'Invoice \u202etxt.exe\u202c (right-to-left override)',
  `A very long name: ${'forecasting energy demand across many regions and seasons, '.repeat(12).trim()}`,
];

/** The demo authors, in catalog order. */
export const DEMO_AUTHORS: readonly DemoAuthor[] = DEMO_AUTHOR_SEEDS.map((seed) => ({
  label: seed.label,
  authorId: authorIdFromEmail(seed.email),
  name: seed.name,
  kind: seed.kind,
  entities: seed.entities,
  unlisted: Math.round(seed.entities * seed.unlistedRatio),
  description: seed.description,
}));

/** A well-formed author ID that is not in the demo catalog: `/users/{it}` answers 404. */
export const DEMO_UNKNOWN_AUTHOR_ID = authorIdFromEmail('nobody@example.com');

export const DEFAULT_DEMO_SEED = 2026;

/** The demo catalog; the seed varies the content, never the authors or their counts. */
export function createDemoCatalog(seed = DEFAULT_DEMO_SEED): CatalogData {
  const data = generateCatalogData({
    seed,
    authors: DEMO_AUTHOR_SEEDS.map((author) => ({
      authorId: authorIdFromEmail(author.email),
      name: author.name,
      entities: author.entities,
      unlistedRatio: author.unlistedRatio,
    })),
  });
  const hostile = DEMO_AUTHORS.find((author) => author.label === DEMO_HOSTILE_NAMES_AUTHOR);
  const entities = hostile ? data.authors.get(hostile.authorId)?.entities : undefined;
  const firstById = [...(entities ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  DEMO_HOSTILE_ENTITY_NAMES.forEach((name, index) => {
    const entity = firstById[index];
    if (entity) entity.name = name;
  });
  return data;
}
