import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runLabel, type PlannedRun } from '../spec/index.js';
import { buildModel } from '../model/index.js';
import { regionPoints } from '../model/regions.js';
import { VARIANTS } from '../model/arch.js';
import { saveCheckpoint, loadCheckpoint, CheckpointWriteError } from '../model/checkpoint.js';
import { loadPretrained } from '../model/pretrained.js';
import type { AcnnModel } from '../model/types.js';
import { CLASSES as CLASS_NAMES, type Batch } from '../data/types.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic.js';
import { deriveSeed } from '../util/rng.js';
import type { BackendInfo } from '../engine/backend.js';
import { acquireRunLock, RunDir, type RunMeta, type EvalFile, type InitRecord, type AttentionSample } from '../rundir/index.js';
import { checkpointExists } from './checkpoint-dir.js';
import { checkResumeData } from './data-fingerprint.js';
import { encodeImage } from '../data/images.js';
import type { RunInit } from './run-init.js';
import { sha256File } from '../weights/store.js';
import { createOptimizer, type Optimizer } from './sgd.js';
import { learningRate, type LrPolicy } from './metrics.js';
import { evaluateTestSet, type Evaluation } from './evaluate.js';
import type { Reporter } from './progress.js';
import { modelOptionsOf, totalSteps, type RunData } from './run-config.js';
import { runVersions, gitCommit } from './provenance.js';
import { gateSupervisionLoss, patchCoverage, patchGeometry, type PatchGeometry } from './patch-coverage.js';

export interface RunOneOptions {
  resultsDir: string;
  specName: string;
  backend: BackendInfo;
  reporter: Reporter;
  data: RunData;
  index: number;
  total: number;
  force?: boolean;
  /** The spec file as the user named it (for the commands messages suggest). */
  specFile?: string;
  /** Set by the SIGINT handler: finish the current step, checkpoint, stop. */
  shouldStop: () => boolean;
}

export type RunOutcome = 'done' | 'skipped' | 'interrupted' | 'failed';

/** Stops a run whose loss is no longer a number; the last good checkpoint stays. */
export class NonFiniteLossError extends Error {}

/** Stops a run whose checkpoint could not be written (a full disk); the previous checkpoint stays. */
export class CheckpointSaveError extends Error {}

/**
 * One run, start to finish: lock, resume from the last checkpoint, train, evaluate, write
 * results. Everything it writes is atomic, so a kill at any point leaves a resumable directory.
 */
export async function runOne(run: PlannedRun, opts: RunOneOptions): Promise<RunOutcome> {
  const dir = RunDir.for(opts.resultsDir, opts.specName, run.id);
  if ((await dir.readMeta())?.status === 'done' && !opts.force) {
    opts.reporter.emit({ type: 'run-skip', runId: run.id, reason: 'finished already' });
    return 'skipped';
  }
  const lock = await acquireRunLock(dir.dir);
  // Another process took the lock over (this one stalled past the lock's staleness): stop
  // without writing anything more into what is now its run directory.
  const shouldStop = () => {
    if (lock.lost) throw new LockLostError(`${dir.dir}: the run lock was taken over by another process (${lock.lost.message}); stopped`);
    return opts.shouldStop();
  };
  try {
    // Read again under the lock: another process may have finished the run meanwhile.
    const prior = await dir.readMeta();
    if (prior?.status === 'done' && !opts.force) {
      opts.reporter.emit({ type: 'run-skip', runId: run.id, reason: 'finished already (by another process)' });
      return 'skipped';
    }
    return await trainAndEvaluate(run, dir, prior, { ...opts, shouldStop });
  } finally {
    await lock.release();
  }
}

export class LockLostError extends Error {}

