import { promises as fs, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * One process per run directory. The lock file records pid and host: on the same host a lock
 * whose process is gone (SIGKILL, OOM) is taken over at once; from another host (a requeued
 * Slurm task) it is taken over when its heartbeat is older than `staleMs`.
 */
export interface LockInfo {
  pid: number;
  host: string;
  startedAt: string;
}

export class RunLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockInfo,
  ) {
    super(`${dir} is being run by process ${holder.pid} on ${holder.host} (since ${holder.startedAt})`);
  }
}

export interface RunLock {
  release(): void;
}

const HEARTBEAT_MS = 10_000;

export async function acquireRunLock(dir: string, staleMs = 60_000): Promise<RunLock> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'lock');
  const info: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fs.writeFile(file, JSON.stringify(info), { flag: 'wx' });
      return heldLock(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await readHolder(file);
    if (holder && !(await isStale(file, holder, staleMs))) throw new RunLockedError(dir, holder);
    await fs.rm(file, { force: true });
  }
  const holder = (await readHolder(file)) ?? { pid: -1, host: 'unknown', startedAt: '?' };
  throw new RunLockedError(dir, holder);
}

function heldLock(file: string): RunLock {
  const timer = setInterval(() => {
    const now = new Date();
    fs.utimes(file, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  timer.unref();
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        const holder = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
        if (holder.pid === process.pid && holder.host === os.hostname()) rmSync(file, { force: true });
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}

async function readHolder(file: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockInfo;
  } catch {
    return undefined; // unreadable or half-written: treated as stale
  }
}

async function isStale(file: string, holder: LockInfo, staleMs: number): Promise<boolean> {
  if (holder.host === os.hostname()) return !processAlive(holder.pid);
  try {
    const { mtimeMs } = await fs.stat(file);
    return Date.now() - mtimeMs > staleMs;
  } catch {
    return true;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
