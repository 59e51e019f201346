import { createHash } from 'node:crypto';
import { documentedDescription, documentedName, documentedSummary } from './documentedEntities';
import { SeededRandom } from './random';

/**
 * The simulator's data model and its seeded generator.
 *
 * Entities and profiles are plain JSON objects, held in the order the catalog's "natural order" returns
 * them (insertion order). They are served byte for byte by {@link serializeCatalogJson}, which formats
 * numbers the way the original ASP.NET service did, so a given CatalogData always produces the same bytes.
 */

/** One published item, exactly as the catalog returns it (before any `{"entity": ...}` wrapping). */
export interface SimEntity {
  /** 32 lowercase hex characters. */
  id: string;
  /** `true` marks an unlisted entity: served only to the author's own valid token. */
  hidden?: boolean;
  /** The publisher; `author/id` is what list filters select on (compared case-insensitively). */
  author?: { id: string; name?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export interface SimAuthor {
  /**
   * The `/users/{authorId}` body. Its `entities_count` is recomputed from the live entities when served
   * (see the simulator's `profileCountsUnlisted`), so churn keeps it consistent.
   */
  profile: Record<string, unknown>;
  /** In natural order: the order of an unsorted list response. */
  entities: SimEntity[];
}

export interface CatalogData {
  /** Keyed by the upper-case author ID. */
  authors: Map<string, SimAuthor>;
}

/** The gallery's entity types, by the integer the API uses. */
export const ENTITY_TYPES: Readonly<Record<number, string>> = {
  1: 'experiment',
  4: 'module',
  5: 'competition',
  6: 'api',
  7: 'tutorial',
  9: 'collection',
  10: 'solution accelerator',
  11: 'notebook',
  12: 'classroom',
  13: 'webinar',
  14: 'video',
  16: 'project',
};

/** The tenant and community every gallery user belonged to (from the published example). */
export const GALLERY_TENANT_ID = '14b2744cf8d6418c87ffddc3f3127242';
export const GALLERY_COMMUNITY_ID = '9502630827244d60a1214f250e3bbca7';
const LONG_FORM_BASE = 'https://catalog.azureml.net';

export interface GeneratedAuthorSpec {
  /** Upper-cased when stored. @default 64 random upper-case hex characters from the seed */
  authorId?: string;
  /** @default a name drawn from a pool that includes accents, CJK and emoji */
  name?: string;
  /** How many entities to generate, listed and unlisted together. */
  entities: number;
  /**
   * Share of the entities that are unlisted (`hidden: true`): exactly `Math.round(entities * unlistedRatio)`
   * of them, at seeded positions.
   * @default 0.1
   */
  unlistedRatio?: number;
}

/**
 * How entities look. `compact`: short texts with every kind of character a client must handle, cheap to
 * serve and parse (most tests). `documented`: as the catalog documentation describes them, the shape a
 * benchmark of a client's byte-level paths needs: HTML descriptions of half a kilobyte to two with
 * unicode and escapes, and about one in a thousand of some 200 KB (see documentedEntities.ts). Items
 * wrapped as `{"entity": ...}` are the simulator's `wrapRate`; `entity_type` is an integer or a string
 * in both shapes.
 */
export type EntityShape = 'compact' | 'documented';

export interface GenerateCatalogDataOptions {
  /** Same seed and same specs give byte-identical data. */
  seed: number;
  authors: readonly GeneratedAuthorSpec[];
  /** @default 'compact' */
  shape?: EntityShape;
}

export const DEFAULT_UNLISTED_RATIO = 0.1;

/**
 * Generates a deterministic catalog. Each author draws from its own stream (seed, position in `authors`),
 * so changing one author's spec does not change the others' data.
 */
export function generateCatalogData(options: GenerateCatalogDataOptions): CatalogData {
  const authors = new Map<string, SimAuthor>();
  const usedIds = new Set<string>();
  options.authors.forEach((spec, index) => {
    const random = SeededRandom.fromKey('catalog', options.seed, 'author', index);
    const authorId = (spec.authorId ?? random.hex(64)).toUpperCase();
    if (authors.has(authorId)) throw new Error(`generateCatalogData: author ${authorId} is listed twice`);
    const name = spec.name ?? random.pick(AUTHOR_NAMES);
    const count = Math.max(0, Math.floor(spec.entities));
    const ratio = Math.min(1, Math.max(0, spec.unlistedRatio ?? DEFAULT_UNLISTED_RATIO));
    const hiddenPositions = new Set(
      random.shuffle(Array.from({ length: count }, (_, i) => i)).slice(0, Math.round(count * ratio)),
    );
    const entities: SimEntity[] = [];
    for (let i = 0; i < count; i++) {
      entities.push(
        generateEntity(
          random,
          { id: authorId, name },
          { hidden: hiddenPositions.has(i), usedIds, shape: options.shape },
        ),
      );
    }
    authors.set(authorId, { profile: generateProfile(random, authorId, name, entities.length), entities });
  });
  return { authors };
}

export interface GenerateEntityOptions {
  hidden: boolean;
  /** Ids already taken: the new id is added to it. */
  usedIds?: Set<string>;
  /** @default the gallery's tenant */
  tenantId?: string;
  /** @default the gallery's community */
  communityId?: string;
  /** @default 'compact' */
  shape?: EntityShape | undefined;
}

/** One realistic entity for an author; used by the generator and by churn inserts. */
export function generateEntity(
  random: SeededRandom,
  author: { id: string; name: string },
  options: GenerateEntityOptions,
): SimEntity {
  let id = random.hex(32);
  while (options.usedIds?.has(id)) id = random.hex(32);
  options.usedIds?.add(id);
  const tenantId = options.tenantId ?? GALLERY_TENANT_ID;
  const communityId = options.communityId ?? GALLERY_COMMUNITY_ID;

  const typeCode = random.pick(ENTITY_TYPE_WEIGHTS);
  const documented = options.shape === 'documented';
  const name = documented ? documentedName(random) : generateTitle(random);
  const createdMs = random.intBetween(DATE_MIN_MS, DATE_MAX_MS);
  const updatedMs = random.chance(0.3) ? createdMs : random.intBetween(createdMs, DATE_MAX_MS);
  const slugs = [slugify(name)];
  if (random.chance(0.1)) slugs.push(`${slugify(name)}-${random.intBetween(2, 9)}`);
  const ratingCount = random.chance(0.3) ? 0 : random.intBetween(1, 40);
  let stars = 0;
  for (let i = 0; i < ratingCount; i++) stars += random.intBetween(1, 5);

  const entity: SimEntity = {
    id,
    name,
    summary: documented ? documentedSummary(random) : generateSentence(random),
    description: documented ? documentedDescription(random) : generateDescription(random),
    // The API sent entity_type sometimes as an integer and sometimes as a string: clients must accept both.
    entity_type: random.chance(0.7) ? typeCode : String(typeCode),
    author: { id: author.id, name: author.name },
    owner: {
      id: author.id,
      name: author.name,
      avatar_url: random.chance(0.2) ? null : `https://az712634.vo.msecnd.net/avatars/${random.hex(32)}.png`,
    },
    tags: pickSome(random, TAGS, 0, 5),
    algorithms: typeCode === 1 || typeCode === 11 ? pickSome(random, ALGORITHMS, 1, 3) : [],
    slugs,
    image_url: random.chance(0.15) ? null : `https://az712634.vo.msecnd.net/content/${random.hex(32)}.png`,
    hidden: options.hidden,
    created_at: formatCatalogTimestamp(createdMs, random.int(10000)),
    updated_at: formatCatalogTimestamp(updatedMs, random.int(10000)),
    // Averages of star ratings: doubles such as 4.333333333333333 that .NET printed with up to 17 digits.
    rating: ratingCount === 0 ? 0 : stars / ratingCount,
    rating_count: ratingCount,
    comment_count: random.chance(0.5) ? 0 : random.intBetween(1, 60),
    view_count: random.intBetween(0, 250000),
    download_count: random.intBetween(0, 20000),
  };
  Object.assign(entity, typeSpecificFields(random, typeCode));
  entity.etag = `"${random.hex(8)}-0000-0000-0000-${random.hex(12)}"`;
  entity._links = { self: `${LONG_FORM_BASE}/tenants/${tenantId}/communities/${communityId}/entities/${id}` };
  return entity;
}

function generateProfile(random: SeededRandom, authorId: string, name: string, entitiesCount: number) {
  const createdMs = random.intBetween(DATE_MIN_MS, DATE_MAX_MS - 86_400_000);
  const contributedMs = random.intBetween(createdMs, DATE_MAX_MS);
  const scoredMs = random.intBetween(contributedMs, DATE_MAX_MS);
  return {
    entities_count: entitiesCount,
    // A full double, like the published 86.351575190956922: serialized with all its digits.
    contribution_score: entitiesCount === 0 ? 0 : random.next() * 120,
    scored_at: formatCatalogTimestamp(scoredMs, random.int(10000)),
    contributed_at: formatCatalogTimestamp(contributedMs, random.int(10000)),
    created_at: formatCatalogTimestamp(createdMs, random.int(10000)),
    updated_at: formatCatalogTimestamp(random.chance(0.5) ? createdMs : contributedMs, random.int(10000)),
    name,
    slugs: [name.trim().replace(/\s+/g, '-')],
    tenant_id: GALLERY_TENANT_ID,
    community_id: GALLERY_COMMUNITY_ID,
    id: authorId,
    _links: {
      self: `${LONG_FORM_BASE}/tenants/${GALLERY_TENANT_ID}/communities/${GALLERY_COMMUNITY_ID}/users/${authorId}`,
    },
    etag: `"${random.hex(8)}-0000-0000-0000-${random.hex(12)}"`,
  };
}

function typeSpecificFields(random: SeededRandom, typeCode: number): Record<string, unknown> {
  switch (typeCode) {
    case 1:
      return { studio_version: 'classic', experiment_size_bytes: random.intBetween(2_000, 9_000_000) };
    case 5:
      return {
        prize: { amount: random.pick([1000, 5000, 10000]), currency: 'USD' },
        ends_at: formatCatalogTimestamp(random.intBetween(DATE_MIN_MS, DATE_MAX_MS), 0),
      };
    case 6:
      return {
        api_endpoint: `https://ussouthcentral.services.azureml.net/workspaces/${random.hex(32)}/services/${random.hex(32)}/execute?api-version=2.0`,
      };
    case 9:
      // Collections list their items wrapped, the way the API wrapped list items.
      return {
        items: Array.from({ length: random.intBetween(0, 3) }, () => ({
          entity: { id: random.hex(32), name: generateTitle(random) },
        })),
      };
    case 11:
      return { notebook_language: random.pick(['python2', 'python3', 'R']) };
    case 13:
    case 14:
      return {
        video_url: `https://channel9.msdn.com/Shows/AI-Show/${random.hex(8)}`,
        duration_seconds: random.intBetween(60, 5400),
      };
    default:
      return {};
  }
}

/** `2018-05-07T14:30:25.9305671+00:00`: seven fractional digits and an explicit offset, as .NET wrote them. */
export function formatCatalogTimestamp(epochMs: number, extraTicks = 0): string {
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(0, 23)}${String(Math.abs(Math.floor(extraTicks)) % 10000).padStart(4, '0')}+00:00`;
}

/**
 * Formats a number like .NET Framework's round-trip ("R") format that Json.NET used in 2018: 15 significant
 * digits when that round-trips, otherwise 17. That is why the API sent `86.351575190956922` where
 * `JSON.stringify` would write `86.35157519095692` (the same double). Integers are written plainly.
 */
export function formatCatalogNumber(value: number): string {
  if (!Number.isFinite(value)) return 'null';
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return String(value);
  let text = value.toPrecision(15);
  if (Number(text) !== value) text = value.toPrecision(17);
  const [mantissa = text, exponent] = text.split('e');
  const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
  return exponent === undefined ? trimmed : `${trimmed}E${exponent}`;
}

/**
 * Serializes catalog JSON deterministically: keys in insertion order, no whitespace, numbers as
 * {@link formatCatalogNumber}, strings escaped as `JSON.stringify` does (non-ASCII left as is).
 * `undefined` properties are skipped, as `JSON.stringify` skips them.
 */
export function serializeCatalogJson(value: unknown): string {
  const out: string[] = [];
  write(value);
  return out.join('');

  function write(item: unknown): void {
    if (item === null) out.push('null');
    else if (typeof item === 'string') out.push(JSON.stringify(item));
    else if (typeof item === 'number') out.push(formatCatalogNumber(item));
    else if (typeof item === 'boolean') out.push(item ? 'true' : 'false');
    else if (Array.isArray(item)) {
      out.push('[');
      item.forEach((element, index) => {
        if (index > 0) out.push(',');
        if (element === undefined || typeof element === 'function') out.push('null');
        else write(element);
      });
      out.push(']');
    } else if (typeof item === 'object') {
      out.push('{');
      let first = true;
      for (const [key, field] of Object.entries(item)) {
        if (field === undefined || typeof field === 'function') continue;
        if (!first) out.push(',');
        first = false;
        out.push(JSON.stringify(key), ':');
        write(field);
      }
      out.push('}');
    } else {
      throw new TypeError(`serializeCatalogJson: cannot serialize a ${typeof item}`);
    }
  }
}

/** A deep copy, so the simulator's churn never touches the caller's data. */
export function cloneCatalogData(data: CatalogData): CatalogData {
  return structuredClone(data);
}

/** Author IDs in the catalog were derived from the publisher's e-mail; a SHA-256 gives the same shape. */
export function authorIdFromEmail(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex').toUpperCase();
}

// ---------------------------------------------------------------------------------------------------------
// Text pools. They mix plain ASCII with accents, CJK, Greek, Cyrillic, emoji, and characters that JSON must
// escape (quotes, backslashes, newlines, tabs, U+2028), so clients are exercised on all of them.

const DATE_MIN_MS = Date.UTC(2015, 0, 1);
const DATE_MAX_MS = Date.UTC(2019, 5, 30);

/** Weighted: experiments dominate, as they did in the gallery. */
const ENTITY_TYPE_WEIGHTS = [1, 1, 1, 1, 1, 1, 4, 5, 6, 6, 7, 7, 9, 10, 11, 11, 12, 13, 14, 16];

const AUTHOR_NAMES = [
  'Jordan Smith',
  'Zoë Ångström',
  'Łukasz Wiśniewski',
  '王芳',
  'Ngọc Trâm Nguyễn',
  'Ama Owusu 🚀',
  'Ólafur "Óli" Þórsson',
];

const TITLE_HEADS = [
  'Predicting',
  'Forecasting',
  'Classifying',
  'Clustering',
  'Scoring',
  'Détection of',
  'Análisis de',
  'Exploring',
];
const TITLE_SUBJECTS = [
  'Flight Delays',
  'Customer Churn',
  'Bike Rentals',
  'Credit Risk',
  'Twitter Sentiment',
  'Iris Species',
  'Energy Demand',
  'Café Revenue in Zürich',
  '機械学習による需要予測',
  '数据科学 案例',
  'Ελληνικά κείμενα',
  'русский текст',
  'Retail "Basket" Analysis',
  'C:\\Data\\train.csv Imports',
  'Wine Quality 🍷',
];
const TITLE_TAILS = ['', '', '', ' with R', ' (Python 3)', ' – Part 2', ': A Tutorial', ' 📈', ' in F# & C#'];

const SENTENCES = [
  'Trains a model on historical data and publishes it as a web service.',
  'Uses the "Tune Model Hyperparameters" module to sweep the parameter space.',
  'Shows how to read a CSV file from C:\\Users\\public\\data.csv and clean it.',
  'Compare algorithms side by side\tand pick the best one.',
  'Données nettoyées, modèle entraîné, résultats expliqués.',
  '本实验演示如何使用回归模型。',
  'この実験では分類モデルを作成します。',
  'Feature engineering for time series ⏱️ and seasonality.',
  'Line one\nLine two\nLine three.',
  'A paragraph with a line separator\u2028inside it.',
  "It's <b>bold</b> & it's </script> safe.",
  'Emoji in text: 🤖✨🔥 — and an em dash.',
];

const TAGS = [
  'ml',
  'regression',
  'classification',
  'clustering',
  'azure',
  'r',
  'python',
  'deep learning',
  'nlp',
  'time series',
  'c#',
  "o'reilly",
  '機械学習',
  'données',
  'iot 🌐',
];

const ALGORITHMS = [
  'Boosted Decision Tree',
  'Two-Class Logistic Regression',
  'K-Means Clustering',
  'Neural Network',
  'Bayesian Linear Regression',
  'Poisson Regression',
  'Support Vector Machine',
  'Decision Forest',
];

function generateTitle(random: SeededRandom): string {
  return `${random.pick(TITLE_HEADS)} ${random.pick(TITLE_SUBJECTS)}${random.pick(TITLE_TAILS)}`;
}

function generateSentence(random: SeededRandom): string {
  return random.pick(SENTENCES);
}

function generateDescription(random: SeededRandom): string {
  const paragraphs = Array.from({ length: random.intBetween(1, 4) }, () => generateSentence(random));
  if (random.chance(0.3)) paragraphs.push('```\nprint("hello, \\"world\\"")\n```');
  return paragraphs.join(random.chance(0.5) ? '\n\n' : '\r\n');
}

function pickSome(random: SeededRandom, pool: readonly string[], min: number, max: number): string[] {
  return random.shuffle([...pool]).slice(0, random.intBetween(min, Math.min(max, pool.length)));
}

function slugify(name: string): string {
  return name.replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-+|-+$/g, '');
}
