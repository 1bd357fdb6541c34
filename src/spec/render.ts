/** Presentation helpers for `acnn render` and `acnn plan`. */
import { displayFile } from './errors.js';
import { isPlainObject } from './paths.js';
import { childSchema, deref, specSchema, type JsonSchema } from './schema.js';
import type { LoadedSpec, PlannedRun } from './types.js';

/** Copies a value with map keys in the schema's order (unknown keys after, as written). */
export function orderBySchema(v: unknown, s: JsonSchema | undefined = deref(specSchema(), specSchema())): unknown {
  const root = specSchema();
  if (Array.isArray(v)) return v.map((x, i) => orderBySchema(x, s ? childSchema(root, s, i) : undefined));
  if (!isPlainObject(v)) return v;
  const order = s && isPlainObject(s.properties) ? Object.keys(s.properties) : [];
  const keys = [...order.filter((k) => k in v), ...Object.keys(v).filter((k) => !order.includes(k))];
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = orderBySchema(v[k], s ? childSchema(root, s, k) : undefined);
  return out;
}

function show(v: unknown): string {
  return typeof v === 'string' ? (/^[\w.\-/]+$/.test(v) ? v : JSON.stringify(v)) : JSON.stringify(v);
}

/** One line per run: index, id, the differing settings, tags. */
export function formatPlan(loaded: LoadedSpec, runs: PlannedRun[]): string {
  const lines = runs.map((r) => {
    const settings = Object.entries(r.differs)
      .filter(([k]) => !k.startsWith('tags.'))
      .map(([k, v]) => `${k}=${show(v)}`)
      .join('  ');
    const tags = Object.entries(r.config.tags ?? {})
      .map(([k, v]) => `${k}=${show(v)}`)
      .join(' ');
    return { n: String(r.index + 1), id: r.id, settings, tags };
  });
  const wn = Math.max(1, ...lines.map((l) => l.n.length));
  const ws = Math.max(0, ...lines.map((l) => l.settings.length));
  const head = `${runs.length} run${runs.length === 1 ? '' : 's'} in ${loaded.name} (${displayFile(loaded.file)})\n`;
  return (
    head +
    lines
      .map((l) => {
        const tags = l.tags ? `  [${l.tags}]` : '';
        return `${l.n.padStart(wn)}  ${l.id}  ${l.settings.padEnd(ws)}${tags}`.trimEnd();
      })
      .join('\n') +
    '\n'
  );
}
