import { promises as fs, openSync, writeSync, fsyncSync, closeSync, renameSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Results are never half-written: data goes to a temp file in the same directory (same
 * filesystem, so rename is atomic), is fsynced, then renamed over the target.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempName(file);
  await writeFileSynced(tmp, data);
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** Writes a file and fsyncs it, in place (for files inside a directory that is itself swapped in atomically). */
export async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Appends to a file and fsyncs it: for logs that grow a line at a time (metrics.jsonl), where
 * rewriting the whole file at every line would cost O(lines) each time. A crash mid-append can
 * leave only the last line cut short; readers of such logs skip a line that does not parse.
 */
export async function appendFileSynced(file: string, data: string): Promise<void> {
  const handle = await fs.open(file, 'a');
  try {
    await handle.appendFile(data);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** fsyncs a file or a directory (a directory: so the renames in it are on disk). */
export async function fsyncPath(p: string): Promise<void> {
  const handle = await fs.open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function writeFileAtomicSync(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempName(file);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  return writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`);
}
