/**
 * buildModel: turns a declarative description (arch.ts) into variables and a forward pass.
 * Every variable is one ParamSpec of describeModel, so parameter counts, checkpoints and
 * pretrained imports all speak the same names (conv4_2/kernel, roi7_conv1/bn/gamma, ...).
 */
import * as tf from '@tensorflow/tfjs';
import {
  ATTENTION,
  BACKBONES,
  DLP_PREFIX,
  GLOBAL_FEATURE,
  GLOBAL_PREFIX,
  NUM_PATCHES,
  UNIT_FEATURE,
  VARIANTS,
  baseClassifier,
  describeModel,
  unitBody,
  unitPrefix,
  type Description,
  type ParamSpec,
} from './arch.js';
import { cropCorners, cropPatches } from './crop.js';
import { type Act, type RunContext, runLayers } from './layers.js';
import { resolveExecution, type ExecutionInfo } from './execution.js';
import type { AcnnModel, ForwardOutput, ModelOptions, RegionPointsInput } from './types.js';
import { deriveSeed } from '../util/rng.js';

/** torchvision's ImageNet normalisation (images arrive in [0, 1]). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

export const DEFAULT_DLP = { k: 8, lpLoss: false, lambda: 0.003, neighbours: 20 };

let instances = 0;

function fanIn(shape: number[]): number {
  // Grouped kernels [G, in, out] (DLP parts) have fan-in `in`; conv kernels k*k*in; FC in.
  if (shape.length === 3) return shape[1];
  return shape.slice(0, -1).reduce((a, b) => a * b, 1);
}

function initValue(p: ParamSpec, seed: number): tf.Tensor {
  const s = deriveSeed(seed, 'init', p.name);
  switch (p.init) {
    case 'zeros':
      return tf.zeros(p.shape);
    case 'ones':
      return tf.ones(p.shape);
    case 'he':
      return tf.randomNormal(p.shape, 0, Math.sqrt(2 / fanIn(p.shape)), 'float32', s);
    case 'glorot': {
      const fi = fanIn(p.shape);
      const fo = p.shape[p.shape.length - 1];
      const lim = Math.sqrt(6 / (fi + fo));
      return tf.randomUniform(p.shape, -lim, lim, 'float32', s);
    }
  }
}

export class Model implements AcnnModel {
  readonly options: ModelOptions;
  readonly description: Description;
  /** The crop and PG-unit strategies this model runs with, and where they came from. */
  readonly execution: ExecutionInfo;
  private readonly vars = new Map<string, tf.Variable>();
  private readonly seed: number;
  private dropoutCalls = 0;

  constructor(options: ModelOptions, seed: number) {
    const dlp = options.variant === 'dlpcnn' ? { ...DEFAULT_DLP, ...(options.dlp ?? {}) } : options.dlp;
    // Chosen for the backend active now (tensors are made on it); a built model keeps its plan.
    this.execution = resolveExecution(tf.getBackend(), { crop: options.crop, pgUnits: options.pgUnits });
    this.options = { ...options, dlp, pgUnits: this.execution.pgUnits, crop: this.execution.crop };
    this.seed = seed;
    this.description = describeModel(this.options);
    const scope = `acnn${instances++}`;
    for (const p of this.description.params) {
      const v = p.classifier && options.classifierInit === 'zeros' ? tf.zeros(p.shape) : initValue(p, seed);
      this.vars.set(p.name, tf.variable(v, p.trainable, `${scope}/${p.name}`));
      v.dispose();
    }
  }

  trainableVariables(): tf.Variable[] {
    return [...this.vars.values()].filter((v) => v.trainable);
  }

  namedVariables(): Map<string, tf.Variable> {
    return new Map(this.vars);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }

  forward(images: tf.Tensor4D, points: RegionPointsInput, training: boolean, labels?: tf.Tensor1D, dropoutSeed?: number): ForwardOutput {
    let dropoutCall = 0;
    const o = this.options;
    const B = images.shape[0];
    if (images.shape[1] !== o.inputSize || images.shape[2] !== o.inputSize || images.shape[3] !== 3) {
      throw new RangeError(`forward: images must be [B, ${o.inputSize}, ${o.inputSize}, 3], got [${images.shape}]`);
    }
    const vd = VARIANTS[o.variant];
    const bb = BACKBONES[o.backbone];
    let corners: Int32Array | null = null;
    if (vd.patches) {
      const shape = points instanceof Float32Array ? [points.length] : points.shape;
      if (points instanceof Float32Array ? points.length !== B * NUM_PATCHES * 2 : shape[0] !== B || shape[1] !== NUM_PATCHES || shape[2] !== 2) {
        throw new RangeError(`forward: points must be [${B}, ${NUM_PATCHES}, 2] (or ${B * NUM_PATCHES * 2} floats), got [${shape}]`);
      }
      const host = points instanceof Float32Array ? points : (points.dataSync() as Float32Array);
      corners = cropCorners(host, this.description.mapSide, this.description.patchSide);
    }
    const lpFeature: { x?: tf.Tensor2D } = {};
    const ctx: RunContext = {
      width: o.width,
      numClasses: o.numClasses,
      training,
      dropout: o.dropout,
      param: (name) => {
        const v = this.vars.get(name);
        if (!v) throw new Error(`model has no variable '${name}'`);
        return v;
      },
      // A caller-given seed makes the masks a function of (seed, call order) alone, so a resumed
      // run draws the same masks as an uninterrupted one; otherwise a per-model counter.
      nextSeed: () => (dropoutSeed === undefined ? deriveSeed(this.seed, 'dropout', this.dropoutCalls++) : deriveSeed(dropoutSeed, 'dropout', dropoutCall++)),
    };
    const out = tf.tidy(() => {
      const x = tf.div(tf.sub(images, tf.tensor1d(IMAGENET_MEAN)), tf.tensor1d(IMAGENET_STD));
      const trunk = runLayers(ctx, bb.trunk, { x, G: 1, B }, ['']);
      const result: { logits?: tf.Tensor2D; alpha?: tf.Tensor2D; alphaGlobal?: tf.Tensor1D; patchNorms?: tf.Tensor2D } = {};
      if (!vd.head) {
        result.logits = runLayers(ctx, baseClassifier(o), trunk, ['']).x.reshape([B, o.numClasses]) as tf.Tensor2D;
        return result;
      }
      const feats: tf.Tensor2D[] = [];
      if (vd.patches && corners) {
        const { patchSide } = this.description;
        const patches = cropPatches(trunk.x as tf.Tensor4D, corners, NUM_PATCHES, patchSide, this.execution.crop);
        const { feature, alpha, norms } = this.patchUnits(ctx, patches, B, vd.patchGate);
        feats.push(feature);
        if (alpha) result.alpha = alpha;
        result.patchNorms = norms;
      }
      if (vd.global) {
        const g = runLayers(ctx, bb.global, trunk, ['']);
        let f = runLayers(ctx, GLOBAL_FEATURE, g, [GLOBAL_PREFIX]).x.reshape([B, -1]) as tf.Tensor2D;
        if (vd.globalGate) {
          const a = tf.sigmoid(runLayers(ctx, ATTENTION, g, [GLOBAL_PREFIX]).x).reshape([B]) as tf.Tensor1D;
          result.alphaGlobal = a;
          f = tf.mul(f, a.reshape([B, 1]));
        }
        feats.push(f);
      }
      if (vd.dlp) feats.push(this.dlpParts(ctx, trunk.x as tf.Tensor4D));
      const concat: Act = { x: (feats.length === 1 ? feats[0] : tf.concat(feats, 1)).reshape([1, B, -1]), G: 1, B };
      const head = vd.head;
      // The locality-preserving loss reads the penultimate feature (ReLU(FC 1024), before dropout).
      const split = head.findIndex((l) => l.type === 'dropout');
      const h1 = runLayers(ctx, head.slice(0, split), concat, ['']);
      if (vd.dlp) lpFeature.x = tf.keep(tf.relu(h1.x).reshape([B, -1]) as tf.Tensor2D);
      result.logits = runLayers(ctx, head.slice(split), h1, ['']).x.reshape([B, o.numClasses]) as tf.Tensor2D;
      return result;
    });
    const output: ForwardOutput = { logits: out.logits as tf.Tensor2D };
    if (out.alpha) output.alpha = out.alpha;
    if (out.alphaGlobal) output.alphaGlobal = out.alphaGlobal;
    if (out.patchNorms) output.patchNorms = out.patchNorms;
    if (lpFeature.x) {
      const dlp = o.dlp ?? DEFAULT_DLP;
      if (dlp.lpLoss && training && labels) {
        const x = lpFeature.x;
        output.auxLoss = localityPreservingLoss(x, labels, dlp.neighbours, dlp.lambda);
      }
      lpFeature.x.dispose();
    }
    return output;
  }

  private patchUnits(ctx: RunContext, patches: tf.Tensor4D, B: number, gate: boolean): { feature: tf.Tensor2D; alpha?: tf.Tensor2D; norms: tf.Tensor2D } {
    const bb = BACKBONES[this.options.backbone];
    const body = unitBody(bb.unitChannels);
    const prefixes = Array.from({ length: NUM_PATCHES }, (_, i) => unitPrefix(i));
    let psi: tf.Tensor; // [24, B, F]
    let alpha: tf.Tensor | undefined; // [24, B]
    if (this.execution.pgUnits === 'loop') {
      const psis: tf.Tensor[] = [];
      const alphas: tf.Tensor[] = [];
      const [, P, , C] = patches.shape;
      for (let i = 0; i < NUM_PATCHES; i++) {
        const p = tf.slice(patches, [i * B, 0, 0, 0], [B, P, P, C]);
        const h = runLayers(ctx, body, { x: p, G: 1, B }, [prefixes[i]]);
        psis.push(runLayers(ctx, UNIT_FEATURE, h, [prefixes[i]]).x);
        if (gate) alphas.push(runLayers(ctx, ATTENTION, h, [prefixes[i]]).x.reshape([1, B]));
      }
      psi = tf.concat(psis, 0);
      if (gate) alpha = tf.sigmoid(tf.concat(alphas, 0));
    } else {
      const h = runLayers(ctx, body, { x: patches, G: NUM_PATCHES, B }, prefixes);
      psi = runLayers(ctx, UNIT_FEATURE, h, prefixes).x;
      if (gate) alpha = tf.sigmoid(runLayers(ctx, ATTENTION, h, prefixes).x.reshape([NUM_PATCHES, B]));
    }
    // The norm of each unit's feature before its gate: what a patch says on its own, the
    // baseline a gate must beat at telling occluded patches apart (train/evaluate.ts).
    const norms = tf.transpose(tf.sqrt(tf.sum(tf.square(psi), 2))) as tf.Tensor2D;
    if (alpha) psi = tf.mul(psi, alpha.reshape([NUM_PATCHES, B, 1]));
    // Patch dropout (beyond the paper, off by default): whole patch features are dropped at
    // random in training, so the head cannot lean on any single region.
    const pd = this.options.patchDropout ?? 0;
    if (ctx.training && pd > 0) {
      const keep = tf.cast(tf.greaterEqual(tf.randomUniform([NUM_PATCHES, B, 1], 0, 1, 'float32', ctx.nextSeed()), pd), 'float32');
      psi = tf.div(tf.mul(psi, keep), 1 - pd);
    }
    const feature = tf.transpose(psi, [1, 0, 2]).reshape([B, -1]) as tf.Tensor2D;
    return { feature, alpha: alpha ? (tf.transpose(alpha) as tf.Tensor2D) : undefined, norms };
  }

  /** DLP-CNN parts: K sigmoid maps on the trunk map, masked average pool, one FC per part. */
  private dlpParts(ctx: RunContext, F: tf.Tensor4D): tf.Tensor2D {
    const [B, H, W, C] = F.shape;
    const K = this.options.dlp?.k ?? DEFAULT_DLP.k;
    const maps = tf.sigmoid(tf.add(tf.conv2d(F, ctx.param(`${DLP_PREFIX}maps/kernel`) as tf.Tensor4D, 1, 'valid'), ctx.param(`${DLP_PREFIX}maps/bias`)));
    const pooled = tf.div(tf.matMul(maps.reshape([B, H * W, K]) as tf.Tensor3D, F.reshape([B, H * W, C]) as tf.Tensor3D, true, false), H * W); // [B, K, C]
    const parts = tf.add(
      tf.matMul(tf.transpose(pooled, [1, 0, 2]) as tf.Tensor3D, ctx.param(`${DLP_PREFIX}parts/kernel`) as tf.Tensor3D),
      ctx.param(`${DLP_PREFIX}parts/bias`).expandDims(1),
    ); // [K, B, D]
    return tf.transpose(parts, [1, 0, 2]).reshape([B, -1]) as tf.Tensor2D;
  }
}

