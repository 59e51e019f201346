import { basename } from 'node:path';
import type { EntityFacts } from './entityFacts';
import { countHtml } from './entityFacts';
import { catalogText, escapeHtml } from './htmlText';

/**
 * The entity list of the report, a page at a time: one table row per entity, and the links between the
 * pages (plain relative links, so the pages work from a folder, a USB stick or an e-mail attachment).
 */

/** The file of every page: the first is `outFile` itself, the others `<name>-0002.html`... next to it. */
export function reportPageFiles(outFile: string, pages: number): string[] {
  const extension = /\.html?$/i.exec(outFile)?.[0] ?? '';
  const stem = outFile.slice(0, outFile.length - extension.length);
  return Array.from({ length: pages }, (_, index) =>
    index === 0 ? outFile : `${stem}-${String(index + 1).padStart(4, '0')}${extension || '.html'}`,
  );
}

export function renderEntityRow(facts: EntityFacts, position: number): string {
  const listed = facts.unlisted ? '<span class="unlisted">unlisted</span>' : 'public';
  // Name, ID and address share the widest cell: the address is long and rarely read, and a column of
  // its own would make every row several lines tall.
  return (
    `<tr><td class="num">${countHtml(position)}</td>` +
    `<th scope="row">${catalogText(facts.name)}<span class="id mono">${catalogText(facts.id)}</span>` +
    `<span class="link mono">${catalogText(facts.link)}</span></th>` +
    `<td>${catalogText(facts.type)}</td><td>${catalogText(facts.created)}</td>` +
    `<td>${catalogText(facts.updated)}</td><td>${listed}</td>` +
    `<td class="num">${catalogText(facts.views)}</td><td class="num">${catalogText(facts.downloads)}</td></tr>`
  );
}

export interface EntityTableContext {
  /** 1-based position of the page's first entity. */
  first: number;
  total: number;
}

export function renderEntityTable(rows: readonly string[], context: EntityTableContext): string {
  const last = context.first + rows.length - 1;
  return [
    '<table class="entities">',
    `<caption>Entities ${countHtml(context.first)} to ${countHtml(last)} of ${countHtml(context.total)}, ordered by id</caption>`,
    '<colgroup><col class="n"><col class="name"><col class="type"><col class="date"><col class="date">' +
      '<col class="flag"><col class="count"><col class="count"></colgroup>',
    '<thead><tr><th scope="col" class="num">#</th><th scope="col">Name, ID and address in the catalog (as text, not a link)</th>' +
      '<th scope="col">Type</th>' +
      '<th scope="col">Created</th><th scope="col">Updated</th><th scope="col">Listed</th>' +
      '<th scope="col" class="num">Views</th><th scope="col" class="num">Downloads</th></tr></thead>',
    '<tbody>',
    ...rows,
    '</tbody>',
    '</table>',
  ].join('\n');
}

export interface PageNavigation {
  /** Every page's file (absolute or relative; only the base name is linked). */
  files: readonly string[];
  /** 0-based index of the page being rendered. */
  current: number;
  perPage: number;
  total: number;
}

/** Links to the previous, next and every other page; the current one is marked for screen readers. */
export function renderPageNavigation(navigation: PageNavigation): string {
  const { files, current, perPage, total } = navigation;
  if (files.length <= 1) return '';
  const href = (index: number): string => escapeHtml(encodeURIComponent(basename(files[index]!)));
  const range = (index: number): string =>
    `${countHtml(index * perPage + 1)}–${countHtml(Math.min(total, (index + 1) * perPage))}`;
  const previous =
    current > 0
      ? `<a href="${href(current - 1)}" rel="prev">‹ Previous page</a>`
      : '<span>‹ Previous page</span>';
  const next =
    current < files.length - 1
      ? `<a href="${href(current + 1)}" rel="next">Next page ›</a>`
      : '<span>Next page ›</span>';
  const items = files.map((_, index) =>
    index === current
      ? `<li><a href="${href(index)}" aria-current="page">${range(index)}</a></li>`
      : `<li><a href="${href(index)}">${range(index)}</a></li>`,
  );
  return [
    '<nav class="pages" aria-label="Pages of the entity list">',
    `<strong>Page ${countHtml(current + 1)} of ${countHtml(files.length)}</strong>`,
    current > 0 ? `<a href="${href(0)}">First page: the summary</a>` : '',
    previous,
    next,
    `<ol>${items.join('')}</ol>`,
    '</nav>',
  ]
    .filter((line) => line !== '')
    .join('\n');
}
