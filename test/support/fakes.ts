import { createHash } from 'node:crypto';
import { authorIdDigest } from '../../src/contract/authorId';
import type { AuthorCredentials, AuthorSecretRef } from '../../src/contract/authorSecret';
import type { AuthorRegistry } from '../../src/export/ports';
import { parseAuthorSecret } from '../../src/contract/authorSecret';
import type { AuthorReading, EntityCollector, ReadAuthorOptions } from '../../src/contract/catalogApi';
import { newCatalogFigures } from '../../src/contract/catalogApi';
import { GalleryExportError } from '../../src/contract/errors';
import { EntitySpool } from '../../src/export/EntitySpool';
import type { CatalogSource, ExportServices, Logger } from '../../src/export/ports';
import {
  serializeDocument,
  type AuthorOutcome,
  type ErasureMarker,
  type ErasurePlan,
  type ErasureRecord,
  type Manifest,
  type ManifestFile,
  type RunRecord,
  type SignatureDocument,
} from '../../src/contract/formats';
import { snapshotPrefix } from '../../src/contract/layout';
import type {
  AuthorClaim,
  BegunErasure,
  ErasedBlobs,
  ErasureStore,
  RunLock,
  RunStore,
  SnapshotStore,
  SnapshotTarget,
  WriteOptions,
} from '../../src/export/ports';
import type { SnapshotFileName } from '../../src/contract/layout';

/**
 * Small in-memory stand-ins for the export core's interfaces: the core is tested against these, the real
 * implementations against the real servers.
 */
export class MemoryRegistry implements AuthorRegistry {
  readonly location = 'memory://vault';
  readonly secrets = new Map<string, { value: string; ref: AuthorSecretRef }>();
  failList: Error | undefined;
  /** Makes listing take this long, as a large vault would. */
  listDelayMs = 0;

  add(label: string, value: string, ref: Partial<AuthorSecretRef> = {}): string {
    const secretName = `gallery-author-${label}`;
    this.secrets.set(secretName, {
      value,
      ref: {
        secretName,
        label,
        enabled: true,
        notBefore: undefined,
        expiresOn: undefined,
        taggedAuthorId: undefined,
        ...ref,
      },
    });
    return secretName;
  }

  listAuthorSecrets(): Promise<AuthorSecretRef[]> {
    if (this.failList) return Promise.reject(this.failList);
    const refs = [...this.secrets.values()].map((secret) => secret.ref);
    return new Promise((resolve) => setTimeout(() => resolve(refs), this.listDelayMs));
  }

  findAuthorSecrets(authorId: string): Promise<{ names: string[]; unreadDisabled: string[] }> {
    const names = [...this.secrets].filter(([name, secret]) => {
      try {
        return (
          secret.ref.taggedAuthorId === authorId ||
          parseAuthorSecret(name, secret.value).authorId === authorId
        );
      } catch {
        return false;
      }
    });
    return Promise.resolve({ names: names.map(([name]) => name).sort(), unreadDisabled: [] });
  }

  readonly deleted = new Set<string>();

  deletedSecrets(secretNames: readonly string[]): Promise<string[]> {
    return Promise.resolve(secretNames.filter((name) => this.deleted.has(name)));
  }

  async deleteSecrets(secretNames: readonly string[], options: WriteOptions = {}): Promise<string[]> {
    const deleted: string[] = [];
    for (const name of secretNames) {
      await options.fence?.(options.signal);
      if (this.secrets.delete(name)) {
        deleted.push(name);
        this.deleted.add(name);
      }
    }
    return deleted;
  }

  readAuthor(secretName: string): Promise<AuthorCredentials> {
    const secret = this.secrets.get(secretName);
    if (!secret) return Promise.reject(new GalleryExportError('AUTHOR_CONFIG', `no secret ${secretName}`));
    return Promise.resolve().then(() => ({
      ...parseAuthorSecret(secretName, secret.value),
      secretExpiresOn: secret.ref.expiresOn,
    }));
  }
}

