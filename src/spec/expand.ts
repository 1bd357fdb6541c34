/** Expansion of a spec into runs (runs x matrix x zip x seeds), run ids, and the sweep section. */
import { createHash } from 'node:crypto';
import { parseDocument } from 'yaml';
import { Problems, type Pos } from './errors.js';
import { interpolate } from './interpolate.js';
import { byPosition, internalsOf } from './load.js';
import { canonicalJson, deepClone, isPlainObject, joinPath, parseKey, type Seg } from './paths.js';
import { getValidators, runSchema } from './schema.js';
import { EXPANSION_KEYS } from './keys.js';
import { checkDistribution, runConfigChecks } from './checks.js';
import { cloneNode, emptyMap, fromPlain, getNode, indexPositions, lookupPos, setNode, toPlain, type LMap, type LNode } from './tree.js';
import type { LoadedSpec, PlannedRun, RunConfig, SweepOptions } from './types.js';
import { checkRunKey, runAjv } from './validate.js';
import { Rng, deriveSeed } from '../util/rng.js';
import { identityOf, NOT_IN_RUN_ID } from './identity.js';
import { flatten } from '../util/dotted.js';

/** One setting of an axis: dotted key -> value (a located node), plus tags. */
interface Assignment {
  path: Seg[];
  node: LNode;
}
interface Alternative {
  sets: Assignment[];
  tags?: Record<string, string>;
  /** Where this alternative was written (for duplicate-run messages). */
  pos?: Pos;
}
type Axis = Alternative[];

/**
 * Short, stable id of a run config: sha256 of the canonical JSON (defaults applied, keys sorted)
 * of the settings that change results (identity.ts lists the keys it leaves out), 10 hex chars.
 */
export function runId(config: RunConfig): string {
  const copy = deepClone(config) as unknown as Record<string, unknown>;
  if (copy.tags === undefined) copy.tags = {};
  getValidators().run(copy); // applies defaults, so a written-out default gives the same id
  return createHash('sha256').update(canonicalJson(identityOf(copy))).digest('hex').slice(0, 10);
}

function seqItems(tree: LMap, path: Seg[]): LNode[] {
  const n = getNode(tree, path);
  return n?.kind === 'seq' ? n.items : [];
}

function mapEntries(tree: LMap, path: Seg[]): [string, { keyPos: Pos; node: LNode }][] {
  const n = getNode(tree, path);
  return n?.kind === 'map' ? [...n.entries] : [];
}

function runsAxis(tree: LMap, spec: Record<string, unknown>): Axis[] {
  const runs = Array.isArray(spec.runs) ? spec.runs : undefined;
  if (!runs) return [];
  const items = seqItems(tree, ['runs']);
  return [
    runs.map((r, i) => {
      const entry = isPlainObject(r) ? r : {};
      const sets = mapEntries(tree, ['runs', i, 'set']).map(([k, e]) => ({ path: parseKey(k), node: e.node }));
      return { sets, tags: (entry.tags as Record<string, string> | undefined) ?? {}, pos: items[i]?.pos };
    }),
  ];
}

function gridAxes(tree: LMap, at: Seg[]): Axis[] {
  return mapEntries(tree, at).map(([k, e]) => {
    const items = e.node.kind === 'seq' ? e.node.items : [];
    return items.map((node) => ({ sets: [{ path: parseKey(k), node }], pos: node.pos }));
  });
}

function zipAxis(tree: LMap, at: Seg[]): Axis[] {
  const entries = mapEntries(tree, at);
  if (!entries.length) return [];
  const n = Math.min(...entries.map(([, e]) => (e.node.kind === 'seq' ? e.node.items.length : 0)));
  const axis: Axis = [];
  for (let i = 0; i < n; i++) {
    axis.push({ sets: entries.map(([k, e]) => ({ path: parseKey(k), node: (e.node as { items: LNode[] }).items[i] })) });
  }
  return [axis];
}

function seedsAxis(seeds: unknown, tree: LMap, at: Seg[]): Axis[] {
  if (!Array.isArray(seeds)) return [];
  const items = seqItems(tree, at);
  return [seeds.map((s, i) => ({ sets: [{ path: ['train', 'seed'], node: items[i] ?? fromPlain(s, { file: 'seeds' }) }] }))];
}

function* product(axes: Axis[]): Generator<Alternative[]> {
  if (axes.length === 0) {
    yield [];
    return;
  }
  const [first, ...rest] = axes;
  for (const alt of first) for (const tail of product(rest)) yield [alt, ...tail];
}

/**
 * Most runs one spec may expand into. Far above any paper table (Table II is 24 runs), and low
 * enough that a typo such as a matrix over a long list of values fails at once rather than
 * planning millions of runs.
 */
export const MAX_RUNS = 10_000;

