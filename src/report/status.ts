import os from 'node:os';
import { RunDir, type RunMeta, type EvalFile } from '../train/run-dir.js';

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
    const evalFile: EvalFile | undefined = meta?.status === 'done' ? await dir.readEval() : undefined;
    rows.push({
      id: run.id,
      label: run.label,
      status: meta ? liveStatus(meta) : 'not started',
      step: meta?.step ?? 0,
      totalSteps: meta?.totalSteps ?? 0,
      results: Object.fromEntries(Object.entries(evalFile?.tests ?? {}).map(([k, v]) => [`${k}.accuracy`, v.accuracy])),
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

/** A run whose meta says "running" but whose process on this host is gone was killed: interrupted, resumable. */
function liveStatus(meta: RunMeta): RunMeta['status'] {
  if (meta.status !== 'running' || meta.host !== os.hostname() || !meta.pid) return meta.status;
  try {
    process.kill(meta.pid, 0);
    return 'running';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? 'running' : 'interrupted';
  }
}
