/**
 * Finished run directories written directly (real files, the layout train/run-one.ts writes),
 * with chosen accuracies and gate diagnostics, so report tests can check exact numbers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createCanvas } from '@napi-rs/canvas';
import { loadSpec, expandRuns, type PlannedRun } from '../../src/spec/index.js';

export const CLASSES = ['neutral', 'anger', 'disgust', 'fear', 'happy', 'sad', 'surprise'];

/** Two variants and gACNN, two seeds each: 6 runs (one of them left unfinished by the tests). */
export function writeReportSpec(dir: string): string {
  const file = path.join(dir, 'rep.yaml');
  writeFileSync(
    file,
    `# A small spec for report tests.
# Second comment line.
name: rep
description: Report fixture.
datasets:
  synthetic: {format: synthetic, train: 48, test: 70, seed: 3, imageSize: 32}
model: {backbone: vgg16, inputSize: 32, width: 0.125}
train:
  data: [{dataset: synthetic, split: train}]
  occlusion: {ratio: 0.5, protocol: random-square}
  iterations: 10
  logEvery: 2
test:
  clean: {dataset: synthetic, split: test}
  occluded: {dataset: synthetic, split: test, occlusion: {protocol: random-square, seed: 5}}
seeds: [1, 2]
runs:
  - {tags: {row: VGG16}, set: {model.variant: base}}
  - {tags: {row: pACNN}, set: {model.variant: pacnn}}
  - {tags: {row: gACNN}, set: {model.variant: gacnn}}
table:
  id: rep
  title: "Report fixture table"
  rows:
    - {name: VGG16, where: {model.variant: base}}
    - {name: pACNN, where: {model.variant: pacnn}}
    - {name: gACNN, where: {model.variant: gacnn}}
    - {name: GAN-Inpainting}
  columns:
    - {name: clean, metric: clean.accuracy}
    - {name: occluded, metric: occluded.accuracy}
  paper:
    VGG16: {clean: 80.96, occluded: 75.26}
    pACNN: {clean: 83.27, occluded: 78.05}
    gACNN: {clean: 85.07, occluded: 80.54}
    GAN-Inpainting: {clean: 81.87, occluded: 75.66}
`,
  );
  return file;
}

export async function plannedRuns(specFile: string): Promise<PlannedRun[]> {
  return expandRuns(await loadSpec(specFile));
}

/** A 7x7 confusion of 10 faces per class with `correct` right answers in all (spread over the classes). */
export function confusion(correct: number): number[][] {
  const m = CLASSES.map(() => CLASSES.map(() => 0));
  for (let i = 0; i < 7; i++) {
    const right = Math.floor(correct / 7) + (i < correct % 7 ? 1 : 0);
    m[i][i] = right;
    m[i][(i + 1) % 7] = 10 - right;
  }
  return m;
}

export interface TestSpec {
  correct: number;
  /** Gate diagnostics: alpha AUC and norm AUC on the occluded set (100 of 200 patches covered). */
  alphaAuc?: number;
  normAuc?: number;
  globalClean?: number;
  globalOccluded?: number;
}

function testResult(t: TestSpec, occluded: boolean, gated: boolean, patchVariant: boolean) {
  const n = 70;
  const acc = t.correct / n;
  const conf = confusion(t.correct);
  const result: Record<string, unknown> = {
    accuracy: acc,
    n,
    stderr: Math.sqrt((acc * (1 - acc)) / n),
    meanClassAccuracy: acc,
    loss: 1.5,
    perClass: Object.fromEntries(CLASSES.map((c, i) => [c, conf[i][i] / 10])),
    confusion: conf,
  };
  if (!patchVariant) return result;
  const hist = (peak: number) => Array.from({ length: 20 }, (_, i) => (i === peak ? 60 : i === peak + 1 ? 40 : 0));
  const patches: Record<string, unknown> = {};
  if (gated) patches.meanAlpha = 0.5;
  if (t.globalClean !== undefined) patches.meanAlphaGlobal = occluded ? t.globalOccluded : t.globalClean;
  if (occluded) {
    const score = (auc: number, covered: number, uncovered: number) => ({ meanCovered: covered, meanUncovered: uncovered, auc, spearman: 0.1 });
    patches.occlusion = {
      threshold: 0.5,
      patches: 200,
      covered: 100,
      meanCoverage: 0.4,
      norm: score(t.normAuc ?? 0.5, 2, 1.5),
      ...(gated ? { alpha: { ...score(t.alphaAuc ?? 0.5, 0.4, 0.6), histogram: { bins: 20, covered: hist(7), uncovered: hist(11) } } } : {}),
    };
  }
  result.patches = patches;
  return result;
}

