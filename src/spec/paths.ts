/** Dotted key paths (`train.data.0.dataset`) and their segment arrays. */
import { getAt, isPlainObject, type Seg } from '../util/dotted.js';

export { getAt, isPlainObject, type Seg };
export type Path = Seg[];

export function parseKey(key: string): string[] {
  return key.split('.');
}

export function joinPath(path: readonly Seg[]): string {
  return path.map(String).join('.');
}

/** Internal map key for a path (segments never contain NUL). */
export function pathKey(path: readonly Seg[]): string {
  return path.map(String).join('\u0000');
}

/** Sets a value, creating maps on the way. Returns false when the path crosses a scalar or a list end. */
export function setAt(root: Record<string, unknown>, path: readonly Seg[], value: unknown): boolean {
  let cur: unknown = root;
  for (let i = 0; i < path.length - 1; i++) {
    const seg = path[i];
    const next = getAt(cur, [seg]);
    if (next.found && (isPlainObject(next.value) || Array.isArray(next.value))) {
      cur = next.value;
      continue;
    }
    if (Array.isArray(cur)) return false;
    if (!isPlainObject(cur)) return false;
    const fresh: Record<string, unknown> = {};
    cur[String(seg)] = fresh;
    cur = fresh;
  }
  const last = path[path.length - 1];
  if (Array.isArray(cur)) {
    const i = typeof last === 'number' ? last : /^\d+$/.test(String(last)) ? Number(last) : NaN;
    if (!(i >= 0 && i <= cur.length)) return false;
    cur[i] = value;
    return true;
  }
  if (!isPlainObject(cur)) return false;
  cur[String(last)] = value;
  return true;
}

export function deepClone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** JSON with object keys sorted at every level: the canonical form run ids hash. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isPlainObject(v)) {
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

/** Short human form of a value for messages: strings quoted, long values cut. */
export function showValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = JSON.stringify(v);
  else if (v === undefined) s = 'nothing';
  else s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}