/** A problem when the axes (and `extra` alternatives, e.g. random trials) make more than MAX_RUNS runs. */
function runCountProblem(lengths: number[]): string | undefined {
  const n = lengths.reduce((a, b) => a * b, 1);
  if (n <= MAX_RUNS) return undefined;
  return `the spec expands into ${n > 1e15 ? n.toExponential(1) : n} runs (${lengths.join(' x ')}); at most ${MAX_RUNS} are planned at once: split it into several specs or use fewer values`;
}

/** Builds, resolves and validates the runs of the given axes; throws SpecError with every problem. */
function planRuns(loaded: LoadedSpec, axes: Axis[]): PlannedRun[] {
  const { tree, env } = internalsOf(loaded);
  const problems = new Problems();
  const tooMany = runCountProblem(axes.map((a) => a.length));
  if (tooMany) problems.add({ file: loaded.file }, '', tooMany);
  problems.throwIfAny(loaded.file);
  const base = cloneNode(tree);
  for (const k of EXPANSION_KEYS) base.entries.delete(k);
  const out: { config: RunConfig; pos?: Pos }[] = [];
  const runValidator = getValidators().run;
  for (const combo of product(axes)) {
    const t = cloneNode(base);
    const tags: Record<string, string> = {};
    for (const alt of combo) Object.assign(tags, alt.tags ?? {});
    t.entries.set('tags', { keyPos: t.pos, node: fromPlain(tags, t.pos) });
    if (!t.entries.get('tags')) t.entries.set('tags', { keyPos: t.pos, node: emptyMap(t.pos) });
    for (const alt of combo) {
      for (const a of alt.sets) {
        const err = setNode(t, a.path, cloneNode(a.node), a.node.pos);
        if (err) problems.add(a.node.pos, joinPath(a.path), err);
      }
    }
    const failed = new Set<string>();
    interpolate(t, { env, schema: runSchema(), problems, failed });
    const config = toPlain(t) as Record<string, unknown>;
    const positions = indexPositions(t);
    if (runAjv(runValidator, config, positions, problems, failed)) {
      for (const [path, message] of runConfigChecks(config)) problems.add(lookupPos(positions, path), joinPath(path), message);
    }
    out.push({ config: config as unknown as RunConfig, pos: combo.find((a) => a.pos)?.pos });
  }
  problems.list.sort(byPosition);
  problems.throwIfAny(loaded.file);

  const ids = out.map((r) => runId(r.config));
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    const j = seen.get(id);
    if (j !== undefined) {
      const where = out[i].pos ?? { file: loaded.file };
      const fix = 'remove one, or tell them apart with different tags';
      if (canonicalJson(out[i].config) === canonicalJson(out[j].config)) problems.add(where, '', `run ${i + 1} has the same config as run ${j + 1} (id ${id}): ${fix}`);
      else {
        const ignored = NOT_IN_RUN_ID.map((e) => e.key).join(', ');
        problems.add(where, '', `run ${i + 1} has the same id as run ${j + 1} (${id}): they differ only in settings that do not change results (${ignored}); ${fix}`);
      }
    } else seen.set(id, i);
  });
  problems.throwIfAny(loaded.file);

  const differing = differingKeys(out.map((r) => r.config));
  return out.map((r, index) => {
    const flat = flatten(r.config);
    const differs: Record<string, unknown> = {};
    for (const k of differing) if (k in flat) differs[k] = flat[k];
    return { id: ids[index], index, config: r.config, differs };
  });
}

/** The spec's runs: runs x matrix x zip x seeds (the first axis varies slowest). */
export function expandRuns(loaded: LoadedSpec): PlannedRun[] {
  const { tree } = internalsOf(loaded);
  const spec = loaded.spec as unknown as Record<string, unknown>;
  const axes = [...runsAxis(tree, spec), ...gridAxes(tree, ['matrix']), ...zipAxis(tree, ['zip']), ...seedsAxis(spec.seeds, tree, ['seeds'])];
  return planRuns(loaded, axes);
}

/**
 * The sweep's trials: the spec's runs x sweep.grid (plus --grid) x sweep.zip x random trials x seeds
 * (sweep.seeds, else the spec's seeds). Random draws depend only on sweep.random.seed and the trial
 * number, never on how many workers run them.
 */
