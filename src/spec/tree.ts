/**
 * Located trees: spec values that remember where they were written (file:line:col), so that
 * every later step (extends merge, --set, interpolation, expansion, validation) can point a
 * problem at the text that produced it.
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YNode } from 'yaml';
import { Problems, type Pos } from './errors.js';
import { isPlainObject, pathKey, type Seg } from './paths.js';

export type MergeTag = 'replace' | 'append';

export interface LMap {
  kind: 'map';
  entries: Map<string, { keyPos: Pos; node: LNode }>;
  pos: Pos;
  tag?: MergeTag;
}
export interface LSeq {
  kind: 'seq';
  items: LNode[];
  pos: Pos;
  tag?: MergeTag;
}
export interface LScalar {
  kind: 'scalar';
  value: string | number | boolean | null;
  pos: Pos;
  tag?: MergeTag;
}
export type LNode = LMap | LSeq | LScalar;

export const MERGE_TAGS: Record<string, MergeTag> = { '!replace': 'replace', '!append': 'append' };

export function emptyMap(pos: Pos): LMap {
  return { kind: 'map', entries: new Map(), pos };
}

/** Reads and parses one YAML file. Syntax problems go to `problems`; returns undefined when unusable. */
export function parseYamlFile(file: string, problems: Problems, at?: Pos): LMap | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, not a spec file' : (err as Error).message;
    problems.add(at ?? { file }, '', `cannot read spec file ${file}: ${why}`);
    return undefined;
  }
  return parseYamlText(text, file, problems);
}

export function parseYamlText(text: string, file: string, problems: Problems): LMap | undefined {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: true });
  const posOf = (offset: number | undefined): Pos => {
    if (offset === undefined) return { file };
    const { line, col } = lc.linePos(offset);
    return { file, line, col };
  };
  if (doc.errors.length) {
    for (const e of doc.errors) problems.add(posOf(e.pos?.[0]), '', `YAML syntax error: ${e.message.split('\n')[0]}`);
    return undefined;
  }
  if (doc.contents === null || (isScalar(doc.contents) && (doc.contents.value === null || doc.contents.value === ''))) {
    problems.add({ file, line: 1, col: 1 }, '', 'the spec file is empty: expected a map of spec keys (datasets, model, train, test, ...)');
    return undefined;
  }
  const before = problems.size;
  const root = convert(doc.contents as YNode, doc, posOf, problems, [], 0);
  if (problems.size > before) return undefined;
  if (root.kind !== 'map') {
    problems.add(root.pos, '', `expected a map of spec keys (datasets, model, train, test, ...), found ${root.kind === 'seq' ? 'a list' : 'a scalar'}`);
    return undefined;
  }
  return root;
}

