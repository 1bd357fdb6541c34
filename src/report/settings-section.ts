/**
 * Training and evaluation settings (shared ones once, what differs per run) and where and how
 * each run was made (machine, backend, versions, git commit, times), from config.json and
 * meta.json.
 */
import { flatten, runLabel, seedOf, show, splitSettings, type Condition } from './conditions.js';
import type { ReportRun, RunMeta } from './source.js';
import { mdTable, plural } from './markdown.js';

/** The settings every run shares, one `key: value` line each, as a fenced block. */
export function commonSettingsBlock(runs: ReportRun[]): string {
  const { common } = splitSettings(runs.map((r) => r.config));
  const lines = Object.entries(common).map(([k, v]) => `${k}: ${show(v)}`);
  return ['```yaml', ...lines, '```'].join('\n');
}

/** What meta.json says about where a run was made, as printable fields. */
function provenance(meta: RunMeta | undefined): Record<string, string> {
  if (!meta) return {};
  const b = meta.backend;
  return {
    host: meta.host ?? '?',
    backend: b ? [b.name, b.version, b.device && `(${b.device})`].filter(Boolean).join(' ') : '?',
    versions: Object.entries(meta.versions ?? {})
      .map(([k, v]) => `${k} ${v}`)
      .join(', '),
    'git commit': meta.git ? meta.git.slice(0, 12) : 'unknown (not a git checkout)',
  };
}

/** "42 s", "3 min 05 s", "1 h 02 min". */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function wallSeconds(meta: RunMeta | undefined): number | undefined {
  if (!meta?.startedAt || !meta.endedAt) return undefined;
  return (Date.parse(meta.endedAt) - Date.parse(meta.startedAt)) / 1000;
}

/**
 * One row per planned run: its condition, seed, the settings that differ between runs, status,
 * steps, training and wall time, and the provenance fields that are not the same for all runs.
 * Provenance shared by every finished run is returned as lines instead.
 */
export function runsTable(conditions: Condition[]): { table: string; sharedProvenance: string[] } {
  const runs = conditions.flatMap((c) => c.runs.map((run) => ({ c, run }))).sort((a, b) => a.run.index - b.run.index);
  const { differing } = splitSettings(runs.map((r) => r.run.config));
  const shownKeys = differing.filter((k) => k !== 'train.seed' && !k.startsWith('tags.'));
  const prov = runs.map((r) => provenance(r.run.meta));
  const provKeys = ['host', 'backend', 'versions', 'git commit'];
  const withMeta = prov.filter((p) => Object.keys(p).length);
  const varying = provKeys.filter((k) => new Set(withMeta.map((p) => p[k])).size > 1);
  const shared = provKeys.filter((k) => !varying.includes(k) && withMeta.length).map((k) => `${k}: ${withMeta[0][k]}`);

  const header = ['run', 'id', 'seed', ...shownKeys, 'status', 'steps', 'training time', 'wall time', ...varying];
  const body = runs.map(({ c, run }, i) => {
    const flat = flatten(run.config);
    const m = run.meta;
    return [
      runLabel(c, run),
      run.id,
      show(seedOf(run)),
      ...shownKeys.map((k) => show(flat[k])),
      m?.status ?? 'not started',
      m ? `${m.step}/${m.totalSteps}` : '–',
      duration(m?.trainSeconds),
      duration(wallSeconds(m)),
      ...varying.map((k) => prov[i][k] ?? '–'),
    ];
  });
  return { table: mdTable(header, body), sharedProvenance: shared };
}

/** Totals over the finished runs: training time, wall time, and the span from the first start to the last end. */
export function timeSummary(runs: ReportRun[]): string | undefined {
  const metas = runs.map((r) => r.meta).filter((m): m is RunMeta => m?.status === 'done');
  if (!metas.length) return undefined;
  const train = metas.reduce((a, m) => a + (m.trainSeconds ?? 0), 0);
  const wall = metas.reduce((a, m) => a + (wallSeconds(m) ?? 0), 0);
  const starts = metas.map((m) => m.startedAt).filter((s): s is string => !!s).sort();
  const ends = metas.map((m) => m.endedAt).filter((s): s is string => !!s).sort();
  const span = starts.length && ends.length ? (Date.parse(ends[ends.length - 1]) - Date.parse(starts[0])) / 1000 : undefined;
  const resumed = metas.filter((m) => m.resumedFrom?.length).length;
  return (
    `${plural(metas.length, 'finished run')}: ${duration(train)} of training, ${duration(wall)} of wall time summed over runs` +
    (span !== undefined ? `; ${duration(span)} from the first start (${starts[0]}) to the last end (${ends[ends.length - 1]})` : '') +
    (resumed ? `; ${plural(resumed, 'run')} resumed after an interruption` : '') +
    (span !== undefined && span < 0.95 * wall ? '. Runs overlapped in time (trained side by side), so they shared the machine and their times add up to more than the span' : '') +
    '.'
  );
}
