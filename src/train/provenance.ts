import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT, packageVersion } from '../util/package-info.js';

/** Versions that decide a run's numbers: acnn, node, and the TF.js packages that loaded. */
export function runVersions(): Record<string, string> {
  const versions: Record<string, string> = { acnn: packageVersion(), node: process.versions.node };
  for (const pkg of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']) {
    try {
      const file = path.join(PACKAGE_ROOT, 'node_modules', pkg, 'package.json');
      versions[pkg] = (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    } catch {
      // Not installed (the optional native backends): nothing to record.
    }
  }
  return versions;
}

let commit: string | null | undefined;
/** The acnn checkout's commit (with "-dirty" when it has local changes), or null outside git. */
export function gitCommit(): string | null {
  if (commit !== undefined) return commit;
  try {
    const opts = { cwd: PACKAGE_ROOT, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 5000 };
    const head = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    commit = dirty ? `${head}-dirty` : head;
  } catch {
    commit = null;
  }
  return commit;
}
