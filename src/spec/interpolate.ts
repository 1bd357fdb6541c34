/**
 * `${env:NAME}`, `${env:NAME,default}` and references to other keys (`${train.lr}`).
 * A string that is exactly one reference takes the referenced value with its type (a number,
 * a list, a map); references inside longer strings are pasted in as text. `$${` is a literal `${`.
 */
import { parse as parseYamlValue } from 'yaml';
import type { Problems } from './errors.js';
import { joinPath, parseKey, pathKey, type Seg } from './paths.js';
import { knownKeys, schemaAt, schemaTypes, type JsonSchema } from './schema.js';
import { hint } from './suggest.js';
import { cloneNode, fromPlain, getNode, setNode, type LMap, type LNode, type LScalar } from './tree.js';

type Part = string | { expr: string };

export function hasTemplate(s: string): boolean {
  return s.includes('${');
}

function parseTemplate(s: string): { parts: Part[]; error?: string } {
  const parts: Part[] = [];
  let buf = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('$${', i)) {
      buf += '${';
      i += 3;
      continue;
    }
    if (s.startsWith('${', i)) {
      const end = s.indexOf('}', i + 2);
      if (end < 0) return { parts, error: `unclosed "\${" in ${JSON.stringify(s)}` };
      if (buf) parts.push(buf);
      buf = '';
      parts.push({ expr: s.slice(i + 2, end).trim() });
      i = end + 1;
      continue;
    }
    buf += s[i];
    i++;
  }
  if (buf) parts.push(buf);
  return { parts };
}

export interface InterpolateContext {
  env: Record<string, string | undefined>;
  schema: JsonSchema;
  problems: Problems;
  /** Dotted paths whose interpolation failed: later validation errors there are noise. */
  failed: Set<string>;
  /** Leave `${tags.x}` unresolved (the spec before expansion has no tags; each run resolves them). */
  deferTags?: boolean;
}

