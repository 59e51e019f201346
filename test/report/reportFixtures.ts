import { createHash } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../../src/contract/formats';

/** Bundles on disk for the report tests: a manifest that matches the files written next to it. */

export const AUTHOR_ID = '561F69B4BBE31D07C1152F5470CB789546C158D036FEE7611449AC722B9C3B67';
export const RUN_ID = '20261203T170437Z-750e07';

export interface BundleOnDisk {
  folder: string;
  manifest: Manifest;
  profile: Buffer;
  entitiesFile: string;
}

/** entities.json as the project writes it: one entity per line, as sent. */
export function entitiesJson(entities: readonly unknown[]): string {
  return entities.length === 0
    ? '[]\n'
    : `[\n${entities.map((entity) => JSON.stringify(entity)).join(',\n')}\n]\n`;
}

export function sampleEntity(
  index: number,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  const id = index.toString(16).padStart(32, '0');
  return {
    id,
    name: `Entity number ${index}`,
    summary: 'Trains a model.',
    entity_type: index % 2 === 0 ? 1 : '11',
    author: { id: AUTHOR_ID, name: 'Zoë' },
    hidden: index % 5 === 0,
    created_at: '2015-07-17T05:36:19.2472217+00:00',
    updated_at: '2016-03-07T15:32:38.4021326+00:00',
    view_count: 1000 + index,
    download_count: index,
    _links: { self: `https://catalog.azureml.net/tenants/t/communities/c/entities/${id}` },
    ...overrides,
  };
}

export function sampleProfile(name: string): Record<string, unknown> {
  return {
    entities_count: 3,
    name,
    slugs: [name],
    id: AUTHOR_ID,
    created_at: '2015-07-17T05:36:19.2472217+00:00',
    _links: { self: `https://catalog.azureml.net/tenants/t/communities/c/users/${AUTHOR_ID}` },
  };
}

export function manifestFor(
  files: Record<string, Buffer | { bytes: number; sha256: string }>,
  counts: Manifest['counts'],
  overrides: Partial<Manifest> = {},
): Manifest {
  return {
    schemaVersion: 1,
    runId: RUN_ID,
    authorId: AUTHOR_ID,
    trigger: 'cli',
    startedAt: '2026-12-03T17:04:37.123Z',
    completedAt: '2026-12-03T17:04:39.456Z',
    source: { baseUrl: 'https://catalog.cortanaanalytics.com' },
    token: { status: 'valid', expiresAt: '2026-12-04T01:04:37Z' },
    includesUnlisted: true,
    counts,
    warnings: [],
    files: Object.entries(files).map(([name, content]) => ({
      name,
      path: `snapshots/${AUTHOR_ID}/2026/12/03/${RUN_ID}/${name}`,
      bytes: Buffer.isBuffer(content) ? content.length : content.bytes,
      sha256: Buffer.isBuffer(content) ? createHash('sha256').update(content).digest('hex') : content.sha256,
      contentType: 'application/json',
    })),
    generator: { name: 'gallery-export', version: '0.1.0' },
    ...overrides,
  };
}

/** A bundle folder holding profile.json and entities.json, and the manifest describing them. */
export async function writeBundle(
  folder: string,
  entities: readonly unknown[],
  options: { profileName?: string; manifest?: Partial<Manifest> } = {},
): Promise<BundleOnDisk> {
  const profile = Buffer.from(JSON.stringify(sampleProfile(options.profileName ?? 'Zoë Müller-Łukasiewicz')));
  const entitiesBytes = Buffer.from(entitiesJson(entities));
  const entitiesFile = join(folder, 'entities.json');
  await writeFile(join(folder, 'profile.json'), profile);
  await writeFile(entitiesFile, entitiesBytes);
  const unlisted = entities.filter((entity) => (entity as { hidden?: unknown }).hidden === true).length;
  const manifest = manifestFor(
    { 'profile.json': profile, 'entities.json': entitiesBytes },
    {
      entities: entities.length,
      unlisted,
      reportedByCatalog: entities.length,
      profileEntitiesCount: entities.length,
    },
    options.manifest,
  );
  return { folder, manifest, profile, entitiesFile };
}

/**
 * A large author's entities.json, written a batch at a time (never all in memory), with the size and
 * SHA-256 a manifest needs.
 */
export async function writeLargeEntities(
  path: string,
  count: number,
): Promise<{ bytes: number; sha256: string; unlisted: number }> {
  const handle = await open(path, 'wx');
  const hash = createHash('sha256');
  let bytes = 0;
  let unlisted = 0;
  const write = async (text: string): Promise<void> => {
    const buffer = Buffer.from(text);
    hash.update(buffer);
    bytes += buffer.length;
    await handle.write(buffer);
  };
  try {
    await write('[\n');
    for (let start = 0; start < count; start += 1000) {
      const batch: string[] = [];
      for (let index = start; index < Math.min(count, start + 1000); index++) {
        const entity = sampleEntity(index, {
          description: 'A longer description of the entity. '.repeat(10),
        });
        if (entity.hidden === true) unlisted++;
        batch.push(JSON.stringify(entity));
      }
      await write(`${start > 0 ? ',\n' : ''}${batch.join(',\n')}`);
    }
    await write('\n]\n');
  } finally {
    await handle.close();
  }
  return { bytes, sha256: hash.digest('hex'), unlisted };
}
