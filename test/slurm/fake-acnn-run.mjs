#!/usr/bin/env node
// Stands in for `acnn run <spec> --only <id> --json --set k=v ...` in the sweep executor tests, so
// they exercise process handling, resume and Slurm without training a network. It keeps the
// runner's contract (docs/design.md): results/<spec>/<id>/ with meta.json, metrics.jsonl,
// eval.json; finished runs are skipped; an unfinished one resumes at its last saved step; JSON
// events on stdout. Its accuracy is a hash of the overrides, so any executor gets the same.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
if (args[0] !== 'run') throw new Error(`fake runner: expected 'run', got ${args[0]}`);
const specFile = args[1];
let only;
const sets = [];
for (let i = 2; i < args.length; i++) {
  if (args[i] === '--only') only = args[++i];
  else if (args[i] === '--set') sets.push(args[++i]);
}
const name = /^name:\s*(\S+)/m.exec(fs.readFileSync(specFile, 'utf8'))[1];
const steps = Number(process.env.FAKE_STEPS ?? 5);
const stepMs = Number(process.env.FAKE_STEP_MS ?? 100);
const dir = path.join('results', name, only);
fs.mkdirSync(dir, { recursive: true });
const emit = (e) => process.stdout.write(JSON.stringify({ ...e, runId: only, time: new Date().toISOString() }) + '\n');
const write = (file, value) => {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
};
const metaFile = path.join(dir, 'meta.json');
const prior = fs.existsSync(metaFile) ? JSON.parse(fs.readFileSync(metaFile, 'utf8')) : undefined;
if (prior?.status === 'done') {
  emit({ type: 'run-skip', reason: 'finished already' });
  process.exit(0);
}
fs.appendFileSync(path.join(dir, 'invocations.log'), `${new Date().toISOString()} pid ${process.pid} from ${prior?.step ?? 0}\n`);
const start = prior && prior.status !== 'done' ? prior.step : 0;
const meta = { runId: only, spec: name, status: 'running', step: start, totalSteps: steps, host: os.hostname(), pid: process.pid, startedAt: new Date().toISOString() };
write(metaFile, meta);
emit({ type: 'run-start', label: sets.join(' '), index: 0, total: 1, totalSteps: steps, resumeStep: start });

let h = 2166136261;
for (const c of [...sets].sort().join('|')) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
const accuracy = (h % 1000) / 1000;

let stop = false;
process.on('SIGINT', () => (stop = true));
process.on('SIGTERM', () => (stop = true));
for (let step = start + 1; step <= steps; step++) {
  await new Promise((r) => setTimeout(r, stepMs));
  if (sets.some((s) => /^fail=(1|true)$/.test(s)) && step === 2) {
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