async function trainAndEvaluate(run: PlannedRun, dir: RunDir, prior: RunMeta | undefined, opts: RunOneOptions): Promise<RunOutcome> {
  const cfg = run.config;
  const steps = totalSteps(cfg, opts.data.train.samples.length);
  const resume = !opts.force && prior && prior.status !== 'done' && (await checkpointExists(dir.checkpointDir));
  if (resume && opts.data.fingerprint) {
    checkResumeData({ runId: run.id, runDir: dir.dir, specFile: opts.specFile ?? opts.specName, step: prior!.checkpointStep ?? prior!.step }, prior!.data, opts.data.fingerprint);
  }
  const meta: RunMeta = {
    runId: run.id,
    spec: opts.specName,
    status: 'running',
    step: 0,
    totalSteps: steps,
    backend: { name: opts.backend.name, version: opts.backend.tfjsVersion, device: opts.backend.device },
    versions: runVersions(),
    git: gitCommit(),
    host: os.hostname(),
    pid: process.pid,
    startedAt: resume ? prior!.startedAt : new Date().toISOString(),
    trainSeconds: resume ? (prior!.trainSeconds ?? 0) : 0,
    resumedFrom: resume ? [...(prior!.resumedFrom ?? [])] : [],
    ...(opts.data.fingerprint ? { data: opts.data.fingerprint } : {}),
  };
  await dir.writeConfig(cfg);

  const seed = cfg.train.seed;
  const model = buildModel(modelOptionsOf(cfg), deriveSeed(seed, 'init'));
  meta.execution = model.execution;
  const sgd = createOptimizer(cfg.train.optimizer, cfg.train.momentum, cfg.train.weightDecay);
  let startStep = 0;
  let position: unknown;
  try {
    if (resume) {
      const ckpt = await loadCheckpoint(dir.checkpointDir, model);
      sgd.load(new Map(ckpt.optimizer.map((t) => [t.name, t.tensor])), model.trainableVariables());
      for (const t of ckpt.optimizer) t.tensor.dispose();
      const state = ckpt.meta as { step: number; position: unknown };
      startStep = state.step;
      position = state.position;
      meta.resumedFrom!.push(startStep);
      await dir.truncateMetrics(startStep);
    } else {
      await dir.truncateMetrics(0);
      const init = await initialise(model, opts.data.init);
      if (init) {
        meta.init = init;
        for (const line of describeInit(init)) opts.reporter.emit({ type: 'note', runId: run.id, message: line });
      }
    }
    meta.step = startStep;
    await dir.writeMeta(meta);
    opts.reporter.emit({
      type: 'run-start',
      runId: run.id,
      label: runLabel(run),
      index: opts.index,
      total: opts.total,
      totalSteps: steps,
      resumeStep: startStep,
    });

    const stopped = await trainLoop(run, model, sgd, dir, meta, opts, startStep, steps, position);
    if (stopped) {
      meta.status = 'interrupted';
      await dir.writeMeta(meta);
      opts.reporter.emit({ type: 'run-end', runId: run.id, status: 'interrupted' });
      return 'interrupted';
    }

    const evalFile: EvalFile = { tests: {} };
    for (const [name, testData] of Object.entries(opts.data.tests)) {
      const { result, samples } = await evaluateTestSet(model, testData, cfg.model.inputSize, cfg.train.batchSize);
      evalFile.tests[name] = result;
      await writeFileAtomic(dir.confusionFile(name), confusionCsv(result.confusion));
      await writeSamples(dir, name, samples, cfg.model.inputSize);
      opts.reporter.emit({ type: 'eval', runId: run.id, test: name, accuracy: result.accuracy, n: result.n });
    }
    await dir.writeEval(evalFile);
    meta.status = 'done';
    meta.endedAt = new Date().toISOString();
    await dir.writeMeta(meta);
    opts.reporter.emit({
      type: 'run-end',
      runId: run.id,
      status: 'done',
      results: Object.fromEntries(Object.entries(evalFile.tests).map(([k, v]) => [`${k}.accuracy`, v.accuracy])),
    });
    return 'done';
  } catch (err) {
    if (err instanceof LockLostError) throw err;
    meta.status = 'failed';
    meta.error = err instanceof Error ? err.message : String(err);
    meta.endedAt = new Date().toISOString();
    // On a full disk this write may fail too: the error that stopped the run is the one to report.
    await dir.writeMeta(meta).catch(() => undefined);
    opts.reporter.emit({ type: 'run-end', runId: run.id, status: 'failed', error: meta.error });
    if (err instanceof NonFiniteLossError || err instanceof CheckpointSaveError) return 'failed';
    throw err;
  } finally {
    sgd.dispose();
    model.dispose();
  }
}

