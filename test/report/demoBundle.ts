import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDemoCatalog, DEMO_AUTHORS, serializeCatalogJson } from '../../dev/catalog-simulator';
import { DEMO_HOSTILE_NAMES_AUTHOR } from '../../dev/catalog-simulator/demoData';
import { serializeDocument, type Manifest } from '../../src/contract/formats';
import { manifestFor, RUN_ID } from './reportFixtures';

/**
 * The bundle `get --out` downloads for the demo author with the hostile entity names, built straight
 * from the simulator's data the way an export stores it (entities as the catalog serves them, ordered by
 * id, one per line), so browser tests need no local stack.
 */
export interface DemoBundle {
  folder: string;
  manifest: Manifest;
  profile: Buffer;
  entitiesFile: string;
  bundleFiles: string[];
  /** Every entity name, in the order of entities.json. */
  names: string[];
}

export async function writeDemoBundle(folder: string): Promise<DemoBundle> {
  const author = DEMO_AUTHORS.find((demo) => demo.label === DEMO_HOSTILE_NAMES_AUTHOR)!;
  const served = createDemoCatalog().authors.get(author.authorId)!;
  const entities = [...served.entities].sort((a, b) => (a.id < b.id ? -1 : 1));
  const profile = Buffer.from(serializeCatalogJson(served.profile));
  const entitiesBytes = Buffer.from(
    `[\n${entities.map((entity) => serializeCatalogJson(entity)).join(',\n')}\n]\n`,
  );
  const manifest = manifestFor(
    { 'profile.json': profile, 'entities.json': entitiesBytes },
    {
      entities: entities.length,
      unlisted: entities.filter((entity) => entity.hidden === true).length,
      reportedByCatalog: entities.length,
      profileEntitiesCount: entities.length,
    },
    { authorId: author.authorId, source: { baseUrl: 'https://catalog.cortanaanalytics.com' } },
  );
  manifest.files = manifest.files.map((file) => ({
    ...file,
    path: `snapshots/${author.authorId}/2026/12/03/${RUN_ID}/${file.name}`,
  }));
  const entitiesFile = join(folder, 'entities.json');
  await writeFile(join(folder, 'profile.json'), profile, { flag: 'wx' });
  await writeFile(entitiesFile, entitiesBytes, { flag: 'wx' });
  await writeFile(join(folder, 'manifest.json'), serializeDocument(manifest), { flag: 'wx' });
  const sums = manifest.files.map((file) => `${file.sha256}  ${file.name}\n`).join('');
  await writeFile(join(folder, 'SHA256SUMS'), sums, { flag: 'wx' });
  await writeFile(join(folder, 'README.txt'), 'Azure AI Gallery data export\n', { flag: 'wx' });
  return {
    folder,
    manifest,
    profile,
    entitiesFile,
    bundleFiles: ['profile.json', 'entities.json', 'manifest.json', 'SHA256SUMS', 'README.txt'],
    names: entities.map((entity) => String(entity.name)),
  };
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}
