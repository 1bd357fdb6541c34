/** Checks across keys that a JSON Schema cannot express: names that must exist, axes, tables, sweeps. */
import type { Problems } from './errors.js';
import { isPlainObject, parseKey, showValue, type Seg } from './paths.js';
import { hint, listOf } from './suggest.js';
import { lookupPos, type PosIndex } from './tree.js';
import { checkRunKey, checkValueForKey } from './validate.js';

type Obj = Record<string, unknown>;

export function semanticChecks(spec: Obj, idx: PosIndex, problems: Problems, failed: Set<string>): void {
  const add = (path: Seg[], message: string, atKey = false) => {
    const dotted = path.map(String).join('.');
    for (const f of failed) if (dotted === f || dotted.startsWith(`${f}.`)) return;
    problems.add(lookupPos(idx, path, atKey), dotted, message);
  };
  const datasets = isPlainObject(spec.datasets) ? Object.keys(spec.datasets) : [];
  const tests = isPlainObject(spec.test) ? Object.keys(spec.test) : [];
  const datasetRef = (path: Seg[], name: unknown) => {
    if (typeof name === 'string' && datasets.length && !datasets.includes(name)) {
      add(path, `no dataset named "${name}" in datasets${hint(name, datasets) || ` (known: ${listOf(datasets)})`}`);
    }
  };

  // Train data and test sets name datasets.
  const train = isPlainObject(spec.train) ? spec.train : undefined;
  if (train) {
    if (Array.isArray(train.data)) train.data.forEach((d, i) => isPlainObject(d) && datasetRef(['train', 'data', i, 'dataset'], d.dataset));
    if (train.iterations === undefined && train.epochs === undefined) add(['train'], 'missing the training length: give train.iterations or train.epochs', true);
    if (train.iterations !== undefined && train.epochs !== undefined) add(['train', 'epochs'], 'give train.iterations or train.epochs, not both', true);
    const lp = train.lrPolicy;
    if (isPlainObject(lp) && lp.type === 'step' && lp.stepSize === undefined) add(['train', 'lrPolicy'], 'missing required key "stepSize" (lrPolicy type step needs it)', true);
  }
  if (isPlainObject(spec.test)) for (const [t, v] of Object.entries(spec.test)) if (isPlainObject(v)) datasetRef(['test', t, 'dataset'], v.dataset);

  const metricCheck = (path: Seg[], metric: unknown) => {
    if (typeof metric !== 'string') return;
    const [testName, name] = metric.split('.');
    if (tests.length && !tests.includes(testName)) {
      add(path, `metric "${metric}" names no test set "${testName}"${hint(testName, tests) || ` (test sets: ${listOf(tests)})`}`);
      return;
    }
    const t = isPlainObject(spec.test) ? spec.test[testName] : undefined;
    if ((name === 'foldMean' || name === 'foldStd') && isPlainObject(t)) {
      const folds = t.folds;
      if (!isPlainObject(folds)) add(path, `metric "${metric}": test set "${testName}" has no folds, so evaluation gives no ${name} (add folds: {k: 10, groupBy: subject} to it, or use ${testName}.accuracy)`);
      else if (folds.hold !== undefined) add(path, `metric "${metric}": test set "${testName}" evaluates one held-out fold (folds.hold), so evaluation gives no ${name}; use ${testName}.accuracy (the table averages it over the fold runs)`);
    }
  };

  // Where a run's weights start.
  const model = isPlainObject(spec.model) ? spec.model : undefined;
  if (model && isPlainObject(model.init)) {
    const init = model.init;
    if ((init.spec === undefined) === (init.checkpoint === undefined)) add(['model', 'init'], 'give model.init.spec (with where) or model.init.checkpoint, one of them', true);
    if (init.where !== undefined && init.spec === undefined) add(['model', 'init', 'where'], 'where selects a run of model.init.spec, which is not given', true);
    if (model.pretrained !== undefined && model.pretrained !== null) add(['model', 'pretrained'], 'model.init already gives every weight: set model.pretrained: null', true);
  }

  // Expansion axes.
  const keyCheck = (section: Seg[], key: string, opts?: { allowNewLeaf?: boolean }) => {
    const msg = checkRunKey(key, spec, opts);
    if (msg) add([...section, key], msg, true);
  };
  for (const axis of ['matrix', 'zip'] as const) {
    const m = spec[axis];
    if (!isPlainObject(m)) continue;
    for (const k of Object.keys(m)) keyCheck([axis], k, { allowNewLeaf: false });
    if (axis === 'zip') zipLengths(m, ['zip'], add);
  }
  if (Array.isArray(spec.runs)) {
    spec.runs.forEach((r, i) => {
      if (isPlainObject(r) && isPlainObject(r.set)) for (const k of Object.keys(r.set)) keyCheck(['runs', i, 'set'], k);
    });
  }

  // Table.
  const table = spec.table;
  if (isPlainObject(table)) {
    const rows = Array.isArray(table.rows) ? table.rows.filter(isPlainObject) : [];
    const cols = Array.isArray(table.columns) ? table.columns.filter(isPlainObject) : [];
    const lineChecks = (kind: 'rows' | 'columns', lines: Obj[]) => {
      const seen = new Map<string, number>();
      lines.forEach((l, i) => {
        const name = String(l.name);
        if (seen.has(name)) add(['table', kind, i, 'name'], `duplicate ${kind === 'rows' ? 'row' : 'column'} name "${name}" (also ${kind}[${seen.get(name)}])`);
        else seen.set(name, i);
        if (isPlainObject(l.where)) {
          for (const [k, v] of Object.entries(l.where)) {
            const m = checkRunKey(k, spec);
            if (m) add(['table', kind, i, 'where', k], m, true);
            else {
              const vm = checkValueForKey(k, v);
              if (vm) add(['table', kind, i, 'where', k], vm);
            }
          }
        }
        metricCheck(['table', kind, i, 'metric'], l.metric);
      });
      return seen;
    };
    const rowNames = lineChecks('rows', rows);
    const colNames = lineChecks('columns', cols);
    const rowsMetric = rows.some((r) => r.metric !== undefined);
    const colsMetric = cols.some((c) => c.metric !== undefined);
    if (rowsMetric && colsMetric) add(['table', 'rows'], 'give `metric` on the rows or on the columns, not both', true);
    if (!rowsMetric && !colsMetric && (rows.some((r) => r.where) || cols.some((c) => c.where))) {
      add(['table', 'columns'], 'no metric: give `metric` (e.g. clean.accuracy) on every column, or on every row', true);
    }
    const lines = rowsMetric ? rows : cols;
    lines.forEach((l, i) => {
      if (l.where !== undefined && l.metric === undefined && (rowsMetric || colsMetric)) add(['table', rowsMetric ? 'rows' : 'columns', i], `missing "metric" (the other ${rowsMetric ? 'rows' : 'columns'} give one)`, true);
    });
    if (isPlainObject(table.paper)) {
      for (const [r, cells] of Object.entries(table.paper)) {
        if (!rowNames.has(r)) add(['table', 'paper', r], `no row named "${r}"${hint(r, rowNames.keys()) || ` (rows: ${listOf([...rowNames.keys()])})`}`, true);
        if (isPlainObject(cells)) {
          for (const c of Object.keys(cells)) {
            if (!colNames.has(c)) add(['table', 'paper', r, c], `no column named "${c}"${hint(c, colNames.keys()) || ` (columns: ${listOf([...colNames.keys()])})`}`, true);
          }
        }
      }
    }
  }

  // Sweep.
  const sweep = spec.sweep;
  if (isPlainObject(sweep)) {
    for (const axis of ['grid', 'zip'] as const) {
      const m = sweep[axis];
      if (!isPlainObject(m)) continue;
      for (const k of Object.keys(m)) keyCheck(['sweep', axis], k, { allowNewLeaf: false });
      if (axis === 'zip') zipLengths(m, ['sweep', 'zip'], add);
    }
    const random = sweep.random;
    if (isPlainObject(random) && isPlainObject(random.params)) {
      for (const [k, d] of Object.entries(random.params)) {
        keyCheck(['sweep', 'random', 'params'], k, { allowNewLeaf: false });
        if (isPlainObject(d)) checkDistribution(d, ['sweep', 'random', 'params', k], add);
      }
    }
    if (isPlainObject(sweep.objective)) metricCheck(['sweep', 'objective', 'metric'], sweep.objective.metric);
  }
}