/** Loads the weights a run starts from (resolved before training by run-init.ts). */
async function initialise(model: AcnnModel, init: RunInit | undefined): Promise<InitRecord | undefined> {
  if (!init?.pretrained && !init?.checkpoint) return undefined;
  const record: InitRecord = {};
  if (init.pretrained) {
    const r = await loadPretrained(model, init.pretrained.file);
    record.pretrained = { ...init.pretrained, sha256: await sha256File(init.pretrained.file), ...r };
  }
  if (init.checkpoint) {
    // The other run's model, every variable; its optimizer state is not carried over.
    const ckpt = await loadCheckpoint(init.checkpoint.dir, model);
    for (const t of ckpt.optimizer) t.tensor.dispose();
    record.checkpoint = { ...init.checkpoint };
  }
  return record;
}

function describeInit(init: InitRecord): string[] {
  const out: string[] = [];
  const p = init.pretrained;
  if (p) {
    out.push(`initialised from ${p.source} (${p.file}): ${p.loaded.length} layers loaded, ${p.fresh.length} new`);
    for (const s of p.skipped) out.push(`  skipped ${s.layer}: ${s.reason}`);
  }
  if (init.checkpoint) out.push(`initialised from ${init.checkpoint.source} (${init.checkpoint.dir})`);
  return out;
}

