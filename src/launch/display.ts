import type cliProgress from 'cli-progress';
import { formatDuration, multiBar, stopBars, valueText, type ProgressMode } from '../util/progress.js';
import type { JobChange, JobView, LaunchDisplay } from './types.js';

function eta(v: JobView): number | undefined {
  if (v.status !== 'running') return undefined;
  if (v.etaSec !== undefined) return v.etaSec;
  if (!v.startedAt || !v.totalSteps || v.step <= 0) return undefined;
  const perStep = (Date.now() - v.startedAt) / 1000 / v.step;
  return perStep * (v.totalSteps - v.step);
}

function label(v: JobView): string {
  return Object.entries(v.job.values)
    .map(([k, x]) => `${k.split('.').pop()}=${valueText(x)}`)
    .join(' ');
}

/** Loss, accuracy and throughput of the last logged step, when the child reported them. */
function metrics(v: JobView): string {
  if (v.loss === undefined) return '';
  return `loss ${v.loss.toFixed(3)} acc ${(100 * (v.accuracy ?? 0)).toFixed(1)}% ${(v.imagesPerSec ?? 0).toFixed(1)} img/s`;
}

function counts(views: JobView[]): string {
  const c: Record<string, number> = {};
  for (const v of views) c[v.status] = (c[v.status] ?? 0) + 1;
  return ['done', 'running', 'queued', 'failed', 'interrupted'].filter((s) => c[s]).map((s) => `${c[s]} ${s}`).join(', ');
}

/**
 * The display for a launch: `noun` heads its lines, 'sweep' for a sweep's trials, 'runs' for
 * `acnn run --workers`. The JSON events are the sweep's (trial-*), whoever launched.
 */
export function createDisplay(mode: ProgressMode, noun: 'sweep' | 'runs'): LaunchDisplay {
  switch (mode) {
    case 'json':
      return new JsonDisplay();
    case 'bars':
      return new BarDisplay(noun);
    case 'lines':
      return new LineDisplay(undefined, noun);
    case 'quiet':
      return new LineDisplay((l) => /: failed/.test(l) && process.stderr.write(l + '\n'), noun);
  }
}

/** A terminal: a bar for the whole launch and one for each running job (cli-progress, as the runner's). */
export class BarDisplay implements LaunchDisplay {
  private readonly multi = multiBar();
  private total?: cliProgress.SingleBar;
  private readonly bars = new Map<JobView, cliProgress.SingleBar>();
  private views: JobView[] = [];
  constructor(private readonly noun: 'sweep' | 'runs' = 'sweep') {}

  start(views: JobView[]) {
    const finished = views.filter((v) => v.status === 'done').length;
    this.total = this.multi.create(views.length, finished, { label: this.noun.padEnd(5), info: counts(views) });
    this.views = views;
  }

  change(v: JobView, what: JobChange) {
    const id = `${v.job.index} ${v.job.runId}`;
    if (what === 'skip') {
      if (v.status === 'failed') this.multi.log(`${id} [${label(v)}]: ${v.note}\n`);
    } else if (what === 'start') {
      this.bars.set(v, this.multi.create(v.totalSteps || 1, v.step, { label: id, info: label(v) }));
    } else if (what === 'progress') {
      const bar = this.bars.get(v);
      if (v.totalSteps) bar?.setTotal(v.totalSteps);
      const e = formatDuration(eta(v));
      bar?.update(v.step, { info: [metrics(v), e && `ETA ${e}`, label(v)].filter(Boolean).join('  ') });
    } else {
      const bar = this.bars.get(v);
      if (bar) this.multi.remove(bar);
      this.bars.delete(v);
      this.multi.log(`${id} [${label(v)}]: ${v.status}${v.note ? ` (${v.note})` : ''}\n`);
    }
    this.total?.update(this.views.filter((x) => x.status === 'done').length, { info: counts(this.views) });
  }

  finish(views: JobView[]) {
    stopBars(this.multi);
    process.stderr.write(`${this.noun}: ${counts(views)}\n`);
  }
}

/** Not a terminal (CI, a log file, a Slurm log): one plain line per change, progress thinned. */
export class LineDisplay implements LaunchDisplay {
  private lastPct = new Map<number, number>();
  constructor(
    private readonly write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
    private readonly noun: 'sweep' | 'runs' = 'sweep',
  ) {}
  start(views: JobView[]) {
    this.write(this.noun === 'sweep' ? `sweep: ${views.length} trials` : `${views.length} runs in worker processes`);
  }
  change(v: JobView, what: JobChange) {
    const id = `${this.noun === 'sweep' ? 'trial' : 'run'} ${v.job.index} ${v.job.runId} [${label(v)}]`;
    switch (what) {
      case 'skip':
        this.write(`${id}: ${v.status === 'done' ? 'done already, skipped' : v.note ?? v.status}`);
        break;
      case 'start':
        this.write(`${id}: started`);
        break;
      case 'progress': {
        if (!v.totalSteps) return;
        const pct = Math.floor((4 * v.step) / v.totalSteps) * 25;
        if (pct === (this.lastPct.get(v.job.index) ?? -1) || pct === 0 || pct === 100) return;
        this.lastPct.set(v.job.index, pct);
        const e = formatDuration(eta(v));
        const m = metrics(v);
        this.write(`${id}: step ${v.step}/${v.totalSteps}${m ? ` ${m}` : ''}${e ? ` ETA ${e}` : ''}`);
        break;
      }
      case 'end':
        this.write(`${id}: ${v.status}${v.note ? ` (${v.note})` : ''}`);
        break;
    }
  }
  finish(views: JobView[]) {
    this.write(`${this.noun}: ${counts(views)}`);
  }
}

/** --json: one event per line on stdout, for scripts. */
export class JsonDisplay implements LaunchDisplay {
  private emit(e: Record<string, unknown>) {
    process.stdout.write(JSON.stringify({ ...e, time: new Date().toISOString() }) + '\n');
  }
  start(views: JobView[]) {
    this.emit({ type: 'sweep-start', trials: views.length });
  }
  change(v: JobView, what: JobChange) {
    const base = { index: v.job.index, runId: v.job.runId, status: v.status };
    if (what === 'skip') this.emit({ type: 'trial-skip', ...base, reason: v.note });
    else if (what === 'start') this.emit({ type: 'trial-start', ...base, values: v.job.values });
    else if (what === 'progress') this.emit({ type: 'trial-step', ...base, step: v.step, totalSteps: v.totalSteps, etaSec: eta(v), loss: v.loss, accuracy: v.accuracy, imagesPerSec: v.imagesPerSec });
    else this.emit({ type: 'trial-end', ...base, note: v.note });
  }
  finish(views: JobView[]) {
    const c: Record<string, number> = {};
    for (const v of views) c[v.status] = (c[v.status] ?? 0) + 1;
    this.emit({ type: 'sweep-end', counts: c });
  }
}
