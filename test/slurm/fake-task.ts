// An array task for the Slurm test before/without the real runner: the production task path
// (runTask reading the manifest) with the fake runner as the trial's process.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTask, trialRunArgs } from '../../src/sweep/index.js';

const [manifest, index] = process.argv.slice(2);
const fake = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fake-acnn-run.mjs');
const code = await runTask(
  manifest,
  Number(index),
  (args) => ({ file: process.execPath, args: [fake, ...args] }),
  (t, m) => trialRunArgs({ id: t.runId, overrides: t.overrides }, { specFile: m.specFile, sets: m.sets, json: true }),
);
process.exit(code);
