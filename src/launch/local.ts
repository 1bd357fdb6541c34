import { spawn, type ChildProcess } from 'node:child_process';
import { RunDir, type RunMeta } from '../rundir/index.js';
import { acnnCommand, runDirArgs } from './child.js';
import { sameMeta, selectJobs } from './jobs.js';
import type { JobView, LaunchDisplay, LaunchResult, Launcher, RunFlags, RunJob, SelectOptions } from './types.js';

export interface LocalLauncherOptions {
  /** Jobs at once, each in its own process. */
  workers: number;
  display: LaunchDisplay;
  /** Stop every running job (they checkpoint) and start no more at the first failure. */
  failFast?: boolean;
  cwd?: string;
  /** The program that runs a job, `<program...> run-dir <dir> --json <flags>` (default: this acnn); its --json events tell progress. */
  program?: string[];
  env?: NodeJS.ProcessEnv;
  /** Grace period between asking a child to stop (SIGINT: checkpoint and exit) and SIGKILL. */
  stopGraceMs?: number;
}

/**
 * Runs jobs in up to `workers` child processes. Each job is its own process so a crash, an OOM
 * kill or a hung backend costs that job only; its run directory stays resumable and the next
 * launch picks it up (unfinished runs resume, finished ones are skipped).
 */
export class LocalLauncher implements Launcher {
  constructor(private readonly o: LocalLauncherOptions) {}

  async launch(jobs: RunJob[], flags: RunFlags, select: SelectOptions = {}): Promise<LaunchResult> {
    const { views, toRun } = await selectJobs(jobs, flags, select);
    const queue = [...toRun];
    const display = this.o.display;
    display.start(views);
    for (const v of views) if (!toRun.includes(v)) display.change(v, 'skip');

    const running = new Map<JobView, ChildProcess>();
    let stopped = false;
    const grace = this.o.stopGraceMs ?? 30_000;
    const stopAll = () => {
      if (stopped) return;
      stopped = true;
      for (const [, child] of running) stopChild(child, grace);
    };
    process.on('SIGINT', stopAll);
    process.on('SIGTERM', stopAll);
    const worker = async () => {
      for (;;) {
        if (stopped) return;
        const view = queue.shift();
        if (!view) return;
        await this.runJob(view, flags, running);
        if (view.status === 'failed' && this.o.failFast) stopAll();
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, this.o.workers) }, worker));
    } finally {
      process.off('SIGINT', stopAll);
      process.off('SIGTERM', stopAll);
    }
    if (stopped) for (const v of queue) v.note = 'not started (stopped)';
    display.finish(views);
    return { views, stopped };
  }

  private async runJob(view: JobView, flags: RunFlags, running: Map<JobView, ChildProcess>): Promise<void> {
    const dir = new RunDir(view.job.dir);
    const before = await dir.readMeta().catch(() => undefined);
    const [file, ...pre] = this.o.program ?? acnnCommand();
    view.status = 'running';
    view.startedAt = Date.now();
    view.note = undefined;
    const child = spawn(file, [...pre, ...runDirArgs(view.job.dir, flags, true)], { cwd: this.o.cwd, env: this.o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    view.pid = child.pid;
    running.set(view, child);
    this.o.display.change(view, 'start');

    const watched = watchChild(child, view, () => this.o.display.change(view, 'progress'));
    const exit = await new Promise<ChildExit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    running.delete(view);
    view.endedAt = Date.now();
    view.pid = undefined;

    // The run directory is the truth; the exit code and events only explain a failure. A meta.json
    // this child did not write (it died first) says nothing about this launch when it was forced.
    const meta = await dir.readMeta().catch(() => undefined);
    const fresh = !flags.force || !sameMeta(before, meta);
    if (meta) {
      view.step = meta.step ?? view.step;
      view.totalSteps = meta.totalSteps ?? view.totalSteps;
    }
    if (meta?.status === 'done' && fresh) {
      view.status = 'done';
    } else if ((meta?.status === 'interrupted' && fresh) || (exit.signal === 'SIGINT' && !watched.end?.error)) {
      view.status = 'interrupted';
      view.note = 'interrupted; rerun to resume';
    } else {
      view.status = 'failed';
      view.note = failureReason(exit, watched, fresh ? meta : undefined);
    }
    this.o.display.change(view, 'end');
  }
}

interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Watched {
  end?: { status?: string; error?: string };
  stderrTail: string[];
  spawnError?: Error;
}

/** Follows the child's --json events into the view; keeps the end of its stderr to explain a failure. */
function watchChild(child: ChildProcess, view: JobView, onProgress: () => void): Watched {
  const w: Watched = { stderrTail: [] };
  child.on('error', (err) => (w.spawnError = err));
  lines(child.stdout!, (line) => {
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (event.runId !== undefined && event.runId !== view.job.runId) return;
    switch (event.type) {
      case 'run-start':
        view.totalSteps = Number(event.totalSteps) || view.totalSteps;
        view.step = Number(event.resumeStep) || 0;
        onProgress();
        break;
      case 'step':
        view.step = Number(event.step);
        view.totalSteps = Number(event.totalSteps) || view.totalSteps;
        view.etaSec = typeof event.etaSec === 'number' ? event.etaSec : undefined;
        if (typeof event.loss === 'number') view.loss = event.loss;
        if (typeof event.accuracy === 'number') view.accuracy = event.accuracy;
        if (typeof event.imagesPerSec === 'number') view.imagesPerSec = event.imagesPerSec;
        onProgress();
        break;
      case 'run-skip':
        w.end = { status: 'skipped', error: typeof event.reason === 'string' ? event.reason : undefined };
        break;
      case 'run-end':
        w.end = { status: String(event.status), error: event.error as string | undefined };
        break;
    }
  });
  lines(child.stderr!, (line) => {
    if (!line.trim()) return;
    w.stderrTail.push(line);
    if (w.stderrTail.length > 20) w.stderrTail.shift();
  });
  return w;
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
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
}

function stopChild(child: ChildProcess, graceMs: number) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  timer.unref();
  child.once('exit', () => clearTimeout(timer));
}

function failureReason(exit: ChildExit, w: Watched, meta: RunMeta | undefined): string {
  if (w.spawnError) return `could not start: ${w.spawnError.message}`;
  if (exit.signal) return `killed by ${exit.signal}; rerun to resume from its checkpoint`;
  const why = w.end?.error ?? meta?.error ?? w.stderrTail.filter((l) => !/^\s+at |^\(/.test(l)).slice(-1)[0];
  if (why) return why;
  if (exit.code === 0) return meta ? 'the run did not finish' : 'the runner did not run this job (no run directory)';
  return `exit code ${exit.code}`;
}