export function expandSweep(loaded: LoadedSpec, cli: SweepOptions = {}): PlannedRun[] {
  const { tree } = internalsOf(loaded);
  const spec = loaded.spec as unknown as Record<string, unknown>;
  const sweep = (isPlainObject(spec.sweep) ? spec.sweep : {}) as Record<string, unknown>;
  const problems = new Problems();

  const grid = gridAxes(tree, ['sweep', 'grid']);
  const gridKeys = mapEntries(tree, ['sweep', 'grid']).map(([k]) => k);
  for (const arg of cli.grid ?? []) {
    const pos: Pos = { file: `--grid ${arg}` };
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      problems.add(pos, '', 'expected --grid key.path=v1,v2 (e.g. --grid train.lr=0.01,0.001)');
      continue;
    }
    const key = arg.slice(0, eq).trim();
    const text = arg.slice(eq + 1).trim();
    const msg = checkRunKey(key, spec, { allowNewLeaf: false });
    if (msg) {
      problems.add(pos, key, msg);
      continue;
    }
    let values: unknown[];
    if (text.startsWith('[')) {
      const doc = parseDocument(text);
      const v = doc.errors.length ? undefined : doc.toJS();
      if (!Array.isArray(v)) {
        problems.add(pos, key, `cannot parse ${JSON.stringify(text)} as a list of values`);
        continue;
      }
      values = v;
    } else values = text === '' ? [] : text.split(',').map((s) => parseDocument(s.trim() === '' ? '""' : s.trim()).toJS());
    if (!values.length) {
      problems.add(pos, key, 'expected at least one value, found an empty range');
      continue;
    }
    const axis: Axis = values.map((v) => ({ sets: [{ path: parseKey(key), node: fromPlain(v, pos) }], pos }));
    const at = gridKeys.indexOf(key);
    if (at >= 0) grid[at] = axis;
    else grid.push(axis);
  }

  const axes: Axis[] = [...runsAxis(tree, spec), ...gridAxes(tree, ['matrix']), ...zipAxis(tree, ['zip']), ...grid, ...zipAxis(tree, ['sweep', 'zip'])];

  const random = isPlainObject(sweep.random) ? sweep.random : undefined;
  if (random && isPlainObject(random.params)) {
    const trials = cli.trials ?? (random.trials as number);
    const seedCount = (cli.seeds ?? (sweep.seeds as number[] | undefined) ?? (spec.seeds as number[] | undefined))?.length ?? 1;
    const tooMany = runCountProblem([...axes.map((a) => a.length), trials, seedCount]);
    if (tooMany) {
      problems.add(getNode(tree, ['sweep', 'random', 'trials'])?.pos ?? { file: loaded.file }, 'sweep.random.trials', tooMany);
      problems.throwIfAny(loaded.file);
    }
    const seed = (random.seed as number) ?? 0;
    const params = Object.entries(random.params) as [string, Record<string, unknown>][];
    const add = (p: Seg[], m: string, atKey = false) => {
      const node = getNode(tree, p);
      problems.add(atKey ? node?.pos : node?.pos ?? lookupPos(indexPositions(tree), p), joinPath(p), m);
    };
    params.forEach(([k, d]) => checkDistribution(d, ['sweep', 'random', 'params', k], add));
    const axis: Axis = [];
    for (let t = 0; t < trials; t++) {
      const rng = new Rng(deriveSeed(seed, 'sweep-trial', t));
      axis.push({
        sets: params.map(([k, d]) => {
          const node = getNode(tree, ['sweep', 'random', 'params', k]);
          return { path: parseKey(k), node: fromPlain(draw(d, rng), node?.pos ?? { file: loaded.file }) };
        }),
      });
    }
    axes.push(axis);
  }
  const seeds = cli.seeds ?? (sweep.seeds as number[] | undefined) ?? (spec.seeds as number[] | undefined);
  const seedsPath = cli.seeds ? [] : sweep.seeds ? ['sweep', 'seeds'] : ['seeds'];
  axes.push(...seedsAxis(seeds, tree, seedsPath));
  problems.list.sort(byPosition);
  problems.throwIfAny(loaded.file);
  return planRuns(loaded, axes);
}

function draw(d: Record<string, unknown>, rng: Rng): unknown {
  const lo = d.low as number;
  const hi = d.high as number;
  const round = (x: number) => Number(x.toPrecision(6));
  switch (d.distribution) {
    case 'choice': {
      const vs = d.values as unknown[];
      return vs[Math.min(vs.length - 1, Math.floor(rng.next() * vs.length))];
    }
    case 'uniform':
      return round(lo + (hi - lo) * rng.next());
    case 'loguniform':
      return round(Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * rng.next()));
    case 'int':
      return Math.min(hi, lo + Math.floor(rng.next() * (hi - lo + 1)));
    default:
      return undefined;
  }
}

function differingKeys(configs: RunConfig[]): string[] {
  if (configs.length < 2) return [];
  const flats = configs.map((c) => flatten(c));
  const keys = new Set<string>();
  for (const f of flats) for (const k of Object.keys(f)) keys.add(k);
  const out: string[] = [];
  for (const k of keys) {
    const first = canonicalJson(flats[0][k]);
    if (flats.some((f) => !(k in f) || canonicalJson(f[k]) !== first)) out.push(k);
  }
  return out;
}