/** Returns true when stopped early by a signal (after checkpointing). */
async function trainLoop(
  run: PlannedRun,
  model: AcnnModel,
  sgd: Optimizer,
  dir: RunDir,
  meta: RunMeta,
  opts: RunOneOptions,
  startStep: number,
  steps: number,
  position: unknown,
): Promise<boolean> {
  const cfg = run.config;
  const t = cfg.train;
  const seed = t.seed;
  const accumulate = t.accumulate ?? 1;
  const loader = opts.data.train.createLoader(position);
  const variables = model.trainableVariables();
  const inputSize = cfg.model.inputSize;
  const gateWeight = t.gateSupervision?.weight ?? 0;
  const gateLoss: GateLoss | undefined = gateWeight > 0 && VARIANTS[model.options.variant].patchGate ? { weight: gateWeight, geometry: patchGeometry(model.options) } : undefined;
  const logEvery = t.logEvery ?? Math.max(1, Math.round(steps / 50));
  // 0 means "only at the end" for both.
  const checkpointEvery = t.checkpointEvery || steps;
  const evalEvery = t.evalEvery || 0;
  let lastCheckpointStep = startStep;
  let window = { loss: 0, correct: 0, seen: 0, started: performance.now() };
  let sessionStart = performance.now();

  const checkpoint = async (step: number) => {
    try {
      await saveCheckpoint(dir.checkpointDir, model, { optimizer: sgd.state(), meta: { runId: run.id, step, position: loader.position() } });
    } catch (err) {
      if (!(err instanceof CheckpointWriteError)) throw err;
      const kept = lastCheckpointStep > 0 ? `the last checkpoint (step ${lastCheckpointStep}) is kept in ${dir.checkpointDir}` : 'there is no earlier checkpoint';
      throw new CheckpointSaveError(`run ${run.id} stopped at step ${step}: ${err.message}; ${kept}. Free some space and run acnn run again to resume from it.`);
    }
    meta.step = step;
    meta.checkpointStep = step;
    meta.trainSeconds = (meta.trainSeconds ?? 0) + (performance.now() - sessionStart) / 1000;
    sessionStart = performance.now();
    await dir.writeMeta(meta);
    lastCheckpointStep = step;
    opts.reporter.emit({ type: 'checkpoint', runId: run.id, step });
  };

  // Losses and correct counts stay on the device until `settle` reads them in one go: every step
  // where a read-back is free (WebAssembly, plain JS), otherwise at logging steps and before
  // every checkpoint, so a non-finite loss is still caught before it can reach a checkpoint.
  const pending = new PendingLosses();
  const settleEveryStep = model.execution.readsAreFree;
  const settle = async () => {
    const { losses, correct, firstBad } = await pending.read();
    if (firstBad) {
      throw new NonFiniteLossError(
        `loss became ${firstBad.loss} at step ${firstBad.step} of run ${run.id}; stopped. The last good checkpoint (step ${lastCheckpointStep}) is kept. ` +
          `Try a lower train.lr (now ${t.lr}) or a warm-up (train.warmup).`,
      );
    }
    window.loss += losses.reduce((a, b) => a + b, 0);
    window.correct += correct;
  };

  try {
    for (let step = startStep; step < steps; step++) {
      const lr = learningRate(t.lr, t.lrPolicy as LrPolicy, step, steps, t.warmup ?? 0);
      let summed: Record<string, tf.Tensor> | undefined;
      const microLosses: tf.Scalar[] = [];
      const microCorrect: tf.Scalar[] = [];
      for (let micro = 0; micro < accumulate; micro++) {
        const batch = await loader.next();
        const { loss, correct, grads } = gradientStep(model, variables, batch, inputSize, deriveSeed(seed, 'dropout', step, micro), gateLoss);
        microLosses.push(loss);
        microCorrect.push(correct);
        window.seen += batch.size;
        if (!summed) summed = grads;
        else {
          for (const [name, g] of Object.entries(grads)) {
            const prev = summed[name];
            summed[name] = prev.add(g);
            prev.dispose();
            g.dispose();
          }
        }
      }
      pending.push(step + 1, microLosses, microCorrect);
      if (settleEveryStep) {
        try {
          await settle();
        } catch (err) {
          for (const g of Object.values(summed!)) g.dispose();
          throw err;
        }
      }
      if (accumulate > 1) {
        for (const name of Object.keys(summed!)) {
          const g = summed![name];
          summed![name] = g.div(accumulate);
          g.dispose();
        }
      }
      sgd.apply(variables, summed!, lr);
      for (const g of Object.values(summed!)) g.dispose();

      const done = step + 1;
      const logNow = done % logEvery === 0 || done === steps;
      const checkpointNow = opts.shouldStop() || done % checkpointEvery === 0 || done === steps;
      if (logNow || checkpointNow) await settle();
      if (logNow) {
        const seconds = (performance.now() - window.started) / 1000;
        const stepsInWindow = window.seen / (t.batchSize * accumulate);
        const row = {
          step: done,
          loss: window.loss / Math.max(1, stepsInWindow),
          accuracy: window.seen ? window.correct / window.seen : 0,
          lr,
          imagesPerSec: window.seen / Math.max(1e-9, seconds),
          // Live tensors: constant over a healthy run; growth means a leak in a training step.
          tensors: tf.memory().numTensors,
        };
        await dir.appendMetrics(row);
        // meta.step follows training for `acnn status`; checkpointStep says where a resume starts.
        meta.step = done;
        await dir.writeMeta(meta);
        opts.reporter.emit({ type: 'step', runId: run.id, totalSteps: steps, etaSec: ((steps - done) * seconds) / Math.max(1, stepsInWindow), ...row });
        window = { loss: 0, correct: 0, seen: 0, started: performance.now() };
      }
      if (opts.shouldStop()) {
        await checkpoint(done);
        return true;
      }
      if (evalEvery && done % evalEvery === 0 && done !== steps) {
        // A learning curve on the test sets; the final evaluation after training is the result.
        const row: Record<string, number> = { step: done };
        for (const [name, testData] of Object.entries(opts.data.tests)) {
          row[`eval.${name}.accuracy`] = (await evaluateTestSet(model, testData, inputSize, t.batchSize)).result.accuracy;
        }
        await dir.appendMetrics(row);
      }
      if (done % checkpointEvery === 0 || done === steps) await checkpoint(done);
    }
    return false;
  } finally {
    pending.dispose();
    await loader.close();
  }
}

/** Per-step losses (mean over micro-batches) and correct counts, kept on the device until read. */
class PendingLosses {
  private steps: { step: number; loss: tf.Scalar; correct: tf.Scalar }[] = [];

