import type { SweepDisplay, TrialView } from './local.js';
import { showValue } from './overrides.js';

function fmtDuration(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec) || sec < 0) return '';
  const s = Math.round(sec);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

function eta(v: TrialView): number | undefined {
  if (v.status !== 'running') return undefined;
  if (v.etaSec !== undefined) return v.etaSec;
  if (!v.startedAt || !v.totalSteps || v.step <= 0) return undefined;
  const perStep = (Date.now() - v.startedAt) / 1000 / v.step;
  return perStep * (v.totalSteps - v.step);
}

function label(v: TrialView): string {
  return Object.entries(v.trial.values)
    .map(([k, x]) => `${k.split('.').pop()}=${showValue(x)}`)
    .join(' ');
}

/** Loss, accuracy and throughput of the last logged step, when the child reported them. */
function metrics(v: TrialView): string {
  if (v.loss === undefined) return '';
  return `loss ${v.loss.toFixed(3)} acc ${(100 * (v.accuracy ?? 0)).toFixed(1)}% ${(v.imagesPerSec ?? 0).toFixed(1)} img/s`;
}

function counts(views: TrialView[]): string {
  const c: Record<string, number> = {};
  for (const v of views) c[v.status] = (c[v.status] ?? 0) + 1;
  return ['done', 'running', 'queued', 'failed', 'interrupted'].filter((s) => c[s]).map((s) => `${c[s]} ${s}`).join(', ');
}

/** A terminal: the whole sweep as a table redrawn in place, a few times a second. */
export class TableDisplay implements SweepDisplay {
  private views: TrialView[] = [];
  private timer?: NodeJS.Timeout;
  private drawnLines = 0;
  /** `noun` heads the summary line: 'sweep' for trials, 'runs' when `acnn run --workers` uses it. */
  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly noun = 'sweep',
  ) {}

  start(views: TrialView[]) {
    this.views = views;
    this.draw();
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
  }
  change() {}
  finish() {
    clearInterval(this.timer);
    this.draw();
  }

  private draw() {
    const rows = render(this.views, this.out.rows ? Math.max(5, this.out.rows - 4) : Infinity, this.out.columns || 120, this.noun);
    let text = this.drawnLines ? `\x1b[${this.drawnLines}F` : '';
    text += rows.map((r) => `\x1b[2K${r}\n`).join('');
    this.out.write(text);
    this.drawnLines = rows.length;
  }
}

function render(views: TrialView[], maxRows: number, width: number, noun: string): string[] {
  const head = ['#', 'run', 'status', 'step', 'eta', 'train', 'values'];
  const body = views.map((v) => [
    String(v.trial.index),
    v.trial.id,
    v.status,
    v.totalSteps ? `${v.step}/${v.totalSteps}` : '',
    fmtDuration(eta(v)),
    v.status === 'running' ? metrics(v) : '',
    label(v) + (v.note && v.status !== 'done' ? `  (${v.note})` : ''),
  ]);
  // A long sweep shows what is moving: running and failed trials first, then the rest in order.
  const order = (s: string) => (s === 'running' ? 0 : s === 'failed' ? 1 : 2);
  const sorted = body.length + 2 > maxRows ? [...body].sort((a, b) => order(a[2]) - order(b[2])).slice(0, maxRows - 2) : body;
  const widths = head.map((h, i) => Math.max(h.length, ...sorted.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').slice(0, width - 1);
  return [line(head), ...sorted.map(line), `${noun}: ${counts(views)}`];
}

/** Not a terminal (CI, a log file, a Slurm log): one plain line per change, progress thinned. */
export class LineDisplay implements SweepDisplay {
  private lastPct = new Map<number, number>();
  constructor(
    private readonly write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
    private readonly noun = 'sweep',
  ) {}
  start(views: TrialView[]) {
    this.write(this.noun === 'sweep' ? `sweep: ${views.length} trials` : `${views.length} runs in worker processes`);
  }
  change(v: TrialView, what: 'skip' | 'start' | 'progress' | 'end') {
    const id = `${this.noun === 'sweep' ? 'trial' : 'run'} ${v.trial.index} ${v.trial.id} [${label(v)}]`;
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
        if (pct === (this.lastPct.get(v.trial.index) ?? -1) || pct === 0 || pct === 100) return;
        this.lastPct.set(v.trial.index, pct);
        const e = fmtDuration(eta(v));
        const m = metrics(v);
        this.write(`${id}: step ${v.step}/${v.totalSteps}${m ? ` ${m}` : ''}${e ? ` ETA ${e}` : ''}`);
        break;
      }
      case 'end':
        this.write(`${id}: ${v.status}${v.note ? ` (${v.note})` : ''}`);
        break;
    }
  }
  finish(views: TrialView[]) {
    this.write(`${this.noun}: ${counts(views)}`);
  }
}

/** --json: one event per line on stdout, for scripts. */
export class JsonDisplay implements SweepDisplay {
  private emit(e: Record<string, unknown>) {
    process.stdout.write(JSON.stringify({ ...e, time: new Date().toISOString() }) + '\n');
  }
  start(views: TrialView[]) {
    this.emit({ type: 'sweep-start', trials: views.length });
  }
  change(v: TrialView, what: 'skip' | 'start' | 'progress' | 'end') {
    const base = { index: v.trial.index, runId: v.trial.id, status: v.status };
    if (what === 'skip') this.emit({ type: 'trial-skip', ...base, reason: v.note });
    else if (what === 'start') this.emit({ type: 'trial-start', ...base, values: v.trial.values });
    else if (what === 'progress') this.emit({ type: 'trial-step', ...base, step: v.step, totalSteps: v.totalSteps, etaSec: eta(v), loss: v.loss, accuracy: v.accuracy, imagesPerSec: v.imagesPerSec });
    else this.emit({ type: 'trial-end', ...base, note: v.note });
  }
  finish(views: TrialView[]) {
    const c: Record<string, number> = {};
    for (const v of views) c[v.status] = (c[v.status] ?? 0) + 1;
    this.emit({ type: 'sweep-end', counts: c });
  }
}
