import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * One local stack per data folder. Two Azurites on one folder corrupt each other's data, so a stack
 * takes `<folder>.lock` (create-only) before it starts anything, writes its settings into it once it
 * runs, and removes it when it stops. A lock whose process is gone (the stack was killed) is taken over.
 */
export interface StackLockInfo {
  pid: number;
  startedAt: string;
  /** The settings that point gallery-export at the running stack, once it is up. */
  settings?: Record<string, string>;
}

export interface StackLock {
  /** Records the running stack's settings, for whoever finds the folder in use. */
  publish(settings: Record<string, string>): Promise<void>;
  release(): Promise<void>;
}

/** The data folder is used by a stack that is running: how to reach it is in the message. */
export class LocalStackInUseError extends Error {
  override readonly name = 'LocalStackInUseError';

  constructor(
    readonly folder: string,
    readonly holder: StackLockInfo,
  ) {
    const reach = holder.settings
      ? `Reach it with:\n${Object.entries(holder.settings)
          .map(([name, value]) => `  export ${name}='${value}'`)
          .join('\n')}\nor stop it first (Ctrl-C where it runs).`
      : 'It is still starting: its settings are printed where it runs. Use it, or stop it first (Ctrl-C where it runs).';
    super(
      `The local stack's data folder ${folder} is in use by a running stack (process ${holder.pid}, started ${holder.startedAt}): a second Azurite on it would corrupt its data. ${reach}`,
    );
  }
}

export async function lockDataFolder(folder: string): Promise<StackLock> {
  const path = `${folder}.lock`;
  await mkdir(dirname(path), { recursive: true });
  const mine: StackLockInfo = { pid: process.pid, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, JSON.stringify(mine), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw error;
    }
    const holder = await readLock(path);
    if (holder && isAlive(holder.pid)) throw new LocalStackInUseError(folder, holder);
    // The stack that held it is gone (killed, or the machine restarted): the folder is free.
    await unlink(path).catch(() => undefined);
  }
  let released = false;
  return {
    async publish(settings) {
      if (!released) await writeFile(path, JSON.stringify({ ...mine, settings }));
    },
    async release() {
      if (released) return;
      released = true;
      const holder = await readLock(path);
      if (holder?.pid === mine.pid && holder.startedAt === mine.startedAt)
        await unlink(path).catch(() => undefined);
    },
  };
}

async function readLock(path: string): Promise<StackLockInfo | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<StackLockInfo>;
    if (!Number.isSafeInteger(parsed.pid) || typeof parsed.startedAt !== 'string') return undefined;
    const settings =
      parsed.settings && typeof parsed.settings === 'object'
        ? Object.fromEntries(
            Object.entries(parsed.settings).filter(
              (entry): entry is [string, string] =>
                /^[A-Z_]+$/.test(entry[0]) && typeof entry[1] === 'string',
            ),
          )
        : undefined;
    return { pid: parsed.pid!, startedAt: parsed.startedAt, ...(settings ? { settings } : {}) };
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A port the local stack was asked to listen on is taken. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';

  constructor(
    readonly service: 'blob' | 'queue' | 'catalog' | 'vault',
    readonly port: number,
  ) {
    super(`port ${port} of the ${service} service is in use on 127.0.0.1`);
  }
}
