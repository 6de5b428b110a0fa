/**
 * DATA_DIR/azurite.lock names the process running the embedded Azurite on that directory. Two Azurite processes
 * on one location would each keep their own in-memory metadata and overwrite each other's files, so whoever
 * wants to start one (the dev host, a CLI command) takes the lock first. A busy port 10000 proves nothing (the
 * dev host falls back to a free port, and another project may hold 10000); a live pid in the lock does.
 */
import fs from 'node:fs';
import path from 'node:path';

export const AZURITE_LOCK_FILE = 'azurite.lock';

/** Another live process runs the embedded Azurite on this DATA_DIR. */
export class AzuriteLockedError extends Error {
  readonly code = 'azurite_locked';
  constructor(readonly pid: number) {
    super(`The embedded Azurite on this DATA_DIR is in use by process ${pid}`);
    this.name = 'AzuriteLockedError';
  }
}

export interface AzuriteLock {
  /** Removes the lock if it is still ours. Idempotent. */
  release(): void;
}

/**
 * Takes the lock for this process, replacing a lock whose process is gone (a crash, kill -9). Throws
 * AzuriteLockedError when a live process holds it.
 */
export function acquireAzuriteLock(dataDir: string, pid: number = process.pid): AzuriteLock {
  const file = path.join(dataDir, AZURITE_LOCK_FILE);
  fs.mkdirSync(dataDir, { recursive: true });
  // Two attempts: the second follows the removal of a stale lock. 'wx' makes creation atomic, so of two
  // processes starting together exactly one wins.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${pid}\n`, { flag: 'wx' });
      return { release: () => releaseIfOurs(file, pid) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = azuriteLockHolder(dataDir);
    if (holder !== null && holder !== pid) throw new AzuriteLockedError(holder);
    fs.rmSync(file, { force: true });
  }
  const holder = azuriteLockHolder(dataDir);
  throw new AzuriteLockedError(holder ?? -1);
}

/** The pid of the live process holding the lock, or null when there is no lock or its process is gone. */
export function azuriteLockHolder(dataDir: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, AZURITE_LOCK_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const pid = Number(text.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  return isAlive(pid) ? pid : null;
}

function isAlive(pid: number): boolean {
  try {
    // Signal 0 checks existence and permission without signalling anything.
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user, which still means it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseIfOurs(file: string, pid: number): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(pid)) fs.rmSync(file, { force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
