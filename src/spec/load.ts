/** loadSpec: YAML files -> extends -> --set -> ${...} -> schema + cross-key checks -> a validated Spec. */
import { basename, dirname, extname, resolve } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { Problems, displayFile, type Pos } from './errors.js';
import { interpolate } from './interpolate.js';
import { isPlainObject, parseKey } from './paths.js';
import { getValidators, specSchema } from './schema.js';
import { semanticChecks } from './checks.js';
import { cloneNode, fromPlain, indexPositions, mergeNodes, parseYamlFile, setNode, toPlain, type LMap, type LNode } from './tree.js';
import type { LoadedSpec, LoadOptions } from './types.js';
import type { Spec } from './types.generated.js';
import { checkRunKey, runAjv } from './validate.js';

/** What expansion needs beyond the public LoadedSpec: the located tree before references are resolved. */
export interface SpecInternals {
  tree: LMap;
  env: Record<string, string | undefined>;
}
export const internals = new WeakMap<LoadedSpec, SpecInternals>();

/** What an extends target must be called: a spec names other specs, never arbitrary files. */
const SPEC_EXTENSION = /\.ya?ml$/i;

/** Keys a file does not pass on to the files that extend it. */
const NOT_INHERITED = ['name', 'description', 'extends'];

function loadChain(file: string, stack: string[], problems: Problems, at: Pos | undefined): LMap | undefined {
  const own = parseYamlFile(file, problems, at);
  if (!own) return undefined;
  const ext = own.entries.get('extends');
  let merged: LNode | undefined;
  if (ext) {
    const targets: { value: string; pos: Pos }[] = [];
    const n = ext.node;
    if (n.kind === 'scalar' && typeof n.value === 'string') targets.push({ value: n.value, pos: n.pos });
    else if (n.kind === 'seq') {
      for (const it of n.items) {
        if (it.kind === 'scalar' && typeof it.value === 'string') targets.push({ value: it.value, pos: it.pos });
        else problems.add(it.pos, 'extends', 'expected a file name (a string)');
      }
    } else problems.add(n.pos, 'extends', 'expected a file name or a list of file names');
    for (const t of targets) {
      const target = resolve(dirname(file), t.value);
      if (stack.includes(target) || target === file) {
        const chain = [...stack, file, target].slice(stack.indexOf(target) >= 0 ? stack.indexOf(target) : 0).map(displayFile);
        problems.add(t.pos, 'extends', `extends loop: ${chain.join(' -> ')}`);
        continue;
      }
      if (!existsSync(target)) {
        problems.add(t.pos, 'extends', `extends target not found: ${JSON.stringify(t.value)} (looked for ${displayFile(target)})`);
        continue;
      }
      if (statSync(target).isDirectory()) {
        problems.add(t.pos, 'extends', `extends target ${displayFile(target)} is a folder, not a spec file`);
        continue;
      }
      if (!SPEC_EXTENSION.test(target)) {
        problems.add(t.pos, 'extends', `extends target ${displayFile(target)} is not a spec file: extends names .yaml or .yml files only`);
        continue;
      }
      const base = loadChain(target, [...stack, file], problems, t.pos);
      if (!base) continue;
      for (const k of NOT_INHERITED) base.entries.delete(k);
      merged = mergeNodes(merged, base);
    }
  }
  return (merged ? mergeNodes(merged, own) : own) as LMap;
}

function parseAssignment(arg: string, flag: string, problems: Problems): { key: string; value: LNode; pos: Pos } | undefined {
  const pos: Pos = { file: `${flag} ${arg}` };
  const eq = arg.indexOf('=');
  if (eq <= 0) {
    problems.add(pos, '', `expected ${flag} key.path=value (e.g. ${flag} train.lr=0.01)`);
    return undefined;
  }
  const key = arg.slice(0, eq).trim();
  const text = arg.slice(eq + 1);
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(key)) {
    problems.add(pos, key, 'expected a dotted key such as train.lr or model.dlp.k');
    return undefined;
  }
  const doc = parseDocument(text === '' ? '""' : text);
  if (doc.errors.length) {
    problems.add(pos, key, `cannot parse the value ${JSON.stringify(text)}: ${doc.errors[0].message.split('\n')[0]}`);
    return undefined;
  }
  return { key, value: fromPlain(doc.toJS(), pos), pos };
}

/** Loads, composes and validates a spec; throws SpecError listing every problem with file:line:col. */
export async function loadSpec(file: string, opts: LoadOptions = {}): Promise<LoadedSpec> {
  const abs = resolve(file);
  const problems = new Problems();
  const env = opts.env ?? process.env;
  const tree = loadChain(abs, [], problems, undefined);
  problems.throwIfAny(abs);
  if (!tree) throw new Error('unreachable: spec tree missing without problems');
  tree.entries.delete('extends');

  // --set overrides, before anything is resolved or validated.
  const spec0 = toPlain(tree);
  for (const arg of opts.set ?? []) {
    const a = parseAssignment(arg, '--set', problems);
    if (!a) continue;
    const msg = checkRunKey(a.key, spec0, { schema: specSchema() });
    if (msg) {
      problems.add(a.pos, a.key, msg);
      continue;
    }
    const err = setNode(tree, parseKey(a.key), a.value, a.pos);
    if (err) problems.add(a.pos, a.key, err);
  }

  const failed = new Set<string>();
  const resolved = cloneNode(tree);
  interpolate(resolved, { env, schema: specSchema(), problems, failed, deferTags: true });
  const plain = toPlain(resolved) as Record<string, unknown>;
  const idx = indexPositions(resolved);
  runAjv(getValidators().spec, plain, idx, problems, failed);
  if (isPlainObject(plain)) semanticChecks(plain, idx, problems, failed);
  problems.list.sort(byPosition);
  problems.throwIfAny(abs);

  const name = typeof plain.name === 'string' ? plain.name : basename(abs, extname(abs));
  const loaded: LoadedSpec = { file: abs, name, spec: plain as unknown as Spec };
  internals.set(loaded, { tree, env });
  return loaded;
}

export function byPosition(a: { pos?: Pos }, b: { pos?: Pos }): number {
  const fa = a.pos?.file ?? '';
  const fb = b.pos?.file ?? '';
  const cliA = fa.startsWith('--') ? 1 : 0;
  const cliB = fb.startsWith('--') ? 1 : 0;
  if (cliA !== cliB) return cliA - cliB;
  if (cliA && cliB) return 0;
  if (fa !== fb) return fa < fb ? -1 : 1;
  return (a.pos?.line ?? 0) - (b.pos?.line ?? 0) || (a.pos?.col ?? 0) - (b.pos?.col ?? 0);
}

/** The located tree of a loaded spec (rebuilt from the plain spec when it was not made by loadSpec). */
export function internalsOf(loaded: LoadedSpec): SpecInternals {
  const i = internals.get(loaded);
  if (i) return i;
  const tree = fromPlain(loaded.spec, { file: loaded.file }) as LMap;
  return { tree, env: process.env };
}