export interface FakeAuthor {
  profile: Record<string, unknown>;
  entities: Array<{ id: string; hidden?: boolean }>;
}

export class MemoryCatalog implements CatalogSource {
  readonly baseUrl = 'https://catalog.example';
  readonly authors = new Map<string, FakeAuthor>();
  readonly tokensSeen: Array<string | undefined> = [];
  failWith = new Map<string, GalleryExportError>();
  /** Authors whose listing never ends until the call is aborted. */
  hang = new Set<string>();

  async readAuthor(
    authorId: string,
    collector: EntityCollector,
    options: ReadAuthorOptions,
  ): Promise<AuthorReading> {
    const token = options.token?.value;
    this.tokensSeen.push(token);
    options.signal?.throwIfAborted();
    const failure = this.failWith.get(authorId);
    if (failure) throw failure;
    const author = this.authors.get(authorId);
    if (!author) throw new GalleryExportError('CATALOG_NOT_FOUND', `no author ${authorId}`);
    if (this.hang.has(authorId)) {
      await new Promise((_, reject) =>
        options.signal?.addEventListener('abort', () => reject(options.signal!.reason as Error)),
      );
    }
    const visible = author.entities.filter((entity) => token || !entity.hidden);
    await collector.reset();
    await collector.add(
      visible.map((entity) => ({
        id: entity.id,
        raw: Buffer.from(JSON.stringify(entity)),
        hidden: entity.hidden === true,
      })),
    );
    return {
      profile: {
        raw: Buffer.from(JSON.stringify(author.profile)),
        entitiesCount: author.profile.entities_count as number | undefined,
      },
      listing: {
        reportedByCatalog: visible.length,
        entities: visible.length,
        unlisted: visible.filter((entity) => entity.hidden).length,
        pages: 1,
        passes: 1,
        effectivePageSize: 100,
        discardedPasses: [],
        ordered: true,
      },
      figures: { ...newCatalogFigures(), requests: 2, pages: 1, passes: 1 },
      tokenUsed: token !== undefined,
    };
  }
}

export class MemoryBlobs {
  readonly blobs = new Map<string, Buffer>();
}

export class MemorySnapshotStore implements SnapshotStore {
  constructor(readonly storage = new MemoryBlobs()) {}

  latestComplete(authorId: string): Promise<{ runId: string; manifestSha256: string } | undefined> {
    const manifests = [...this.storage.blobs]
      .filter(([path]) => path.startsWith(`snapshots/${authorId}/`) && path.endsWith('/manifest.json'))
      .sort(([a], [b]) => (a < b ? 1 : -1));
    const [latest] = manifests;
    if (!latest) return Promise.resolve(undefined);
    const runId = latest[0].split('/').at(-2)!;
    return Promise.resolve({ runId, manifestSha256: createHash('sha256').update(latest[1]).digest('hex') });
  }

  inventoryAuthor(authorId: string): Promise<Pick<ErasedBlobs, 'files' | 'runIds'>> {
    const prefix = `snapshots/${authorId}/`;
    const files = [...this.storage.blobs]
      .filter(([path]) => path.startsWith(prefix))
      .map(([path, body]) => ({ name: path.slice(prefix.length), bytes: body.length }));
    const runIds = [...new Set(files.map((file) => file.name.split('/').at(-2)!))].sort();
    return Promise.resolve({ files, runIds });
  }

  async eraseAuthor(authorId: string, options: WriteOptions = {}): Promise<ErasedBlobs> {
    const prefix = `snapshots/${authorId}/`;
    const runIds = new Set<string>();
    const files: Array<{ name: string; bytes: number }> = [];
    for (const [path, body] of [...this.storage.blobs]) {
      if (!path.startsWith(prefix)) continue;
      await options.fence?.(options.signal);
      runIds.add(path.split('/').at(-2)!);
      files.push({ name: path.slice(prefix.length), bytes: body.length });
      this.storage.blobs.delete(path);
    }
    return {
      snapshots: runIds.size,
      blobs: files.length,
      bytes: files.reduce((sum, file) => sum + file.bytes, 0),
      runIds: [...runIds].sort(),
      files,
    };
  }

