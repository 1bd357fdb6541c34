/**
 * Located trees: spec values that remember where they were written (file:line:col), so that
 * every later step (extends merge, --set, interpolation, expansion, validation) can point a
 * problem at the text that produced it.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YNode } from 'yaml';
import { displayFile, Problems, type Pos } from './errors.js';
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

/**
 * A spec file is small: anything larger is not one (and reading a device or a huge file whole
 * would hang or exhaust memory before any message could be printed).
 */
export const MAX_SPEC_BYTES = 1 << 20;

/**
 * Values that aliases may add to a document. Each alias is expanded into a copy of what it
 * names, so nested aliases multiply ("billion laughs": 9 lines of 10 aliases name 10^9 values);
 * a spec that reuses a block a few times stays far below this.
 */
export const MAX_ALIAS_VALUES = 10_000;

/** YAML's own tags that acnn accepts (the core schema's); every other tag is an error. */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/** Reads and parses one YAML file. Syntax problems go to `problems`; returns undefined when unusable. */
export function parseYamlFile(file: string, problems: Problems, at?: Pos): LMap | undefined {
  const text = readSpecText(file, problems, at);
  return text === undefined ? undefined : parseYamlText(text, file, problems);
}

/** The text of a spec file: a regular file of at most MAX_SPEC_BYTES (not a folder, device or pipe). */
function readSpecText(file: string, problems: Problems, at: Pos | undefined): string | undefined {
  const fail = (why: string) => {
    problems.add(at ?? { file }, '', `cannot read spec file ${displayFile(file)}: ${why}`);
    return undefined;
  };
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    return fail(fsReason(err));
  }
  if (st.isDirectory()) return fail('is a folder, not a spec file');
  if (!st.isFile()) return fail('is not a regular file (a device, pipe or socket)');
  if (st.size > MAX_SPEC_BYTES) return fail(`${st.size} bytes; a spec file is at most ${MAX_SPEC_BYTES} bytes`);
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (err) {
    return fail(fsReason(err));
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    return fail('not UTF-8 text');
  }
}

function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'ELOOP') return 'a loop of symbolic links';
  if (code === 'EACCES') return 'permission denied';
  return (err as Error).message;
}

/** State of one document's conversion into a located tree. */
interface Converter {
  doc: Document;
  posOf: (offset: number | undefined) => Pos;
  problems: Problems;
  /** Values aliases may still add (MAX_ALIAS_VALUES to start with); below 0 the document is refused. */
  aliasBudget: number;
  /** The outermost alias being expanded: where an over-budget document is reported. */
  alias?: { pos: Pos; path: string };
  /**
   * What each alias node names (null: nothing). An alias is met again each time the alias
   * around it is expanded, and the yaml package's resolve() searches the whole document.
   */
  targets: Map<YNode, YNode | null>;
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
  const root = convert(doc.contents as YNode, { doc, posOf, problems, aliasBudget: MAX_ALIAS_VALUES, targets: new Map() }, [], 0);
  if (problems.size > before) return undefined;
  if (root.kind !== 'map') {
    problems.add(root.pos, '', `expected a map of spec keys (datasets, model, train, test, ...), found ${root.kind === 'seq' ? 'a list' : 'a scalar'}`);
    return undefined;
  }
  return root;
}

