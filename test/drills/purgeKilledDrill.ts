import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { RunRecord } from '../../src/contract/formats';
import { runCli } from '../support/cliHarness';
import { startHoldingProxy, type HeldRequest, type HoldingProxy } from '../support/holdingProxy';
import { createWorld, waitFor, type SharedServers, type World } from '../support/world';
import { blobsUnder } from '../support/blobs';

/**
 * The purge drill (issue 25): `purge --yes` in a child process, killed with SIGKILL right after one of its
 * steps (the first request of the next step is held by a proxy in front of storage or the vault, then the
 * child is killed), then the same command run again. Whatever the step, the end must be the end of an
 * uninterrupted purge.
 */
export const SIGNING_KEY = 'purge-drill-signing';

export interface KillPoint {
  /** The step after which the purge dies. */
  after: string;
  /**
   * The request is passed on and its answer held instead: the step's write landed, and the purge dies
   * before it hears so (for a step followed by a request neither proxy sees: signing goes to the vault
   * address the key names).
   */
  answered?: boolean;
  /** Picks the request to hold, given every request seen so far on both proxies (oldest first). */
  hold(
    request: HeldRequest & { on: 'storage' | 'vault' },
    seen: ReadonlyArray<HeldRequest & { on: 'storage' | 'vault' }>,
  ): boolean;
}

const isWrite = (method: string): boolean => method === 'PUT' || method === 'DELETE';
const snapshotDelete = (request: HeldRequest & { on: string }): boolean =>
  request.on === 'storage' && request.method === 'DELETE' && request.path.includes('/snapshots/');
const secretDelete = (request: HeldRequest & { on: string }): boolean =>
  request.on === 'vault' && request.method === 'DELETE' && request.path.startsWith('/secrets/');
const progressWrite = (request: HeldRequest & { on: string }): boolean =>
  request.on === 'storage' && isWrite(request.method) && request.path.includes('/purge-progress/');
const erasureWrite = (request: HeldRequest & { on: string }): boolean =>
  request.on === 'storage' && request.method === 'PUT' && /\/erasures\/[^/?]+\.json/.test(request.path);

/** The steps of a purge, in order, each named by the first request of the step after it. */
export const KILL_POINTS: KillPoint[] = [
  {
    after: 'the marker (the erasure has begun)',
    hold: (request, seen) => progressWrite(request) && seen.filter(progressWrite).length >= 1,
  },
  {
    after: 'the plan of what will be erased',
    hold: (request) => snapshotDelete(request),
  },
  {
    after: 'the first snapshot blob deleted',
    hold: (request, seen) => snapshotDelete(request) && seen.filter(snapshotDelete).length >= 1,
  },
  {
    after: 'every snapshot blob deleted',
    hold: (request) => secretDelete(request),
  },
  {
    after: 'the first secret deleted',
    hold: (request, seen) => secretDelete(request) && seen.filter(secretDelete).length >= 1,
  },
  {
    after: 'every secret deleted',
    hold: (request, seen) => progressWrite(request) && request.method === 'PUT' && seen.some(secretDelete),
  },
  {
    after: 'the erasure record prepared',
    answered: true,
    hold: (request) =>
      progressWrite(request) && request.method === 'PUT' && request.path.includes('/record.json'),
  },

  {
    after: 'the record signed',
    hold: (request) => erasureWrite(request) && request.path.includes('.signature.json'),
  },
  {
    after: 'the signature written',
    hold: (request) => erasureWrite(request) && !request.path.includes('.signature.json'),
  },
  {
    after: 'the erasure record written',
    hold: (request, seen) =>
      request.on === 'storage' &&
      request.method === 'DELETE' &&
      request.path.includes('/purge-progress/') &&
      seen.some(erasureWrite),
  },
];

