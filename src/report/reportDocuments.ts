import { shortAuthorId } from '../contract/authorId';
import { catalogText, escapeHtml } from './htmlText';
import { renderReportPage } from './reportPage';
import {
  profileName,
  renderAtAGlance,
  renderMissing,
  renderProof,
  renderWhat,
  renderWhen,
  renderWho,
  type SummaryContext,
} from './reportSections';

/** The report's documents around their content: the first page and each further page of entities. */

/** Whom a page is about, as HTML and as plain text (for the title): "Zoë Müller (author 561F69…3B67)". */
export interface ReportSubject {
  html: string;
  text: string;
}

export function describeSubject(context: Pick<SummaryContext, 'profile' | 'manifest'>): ReportSubject {
  const name = profileName(context);
  const id = shortAuthorId(context.manifest.authorId);
  return {
    html: `${name ? `${catalogText(name)} ` : ''}(author <span class="mono">${escapeHtml(context.manifest.authorId)}</span>)`,
    text: `${name ? `${name} ` : ''}(author ${id})`,
  };
}

/** The first page: the summary sections, then the first page of entities. */
export function renderSummaryPage(context: SummaryContext, who: ReportSubject, entityList: string): string {
  const contents = [
    ['who', 'Who'],
    ['when', 'When'],
    ['what', 'What'],
    ['missing', 'What may be missing'],
    ['proof', 'How the files are proven'],
    ['entities', 'Every entity'],
  ].map(([id, label]) => `<li><a href="#${id!}">${label!}</a></li>`);
  const entities = context.tally.entities === 0 ? '<p>This export holds no entities.</p>' : entityList;
  return renderReportPage({
    title: `Your data in the Azure AI Gallery: ${who.text}`,
    body: [
      '<header>',
      `<h1>Your data in the Azure AI Gallery</h1>`,
      `<p class="lead">What the gallery export holds about ${who.html}, read from the gallery on ${escapeHtml(context.manifest.completedAt.slice(0, 10))} (export run <span class="mono">${escapeHtml(context.manifest.runId)}</span>).</p>`,
      renderAtAGlance(context),
      `<nav class="pages screen-only" aria-label="Contents"><ol>${contents.join('')}</ol></nav>`,
      '</header>',
      '<main>',
      renderWho(context),
      renderWhen(context),
      renderWhat(context),
      renderMissing(context),
      renderProof(context),
      '<section id="entities" aria-labelledby="entities-title"><h2 id="entities-title">Every entity</h2>',
      entities,
      '</section>',
      '</main>',
      footer(context),
    ].join('\n'),
  });
}

/** A further page of entities, saying whose they are and where the rest is. */
export function renderEntityPage(
  context: Omit<SummaryContext, 'tally'>,
  who: ReportSubject,
  entityList: string,
  index: number,
): string {
  return renderReportPage({
    title: `Entities, page ${index + 1} of ${context.pages}: ${who.text}`,
    body: [
      '<header>',
      `<h1>Your data in the Azure AI Gallery: entities, page ${index + 1} of ${context.pages}</h1>`,
      `<p class="lead">Part of the report about ${who.html}, export run <span class="mono">${escapeHtml(context.manifest.runId)}</span>. The first page says who, when, what may be missing and how the files are proven; the complete machine-readable list is ${escapeHtml(context.completeListLocation)}.</p>`,
      '</header>',
      '<main>',
      entityList,
      '</main>',
      footer(context),
    ].join('\n'),
  });
}

function footer(context: Pick<SummaryContext, 'manifest'>): string {
  const { generator } = context.manifest;
  return `<footer><p>Made by ${catalogText(generator.name)} ${catalogText(generator.version)} from the exported files. This page runs no script and loads nothing from anywhere.</p></footer>`;
}