/**
 * Checks on one expanded run's config (values a matrix or reference may have set):
 * returns [dotted path, message] pairs.
 */
export function runConfigChecks(cfg: Obj): [Seg[], string][] {
  const out: [Seg[], string][] = [];
  const model = isPlainObject(cfg.model) ? cfg.model : {};
  const train = isPlainObject(cfg.train) ? cfg.train : {};
  const dlp = isPlainObject(model.dlp) ? model.dlp : {};
  // The locality-preserving loss looks for k same-class neighbours among the other samples of a step's batch.
  if (model.variant === 'dlpcnn' && dlp.lpLoss === true && typeof dlp.neighbours === 'number' && typeof train.batchSize === 'number' && dlp.neighbours > train.batchSize - 1) {
    out.push([
      ['model', 'dlp', 'neighbours'],
      `${dlp.neighbours} neighbours cannot fit a batch of ${train.batchSize} (at most ${train.batchSize - 1} other samples, fewer of the same class): lower model.dlp.neighbours or raise train.batchSize`,
    ]);
  }
  const foldCheck = (folds: unknown, at: Seg[]) => {
    if (isPlainObject(folds) && typeof folds.hold === 'number' && typeof folds.k === 'number' && folds.hold >= folds.k) {
      out.push([[...at, 'hold'], `fold ${folds.hold} does not exist: folds are 0 .. ${folds.k - 1}`]);
    }
  };
  if (Array.isArray(train.data)) {
    train.data.forEach((d, i) => {
      if (!isPlainObject(d)) return;
      foldCheck(d.folds, ['train', 'data', i, 'folds']);
      if (isPlainObject(d.folds) && d.folds.hold === undefined) out.push([['train', 'data', i, 'folds'], 'missing "hold": training data takes every fold but the held-out one']);
    });
  }
  if (isPlainObject(cfg.test)) for (const [name, t] of Object.entries(cfg.test)) if (isPlainObject(t)) foldCheck(t.folds, ['test', name, 'folds']);
  return out;
}