/** Exports an author twice (with a second, untagged secret), kills a purge after `point`, purges again. */
export async function killPurgeAfter(servers: SharedServers, point: KillPoint): Promise<void> {
  const world: World = await createWorld(servers, 1, {
    uniqueAuthorIds: true,
    env: { SIGNING_KEY_NAME: SIGNING_KEY, RUN_LOCK_SECONDS: '15' },
  });
  const storage = await startHoldingProxy(`http://127.0.0.1:${servers.azurite.blobPort}`);
  const vault = await startHoldingProxy(servers.vault.url);
  try {
    const [author] = world.authorIds as [string];
    const value = servers.vault.getSecret(`${world.prefix}a0`)!.at(-1)!.value;
    servers.vault.setSecret(`${world.prefix}b0`, value, { contentType: 'application/json' });
    expect((await runCli(['run'], world.env)).code).toBe(0);
    expect((await runCli(['run'], world.env)).code).toBe(0);

    const seen: Array<HeldRequest & { on: 'storage' | 'vault' }> = [];
    let picked = false;
    let held = false;
    const watch = (proxy: HoldingProxy, on: 'storage' | 'vault'): void => {
      const picks = (request: HeldRequest): boolean => {
        const tagged = { ...request, on };
        const hold = !picked && point.hold(tagged, seen);
        seen.push(tagged);
        if (hold) picked = true;
        return hold;
      };
      if (point.answered) proxy.holdAnswerIf = picks;
      else proxy.holdIf = picks;
      proxy.onHeld = () => {
        held = true;
      };
    };
    watch(storage, 'storage');
    watch(vault, 'vault');
    const root = join(__dirname, '..', '..');
    const child = spawn(
      process.execPath,
      [
        join(root, 'test/support/tsChild.js'),
        join(root, 'test/support/cliChild.ts'),
        'purge',
        '--author',
        author,
        '--yes',
      ],
      {
        env: {
          ...process.env,
          ...world.env,
          EXPORT_STORAGE: servers.azurite.connectionString.replace(
            `127.0.0.1:${servers.azurite.blobPort}`,
            `127.0.0.1:${storage.port}`,
          ),
          KEY_VAULT_URL: vault.url,
        },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await Promise.race([
      waitFor(() => held, `the purge to reach the step after ${point.after}`, 60_000),
      exited.then((code) => {
        throw new Error(`the purge ended (exit ${String(code)}) before the step after ${point.after}`);
      }),
    ]);
    child.kill('SIGKILL');
    await exited;
    // The dead purge's lock would lapse in RUN_LOCK_SECONDS; break it rather than wait.
    await world.container
      .getBlobLeaseClient()
      .breakLease(0)
      .catch(() => undefined);

    const again = await runCli(['purge', '--author', author, '--yes', '--json'], world.env);
    expect([point.after, again.code, again.stderr]).toEqual([point.after, 0, '']);
    expect(await blobsUnder(world.container, `snapshots/${author}/`)).toEqual([]);
    expect(servers.vault.listSecretNames().filter((name) => name.startsWith(world.prefix))).toEqual([]);
    const records = (await blobsUnder(world.container, 'erasures/')).filter((name) =>
      /^erasures\/[^/]+\.json$/.test(name),
    );
    expect(records.filter((name) => !name.endsWith('.signature.json'))).toHaveLength(1);
    expect(records.filter((name) => name.endsWith('.signature.json'))).toHaveLength(1);
    // The one record: what the killed purge and this one erased together, signed.
    const listed = JSON.parse(
      (await runCli(['erasures', '--author', author, '--json'], world.env)).stdout,
    ) as Array<{
      status: string;
      deleted: { snapshots: number; blobs: number };
      registration: { secretsRemoved: string[] };
      signature: { verified: boolean };
    }>;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ status: 'complete', signature: { verified: true } });
    expect(listed[0]!.deleted.snapshots).toBe(2);
    expect(listed[0]!.deleted.blobs).toBe(8);
    expect(listed[0]!.registration.secretsRemoved).toEqual([`${world.prefix}a0`, `${world.prefix}b0`]);
    // Of the purge's progress only its marker is left: the plan, which names the author, is gone.
    const progress = await blobsUnder(world.container, 'purge-progress/');
    expect(progress.filter((name) => !/^purge-progress\/[0-9a-f]{64}\/[^/]+\.json$/.test(name))).toEqual([]);
    expect((await runCli(['verify'], world.env)).code).toBe(0);
    expect((await runCli(['verify', '--require-signatures'], world.env)).code).toBe(0);
    servers.vault.setSecret(`${world.prefix}c0`, JSON.stringify({ authorId: author, accessToken: null }), {
      contentType: 'application/json',
      tags: { authorId: author },
    });
    const rerun = JSON.parse((await runCli(['run', '--json'], world.env)).stdout) as RunRecord;
    expect(rerun.authors.map((entry) => entry.status)).toEqual(['complete']);
  } finally {
    await storage.close();
    await vault.close();
    await world.catalog.close();
  }
}
