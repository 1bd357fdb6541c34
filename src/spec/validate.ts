/** Schema validation (ajv) and the cross-key checks, as readable, located problems. */
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { Problems } from './errors.js';
import { getAt, isPlainObject, joinPath, parseKey, showValue, typeName, type Seg } from './paths.js';
import { childSchema, deref, isOpenMap, knownKeys, runSchema, schemaAt, specSchema, type JsonSchema } from './schema.js';
import { hint, listOf } from './suggest.js';
import { lookupPos, type PosIndex } from './tree.js';

function splitPointer(p: string): string[] {
  if (!p) return [];
  return p
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isUnder(path: string, failed: Set<string>): boolean {
  for (const f of failed) if (path === f || path.startsWith(`${f}.`) || f.startsWith(`${path}.`)) return true;
  return false;
}

/** Validates `data` in place (defaults applied) and reports every problem. */
export function runAjv(validate: ValidateFunction, data: unknown, idx: PosIndex, problems: Problems, failed: Set<string>): boolean {
  const ok = validate(data) as boolean;
  if (ok) return true;
  const errors = (validate.errors ?? []) as ErrorObject[];
  // Collapse anyOf/oneOf fan-out: keep the combinator's own error, drop its branches' errors at the same place.
  const combinators = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  for (const e of errors) {
    if (e.keyword === 'if' || e.keyword === 'propertyNames' || e.keyword === 'allOf') continue;
    if (combinators.some((c) => c !== e && e.schemaPath.startsWith(`${c.schemaPath}/`) && e.instancePath === c.instancePath)) continue;
    const segs: Seg[] = splitPointer(e.instancePath);
    const line = describe(e, data, segs);
    if (!line) continue;
    const dotted = joinPath(line.path);
    if (isUnder(dotted, failed)) continue;
    problems.add(lookupPos(idx, line.path, line.atKey), dotted, line.message);
  }
  return false;
}

/**
 * The key (and value) an if/then/else tests, for an error inside its then or else branch;
 * `schemaPath` is relative to `owner`, the schema of the object holding the rejected key.
 */
function conditionOf(schemaPath: string, owner: JsonSchema | undefined): { key: string; value: unknown; branch: 'then' | 'else' } | undefined {
  const m = /^#\/((?:.*\/)?allOf\/\d+)\/(then|else)\//.exec(schemaPath);
  if (!m) return undefined;
  let node: unknown = owner;
  for (const part of m[1].split('/')) node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
  const props = isPlainObject(node) && isPlainObject(node.if) && isPlainObject(node.if.properties) ? node.if.properties : undefined;
  const key = props ? Object.keys(props)[0] : undefined;
  if (!props || key === undefined) return undefined;
  const test = props[key];
  return { key, value: isPlainObject(test) ? test.const : undefined, branch: m[2] as 'then' | 'else' };
}

function describe(e: ErrorObject, root: unknown, segs: Seg[]): { path: Seg[]; message: string; atKey?: boolean } | undefined {
  const p = e.params as Record<string, unknown>;
  const data = getAt(root, segs).value;
  const parentSchema = e.parentSchema as JsonSchema | undefined;
  const found = `found ${typeName(data)}${typeof data === 'object' && data !== null ? '' : ` ${showValue(data)}`}`;
  const propName = (e as ErrorObject & { propertyName?: string }).propertyName;
  if (propName !== undefined) {
    return { path: [...segs, propName], atKey: true, message: `bad key name "${propName}": ${e.message ?? 'invalid'}` };
  }
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const keys = knownKeys(parentSchema);
      const h = hint(key, keys);
      return {
        path: [...segs, key],
        atKey: true,
        message: h ? `unknown key "${key}"${h}` : `unknown key "${key}", expected one of: ${listOf(keys, 20)}`,
      };
    }
    case 'required': {
      const key = String(p.missingProperty);
      const fmt = isPlainObject(data) && typeof data.format === 'string' && e.schemaPath.includes('/allOf/') ? ` (format ${data.format} needs it)` : '';
      return { path: segs, atKey: true, message: `missing required key "${key}"${fmt}` };
    }
    case 'false schema': {
      const parent = getAt(root, segs.slice(0, -1)).value;
      // Keys are ruled out by a conditional on another key (format, or a synthetic dataset's style): name it.
      const cond = conditionOf(e.schemaPath, schemaAt(specSchema(), segs.slice(0, -1)));
      const on = cond?.key ?? 'format';
      let fmt = ' here';
      if (isPlainObject(parent) && typeof parent[on] === 'string') fmt = ` to ${on} ${parent[on]}`;
      else if (cond?.branch === 'else') fmt = ` without ${on}: ${String(cond.value)}`;
      return { path: segs, atKey: true, message: `key "${String(segs[segs.length - 1])}" does not apply${fmt}` };
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]) ?? [];
      const h = typeof data === 'string' ? hint(data, allowed.map(String)) : '';
      return { path: segs, message: `expected one of ${listOf(allowed, 20)}, ${found}${h}` };
    }
    case 'const':
      return { path: segs, message: `expected ${showValue(p.allowedValue)}, ${found}` };
    case 'type': {
      const t = String(p.type).split(',').map(friendlyType).join(' or ');
      return { path: segs, message: `expected ${t}, ${found}` };
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { path: segs, message: `expected a number ${String(p.comparison)} ${String(p.limit)}, ${found}` };
    case 'multipleOf':
      return { path: segs, message: `expected a multiple of ${String(p.multipleOf)}, ${found}` };
    case 'minItems':
      return { path: segs, message: `expected at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}, found ${Array.isArray(data) ? data.length : 0}${Array.isArray(data) && data.length === 0 ? ' (an empty list)' : ''}` };
    case 'maxItems':
      return { path: segs, message: `expected at most ${String(p.limit)} items, found ${Array.isArray(data) ? data.length : '?'}` };
    case 'minProperties':
      return { path: segs, message: `expected at least ${String(p.limit)} entr${p.limit === 1 ? 'y' : 'ies'}, found none` };
    case 'minLength':
      return { path: segs, message: `expected a non-empty string, ${found}` };
    case 'uniqueItems':
      return { path: segs, message: `expected distinct items, found a repeat (items ${String(p.j)} and ${String(p.i)} are equal)` };
    case 'pattern':
      return { path: segs, message: `expected a string matching ${String(p.pattern)}, ${found}` };
    case 'anyOf':
    case 'oneOf': {
      const branches = ((e.schema as unknown[]) ?? []).map((b) => friendlySchema(b)).filter(Boolean);
      return { path: segs, message: `expected ${branches.join(' or ') || 'a valid value'}, ${found}` };
    }
    default:
      return { path: segs, message: `${e.message ?? 'invalid'}, ${found}` };
  }
}

