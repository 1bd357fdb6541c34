#!/usr/bin/env node
// Stands in for `acnn run-dir <dir> [--json] [--force] ...` in the launcher tests, so they
// exercise process handling, resume and Slurm without training a network. It keeps the runner's
// contract (docs/design.md): it reads the run directory's config.json (written by the launcher),
// writes meta.json, metrics.jsonl and eval.json there; a finished run is skipped unless --force;
// an unfinished one resumes at its last saved step; JSON events on stdout. Its accuracy is a hash
// of the config, so any launcher gets the same; `fail: 1` in the config fails it at step 2, and
// `fakeStepMs` sets its step time (else FAKE_STEP_MS, else 100 ms). FAKE_STALL_RUN=<run id>: that run
// stalls after its first step until it is stopped or killed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
if (args[0] !== 'run-dir') throw new Error(`fake runner: expected 'run-dir', got ${args[0]}`);
const dir = args[1];
const force = args.includes('--force');
const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
const id = path.basename(dir);
const name = path.basename(path.dirname(dir));
const steps = Number(process.env.FAKE_STEPS ?? 5);
const stepMs = Number(config.fakeStepMs ?? process.env.FAKE_STEP_MS ?? 100);
const emit = (e) => process.stdout.write(JSON.stringify({ ...e, runId: id, time: new Date().toISOString() }) + '\n');
const write = (file, value) => {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
};
const metaFile = path.join(dir, 'meta.json');
const prior = fs.existsSync(metaFile) ? JSON.parse(fs.readFileSync(metaFile, 'utf8')) : undefined;
if (prior?.status === 'done' && !force) {
  emit({ type: 'run-skip', reason: 'finished already' });
  process.exit(0);
}
const start = prior && prior.status !== 'done' && !force ? prior.step : 0;
fs.appendFileSync(path.join(dir, 'invocations.log'), `${new Date().toISOString()} pid ${process.pid}${force ? ' force' : ''} from ${start}\n`);
const meta = { runId: id, spec: name, status: 'running', step: start, totalSteps: steps, host: os.hostname(), pid: process.pid, startedAt: new Date().toISOString() };
write(metaFile, meta);
emit({ type: 'run-start', label: id, index: 0, total: 1, totalSteps: steps, resumeStep: start });

const canonical = (v) =>
  Array.isArray(v) ? `[${v.map(canonical).join(',')}]` : v && typeof v === 'object' ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}` : JSON.stringify(v);
let h = 2166136261;
for (const c of canonical(config)) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
const accuracy = (h % 1000) / 1000;

// A step's "work" is a wait that a stop request cuts short, as the real runner stops after its step.
let stop = false;
let wake = () => {};
const onStop = () => {
  stop = true;
  wake();
};
process.on('SIGINT', onStop);
process.on('SIGTERM', onStop);
for (let step = start + 1; step <= steps; step++) {
  const stall = process.env.FAKE_STALL_RUN === id && step > 1;
  if (!stop) await new Promise((r) => ((wake = r), setTimeout(r, stall ? 600_000 : stepMs)));
  if ((config.fail === 1 || config.fail === true) && step === 2) {
    write(metaFile, { ...meta, step: step - 1, status: 'failed', error: 'fake failure', endedAt: new Date().toISOString() });
    emit({ type: 'run-end', status: 'failed', error: 'fake failure' });
    process.exit(1);
  }
  fs.appendFileSync(path.join(dir, 'metrics.jsonl'), JSON.stringify({ step, loss: 1 / step, time: Date.now() }) + '\n');
  write(metaFile, { ...meta, step });
  emit({ type: 'step', step, totalSteps: steps, loss: 1 / step, accuracy, lr: 0.01, imagesPerSec: 10, etaSec: ((steps - step) * stepMs) / 1000 });
  if (stop) {
    write(metaFile, { ...meta, step, status: 'interrupted' });
    emit({ type: 'run-end', status: 'interrupted' });
    process.exit(130);
  }
}
write(path.join(dir, 'eval.json'), { tests: { clean: { accuracy, n: 100, stderr: 0.01 }, occluded: { accuracy: accuracy / 2, n: 100, stderr: 0.01 } } });
write(metaFile, { ...meta, step: steps, status: 'done', endedAt: new Date().toISOString() });
emit({ type: 'run-end', status: 'done' });
