import type { PlannedRun } from './types.js';

/** A run in a few words: the settings that differ between the spec's runs, and its tags. */
export function runLabel(run: PlannedRun): string {
  const parts = Object.entries(run.differs)
    .filter(([k]) => !k.startsWith('tags.')) // tags are listed once, below
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`);
  const tags = Object.entries((run.config as { tags?: Record<string, string> }).tags ?? {}).map(([k, v]) => `${k}=${v}`);
  return [...parts, ...tags].join(' ') || run.id;
}