function convert(node: YNode, doc: Document, posOf: (o: number | undefined) => Pos, problems: Problems, path: Seg[], depth: number): LNode {
  if (depth > 100) {
    problems.add(posOf(node.range?.[0]), path.join('.'), 'nesting too deep (a recursive alias?)');
    return { kind: 'scalar', value: null, pos: posOf(node.range?.[0]) };
  }
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (!target) {
      problems.add(posOf(node.range?.[0]), path.join('.'), `unknown alias *${node.source}`);
      return { kind: 'scalar', value: null, pos: posOf(node.range?.[0]) };
    }
    const n = convert(target as YNode, doc, posOf, problems, path, depth + 1);
    return n;
  }
  const pos = posOf(node.range?.[0]);
  let tag: MergeTag | undefined;
  const rawTag = (node as { tag?: string }).tag;
  if (rawTag && !rawTag.startsWith('tag:yaml.org,2002:')) {
    tag = MERGE_TAGS[rawTag];
    if (!tag) problems.add(pos, path.join('.'), `unknown tag ${rawTag}: acnn knows !replace (maps and lists) and !append (lists)`);
  }
  if (isMap(node)) {
    const out: LMap = { kind: 'map', entries: new Map(), pos, tag };
    const merged: LMap[] = [];
    for (const pair of node.items) {
      const keyNode = pair.key as YNode | null;
      const keyPos = posOf(keyNode?.range?.[0] ?? node.range?.[0]);
      if (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number')) {
        if (isScalar(keyNode) && keyNode.value === '<<') continue;
        problems.add(keyPos, path.join('.'), 'map keys must be plain strings');
        continue;
      }
      const key = String(keyNode.value);
      const valNode = pair.value as YNode | null;
      if (key === '<<' && valNode) {
        // YAML merge key: entries of the aliased map(s), not overriding explicit keys.
        const srcs = isSeq(valNode) ? (valNode.items as YNode[]) : [valNode];
        for (const s of srcs) {
          const m = convert(s, doc, posOf, problems, path, depth + 1);
          if (m.kind === 'map') merged.push(m);
        }
        continue;
      }
      const value: LNode = valNode ? convert(valNode, doc, posOf, problems, [...path, key], depth + 1) : { kind: 'scalar', value: null, pos: keyPos };
      if (tag === 'append') problems.add(pos, path.join('.'), '!append applies to lists; use !replace on a map, or nothing to merge it');
      out.entries.set(key, { keyPos, node: value });
    }
    for (const m of merged) for (const [k, e] of m.entries) if (!out.entries.has(k)) out.entries.set(k, e);
    return out;
  }
  if (isSeq(node)) {
    const items = (node.items as YNode[]).map((it, i) =>
      it ? convert(it, doc, posOf, problems, [...path, i], depth + 1) : ({ kind: 'scalar', value: null, pos } as LScalar),
    );
    return { kind: 'seq', items, pos, tag };
  }
  if (isScalar(node)) {
    if (tag) problems.add(pos, path.join('.'), `${rawTag} applies to maps and lists, not to a single value`);
    const v = node.value;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { kind: 'scalar', value: v, pos };
    if (typeof v === 'bigint') return { kind: 'scalar', value: Number(v), pos };
    return { kind: 'scalar', value: String(v), pos };
  }
  problems.add(pos, path.join('.'), 'unsupported YAML node');
  return { kind: 'scalar', value: null, pos };
}

/** Builds a located node from a plain value (for --set values, schema defaults ...), all at `pos`. */
export function fromPlain(v: unknown, pos: Pos): LNode {
  if (Array.isArray(v)) return { kind: 'seq', items: v.map((x) => fromPlain(x, pos)), pos };
  if (isPlainObject(v)) {
    const entries = new Map<string, { keyPos: Pos; node: LNode }>();
    for (const [k, x] of Object.entries(v)) entries.set(k, { keyPos: pos, node: fromPlain(x, pos) });
    return { kind: 'map', entries, pos };
  }
  if (v === undefined) return { kind: 'scalar', value: null, pos };
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null) return { kind: 'scalar', value: v, pos };
  return { kind: 'scalar', value: String(v), pos };
}

export function toPlain(n: LNode): unknown {
  if (n.kind === 'scalar') return n.value;
  if (n.kind === 'seq') return n.items.map(toPlain);
  const o: Record<string, unknown> = {};
  for (const [k, e] of n.entries) o[k] = toPlain(e.node);
  return o;
}

export function cloneNode<T extends LNode>(n: T): T {
  if (n.kind === 'scalar') return { ...n };
  if (n.kind === 'seq') return { ...n, items: n.items.map(cloneNode) };
  const entries = new Map<string, { keyPos: Pos; node: LNode }>();
  for (const [k, e] of n.entries) entries.set(k, { keyPos: e.keyPos, node: cloneNode(e.node) });
  return { ...n, entries };
}

/** Positions of every value (and of every map key) by path. */
export interface PosIndex {
  value: Map<string, Pos>;
  key: Map<string, Pos>;
}