export interface RunSpec {
  clean: TestSpec;
  occluded: TestSpec;
  /** Leave the run unfinished (meta status running, no eval.json). */
  unfinished?: boolean;
}

/** Writes one run directory: config, meta, metrics (with eval rows), eval, samples for gated variants. */
export async function writeRunDir(resultsDir: string, run: PlannedRun, spec: RunSpec, specName = 'rep'): Promise<string> {
  const dir = path.join(resultsDir, specName, run.id);
  mkdirSync(dir, { recursive: true });
  const cfg = run.config as unknown as { model: { variant: string }; train: { seed: number } };
  const variant = cfg.model.variant;
  const gated = variant === 'pacnn' || variant === 'gacnn';
  const seed = cfg.train.seed;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify(run.config, null, 2));
  const meta = {
    runId: run.id,
    spec: specName,
    status: spec.unfinished ? 'running' : 'done',
    step: spec.unfinished ? 4 : 10,
    totalSteps: 10,
    backend: { name: 'wasm', version: '4.22.0', device: 'WebAssembly SIMD, 1 thread' },
    versions: { acnn: '0.1.0', node: '20.0.0' },
    git: '0123456789abcdef0123456789abcdef01234567',
    host: 'testhost',
    startedAt: `2026-01-0${run.index + 1}T10:00:00.000Z`,
    endedAt: `2026-01-0${run.index + 1}T10:01:30.000Z`,
    trainSeconds: 80,
  };
  writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta, null, 2));
  const rows: Record<string, number>[] = [];
  for (let step = 2; step <= 10; step += 2) {
    rows.push({ step, loss: 2 - step / 10 - seed / 100, accuracy: 0.1 + step / 50, lr: 0.001, imagesPerSec: 10 });
    if (step === 6) rows.push({ step, 'eval.clean.accuracy': 0.3, 'eval.occluded.accuracy': 0.25 });
  }
  writeFileSync(path.join(dir, 'metrics.jsonl'), rows.map((r) => JSON.stringify(r) + '\n').join(''));
  if (spec.unfinished) return dir;
  const patchVariant = variant !== 'base' && variant !== 'dlpcnn';
  const tests = { clean: testResult(spec.clean, false, gated, patchVariant), occluded: testResult(spec.occluded, true, gated, patchVariant) };
  writeFileSync(path.join(dir, 'eval.json'), JSON.stringify({ tests }, null, 2));
  if (gated) for (const test of ['clean', 'occluded']) writeSamples(dir, test, test === 'occluded', variant === 'gacnn');
  return dir;
}

function writeSamples(dir: string, test: string, occluded: boolean, global: boolean): void {
  mkdirSync(path.join(dir, 'samples'), { recursive: true });
  const samples = [];
  for (let i = 0; i < 8; i++) {
    const canvas = createCanvas(32, 32);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = `rgb(${40 + 20 * i},120,160)`;
    ctx.fillRect(0, 0, 32, 32);
    if (occluded) {
      ctx.fillStyle = '#000000';
      ctx.fillRect(0, 16, 16, 16);
    }
    const image = `${test}-${i}.png`;
    writeFileSync(path.join(dir, 'samples', image), canvas.toBuffer('image/png'));
    const points = Array.from({ length: 48 }, (_, k) => 4 + ((k * 7) % 24));
    samples.push({
      id: `synthetic:3:test:${i}`,
      label: i % 7,
      pred: (i * 2) % 7,
      image,
      points,
      window: 8,
      corners: points.map((p) => Math.round(p / 8 - 0.5) * 8),
      alpha: Array.from({ length: 24 }, (_, r) => (r % 5) / 4),
      ...(global ? { alphaGlobal: 0.4 } : {}),
      ...(occluded ? { coverage: Array.from({ length: 24 }, (_, r) => (r < 6 ? 1 : 0)) } : {}),
    });
  }
  writeFileSync(path.join(dir, 'samples', `${test}.json`), JSON.stringify({ test, samples }, null, 2));
}
