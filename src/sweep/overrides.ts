/** Dotted-key helpers shared by planning, the child command line and best.yaml. */

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Leaves of a nested object as dotted keys; arrays are leaves (a --set replaces a list whole). */
export function flatten(obj: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (isPlainObject(obj) && Object.keys(obj).length > 0) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = obj;
  }
  return out;
}

export function getPath(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Keys whose value in `b` differs from `a` (added or changed), with b's value. */
export function flatDiff(a: unknown, b: unknown): Record<string, unknown> {
  const fa = flatten(a);
  const fb = flatten(b);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fb)) if (!(k in fa) || !sameValue(fa[k], v)) out[k] = v;
  return out;
}

/**
 * A value as `--set` text. --set parses values as YAML, so anything that would not read back as
 * the same value (a string that looks like a number, a list) is written as JSON, which YAML reads.
 */
export function formatSetValue(v: unknown): string {
  if (typeof v === 'string') {
    const plain = /^[A-Za-z_/][\w./+-]*$/.test(v) && !/^(true|false|null|yes|no|on|off|~)$/i.test(v);
    return plain ? v : JSON.stringify(v);
  }
  return JSON.stringify(v);
}

export function setArgs(overrides: Record<string, unknown>): string[] {
  return Object.entries(overrides).map(([k, v]) => `${k}=${formatSetValue(v)}`);
}

/** Short text for a value in tables and CSV cells. */
export function showValue(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  return JSON.stringify(v);
}
