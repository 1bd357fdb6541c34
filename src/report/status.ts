import { RunDir, evalMetrics, observedStatus, type RunMeta } from '../rundir/index.js';

export interface RunStatusRow {
  id: string;
  label: string;
  status: RunMeta['status'] | 'not started';
  step: number;
  totalSteps: number;
  results: Record<string, number>;
  updatedAt?: string;
  error?: string;
}

/** Each planned run's state, from its run directory alone. */
export async function runStatuses(resultsDir: string, specName: string, runs: { id: string; label: string }[]): Promise<RunStatusRow[]> {
  const rows: RunStatusRow[] = [];
  for (const run of runs) {
    const dir = RunDir.for(resultsDir, specName, run.id);
    const meta = await dir.readMeta();
    const metrics = meta?.status === 'done' ? evalMetrics(await dir.readEval()) : {};
    rows.push({
      id: run.id,
      label: run.label,
      status: meta ? observedStatus(meta) : 'not started',
      step: meta?.step ?? 0,
      totalSteps: meta?.totalSteps ?? 0,
      results: Object.fromEntries(Object.entries(metrics).filter(([k]) => /^[^.]+\.accuracy$/.test(k))),
      updatedAt: meta?.updatedAt,
      error: meta?.error,
    });
  }
  return rows;
}

export function formatStatusTable(rows: RunStatusRow[]): string {
  const lines = rows.map((r) => {
    const progress = r.totalSteps ? `${r.step}/${r.totalSteps}` : '-';
    const results = Object.entries(r.results)
      .map(([k, v]) => `${k}=${(100 * v).toFixed(2)}%`)
      .join(' ');
    return [r.id, r.status.padEnd(11), progress.padEnd(11), r.label, results, r.error ? `error: ${r.error}` : ''].filter(Boolean).join('  ');
  });
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  lines.push([...counts].map(([s, n]) => `${n} ${s}`).join(', '));
  return lines.join('\n');
}
