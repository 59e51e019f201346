import { catalogValueText, escapeHtml } from './htmlText';

/**
 * What a reader needs to know about one entity, in words, read defensively from the entity exactly as
 * the catalog sent it: any field may be missing or of an unexpected type, and none of that may stop the
 * report. Values stay plain strings here; the page escapes them.
 */
export interface EntityFacts {
  id: string;
  name: string;
  /** The type in words, from `entity_type` sent as an integer or as a string. */
  type: string;
  created: string;
  updated: string;
  unlisted: boolean;
  views: string;
  downloads: string;
  /** Where the catalog kept it, as text (never a live link: the page makes no request). */
  link: string;
}

/** The gallery's entity types, by the integer the Catalog API uses. */
export const ENTITY_TYPE_WORDS: Readonly<Record<number, string>> = {
  1: 'experiment',
  4: 'module',
  5: 'competition',
  6: 'API',
  7: 'tutorial',
  9: 'collection',
  10: 'solution accelerator',
  11: 'notebook',
  12: 'classroom',
  13: 'webinar',
  14: 'video',
  16: 'project',
};

/** `entity_type` in words: 1 and "1" are both "experiment"; an unknown code says so instead of guessing. */
export function entityTypeWords(entityType: unknown): string {
  const code =
    typeof entityType === 'number'
      ? entityType
      : typeof entityType === 'string' && /^\s*\d+\s*$/.test(entityType)
        ? Number(entityType)
        : undefined;
  if (code !== undefined) return ENTITY_TYPE_WORDS[code] ?? `unknown type (${code})`;
  if (typeof entityType === 'string' && entityType.trim() !== '') return entityType;
  return 'unknown type';
}

/**
 * A catalog time stamp (`2018-05-07T14:30:25.9305671+00:00`: seven fractional digits, as .NET wrote
 * them) as `2018-05-07 14:30 UTC`; anything that is not a time is shown as sent.
 */
export function formatCatalogDate(value: unknown): string {
  if (typeof value !== 'string' || value === '')
    return value === undefined || value === null ? '' : catalogValueText(value);
  // Date.parse accepts at most millisecond precision portably: drop the extra digits first.
  const normalized = value.replace(/(\.\d{3})\d+/, '$1');
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(normalized) ? Date.parse(normalized) : Number.NaN;
  if (Number.isNaN(time)) return value;
  const iso = new Date(time).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

const COUNT_FORMAT = new Intl.NumberFormat('en-US');

/** A whole number with thousands separators (fixed locale: the page must not depend on the machine). */
/** A count for an HTML position: formatted, and escaped whatever it holds (a number is a hope, not a fact). */
export function countHtml(value: unknown): string {
  return escapeHtml(formatCount(value));
}

export function formatCount(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return COUNT_FORMAT.format(value);
  return value === undefined || value === null ? '' : catalogValueText(value);
}

/**
 * The facts of one entity. `fallbackLink` is used when the entity has no `_links.self` (the catalog's
 * own address of it).
 */
export function entityFacts(entity: unknown, fallbackLink: (id: string) => string): EntityFacts {
  const fields: Record<string, unknown> =
    typeof entity === 'object' && entity !== null && !Array.isArray(entity)
      ? (entity as Record<string, unknown>)
      : { name: catalogValueText(entity) };
  const id = fields.id === undefined || fields.id === null ? '' : catalogValueText(fields.id);
  const links = fields._links;
  const self =
    typeof links === 'object' && links !== null ? (links as Record<string, unknown>).self : undefined;
  return {
    id,
    name: fields.name === undefined || fields.name === null ? '' : catalogValueText(fields.name),
    type: entityTypeWords(fields.entity_type),
    created: formatCatalogDate(fields.created_at),
    updated: formatCatalogDate(fields.updated_at),
    unlisted: fields.hidden === true || fields.hidden === 'true',
    views: formatCount(fields.view_count),
    downloads: formatCount(fields.download_count),
    link: typeof self === 'string' && self !== '' ? self : id === '' ? '' : fallbackLink(id),
  };
}