function convert(node: YNode, c: Converter, path: Seg[], depth: number): LNode {
  const pos = c.posOf(node.range?.[0]);
  const nothing: LScalar = { kind: 'scalar', value: null, pos };
  if (c.aliasBudget < 0) return nothing;
  if (c.alias && --c.aliasBudget < 0) {
    c.problems.add(c.alias.pos, c.alias.path, `aliases expand to more than ${MAX_ALIAS_VALUES} values (nested aliases multiply: a "billion laughs" document?); write the values out or alias less`);
    return nothing;
  }
  if (depth > 100) {
    c.problems.add(pos, path.join('.'), 'nesting too deep (a recursive alias?)');
    return nothing;
  }
  if (isAlias(node)) {
    let target = c.targets.get(node);
    if (target === undefined) {
      target = (node.resolve(c.doc) as YNode | undefined) ?? null;
      c.targets.set(node, target);
      if (!target) c.problems.add(pos, path.join('.'), `unknown alias *${node.source}`);
    }
    if (!target) return nothing;
    const outer = c.alias;
    c.alias = outer ?? { pos, path: path.join('.') };
    try {
      return convert(target as YNode, c, path, depth + 1);
    } finally {
      c.alias = outer;
    }
  }
  const tag = tagOf(node, pos, path, c.problems);
  if (isMap(node)) return convertMap(node, c, path, depth, pos, tag);
  if (isSeq(node)) {
    const items = (node.items as YNode[]).map((it, i) => (it ? convert(it, c, [...path, i], depth + 1) : ({ kind: 'scalar', value: null, pos } as LScalar)));
    return { kind: 'seq', items, pos, tag };
  }
  if (isScalar(node)) {
    if (tag) c.problems.add(pos, path.join('.'), `${(node as { tag?: string }).tag} applies to maps and lists, not to a single value`);
    const v = node.value;
    if (typeof v === 'number' && !Number.isFinite(v)) {
      c.problems.add(pos, path.join('.'), `expected a finite number, found ${String(node.source ?? v)}`);
      return nothing;
    }
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { kind: 'scalar', value: v, pos };
    if (typeof v === 'bigint') return { kind: 'scalar', value: Number(v), pos };
    return { kind: 'scalar', value: String(v), pos };
  }
  c.problems.add(pos, path.join('.'), 'unsupported YAML node');
  return nothing;
}

/**
 * acnn's merge tag of a node, if any. YAML's core tags (!!str, !!int ...) are fine; any other tag
 * (!!python/object, !!binary, !custom, a %TAG prefix) is an error: acnn gives tags no meaning of
 * their own, and a spec that relies on one would silently read as something else.
 */
function tagOf(node: YNode, pos: Pos, path: Seg[], problems: Problems): MergeTag | undefined {
  const rawTag = (node as { tag?: string }).tag;
  if (!rawTag || CORE_TAGS.has(rawTag)) return undefined;
  const tag = MERGE_TAGS[rawTag];
  if (!tag) {
    const shown = rawTag.startsWith('tag:yaml.org,2002:') ? `!!${rawTag.slice('tag:yaml.org,2002:'.length)}` : rawTag;
    problems.add(pos, path.join('.'), `unknown tag ${shown}: acnn knows !replace (maps and lists) and !append (lists), and YAML's !!str, !!int, !!float, !!bool, !!null, !!map, !!seq`);
  }
  return tag;
}

function convertMap(node: YNode & { items: unknown[] }, c: Converter, path: Seg[], depth: number, pos: Pos, tag: MergeTag | undefined): LMap {
  const out: LMap = { kind: 'map', entries: new Map(), pos, tag };
  const merged: LMap[] = [];
  if (tag === 'append') c.problems.add(pos, path.join('.'), '!append applies to lists; use !replace on a map, or nothing to merge it');
  for (const pair of node.items as { key: unknown; value: unknown }[]) {
    const keyNode = pair.key as YNode | null;
    const keyPos = c.posOf(keyNode?.range?.[0] ?? node.range?.[0]);
    const valNode = pair.value as YNode | null;
    // The yaml package gives a merge key (<<) a symbol as its value.
    const mergeKey = isScalar(keyNode) && (keyNode.value === '<<' || typeof keyNode.value === 'symbol');
    if (!mergeKey && (!isScalar(keyNode) || (typeof keyNode.value !== 'string' && typeof keyNode.value !== 'number'))) {
      c.problems.add(keyPos, path.join('.'), 'map keys must be plain strings');
      continue;
    }
    if (mergeKey) {
      if (!valNode) continue;
      // YAML merge key: entries of the aliased map(s), not overriding explicit keys.
      const srcs = isSeq(valNode) ? (valNode.items as YNode[]) : [valNode];
      for (const s of srcs) {
        const m = convert(s, c, path, depth + 1);
        if (m.kind === 'map') merged.push(m);
      }
      continue;
    }
    const key = String((keyNode as { value: unknown }).value);
    const value: LNode = valNode ? convert(valNode, c, [...path, key], depth + 1) : { kind: 'scalar', value: null, pos: keyPos };
    out.entries.set(key, { keyPos, node: value });
  }
  for (const m of merged) for (const [k, e] of m.entries) if (!out.entries.has(k)) out.entries.set(k, e);
  return out;
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
  // defineProperty: a key named __proto__ stays a key (and an unknown one), not the object's prototype.
  for (const [k, e] of n.entries) Object.defineProperty(o, k, { value: toPlain(e.node), enumerable: true, writable: true, configurable: true });
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