/** Resolves every template in `root` in place. */
export function interpolate(root: LMap, ctx: InterpolateContext): void {
  const done = new Set<string>();
  const active: string[] = [];

  const resolvePath = (path: Seg[], site: LScalar, sitePath: Seg[]): LNode | undefined => {
    const node = getNode(root, path);
    if (!node) return undefined;
    const r = visit(node, path, site, sitePath);
    if (r !== node) setNode(root, path, r, r.pos);
    return r;
  };

  const visit = (node: LNode, path: Seg[], site?: LScalar, sitePath?: Seg[]): LNode => {
    const k = pathKey(path);
    if (done.has(k)) return node;
    if (active.includes(k)) {
      const chain = [...active.slice(active.indexOf(k)), k].map((p) => p.split('\u0000').join('.'));
      const at = site ?? node;
      ctx.problems.add(at.pos, joinPath(sitePath ?? path), `reference cycle: ${chain.join(' -> ')}`);
      ctx.failed.add(joinPath(sitePath ?? path));
      return node;
    }
    active.push(k);
    let out: LNode = node;
    if (node.kind === 'map') {
      for (const [key, e] of node.entries) e.node = visit(e.node, [...path, key]);
    } else if (node.kind === 'seq') {
      node.items = node.items.map((it, i) => visit(it, [...path, i]));
    } else if (typeof node.value === 'string' && hasTemplate(node.value)) {
      out = interpolateString(node, path);
    }
    active.pop();
    done.add(k);
    return out;
  };

  const fail = (node: LScalar, path: Seg[], message: string): LNode => {
    ctx.problems.add(node.pos, joinPath(path), message);
    ctx.failed.add(joinPath(path));
    return node;
  };

  const interpolateString = (node: LScalar, path: Seg[]): LNode => {
    const s = node.value as string;
    const { parts, error } = parseTemplate(s);
    if (error) return fail(node, path, error);
    const values: LNode[] = [];
    for (const part of parts) {
      if (typeof part === 'string') {
        values.push({ kind: 'scalar', value: part, pos: node.pos });
        continue;
      }
      const expr = part.expr;
      if (expr.startsWith('env:')) {
        const body = expr.slice(4);
        const comma = body.indexOf(',');
        const name = (comma < 0 ? body : body.slice(0, comma)).trim();
        const dflt = comma < 0 ? undefined : body.slice(comma + 1).trim();
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return fail(node, path, `bad environment variable name in \${${expr}}`);
        const v = ctx.env[name];
        const val = v !== undefined && v !== '' ? v : dflt;
        if (val === undefined) {
          return fail(node, path, `environment variable ${name} is not set (set it, or give a default: \${env:${name},<default>})`);
        }
        values.push({ kind: 'scalar', value: val, pos: node.pos });
        continue;
      }
      if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(expr)) {
        return fail(node, path, `bad reference \${${expr}}: expected \${env:NAME}, \${env:NAME,default} or a dotted key such as \${train.lr}`);
      }
      const target = parseKey(expr);
      if (ctx.deferTags && target[0] === 'tags') {
        ctx.failed.add(joinPath(path));
        return node;
      }
      if (pathKey(target) === pathKey(path)) return fail(node, path, `\${${expr}} refers to itself`);
      let resolved = resolvePath(target, node, path);
      if (!resolved) {
        const sub = schemaAt(ctx.schema, target);
        if (sub && 'default' in sub) resolved = fromPlain(sub.default, node.pos);
      }
      if (!resolved) {
        const parentNode = getNode(root, target.slice(0, -1));
        const cands = new Set(knownKeys(schemaAt(ctx.schema, target.slice(0, -1))));
        if (parentNode?.kind === 'map') for (const c of parentNode.entries.keys()) cands.add(c);
        const last = target[target.length - 1];
        const prefix = target.slice(0, -1).join('.');
        const sugg = hint(last, cands);
        return fail(node, path, `bad reference \${${expr}}: no key ${expr} in the spec${sugg ? sugg.replace(/"([^"]+)"/, `"${prefix ? `${prefix}.` : ''}$1"`) : ''}`);
      }
      if (resolved.kind === 'scalar' && typeof resolved.value === 'string' && hasTemplate(resolved.value) && ctx.failed.size) {
        ctx.failed.add(joinPath(path));
        return node;
      }
      values.push(resolved);
    }
    // One whole-string template: keep the referenced value's type.
    if (parts.length === 1 && typeof parts[0] !== 'string') {
      const v = values[0];
      const isEnv = parts[0].expr.startsWith('env:');
      if (isEnv && v.kind === 'scalar' && typeof v.value === 'string') {
        return { kind: 'scalar', value: coerceForSchema(v.value, schemaAt(ctx.schema, path)), pos: node.pos };
      }
      const copy = cloneNode(v);
      return relocate(copy, node.pos);
    }
    let out = '';
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v.kind !== 'scalar') {
        const part = parts[i];
        return fail(node, path, `\${${typeof part === 'string' ? part : part.expr}} is a ${v.kind === 'map' ? 'map' : 'list'}; only a whole-string reference can take a map or list`);
      }
      out += v.value === null ? 'null' : String(v.value);
    }
    return { kind: 'scalar', value: out, pos: node.pos };
  };

  visit(root, []);
}

/** Points every node of a copied subtree at the reference that produced it. */
function relocate(n: LNode, pos: LNode['pos']): LNode {
  n.pos = pos;
  if (n.kind === 'map') for (const e of n.entries.values()) relocate(e.node, pos);
  else if (n.kind === 'seq') n.items.forEach((it) => relocate(it, pos));
  return n;
}

/** A whole-string env value becomes a number/boolean/null when the schema does not take a string there. */
function coerceForSchema(s: string, sub: JsonSchema | undefined): LScalar['value'] {
  const types = schemaTypes(sub);
  if (types.length === 0 || types.includes('string')) return s;
  try {
    const v: unknown = parseYamlValue(s);
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  } catch {
    /* keep the string; validation names the type problem */
  }
  return s;
}
