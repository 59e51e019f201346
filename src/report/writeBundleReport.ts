import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Manifest, SignatureDocument } from '../contract/formats';
import { ENTITIES_FILE, PROFILE_FILE, SIGNATURE_FILE } from '../contract/layout';
import { schemaProblems } from '../contract/schemas';
import {
  writeSubjectAccessReport,
  type SubjectAccessReport,
  type SubjectAccessReportOptions,
} from './writeSubjectAccessReport';

export const REPORT_FILE = 'report.html';

export interface BundleReportOptions extends Pick<
  SubjectAccessReportOptions,
  'entitiesPerPage' | 'generatedAt' | 'signal' | 'proof'
> {
  /**
   * The report's first page. In the bundle folder, the report lists the files beside it and the commands
   * that check them; elsewhere it stands alone and says where the complete list is.
   * @default `<folder>/report.html`
   */
  outFile?: string | undefined;
  /**
   * Where the reader finds the complete machine-readable list, for a report written outside the bundle.
   * @default DEFAULT_COMPLETE_LIST_LOCATION (entities.json next to the report)
   */
  completeListLocation?: string | undefined;
}

/**
 * The report of a downloaded bundle (what `get --out` writes: profile.json, entities.json, the manifest,
 * SHA256SUMS, README.txt and, when the snapshot is signed, signature.json), from the files in its folder.
 */
export async function writeBundleReport(
  folder: string,
  manifest: Manifest,
  options: BundleReportOptions = {},
): Promise<SubjectAccessReport> {
  const outFile = resolve(options.outFile ?? join(folder, REPORT_FILE));
  const beside = dirname(outFile) === resolve(folder);
  const files = await readdir(folder);
  return writeSubjectAccessReport({
    outFile,
    manifest,
    profile: await readFile(join(folder, PROFILE_FILE)),
    entitiesFile: join(folder, ENTITIES_FILE),
    signature: files.includes(SIGNATURE_FILE)
      ? parseSignature(await readFile(join(folder, SIGNATURE_FILE), 'utf8'))
      : undefined,
    bundleFiles: beside ? files : [],
    completeListLocation: beside ? undefined : options.completeListLocation,
    proof: options.proof,
    entitiesPerPage: options.entitiesPerPage,
    generatedAt: options.generatedAt,
    signal: options.signal,
  });
}

/** signature.json when it is valid against its schema; anything else is left out of the report. */
function parseSignature(text: string): SignatureDocument | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not JSON: `gallery-export verify` reports a damaged signature; the report shows none.
    return undefined;
  }
  return schemaProblems('signature', value).length === 0 ? (value as SignatureDocument) : undefined;
}
