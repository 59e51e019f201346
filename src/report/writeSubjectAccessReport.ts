import { open, rm, type FileHandle } from 'node:fs/promises';
import { GalleryExportError } from '../contract/errors';
import type { Manifest, SignatureDocument } from '../contract/formats';
import type { SnapshotProofSummary } from '../contract/proof';
import { ENTITIES_FILE } from '../contract/layout';
import { schemaProblems } from '../contract/schemas';
import { entityFacts } from './entityFacts';
import { renderEntityRow, renderEntityTable, renderPageNavigation, reportPageFiles } from './entityTable';
import { countJsonArray, readJsonArray } from './readJsonArray';
import { describeSubject, renderEntityPage, renderSummaryPage } from './reportDocuments';
import type { EntityTally, SummaryContext } from './reportSections';

export interface SubjectAccessReportOptions {
  /** The report's first page. Must not exist (nothing is overwritten); further pages go next to it. */
  outFile: string;
  manifest: Manifest;
  /** The exact bytes of profile.json. */
  profile: Buffer;
  /** entities.json on disk: read as a stream, a page of entities at a time, however large it is. */
  entitiesFile: string;
  /** signature.json, when the snapshot is signed. */
  signature?: SignatureDocument | undefined;
  /**
   * What was proven of the files before they were handed out (`get`, `report`); the page states exactly
   * that. Without it the page says the files were not checked.
   */
  proof?: SnapshotProofSummary | undefined;
  /**
   * Names of the files next to the report (a `get --out` bundle), so "how to check" names only commands
   * that work there.
   * @default [] (the report alone)
   */
  bundleFiles?: readonly string[] | undefined;
  /** @default DEFAULT_ENTITIES_PER_PAGE */
  entitiesPerPage?: number | undefined;
  /**
   * Where the reader finds the complete machine-readable list, in words.
   * @default DEFAULT_COMPLETE_LIST_LOCATION
   */
  completeListLocation?: string | undefined;
  /** @default new Date() */
  generatedAt?: Date | undefined;
  signal?: AbortSignal | undefined;
}

export interface SubjectAccessReport {
  /** Every page written, the first page first. */
  files: string[];
  pages: number;
  entities: number;
}

/** A few thousand rows still open at once in a browser; more go to further pages. */
export const DEFAULT_ENTITIES_PER_PAGE = 1000;
export const DEFAULT_COMPLETE_LIST_LOCATION = `${ENTITIES_FILE}, in the same folder as this page`;

/**
 * Writes the subject-access report: a self-contained HTML page (no script, no request) saying who,
 * when, what, what is missing and why, and how the files are proven, with the first page of entities;
 * further pages of entities next to it for large authors, linked to each other.
 *
 * entities.json is read twice (once to count, so every page can say "page 3 of 20"; once to render),
 * never held whole: memory is one page of rows, whatever the author's size. The first page is written
 * last, since it summarises every entity, but its file is claimed first so an existing file fails the
 * call before any work. On failure, every file this call created is removed.
 */
export async function writeSubjectAccessReport(
  options: SubjectAccessReportOptions,
): Promise<SubjectAccessReport> {
  const perPage = options.entitiesPerPage ?? DEFAULT_ENTITIES_PER_PAGE;
  if (!Number.isSafeInteger(perPage) || perPage < 1) {
    throw new GalleryExportError(
      'USAGE',
      `entitiesPerPage must be a whole number of 1 or more, not ${perPage}`,
    );
  }
  const { manifest, signal } = options;
  // The page shows the manifest's values: only a manifest valid against its schema gets that far.
  const invalid = schemaProblems('manifest', manifest);
  if (invalid.length > 0) {
    throw new GalleryExportError(
      'SNAPSHOT_DAMAGED',
      `The manifest does not match its schema (${invalid.join('; ')}); no report is written`,
    );
  }
  const created: string[] = [];
  let firstPage: FileHandle | undefined;
  try {
    firstPage = await claim(options.outFile);
    created.push(options.outFile);
    const total = await countJsonArray(options.entitiesFile, { signal });
    const files = reportPageFiles(options.outFile, Math.max(1, Math.ceil(total / perPage)));
    const context: Omit<SummaryContext, 'tally'> = {
      manifest,
      profile: parseProfile(options.profile),
      signature: options.signature,
      proof: options.proof,
      bundleFiles: options.bundleFiles ?? [],
      completeListLocation: options.completeListLocation ?? DEFAULT_COMPLETE_LIST_LOCATION,
      entitiesPerPage: perPage,
      pages: files.length,
      generatedAt: options.generatedAt ?? new Date(),
    };
    const who = describeSubject(context);
    const tally: EntityTally = { entities: 0, unlisted: 0, byType: new Map() };
    const fallbackLink = (id: string): string =>
      `${manifest.source.baseUrl.replace(/\/+$/, '')}/entities/${encodeURIComponent(id)}`;
    let rows: string[] = [];
    let firstPageList = '';
    const finishPage = async (): Promise<void> => {
      const index = Math.floor((tally.entities - 1) / perPage);
      const list = [
        renderPageNavigation({ files, current: index, perPage, total }),
        renderEntityTable(rows, { first: index * perPage + 1, total }),
        renderPageNavigation({ files, current: index, perPage, total }),
      ].join('\n');
      rows = [];
      if (index === 0) {
        firstPageList = list;
        return;
      }
      const file = files[index];
      if (file === undefined) throw changedWhileReading(options.entitiesFile);
      const page = await claim(file);
      created.push(file);
      try {
        await page.writeFile(renderEntityPage(context, who, list, index), { signal });
      } finally {
        await page.close();
      }
    };
    for await (const entity of readJsonArray(options.entitiesFile, { signal })) {
      const facts = entityFacts(entity, fallbackLink);
      tally.entities++;
      if (facts.unlisted) tally.unlisted++;
      tally.byType.set(facts.type, (tally.byType.get(facts.type) ?? 0) + 1);
      rows.push(renderEntityRow(facts, tally.entities));
      if (rows.length === perPage) await finishPage();
    }
    if (rows.length > 0) await finishPage();
    if (tally.entities !== total) throw changedWhileReading(options.entitiesFile);
    await firstPage.writeFile(renderSummaryPage({ ...context, tally }, who, firstPageList));
    await firstPage.close();
    firstPage = undefined;
    return { files: [...created], pages: files.length, entities: total };
  } catch (error) {
    await firstPage?.close().catch(() => undefined);
    for (const file of created) await rm(file, { force: true });
    throw error;
  }
}

async function claim(file: string): Promise<FileHandle> {
  try {
    return await open(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new GalleryExportError(
        'OUTPUT_NOT_EMPTY',
        `${file} exists already; choose a new file (nothing is overwritten)`,
        {
          details: { path: file },
        },
      );
    }
    throw error;
  }
}

function changedWhileReading(path: string): GalleryExportError {
  return new GalleryExportError('SNAPSHOT_DAMAGED', `${path} changed while the report was being written`, {
    details: { path },
  });
}

function parseProfile(bytes: Buffer): SummaryContext['profile'] {
  try {
    const parsed = JSON.parse(bytes.toString('utf8').replace(/^\ufeff/, '')) as unknown;
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return { fields: parsed as Record<string, unknown> };
    }
    return { problem: 'profile.json does not hold a JSON object; its exact bytes are in profile.json.' };
  } catch {
    return { problem: 'profile.json is not valid JSON; its exact bytes are in profile.json.' };
  }
}