function zipLengths(m: Obj, at: Seg[], add: (p: Seg[], m: string, k?: boolean) => void) {
  const entries = Object.entries(m).filter(([, v]) => Array.isArray(v)) as [string, unknown[]][];
  if (entries.length < 2) return;
  const n = entries[0][1].length;
  for (const [k, v] of entries.slice(1)) {
    if (v.length !== n) add([...at, k], `zip axes must have equal lengths: ${entries[0][0]} has ${n} values, ${k} has ${v.length}`);
  }
}

export function checkDistribution(d: Obj, at: Seg[], add: (p: Seg[], m: string, k?: boolean) => void): void {
  const dist = d.distribution;
  if (dist === 'choice') {
    if (d.values === undefined) add(at, 'missing required key "values" (distribution choice needs it)', true);
    if (d.low !== undefined || d.high !== undefined) add(at, 'distribution choice takes `values`, not low/high', true);
    return;
  }
  if (dist !== 'uniform' && dist !== 'loguniform' && dist !== 'int') return;
  if (d.values !== undefined) add([...at, 'values'], `distribution ${dist} takes low and high, not values`, true);
  if (typeof d.low !== 'number' || typeof d.high !== 'number') {
    add(at, `missing ${d.low === undefined ? '"low"' : ''}${d.low === undefined && d.high === undefined ? ' and ' : ''}${d.high === undefined ? '"high"' : ''} (distribution ${dist} needs both)`, true);
    return;
  }
  if (d.low > d.high) add([...at, 'low'], `expected low <= high, found low ${showValue(d.low)} > high ${showValue(d.high)} (an empty range)`);
  if (dist === 'loguniform' && d.low <= 0) add([...at, 'low'], `expected low > 0 for loguniform, found ${showValue(d.low)}`);
  if (dist === 'int' && (!Number.isInteger(d.low) || !Number.isInteger(d.high))) add(at, `distribution int needs integer low and high, found ${showValue(d.low)} and ${showValue(d.high)}`, true);
}

export { parseKey };
