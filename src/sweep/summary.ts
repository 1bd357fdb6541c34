import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import YAML from 'yaml';
import { writeFileAtomic } from '../util/atomic.js';
import type { SweepObjective, Trial, TrialStatus } from './types.js';
import { combineStatus } from './state.js';
import { getPath, isPlainObject } from '../util/dotted.js';
import { valueText } from '../util/progress.js';
import { AXIS_KEYS } from '../spec/index.js';
import { RunDir, evalMetrics, metricKey } from '../rundir/index.js';

export interface SummaryRow {
  index: number;
  runId: string;
  status: TrialStatus;
  values: Record<string, unknown>;
  metrics: Record<string, number>;
}

export interface Summary {
  objective?: SweepObjective;
  sweptKeys: string[];
  metricKeys: string[];
  /** Sorted best first; trials without the objective metric last, in trial order. */
  rows: SummaryRow[];
  best?: SummaryRow;
}

/** An objective's metric path (rundir/metrics.ts): "clean.accuracy" reads tests.clean.accuracy. */
function metricOf(row: SummaryRow, metric: string): number | undefined {
  return row.metrics[metricKey(metric)];
}

export async function summarize(
  specResultsDir: string,
  trials: Pick<Trial, 'index' | 'id' | 'values'>[],
  objective?: SweepObjective,
): Promise<Summary> {
  const rows: SummaryRow[] = [];
  for (const t of trials) {
    const dir = new RunDir(path.join(specResultsDir, t.id));
    const meta = await dir.readMeta();
    const metrics = meta?.status === 'done' ? evalMetrics(await dir.readEval()) : {};
    rows.push({ index: t.index, runId: t.id, status: combineStatus(meta, undefined, false), values: t.values, metrics });
  }
  const sweptKeys = [...new Set(trials.flatMap((t) => Object.keys(t.values)))].sort();
  const accuracy = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].filter((k) => k.endsWith('.accuracy')).sort();
  // Without an objective in the spec, the first test set's accuracy decides (higher is better).
  const obj = objective ?? (accuracy.length ? { metric: accuracy[0], mode: 'max' as const } : undefined);
  const metricKeys = [...accuracy];
  const objKey = obj && metricKey(obj.metric);
  if (objKey && !metricKeys.includes(objKey)) metricKeys.push(objKey);
  const sign = obj?.mode === 'min' ? 1 : -1;
  rows.sort((a, b) => {
    const va = obj ? metricOf(a, obj.metric) : undefined;
    const vb = obj ? metricOf(b, obj.metric) : undefined;
    if (va === undefined || vb === undefined) return va !== undefined ? -1 : vb !== undefined ? 1 : a.index - b.index;
    return va === vb ? a.index - b.index : sign * (va - vb);
  });
  const best = obj && rows[0] && metricOf(rows[0], obj.metric) !== undefined ? rows[0] : undefined;
  return { objective: obj, sweptKeys, metricKeys, rows, best };
}

export function summaryCsv(s: Summary): string {
  const header = ['rank', 'trial', 'run_id', 'status', ...s.sweptKeys, ...s.metricKeys];
  const body = s.rows.map((r, i) => [
    r.status === 'done' && s.objective && metricOf(r, s.objective.metric) !== undefined ? String(i + 1) : '',
    String(r.index),
    r.runId,
    r.status,
    ...s.sweptKeys.map((k) => valueText(r.values[k])),
    ...s.metricKeys.map((k) => (r.metrics[k] === undefined ? '' : String(r.metrics[k]))),
  ]);
  return stringify([header, ...body]);
}

export async function writeSummaryCsv(file: string, s: Summary): Promise<void> {
  await writeFileAtomic(file, summaryCsv(s));
}


function pathParts(dotted: string): (string | number)[] {
  return dotted.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

/**
 * The best trial as a spec a user can run: the original spec file (comments, ${env:...} and
 * extends kept) with its expansion sections removed and every setting that made this trial
 * different written in, the way `--set` would have. Running it reuses the same run id, so
 * `acnn run best.yaml` finds the trial's results and redoes nothing.
 */
export function bestSpecText(opts: {
  sourceFile: string;
  sourceText: string;
  outFile: string;
  trial: Pick<Trial, 'id' | 'overrides' | 'config' | 'values'>;
  /** The user's --set arguments (k=v): their keys are baked in too. */
  sets?: string[];
  header?: string;
}): string {
  const doc = YAML.parseDocument(opts.sourceText);
  const src = (doc.toJS() ?? {}) as Record<string, unknown>;
  const config = opts.trial.config as Record<string, unknown> | undefined;
  const keys = new Set<string>([...Object.keys(opts.trial.overrides), ...Object.keys(opts.trial.values)]);
  for (const s of opts.sets ?? []) keys.add(s.slice(0, s.indexOf('=') >= 0 ? s.indexOf('=') : undefined));
  if (Array.isArray(src.seeds) || src.seeds !== undefined) keys.add('train.seed');
  for (const axis of ['matrix', 'zip'] as const) if (isPlainObject(src[axis])) for (const k of Object.keys(src[axis] as object)) keys.add(k);
  if (Array.isArray(src.runs)) for (const r of src.runs) if (isPlainObject(r) && isPlainObject(r.set)) for (const k of Object.keys(r.set)) keys.add(k);

  // A best-trial spec is one run: nothing in it may expand.
  for (const k of AXIS_KEYS) doc.delete(k);
  const tags = config && isPlainObject(config.tags) ? config.tags : undefined;
  if (tags && Object.keys(tags).length) doc.set('runs', doc.createNode([{ tags }]));
  for (const k of [...keys].sort()) {
    if (k.startsWith('tags.') || k === 'tags') continue;
    const value = config ? getPath(config, k) : opts.trial.overrides[k];
    if (value === undefined) continue;
    doc.setIn(pathParts(k), doc.createNode(value));
  }
  const ext = doc.get('extends');
  const rebase = (p: unknown) =>
    typeof p === 'string' && !path.isAbsolute(p) && !p.includes('${')
      ? path.relative(path.dirname(opts.outFile), path.resolve(path.dirname(opts.sourceFile), p)) || '.'
      : p;
  if (typeof ext === 'string') doc.set('extends', rebase(ext));
  else if (YAML.isSeq(ext)) doc.set('extends', doc.createNode((ext.toJSON() as unknown[]).map(rebase)));
  // The editor's schema modeline is relative to the spec's folder; point it from the new one.
  const modeline = (c: string | null | undefined) => c?.replace(/(\$schema=)(\S+)/, (_m, pre: string, p: string) => pre + String(rebase(p)));
  // A comment on the file's first line belongs to the first key (or the map) in the yaml AST.
  const map = YAML.isMap(doc.contents) ? doc.contents : undefined;
  const firstKey = map?.items[0]?.key;
  for (const node of [map, YAML.isNode(firstKey) ? firstKey : undefined]) {
    if (node?.commentBefore) node.commentBefore = modeline(node.commentBefore);
  }
  doc.commentBefore = modeline(doc.commentBefore) ?? null;
  const header = opts.header ?? `Best trial ${opts.trial.id} of a sweep over ${path.basename(opts.sourceFile)}.`;
  const lines = header.split('\n').map((l) => ` ${l}`);
  doc.commentBefore = [...lines, ...(doc.commentBefore ? [doc.commentBefore] : [])].join('\n');
  return doc.toString({ lineWidth: 0 });
}