function friendlyType(t: string): string {
  return t === 'array' ? 'a list' : t === 'object' ? 'a map' : t === 'integer' ? 'an integer' : t === 'number' ? 'a number' : t === 'string' ? 'a string' : t === 'boolean' ? 'true or false' : t;
}

function friendlySchema(b: unknown): string {
  const s = deref(specSchema(), b);
  if (!s) return '';
  if (Array.isArray(s.enum)) return `one of ${listOf(s.enum)}`;
  if ('const' in s) return showValue(s.const);
  const t = s.type;
  return Array.isArray(t) ? t.map((x) => friendlyType(String(x))).join(' or ') : typeof t === 'string' ? friendlyType(t) : 'a value';
}

/**
 * Checks a dotted key against the run-config schema (and against the spec for open maps:
 * a test set or dataset named on the way must exist). Returns a message, or undefined when fine.
 */
export function checkRunKey(key: string, base: unknown, opts: { allowNewLeaf?: boolean; schema?: JsonSchema } = {}): string | undefined {
  const root = opts.schema ?? runSchema();
  const path = parseKey(key);
  let s: JsonSchema | undefined = deref(root, root);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const prefix = path.slice(0, i);
    if (!s) return `no key ${key}`;
    const last = i === path.length - 1;
    if (prefix.length === 1 && prefix[0] === 'tags') return last ? undefined : `tags are flat: tags.<name>, not ${key}`;
    const sub = childSchema(root, s, seg);
    const here = getAt(base, prefix);
    if (!sub) {
      const where = prefix.length ? `in ${prefix.join('.')}` : 'at the top level';
      if (Array.isArray(here.value) || s.items) return `${prefix.join('.')} is a list: use an index (${prefix.join('.')}.0)`;
      const h = hint(seg, knownKeys(s));
      return `unknown key "${seg}" ${where}${h ? h.replace(/"([^"]+)"/, `"${[...prefix, '$1'].join('.')}"`) : `, expected one of: ${listOf(knownKeys(s), 20)}`}`;
    }
    if (s.items && here.found && Array.isArray(here.value)) {
      const n = Number(seg);
      if (n > here.value.length || (!last && n >= here.value.length)) return `${prefix.join('.')} has ${here.value.length} item${here.value.length === 1 ? '' : 's'}; index ${seg} is out of range`;
    }
    if (isOpenMap(s) && !s.properties && prefix[0] !== 'tags' && !(last && opts.allowNewLeaf !== false)) {
      const names = isPlainObject(here.value) ? Object.keys(here.value) : [];
      if (!names.includes(seg)) {
        const what = prefix.join('.') === 'test' ? 'test set' : prefix.join('.') === 'datasets' ? 'dataset' : `entry of ${prefix.join('.')}`;
        return `no ${what} named "${seg}"${hint(seg, names)}${names.length && !hint(seg, names) ? ` (known: ${listOf(names)})` : ''}`;
      }
    }
    s = sub;
  }
  return undefined;
}

/** Checks a value for a dotted key against the schema's enum there (did-you-mean for table `where` values). */
export function checkValueForKey(key: string, value: unknown): string | undefined {
  const sub = schemaAt(runSchema(), parseKey(key));
  if (sub && Array.isArray(sub.enum) && !sub.enum.some((v) => v === value)) {
    return `expected one of ${listOf(sub.enum)}, found ${showValue(value)}${typeof value === 'string' ? hint(value, sub.enum.map(String)) : ''}`;
  }
  return undefined;
}
