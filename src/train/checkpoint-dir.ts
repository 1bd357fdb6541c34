import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isFile } from '../util/fs.js';

/**
 * Whether a run has a checkpoint to resume from. Saving swaps directories (the old one is moved
 * aside, the new one renamed in); a kill between the two renames leaves only `checkpoint.old-*`,
 * which is complete, so it is put back rather than the run starting over.
 */
export async function checkpointExists(dir: string): Promise<boolean> {
  if (await isFile(path.join(dir, 'model.json'))) return true;
  const parent = path.dirname(dir);
  const base = path.basename(dir);
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return false;
  }
  const aside = names.filter((n) => n.startsWith(`${base}.old-`)).sort();
  for (const name of aside.reverse()) {
    if (await isFile(path.join(parent, name, 'model.json'))) {
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rename(path.join(parent, name), dir);
      return true;
    }
  }
  return false;
}
