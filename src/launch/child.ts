import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RunFlags } from './types.js';

/**
 * How to start this same acnn again in a child process: the Node binary running us and the CLI
 * entry next to this module, so that a launch from src/ (tsx, tests) runs its jobs from src/ and
 * one from dist/ runs them from dist/, never a stale copy of the other.
 */
export function acnnCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const entry = path.resolve(path.dirname(here), '..', 'cli', fromSource ? 'main.ts' : 'main.js');
  if (!fromSource) return [process.execPath, entry];
  // The child's cwd may be anywhere, so the tsx loader is passed by absolute URL.
  return [process.execPath, '--import', tsxLoaderUrl(), entry];
}

function tsxLoaderUrl(): string {
  // import.meta.resolve is missing when tsx itself compiled this module (mocha under tsx).
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx');
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

export function hasCli(): boolean {
  const cmd = acnnCommand();
  return existsSync(cmd[cmd.length - 1]);
}

/**
 * `run-dir <dir> [--json] [--force] [--backend B] [--cache DIR]`: one job as the acnn CLI runs it.
 * Local workers read its --json events; a Slurm task logs the plain lines instead.
 */
export function runDirArgs(dir: string, flags: RunFlags, json: boolean): string[] {
  const args = ['run-dir', dir];
  if (json) args.push('--json');
  if (flags.force) args.push('--force');
  if (flags.backend) args.push('--backend', flags.backend);
  if (flags.cacheDir) args.push('--cache', flags.cacheDir);
  return args;
}
