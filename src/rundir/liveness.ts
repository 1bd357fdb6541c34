import os from 'node:os';
import type { RunMeta, RunStatus } from './types.js';

/**
 * Whether the process `pid` on `host` is still running. Only a process of this host can be
 * checked; for another host's (or an unknown) process the answer is 'unknown', and callers fall
 * back on what they know otherwise (a heartbeat, the Slurm queue, the meta.json as written).
 */
export function processLiveness(pid: number | undefined, host: string | undefined): 'alive' | 'dead' | 'unknown' {
  if (!pid || host !== os.hostname()) return 'unknown';
  try {
    process.kill(pid, 0);
    return 'alive';
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'alive' : 'dead';
  }
}

/** A run whose meta says "running" but whose process on this host is gone was killed: interrupted, resumable. */
export function observedStatus(meta: Pick<RunMeta, 'status' | 'pid' | 'host'>): RunStatus {
  if (meta.status === 'running' && processLiveness(meta.pid, meta.host) === 'dead') return 'interrupted';
  return meta.status;
}