/**
 * DLP (Li, Deng, Du, CVPR 2017): (lambda/2) * mean_i ||x_i - mean of its k nearest same-class
 * neighbours in the batch||^2. Neighbour means are constants (the paper's update moves x_i
 * towards them); samples with no same-class neighbour are left out of the mean, and a sample
 * with fewer than k same-class samples in the batch uses those it has. k must fit the batch
 * (k <= B - 1): the spec check refuses model.dlp.neighbours > train.batchSize - 1.
 * Computed on the device (no read-back). The neighbour means come out of a customGrad with a
 * zero gradient: its inner ops (comparisons, which have no gradients) stay off the tape.
 */
export function localityPreservingLoss(x: tf.Tensor2D, labels: tf.Tensor1D, k: number, lambda: number): tf.Scalar {
  const [B, D] = x.shape;
  if (k > B - 1) throw new RangeError(`localityPreservingLoss: ${k} neighbours cannot fit a batch of ${B}`);
  const targets = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: neighbourMeans(args[0] as tf.Tensor2D, labels, k),
    gradFunc: () => tf.zeros([B, D]),
  }));
  return tf.tidy(() => {
    const t = targets(x) as tf.Tensor2D; // [B, D + 1]: neighbour mean, then 1 if i has a neighbour
    const centres = tf.slice(t, [0, 0], [B, D]);
    const valid = tf.reshape(tf.slice(t, [0, D], [B, 1]), [B]);
    const per = tf.sum(tf.square(tf.sub(x, centres)), 1);
    return tf.div(tf.mul(tf.sum(tf.mul(per, valid)), lambda / 2), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
  });
}