  open(authorId: string, runId: string): SnapshotTarget {
    const prefix = snapshotPrefix(authorId, runId);
    const blobs = this.storage.blobs;
    const create = (path: string, body: Buffer): void => {
      if (blobs.has(path)) throw new GalleryExportError('SNAPSHOT_EXISTS', `Refusing to overwrite ${path}`);
      blobs.set(path, body);
    };
    return {
      authorId,
      runId,
      prefix,
      prepare: () => {
        const body = blobs.get(`${prefix}manifest.json`);
        if (body) return Promise.resolve(JSON.parse(body.toString()) as Manifest);
        for (const name of [...blobs.keys()]) if (name.startsWith(prefix)) blobs.delete(name);
        return Promise.resolve(undefined);
      },
      writeFile: async (
        name: SnapshotFileName,
        content: Buffer | AsyncIterable<Buffer>,
        options: WriteOptions = {},
      ): Promise<ManifestFile> => {
        const chunks: Buffer[] = [];
        if (Buffer.isBuffer(content)) chunks.push(content);
        // Chunks may be lent (reused for the next one): keep copies.
        else for await (const chunk of content) chunks.push(Buffer.from(chunk));
        const body = Buffer.concat(chunks);
        await options.fence?.(options.signal);
        create(`${prefix}${name}`, body);
        return {
          name,
          path: `${prefix}${name}`,
          bytes: body.length,
          sha256: createHash('sha256').update(body).digest('hex'),
          contentType: 'application/json',
        };
      },
      writeSignature: async (signature: SignatureDocument, options: WriteOptions = {}) => {
        await options.fence?.(options.signal);
        create(`${prefix}signature.json`, serializeDocument(signature));
      },
      writeManifest: async (bytes: Buffer, _manifest: Manifest, options: WriteOptions = {}) => {
        await options.fence?.(options.signal);
        create(`${prefix}manifest.json`, bytes);
      },
    };
  }
}

export class MemoryRunStore implements RunStore {
  readonly records = new Map<string, RunRecord>();
  readonly outcomes = new Map<string, AuthorOutcome>();
  readonly lastErrors = new Map<string, AuthorOutcome>();

  readonly createdOn = new Map<string, Date>();
  readonly claims = new Map<string, string>();
  readonly tallies = new Map<string, number>();

  create(record: RunRecord): Promise<{ createdOn: Date }> {
    if (this.records.has(record.runId))
      return Promise.reject(new GalleryExportError('SNAPSHOT_EXISTS', 'exists'));
    this.records.set(record.runId, structuredClone(record));
    const createdOn = new Date();
    this.createdOn.set(record.runId, createdOn);
    return Promise.resolve({ createdOn });
  }

  read(runId: string): Promise<RunRecord | undefined> {
    const record = this.records.get(runId);
    return Promise.resolve(record && structuredClone(record));
  }

  readRun(runId: string): Promise<{ record: RunRecord; createdOn: Date } | undefined> {
    const record = this.records.get(runId);
    return Promise.resolve(
      record && { record: structuredClone(record), createdOn: this.createdOn.get(runId)! },
    );
  }

  claimAuthor(runId: string, authorId: string, secretName: string): Promise<AuthorClaim> {
    const key = `${runId}/${authorId}`;
    const madeNow = !this.claims.has(key);
    if (madeNow) this.claims.set(key, secretName);
    return Promise.resolve({ claimedBy: this.claims.get(key)!, madeNow });
  }

  async update(
    runId: string,
    change: (record: RunRecord) => RunRecord | undefined | Promise<RunRecord | undefined>,
  ): Promise<RunRecord> {
    const current = this.records.get(runId)!;
    const next = await change(structuredClone(current));
    if (next) this.records.set(runId, next);
    return structuredClone(next ?? current);
  }

