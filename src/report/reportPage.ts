import { createHash } from 'node:crypto';
import { escapeHtml, visibleText } from './htmlText';

/**
 * The frame of every report page: a complete, self-contained HTML document. It holds no script and
 * makes no request: a Content-Security-Policy that forbids scripts, images, fonts, frames, forms and
 * every fetch, with the one inline style sheet allowed by its hash (so not even an injected `style`
 * attribute applies); no referrer; the system's fonts. The CSS prints well: no navigation, black on
 * white, table headers repeated on every printed page and rows kept whole.
 */

const REPORT_CSS = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --paper: #ffffff;
  --tint: #f6f8fa; --warn: #9a6700; --warn-bg: #fff8c5; --bad: #cf222e; --bad-bg: #ffebe9; }
* { box-sizing: border-box; }
html { background: var(--paper); color: var(--ink); }
body { margin: 0 auto; max-width: 82rem; padding: 1.5rem 1.25rem 3rem;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Liberation Sans", sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; line-height: 1.25; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); }
p { margin: .5rem 0; max-width: 70rem; }
.lead { color: var(--muted); margin-top: 0; }
bdi, td, th, dd, li { overflow-wrap: anywhere; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: .85em; }
pre { background: var(--tint); border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem;
  overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0 .5rem; caption-side: top; }
th, td { border: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
thead th { background: var(--tint); }
tbody th { font-weight: 600; background: var(--tint); }
table.facts { width: auto; min-width: 50%; }
table.facts th { width: 16rem; }
table.entities { table-layout: fixed; font-size: .9rem; }
table.entities tbody tr:nth-child(even) td { background: #fbfcfd; }
col.n { width: 4.5rem; } col.name { width: auto; } col.type { width: 9rem; } col.date { width: 8rem; }
col.flag { width: 5.5rem; } col.count { width: 7rem; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.id, .link { display: block; color: var(--muted); font-size: .78rem; font-weight: 400; }
.unlisted { color: var(--warn); font-weight: 600; }
.note { background: var(--warn-bg); border: 1px solid #d4a72c; border-radius: 6px; padding: .5rem .75rem; }
.problem { background: var(--bad-bg); border: 1px solid var(--bad); border-radius: 6px; padding: .5rem .75rem; }
ul.glance { display: flex; flex-wrap: wrap; gap: .25rem 1.5rem; list-style: none; margin: .75rem 0; padding: .75rem 1rem;
  border: 1px solid var(--line); border-left: 4px solid #0969da; border-radius: 6px; }
nav.pages { display: flex; flex-wrap: wrap; gap: .25rem .75rem; align-items: baseline; margin: .75rem 0;
  padding: .5rem .75rem; background: var(--tint); border: 1px solid var(--line); border-radius: 6px; }
nav.pages ol { display: flex; flex-wrap: wrap; gap: .25rem .5rem; list-style: none; margin: 0; padding: 0; }
nav.pages [aria-current="page"] { font-weight: 700; }
a { color: #0550ae; }
footer { margin-top: 2.5rem; color: var(--muted); font-size: .85rem; }
@media print {
  @page { margin: 12mm; }
  body { max-width: none; padding: 0; font-size: 9pt; }
  nav.pages, .screen-only { display: none; }
  h2 { break-after: avoid; }
  table { font-size: 8pt; }
  thead { display: table-header-group; }
  tr, pre, .note, .problem { break-inside: avoid; }
  thead th, tbody th, table.entities tbody tr:nth-child(even) td { background: none; }
  a { color: inherit; text-decoration: none; }
}
`;

const STYLE_HASH = createHash('sha256').update(REPORT_CSS, 'utf8').digest('base64');

/**
 * The policy of every page. `meta` delivery cannot carry frame-ancestors or report-uri (and nothing may
 * report anywhere); everything else is shut.
 */
export const REPORT_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "img-src 'none'",
  "font-src 'none'",
  "connect-src 'none'",
  "media-src 'none'",
  "object-src 'none'",
  "frame-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
].join('; ');

export interface ReportPageContent {
  /** Plain text, catalog text included (made visible and escaped here). */
  title: string;
  /** HTML, already escaped by the caller. */
  body: string;
}

export function renderReportPage(content: ReportPageContent): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${REPORT_CONTENT_SECURITY_POLICY}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${escapeHtml(visibleText(content.title))}</title>`,
    `<style>${REPORT_CSS}</style>`,
    '</head>',
    '<body>',
    content.body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
