/**
 * Dotted key paths over plain JSON values (`model.dlp.k`, `tags.trainset`, `train.data.0.dataset`),
 * read one way everywhere: spec expansion, table `where` filters, metric paths, sweep columns.
 *
 * - A numeric segment indexes a list (`train.data.0.dataset`).
 * - `flatten` keeps a list of plain values whole (`occlusion.size=[96, 128]` is one setting, as a
 *   --set or a `where` names it) and indexes a list that holds maps or lists item by item, so every
 *   leaf is a setting one can name; an empty map is a leaf of its own.
 */
export type Seg = string | number;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function getAt(root: unknown, path: readonly Seg[]): { found: boolean; value?: unknown } {
  let cur: unknown = root;
  for (const seg of path) {
    if (Array.isArray(cur)) {
      const i = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : NaN;
      if (!(i >= 0 && i < cur.length)) return { found: false };
      cur = cur[i];
    } else if (isPlainObject(cur)) {
      if (!Object.prototype.hasOwnProperty.call(cur, String(seg))) return { found: false };
      cur = cur[String(seg)];
    } else return { found: false };
  }
  return { found: true, value: cur };
}

/** The value at a dotted path, or undefined where the path leads nowhere. */
export function getPath(root: unknown, dotted: string): unknown {
  return getAt(root, dotted.split('.')).value;
}

/** Leaves of a value as dotted path -> value (see the module comment for lists and empty maps). */
export function flatten(v: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (!keys.length && prefix) out[prefix] = {};
    for (const k of keys) flatten(v[k], prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(v) && v.some((x) => isPlainObject(x) || Array.isArray(x))) {
    v.forEach((x, i) => flatten(x, `${prefix}.${i}`, out));
  } else out[prefix] = v;
  return out;
}
