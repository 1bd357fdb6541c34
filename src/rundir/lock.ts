import { promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { writeJsonAtomic } from '../util/atomic.js';
import { processLiveness } from './liveness.js';

/**
 * One process per run directory: proper-lockfile's lock (the directory `lock`, made with an
 * atomic mkdir and kept fresh by a heartbeat on its mtime) plus `lock.owner.json` naming the
 * holder's pid and host. On the same host a lock whose holder is gone (SIGKILL, OOM) is taken
 * over at once; from another host (a requeued Slurm task) only when its heartbeat is older than
 * `staleMs`. A holder that finds its lock taken over (it stalled past `staleMs`) stops its run.
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
  /** Set when another process took the lock over: the run must stop writing. */
  readonly lost: Error | undefined;
  release(): Promise<void>;
}

const HEARTBEAT_MS = 10_000;
const UNKNOWN_HOLDER: LockInfo = { pid: -1, host: 'unknown', startedAt: '?' };

// proper-lockfile removes its lock directories when the process exits; the owner files go with
// them, so an owner file without a lock never names a process that no longer holds anything.
const heldOwners = new Set<string>();
process.on('exit', () => {
  for (const f of heldOwners) rmSync(f, { force: true });
});

export async function acquireRunLock(dir: string, staleMs = 60_000): Promise<RunLock> {
  await fs.mkdir(dir, { recursive: true });
  const lockDir = path.join(dir, 'lock');
  const ownerFile = path.join(dir, 'lock.owner.json');
  for (let attempt = 0; attempt < 2; attempt++) {
    let lost: Error | undefined;
    try {
      const release = await lockfile.lock(dir, {
        lockfilePath: lockDir,
        realpath: false,
        stale: staleMs,
        update: HEARTBEAT_MS,
        onCompromised: (err) => (lost = err),
      });
      const info: LockInfo = { pid: process.pid, host: os.hostname(), startedAt: new Date().toISOString() };
      await writeJsonAtomic(ownerFile, info);
      heldOwners.add(ownerFile);
      return {
        get lost() {
          return lost;
        },
        async release() {
          heldOwners.delete(ownerFile);
          if (lost) return;
          await fs.rm(ownerFile, { force: true });
          await release().catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
    }
    const holder = await readOwner(ownerFile);
    // A local holder that is gone: the lock is its leftover. Anything else holds (an unknown
    // holder may be one that has just made the lock and not yet written its name).
    if (!holder || processLiveness(holder.pid, holder.host) !== 'dead') throw new RunLockedError(dir, holder ?? UNKNOWN_HOLDER);
    await fs.rm(ownerFile, { force: true });
    await fs.rm(lockDir, { recursive: true, force: true });
  }
  throw new RunLockedError(dir, (await readOwner(ownerFile)) ?? UNKNOWN_HOLDER);
}

async function readOwner(file: string): Promise<LockInfo | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}
