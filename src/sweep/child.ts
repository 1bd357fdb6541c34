import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Trial } from './types.js';
import { setArgs } from './overrides.js';

/**
 * How to start this same acnn again in a child process: the Node binary running us and the CLI
 * entry next to this module, so that a sweep launched from src/ (tsx, tests) runs trials from
 * src/ and one launched from dist/ runs trials from dist/, never a stale copy of the other.
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

export interface TrialCommandOptions {
  specFile: string;
  /** The user's --set overrides (they come before the trial's own, which win). */
  sets?: string[];
  backend?: string;
  json?: boolean;
}

/** `acnn run <spec> --only <id> --set ...`: the trial as an ordinary run. */
export function trialRunArgs(trial: Pick<Trial, 'id' | 'overrides'>, opts: TrialCommandOptions): string[] {
  const args = ['run', path.resolve(opts.specFile), '--only', trial.id];
  for (const s of [...(opts.sets ?? []), ...setArgs(trial.overrides)]) args.push('--set', s);
  if (opts.backend) args.push('--backend', opts.backend);
  if (opts.json) args.push('--json');
  return args;
}

export function hasCli(): boolean {
  const cmd = acnnCommand();
  return existsSync(cmd[cmd.length - 1]);
}
