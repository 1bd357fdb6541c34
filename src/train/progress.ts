import type cliProgress from 'cli-progress';
import { formatDuration, multiBar, stopBars, type ProgressMode } from '../util/progress.js';

/** What the runner tells the outside world; one implementation per output mode. */
export type RunEvent =
  | { type: 'spec-start'; spec: string; runs: number; toRun: number; backend: string }
  | { type: 'run-skip'; runId: string; reason: string }
  | { type: 'run-start'; runId: string; label: string; index: number; total: number; totalSteps: number; resumeStep: number }
  | { type: 'step'; runId: string; step: number; totalSteps: number; loss: number; accuracy: number; lr: number; imagesPerSec: number; etaSec: number }
  | { type: 'eval'; runId: string; test: string; accuracy: number; n: number }
  | { type: 'checkpoint'; runId: string; step: number }
  | { type: 'note'; runId: string; message: string }
  | { type: 'run-end'; runId: string; status: 'done' | 'interrupted' | 'failed'; error?: string; results?: Record<string, number> }
  | { type: 'spec-end'; done: number; failed: number; skipped: number; interrupted: number; table?: string };

export interface Reporter {
  emit(event: RunEvent): void;
  close(): void;
}

export function createReporter(mode: ProgressMode): Reporter {
  switch (mode) {
    case 'json':
      return { emit: (e) => process.stdout.write(JSON.stringify({ ...e, time: new Date().toISOString() }) + '\n'), close() {} };
    case 'quiet':
      return { emit: (e) => e.type === 'run-end' && e.status === 'failed' && console.error(`run ${e.runId} failed: ${e.error}`), close() {} };
    case 'lines':
      return new LineReporter();
    case 'bars':
      return new BarReporter();
  }
}

function fmtEta(sec: number): string {
  return formatDuration(sec) || '?';
}

function describe(e: RunEvent): string | undefined {
  switch (e.type) {
    case 'spec-start':
      return `${e.spec}: ${e.runs} runs, ${e.toRun} to do (backend ${e.backend})`;
    case 'run-skip':
      return `run ${e.runId}: ${e.reason}`;
    case 'run-start':
      return `[${e.index + 1}/${e.total}] run ${e.runId} ${e.label}${e.resumeStep ? ` (resuming at step ${e.resumeStep})` : ''}`;
    case 'eval':
      return `  ${e.runId} ${e.test}: accuracy ${(100 * e.accuracy).toFixed(2)}% (n=${e.n})`;
    case 'checkpoint':
      return undefined;
    case 'note':
      return `  ${e.runId} ${e.message}`;
    case 'run-end':
      return `  ${e.runId} ${e.status}${e.error ? `: ${e.error}` : ''}`;
    case 'spec-end':
      return `done ${e.done}, skipped ${e.skipped}, failed ${e.failed}, interrupted ${e.interrupted}${e.table ? `; table: ${e.table}` : ''}`;
    case 'step':
      return `  ${e.runId} step ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)} acc ${(100 * e.accuracy).toFixed(1)}% lr ${e.lr.toExponential(2)} ${e.imagesPerSec.toFixed(1)} img/s ETA ${fmtEta(e.etaSec)}`;
  }
}

/** Not a terminal (CI, a log file): one plain line per event, steps thinned to about every 10%. */
class LineReporter implements Reporter {
  private lastPrinted = new Map<string, number>();
  emit(e: RunEvent) {
    if (e.type === 'step') {
      const every = Math.max(1, Math.round(e.totalSteps / 10));
      const last = this.lastPrinted.get(e.runId) ?? 0;
      if (e.step - last < every && e.step !== e.totalSteps) return;
      this.lastPrinted.set(e.runId, e.step);
    }
    const line = describe(e);
    if (line) console.error(line);
  }
  close() {}
}

/** A terminal: one bar for the spec (runs) and one for the current run (steps). */
class BarReporter implements Reporter {
  private readonly multi = multiBar();
  private specBar?: cliProgress.SingleBar;
  private runBar?: cliProgress.SingleBar;
  private closed = false;

  /** A line above the bars; straight to stderr when no bar is drawn (yet, or any more). */
  private log(line: string) {
    if (this.specBar && !this.closed) this.multi.log(line + '\n');
    else process.stderr.write(line + '\n');
  }

  emit(e: RunEvent) {
    switch (e.type) {
      case 'spec-start':
        this.log(describe(e)!);
        this.specBar = this.multi.create(e.runs, e.runs - e.toRun, { label: 'runs ', info: '' });
        break;
      case 'run-start':
        this.runBar?.stop();
        this.log(describe(e)!);
        this.runBar = this.multi.create(e.totalSteps, e.resumeStep, { label: 'steps', info: e.label });
        break;
      case 'step':
        this.runBar?.update(e.step, {
          info: `loss ${e.loss.toFixed(3)} acc ${(100 * e.accuracy).toFixed(1)}% ${e.imagesPerSec.toFixed(1)} img/s ETA ${fmtEta(e.etaSec)}`,
        });
        break;
      case 'run-end':
        this.log(describe(e)!);
        this.specBar?.increment();
        break;
      case 'checkpoint':
        break;
      default:
        this.log(describe(e)!);
    }
  }
  close() {
    if (!this.closed) stopBars(this.multi);
    this.closed = true;
  }
}
