/**
 * Runs as a reader of results thinks of them: conditions (runs that differ only in their seed)
 * with short labels, and the settings that tell runs apart.
 */
import { isDone, type ReportRun } from './source.js';

const SEED_KEY = 'train.seed';

/** Leaves of a config as dotted keys; arrays are leaves (printed as JSON). */
export function flatten(obj: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) out[prefix] = obj;
  return out;
}

/** A value as the report prints it in settings and labels. */
export function show(v: unknown): string {
  if (v === undefined) return '(unset)';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Keys whose values are not the same in every config (sorted), and the shared settings. */
export function splitSettings(configs: Record<string, unknown>[]): { common: Record<string, unknown>; differing: string[] } {
  const flats = configs.map((c) => flatten(c));
  const keys = [...new Set(flats.flatMap((f) => Object.keys(f)))].sort();
  const common: Record<string, unknown> = {};
  const differing: string[] = [];
  for (const k of keys) {
    const first = JSON.stringify(flats[0]?.[k]);
    if (flats.every((f) => JSON.stringify(f[k]) === first)) common[k] = flats[0][k];
    else differing.push(k);
  }
  return { common, differing };
}

/** Runs that differ only in train.seed: one table cell's worth of evidence. */
export interface Condition {
  key: string;
  label: string;
  runs: ReportRun[];
  /** The finished runs, in plan order. */
  done: ReportRun[];
  /** Dotted keys where this condition's config differs from other conditions'. */
  settings: Record<string, unknown>;
}

/** Groups runs into conditions in plan order; labels from tags, else the differing settings. */
export function conditionsOf(runs: ReportRun[]): Condition[] {
  const { differing } = splitSettings(runs.map((r) => r.config));
  const shown = differing.filter((k) => k !== SEED_KEY);
  const byKey = new Map<string, Condition>();
  for (const run of runs) {
    const flat = flatten(run.config);
    const settings = Object.fromEntries(shown.map((k) => [k, flat[k]]));
    const key = JSON.stringify(settings);
    let c = byKey.get(key);
    if (!c) {
      c = { key, label: labelOf(run.config, settings), runs: [], done: [], settings };
      byKey.set(key, c);
    }
    c.runs.push(run);
    if (isDone(run)) c.done.push(run);
  }
  const conditions = [...byKey.values()];
  disambiguate(conditions);
  return conditions;
}

function labelOf(config: Record<string, unknown>, settings: Record<string, unknown>): string {
  const tags = Object.values((config.tags as Record<string, string> | undefined) ?? {});
  if (tags.length) return tags.join(' · ');
  const parts = Object.entries(settings).map(([k, v]) => `${k}=${show(v)}`);
  // A spec of one condition: its variant names it.
  return parts.join(' ') || show(flatten(config)['model.variant']);
}

/** Conditions with the same tags get what tells them apart appended: `pACNN (occluders=misleading)`. */
function disambiguate(conditions: Condition[]): void {
  const byLabel = new Map<string, Condition[]>();
  for (const c of conditions) byLabel.set(c.label, [...(byLabel.get(c.label) ?? []), c]);
  for (const group of byLabel.values()) {
    if (group.length < 2) continue;
    const keys = Object.keys(group[0].settings).filter((k) => !k.startsWith('tags.') && new Set(group.map((c) => show(c.settings[k]))).size > 1);
    for (const c of group) {
      // Keys named by their last part; two keys with the same last part and value say it once.
      const parts = [...new Set(keys.map((k) => `${k.slice(k.lastIndexOf('.') + 1)}=${show(c.settings[k])}`))];
      c.label = `${c.label} (${parts.join(', ')})`;
    }
  }
}

/** A run's label inside its condition: the seed when there are several. */
export function runLabel(condition: Condition, run: ReportRun): string {
  if (condition.runs.length < 2) return condition.label;
  return `${condition.label}, seed ${show(flatten(run.config)[SEED_KEY])}`;
}

export const seedOf = (run: ReportRun): unknown => flatten(run.config)[SEED_KEY];