/**
 * [B, D + 1]: the mean of each row's k nearest same-class rows, and whether it has any. j is
 * among i's k nearest when fewer than k same-class candidates come before it (closer, or as
 * close with a smaller index): a [B, B, B] comparison.
 */
function neighbourMeans(x: tf.Tensor2D, labels: tf.Tensor1D, k: number): tf.Tensor2D {
  const B = x.shape[0];
  return tf.tidy(() => {
    const d = tf.sum(tf.square(tf.sub(tf.expandDims(x, 1), tf.expandDims(x, 0))), 2); // [B, B]
    const idx = tf.range(0, B, 1, 'int32');
    const notSelf = tf.notEqual(tf.expandDims(idx, 1), tf.expandDims(idx, 0));
    const same = tf.logicalAnd(tf.equal(tf.expandDims(labels, 1), tf.expandDims(labels, 0)), notSelf); // [i, j]
    const dj = tf.expandDims(d, 2), djp = tf.expandDims(d, 1); // [i, j, 1], [i, 1, j']
    const earlierIndex = tf.less(tf.reshape(idx, [1, 1, B]), tf.reshape(idx, [1, B, 1]));
    const before = tf.logicalAnd(tf.logicalOr(tf.less(djp, dj), tf.logicalAnd(tf.equal(djp, dj), earlierIndex)), tf.expandDims(same, 1));
    const rank = tf.sum(tf.cast(before, 'int32'), 2);
    const nb = tf.cast(tf.logicalAnd(same, tf.less(rank, k)), 'float32'); // [B, B]
    const count = tf.sum(nb, 1, true);
    const means = tf.div(tf.matMul(nb, x), tf.maximum(count, 1));
    return tf.concat([means, tf.cast(tf.greater(count, 0), 'float32')], 1) as tf.Tensor2D;
  });
}

/** Builds any backbone x variant; variables initialised deterministically from `seed`. */
export function buildModel(options: ModelOptions, seed: number): Model {
  return new Model(options, seed);
}