export function indexPositions(n: LNode): PosIndex {
  const idx: PosIndex = { value: new Map(), key: new Map() };
  const walk = (node: LNode, path: Seg[]) => {
    idx.value.set(pathKey(path), node.pos);
    if (node.kind === 'map') {
      for (const [k, e] of node.entries) {
        idx.key.set(pathKey([...path, k]), e.keyPos);
        walk(e.node, [...path, k]);
      }
    } else if (node.kind === 'seq') node.items.forEach((it, i) => walk(it, [...path, i]));
  };
  walk(n, []);
  return idx;
}

/** The position of the value at `path`, or of its nearest written ancestor. */
export function lookupPos(idx: PosIndex, path: readonly Seg[], preferKey = false): Pos | undefined {
  for (let i = path.length; i >= 0; i--) {
    const k = pathKey(path.slice(0, i));
    if (preferKey || i < path.length) {
      const kp = idx.key.get(k);
      if (kp) return kp;
    }
    const p = idx.value.get(k);
    if (p) return p;
  }
  return undefined;
}

export function getNode(root: LNode, path: readonly Seg[]): LNode | undefined {
  let cur: LNode | undefined = root;
  for (const seg of path) {
    if (!cur) return undefined;
    if (cur.kind === 'map') cur = cur.entries.get(String(seg))?.node;
    else if (cur.kind === 'seq') {
      const i = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : -1;
      cur = i >= 0 ? cur.items[i] : undefined;
    } else return undefined;
  }
  return cur;
}

/**
 * Sets `path` to `value`, creating maps on the way (at `pos`). Returns an error message when the
 * path crosses a scalar or points past the end of a list.
 */
export function setNode(root: LMap, path: readonly Seg[], value: LNode, keyPos: Pos): string | undefined {
  let cur: LNode = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    if (cur.kind === 'map') {
      const e = cur.entries.get(String(seg));
      if (last) {
        cur.entries.set(String(seg), { keyPos: e?.keyPos ?? keyPos, node: value });
        return undefined;
      }
      if (!e || e.node.kind === 'scalar') {
        const fresh = emptyMap(keyPos);
        cur.entries.set(String(seg), { keyPos: e?.keyPos ?? keyPos, node: fresh });
        cur = fresh;
      } else cur = e.node;
    } else if (cur.kind === 'seq') {
      const idx = typeof seg === 'number' ? seg : /^\d+$/.test(seg) ? Number(seg) : NaN;
      if (!(idx >= 0 && idx <= cur.items.length) || (!last && idx === cur.items.length)) {
        return `${path.slice(0, i).join('.')} is a list of ${cur.items.length}; "${seg}" is not an index in it`;
      }
      if (last) {
        cur.items[idx] = value;
        return undefined;
      }
      cur = cur.items[idx];
    } else return `${path.slice(0, i).join('.')} is a single value, not a map`;
  }
  return undefined;
}

/** Deep merge for `extends`: maps merge, lists and scalars are replaced; !replace / !append change that. */
export function mergeNodes(base: LNode | undefined, over: LNode): LNode {
  if (!base) return stripTag(over);
  if (over.tag === 'replace') return stripTag(over);
  if (over.kind === 'map' && base.kind === 'map') {
    const entries = new Map(base.entries);
    for (const [k, e] of over.entries) {
      const b = base.entries.get(k);
      entries.set(k, { keyPos: e.keyPos, node: mergeNodes(b?.node, e.node) });
    }
    return { kind: 'map', entries, pos: over.pos };
  }
  if (over.kind === 'seq' && over.tag === 'append' && base.kind === 'seq') {
    return { kind: 'seq', items: [...base.items, ...over.items.map(stripTag)], pos: over.pos };
  }
  return stripTag(over);
}

function stripTag(n: LNode): LNode {
  if (!n.tag) return n;
  const { tag: _t, ...rest } = n;
  void _t;
  return rest as LNode;
}
