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
    description: 'Several pages, a larger unlisted share, and a name with diacritics.',
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
  return generateCatalogData({
    seed,
    authors: DEMO_AUTHOR_SEEDS.map((author) => ({
      authorId: authorIdFromEmail(author.email),
      name: author.name,
      entities: author.entities,
      unlistedRatio: author.unlistedRatio,
    })),
  });
}
