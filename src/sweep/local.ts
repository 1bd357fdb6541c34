import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Trial, TrialStatus } from './types.js';
import { readRunMeta } from './state.js';

export interface TrialView {
  trial: Trial;
  status: TrialStatus;
  step: number;
  totalSteps: number;
  etaSec?: number;
  /** The child's last logged training loss, accuracy and throughput. */
  loss?: number;
  accuracy?: number;
  imagesPerSec?: number;
  startedAt?: number;
  endedAt?: number;
  /** Why it was not run, or how it ended. */
  note?: string;
  pid?: number;
}

export interface SweepDisplay {
  start(views: TrialView[]): void;
  change(view: TrialView, what: 'skip' | 'start' | 'progress' | 'end'): void;
  finish(views: TrialView[]): void;
}

export interface ChildCommand {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

export interface LocalRunOptions {
  trials: Trial[];
  /** results/<spec>: where the trials' run directories are. */
  specResultsDir: string;
  workers: number;
  retryFailed?: boolean;
  failFast?: boolean;
  cwd?: string;
  /** The process that runs one trial; it must print the runner's --json events on stdout. */
  command(trial: Trial): ChildCommand;
  display: SweepDisplay;
  /** Grace period between asking a child to stop (SIGINT: checkpoint and exit) and SIGKILL. */
  stopGraceMs?: number;
}

export interface LocalRunResult {
  views: TrialView[];
  /** Whether the sweep stopped early (--fail-fast, or SIGINT/SIGTERM to the sweep). */
  stopped: boolean;
}

/**
 * Runs trials in up to `workers` child processes. Each trial is its own process so a crash,
 * an OOM kill or a hung backend costs that trial only; its run directory stays resumable and
 * the next invocation picks it up (unfinished runs resume, finished ones are skipped).
 */
export async function runLocal(opts: LocalRunOptions): Promise<LocalRunResult> {
  const views: TrialView[] = opts.trials.map((trial) => ({ trial, status: 'queued', step: 0, totalSteps: 0 }));
  const queue: TrialView[] = [];
  for (const view of views) {
    const meta = await readRunMeta(path.join(opts.specResultsDir, view.trial.id));
    if (meta) {
      view.step = meta.step ?? 0;
      view.totalSteps = meta.totalSteps ?? 0;
    }
    if (meta?.status === 'done') {
      view.status = 'done';
      view.note = 'finished already';
    } else if (meta?.status === 'failed' && !opts.retryFailed) {
      view.status = 'failed';
      view.note = `failed earlier${meta.error ? `: ${meta.error}` : ''} (--retry-failed retries it)`;
    } else {
      queue.push(view);
    }
  }
  opts.display.start(views);
  for (const v of views) if (v.status !== 'queued') opts.display.change(v, 'skip');

  const running = new Map<TrialView, ChildProcess>();
  let stopped = false;
  const grace = opts.stopGraceMs ?? 30_000;
  const stopAll = () => {
    if (stopped) return;
    stopped = true;
    for (const [, child] of running) stopChild(child, grace);
  };
  const onSignal = () => stopAll();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const worker = async () => {
    for (;;) {
      if (stopped) return;
      const view = queue.shift();
      if (!view) return;
      await runTrial(view, opts, running);
      if (view.status === 'failed' && opts.failFast) stopAll();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, worker));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  for (const v of queue) v.note = stopped ? 'not started (sweep stopped)' : v.note;
  opts.display.finish(views);
  return { views, stopped };
}

function stopChild(child: ChildProcess, graceMs: number) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  timer.unref();
  child.once('exit', () => clearTimeout(timer));
}

async function runTrial(view: TrialView, opts: LocalRunOptions, running: Map<TrialView, ChildProcess>): Promise<void> {
  const { file, args, env } = opts.command(view.trial);
  view.status = 'running';
  view.startedAt = Date.now();
  view.note = undefined;
  const child = spawn(file, args, { cwd: opts.cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  view.pid = child.pid;
  running.set(view, child);
  opts.display.change(view, 'start');

  let endEvent: { status?: string; error?: string } | undefined;
  const stderrTail: string[] = [];
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));

  const lines = (stream: NodeJS.ReadableStream, onLine: (line: string) => void) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    stream.on('end', () => buf && onLine(buf));
  };
  lines(child.stdout!, (line) => {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (event.runId !== undefined && event.runId !== view.trial.id) return;
    switch (event.type) {
      case 'run-start':
        view.totalSteps = Number(event.totalSteps) || view.totalSteps;
        view.step = Number(event.resumeStep) || 0;
        opts.display.change(view, 'progress');
        break;
      case 'step':
        view.step = Number(event.step);
        view.totalSteps = Number(event.totalSteps) || view.totalSteps;
        view.etaSec = typeof event.etaSec === 'number' ? event.etaSec : undefined;
        if (typeof event.loss === 'number') view.loss = event.loss;
        if (typeof event.accuracy === 'number') view.accuracy = event.accuracy;
        if (typeof event.imagesPerSec === 'number') view.imagesPerSec = event.imagesPerSec;
        opts.display.change(view, 'progress');
        break;
      case 'run-end':
        endEvent = { status: String(event.status), error: event.error as string | undefined };
        break;
    }
  });
  lines(child.stderr!, (line) => {
    if (!line.trim()) return;
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
  });

  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  running.delete(view);
  view.endedAt = Date.now();
  view.pid = undefined;

  // The run directory is the truth; the exit code and events only explain a failure.
  const meta = await readRunMeta(path.join(opts.specResultsDir, view.trial.id)).catch(() => undefined);
  if (meta) {
    view.step = meta.step ?? view.step;
    view.totalSteps = meta.totalSteps ?? view.totalSteps;
  }
  if (meta?.status === 'done') {
    view.status = 'done';
  } else if (meta?.status === 'interrupted' || (exit.signal === 'SIGINT' && !endEvent?.error)) {
    view.status = 'interrupted';
    view.note = 'interrupted; rerun to resume';
  } else {
    view.status = 'failed';
    view.note = failureReason(exit, endEvent, meta?.error, stderrTail, spawnError, Boolean(meta));
  }
  opts.display.change(view, 'end');
}

function failureReason(
  exit: { code: number | null; signal: NodeJS.Signals | null },
  end: { status?: string; error?: string } | undefined,
  metaError: string | undefined,
  stderrTail: string[],
  spawnError: Error | undefined,
  hasMeta: boolean,
): string {
  if (spawnError) return `could not start: ${spawnError.message}`;
  if (exit.signal) return `killed by ${exit.signal}; rerun to resume from its checkpoint`;
  const why = end?.error ?? metaError ?? stderrTail.filter((l) => !/^\s+at |^\(/.test(l)).slice(-1)[0];
  if (why) return why;
  if (exit.code === 0) return hasMeta ? 'the run did not finish' : 'the runner did not run this trial (no run directory)';
  return `exit code ${exit.code}`;
}