  writeOutcome(runId: string, outcome: AuthorOutcome): Promise<{ outcome: AuthorOutcome; created: boolean }> {
    const key = `${runId}/${outcome.secretName}`;
    const created = !this.outcomes.has(key);
    if (created) this.outcomes.set(key, outcome);
    return Promise.resolve({ outcome: this.outcomes.get(key)!, created });
  }

  startSettledTally(runId: string): Promise<void> {
    if (!this.tallies.has(runId)) this.tallies.set(runId, 0);
    return Promise.resolve();
  }

  countSettled(runId: string): Promise<number | undefined> {
    const count = this.tallies.get(runId);
    if (count === undefined) return Promise.resolve(undefined);
    this.tallies.set(runId, count + 1);
    return Promise.resolve(count + 1);
  }

  readOutcome(runId: string, secretName: string): Promise<AuthorOutcome | undefined> {
    return Promise.resolve(this.outcomes.get(`${runId}/${secretName}`));
  }

  listOutcomes(runId: string): Promise<AuthorOutcome[]> {
    return Promise.resolve(
      [...this.outcomes].filter(([key]) => key.startsWith(`${runId}/`)).map(([, outcome]) => outcome),
    );
  }

  writeLastError(runId: string, outcome: AuthorOutcome): Promise<void> {
    this.lastErrors.set(`${runId}/${outcome.secretName}`, outcome);
    return Promise.resolve();
  }

  readLastError(runId: string, secretName: string): Promise<AuthorOutcome | undefined> {
    return Promise.resolve(this.lastErrors.get(`${runId}/${secretName}`));
  }

  listRunIds(): Promise<string[]> {
    return Promise.resolve([...this.records.keys()].sort().reverse());
  }
}

export class MemoryRunLock implements RunLock {
  holder: string | undefined;
  renewals = 0;
  private next = 0;

  acquire(): Promise<string> {
    if (this.holder)
      return Promise.reject(new GalleryExportError('RUN_LOCKED', 'Another export run is in progress'));
    this.holder = `lease-${++this.next}`;
    return Promise.resolve(this.holder);
  }

  renew(leaseId: string): Promise<boolean> {
    this.renewals++;
    return Promise.resolve(this.holder === leaseId);
  }

  release(leaseId: string): Promise<void> {
    if (this.holder === leaseId) this.holder = undefined;
    return Promise.resolve();
  }
}

/** Erasures in memory, with the same create-once steps and the same closing rule as storage. */
export class MemoryErasures implements ErasureStore {
  readonly begun: Array<{ marker: ErasureMarker; at: Date }> = [];
  readonly plans = new Map<string, ErasurePlan>();
  readonly drafts = new Map<string, Buffer>();
  readonly records = new Map<
    string,
    { record: ErasureRecord; signature: SignatureDocument | undefined; at: Date }
  >();

  unfinished(authorId: string): Promise<BegunErasure[]> {
    const digest = authorIdDigest(authorId);
    return Promise.resolve(
      this.begun
        .filter(({ marker, at }) => marker.authorIdSha256 === digest && !this.closed(digest, at))
        .map(({ marker }) => ({
          erasureId: marker.erasureId,
          requestedAt: marker.requestedAt,
          requestedBy: marker.requestedBy,
          plan: this.plans.get(marker.erasureId),
        })),
    );
  }

  async begin(marker: ErasureMarker, options: WriteOptions = {}): Promise<void> {
    await options.fence?.(options.signal);
    if (!this.begun.some((entry) => entry.marker.erasureId === marker.erasureId))
      this.begun.push({ marker, at: new Date() });
  }

  async savePlan(plan: ErasurePlan, options: WriteOptions = {}): Promise<ErasurePlan> {
    await options.fence?.(options.signal);
    if (!this.plans.has(plan.erasureId)) this.plans.set(plan.erasureId, plan);
    return this.plans.get(plan.erasureId)!;
  }

  async draftRecord(record: ErasureRecord, options: WriteOptions = {}): Promise<Buffer> {
    await options.fence?.(options.signal);
    if (!this.drafts.has(record.erasureId)) this.drafts.set(record.erasureId, serializeDocument(record));
    return this.drafts.get(record.erasureId)!;
  }

