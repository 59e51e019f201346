import { accessSync, constants, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GalleryExportError } from '../contract/errors';
import { SPOOL_FOLDER_PREFIX } from './EntitySpool';

/** Folders of the naming before the process ID was in it: left alone this long, then taken as abandoned. */
const UNNAMED_SPOOL_MAX_AGE_MS = 24 * 3600_000;

/**
 * Readies EXPORT_SPOOL_DIR at start: it must be a folder this process can write (checked now, not when
 * the first large author spills), and the spool folders a crashed process left there are removed. The
 * folder must be this machine's own (the OS temp folder is): a process ID says nothing about another's.
 */
export function prepareSpoolFolder(spoolDir: string | undefined): string {
  const folder = spoolDir ?? tmpdir();
  if (spoolDir !== undefined) {
    let isFolder = false;
    try {
      isFolder = statSync(folder).isDirectory();
    } catch {
      throw new GalleryExportError('CONFIG', `EXPORT_SPOOL_DIR "${folder}" does not exist`);
    }
    if (!isFolder) throw new GalleryExportError('CONFIG', `EXPORT_SPOOL_DIR "${folder}" is not a folder`);
    try {
      accessSync(folder, constants.W_OK);
    } catch {
      throw new GalleryExportError(
        'CONFIG',
        `EXPORT_SPOOL_DIR "${folder}" cannot be written by this process`,
      );
    }
  }
  removeAbandonedSpools(folder);
  return folder;
}

/** Removes the spool folders of processes that are gone; returns their names. */
export function removeAbandonedSpools(folder: string, now = Date.now()): string[] {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(SPOOL_FOLDER_PREFIX)) continue;
    const pid = /^(\d+)-/.exec(name.slice(SPOOL_FOLDER_PREFIX.length))?.[1];
    const path = join(folder, name);
    const abandoned =
      pid === undefined ? olderThan(path, now - UNNAMED_SPOOL_MAX_AGE_MS) : !isAlive(Number(pid));
    if (!abandoned) continue;
    try {
      rmSync(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Another process may be removing it too; whatever is left is tried again at the next start.
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function olderThan(path: string, epochMs: number): boolean {
  try {
    return statSync(path).mtimeMs < epochMs;
  } catch {
    return false;
  }
}