  push(step: number, microLosses: tf.Scalar[], microCorrect: tf.Scalar[]): void {
    const loss = microLosses.length === 1 ? microLosses[0] : (tf.tidy(() => tf.div(tf.addN(microLosses), microLosses.length)) as tf.Scalar);
    const correct = microCorrect.length === 1 ? microCorrect[0] : (tf.tidy(() => tf.addN(microCorrect)) as tf.Scalar);
    if (microLosses.length > 1) tf.dispose([...microLosses, ...microCorrect]);
    this.steps.push({ step, loss, correct });
  }

  /** One read-back for everything pending; the first non-finite loss, if any, with its step. */
  async read(): Promise<{ losses: number[]; correct: number; firstBad?: { step: number; loss: number } }> {
    if (this.steps.length === 0) return { losses: [], correct: 0 };
    const all = tf.tidy(() => tf.concat([tf.stack(this.steps.map((s) => s.loss)), tf.cast(tf.stack(this.steps.map((s) => s.correct)), 'float32')]));
    const values = (await all.data()) as Float32Array;
    all.dispose();
    const n = this.steps.length;
    const losses = Array.from(values.subarray(0, n));
    const correct = values.subarray(n).reduce((a, b) => a + b, 0);
    const bad = losses.findIndex((l) => !Number.isFinite(l));
    const firstBad = bad >= 0 ? { step: this.steps[bad].step, loss: losses[bad] } : undefined;
    this.dispose();
    return { losses, correct, firstBad };
  }

  dispose(): void {
    for (const s of this.steps) tf.dispose([s.loss, s.correct]);
    this.steps = [];
  }
}

/** Beyond the paper: the gate-supervision loss's weight and the patch geometry it needs. */
export interface GateLoss {
  weight: number;
  geometry: PatchGeometry;
}

/** Forward + backward on one micro-batch; the loss and the correct count stay on the device (caller disposes). */
function gradientStep(model: AcnnModel, variables: tf.Variable[], batch: Batch, inputSize: number, dropoutSeed: number, gateLoss?: GateLoss) {
  // Region centres rounded to whole pixels, as the released nets do (facts §1; regions.ts); they
  // come from host landmarks, so the crop needs no read-back.
  const points = regionPoints(batch.landmarks, inputSize);
  // Gate supervision pulls alpha towards the uncovered fraction of each patch window.
  const coverage = gateLoss ? patchCoverage(batch.occluderMasks, batch.size, inputSize, points, gateLoss.geometry) : undefined;
  let correct: tf.Scalar | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const images = tf.tensor4d(batch.images, [batch.size, inputSize, inputSize, 3]);
    const labels = tf.tensor1d(batch.labels, 'int32');
    const out = model.forward(images, points, true, labels, dropoutSeed);
    const onehot = tf.oneHot(labels, out.logits.shape[1]);
    let loss = tf.losses.softmaxCrossEntropy(onehot, out.logits) as tf.Scalar;
    if (out.auxLoss) loss = loss.add(out.auxLoss);
    if (gateLoss && coverage && out.alpha) loss = loss.add(gateSupervisionLoss(out.alpha, coverage, gateLoss.weight));
    out.patchNorms?.dispose();
    correct = tf.keep(tf.tidy(() => out.logits.argMax(1).equal(labels).sum() as tf.Scalar));
    return loss;
  }, variables);
  return { loss: value, correct: correct!, grads: grads as Record<string, tf.Tensor> };
}

/** The attention-map figure's input: the first test images as PNG and what the model did on them. */
async function writeSamples(dir: RunDir, test: string, samples: Evaluation['samples'], size: number): Promise<void> {
  const list: AttentionSample[] = [];
  for (const [i, { rgb, ...s }] of samples.entries()) {
    const image = `${test}-${i}.png`;
    await writeFileAtomic(path.join(dir.samplesDir, image), await encodeImage({ rgb, width: size, height: size }));
    list.push({ ...s, image });
  }
  await writeJsonAtomic(dir.samplesFile(test), { test, samples: list });
}

function confusionCsv(confusion: number[][]): string {
  const header = ['truth\\predicted', ...CLASS_NAMES].join(',');
  return [header, ...confusion.map((row, i) => [CLASS_NAMES[i], ...row].join(','))].join('\n') + '\n';
}