  async complete(
    erasureId: string,
    bytes: Buffer,
    signature: SignatureDocument | undefined,
    options: WriteOptions = {},
  ): Promise<string> {
    await options.fence?.(options.signal);
    if (!this.records.has(erasureId)) {
      this.records.set(erasureId, {
        record: JSON.parse(bytes.toString('utf8')) as ErasureRecord,
        signature,
        at: new Date(),
      });
    }
    return `erasures/${erasureId}.json`;
  }

  async discardProgress(
    _authorId: string,
    erasureId: string | undefined,
    options: WriteOptions = {},
  ): Promise<void> {
    await options.fence?.(options.signal);
    for (const id of erasureId !== undefined ? [erasureId] : [...this.records.keys()]) {
      this.plans.delete(id);
      this.drafts.delete(id);
    }
  }

  blocking(authorId: string, runCreatedOn: Date): Promise<string[]> {
    const digest = authorIdDigest(authorId);
    return Promise.resolve(
      this.begun
        .filter(({ marker }) => marker.authorIdSha256 === digest)
        .filter(({ at }) => at > runCreatedOn || !this.closed(digest, at, runCreatedOn))
        .map(({ marker }) => marker.erasureId),
    );
  }

  adoptLegacyMarkers(): Promise<number> {
    return Promise.resolve(0);
  }

  record(erasureId: string): Promise<{ path: string; record: ErasureRecord; signature: string } | undefined> {
    const stored = this.records.get(erasureId);
    return Promise.resolve(
      stored && {
        path: `erasures/${erasureId}.json`,
        record: stored.record,
        signature: stored.signature ? 'not-checked' : 'unsigned',
      },
    );
  }

  completed(authorId: string): Promise<Array<{ path: string; record: ErasureRecord; signature: string }>> {
    const digest = authorIdDigest(authorId);
    return Promise.resolve(
      [...this.records.values()]
        .filter(({ record }) => record.authorIdSha256 === digest)
        .map(({ record, signature }) => ({
          path: `erasures/${record.erasureId}.json`,
          record,
          signature: signature ? 'not-checked' : 'unsigned',
        })),
    );
  }

  /** Closed by a record of the author written after the erasure began (and before `by`, when given). */
  private closed(digest: string, begunAt: Date, by?: Date): boolean {
    return [...this.records.values()].some(
      ({ record, at }) => record.authorIdSha256 === digest && at >= begunAt && (!by || at <= by),
    );
  }
}

export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(`info ${message}`);
  }
  warn(message: string): void {
    this.lines.push(`warn ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error ${message}`);
  }
}

export interface FakeWorld {
  services: ExportServices;
  registry: MemoryRegistry;
  catalog: MemoryCatalog;
  snapshots: MemorySnapshotStore;
  runs: MemoryRunStore;
  lock: MemoryRunLock;
  logger: MemoryLogger;
  erasures: MemoryErasures;
}

export function fakeWorld(now = () => new Date('2026-11-28T02:00:00Z')): FakeWorld {
  const registry = new MemoryRegistry();
  const catalog = new MemoryCatalog();
  const snapshots = new MemorySnapshotStore();
  const runs = new MemoryRunStore();
  const lock = new MemoryRunLock();
  const logger = new MemoryLogger();
  const erasures = new MemoryErasures();
  return {
    erasures,
    registry,
    catalog,
    snapshots,
    runs,
    lock,
    logger,
    services: {
      registry,
      catalog,
      snapshots,
      runs,
      lock,
      logger,
      createSpool: () => new EntitySpool(),
      now,
      generator: { name: 'gallery-export', version: 'test' },
      settings: { CATALOG_PAGE_SIZE: 100 },
      authorConcurrency: 2,
      authorTimeoutMs: 60_000,
      lockSeconds: 60,
      erasures,
    },
  };
}

/** A JWT-shaped token (unsigned: gallery-export never checks signatures). */
export function fakeJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('signature-bytes').toString('base64url')}`;
}
