/**
 * Tensor interpreter for the layer lists of arch.ts.
 *
 * An activation holds G groups (independent units with their own weights, e.g. the 24 PG-units)
 * of B images each: spatial activations are [G*B, H, W, C] (group-major), flat ones [G, B, F].
 * With G = 1 the interpreter uses the backend's native conv2d; with G > 1 a convolution is an
 * im2col (pad + slices, whose gradients exist on every backend) followed by one batched matMul
 * against the G stacked kernels, so the 24 units cost a handful of large ops instead of 24x as many
 * small ones. Both paths read the same per-unit variables.
 */
import * as tf from '@tensorflow/tfjs';
import { type InferContext, type Layer, fcUnits, channels } from './arch.js';

export const BN_EPSILON = 1e-5;
/** Running-average momentum of the BN statistics (torch's 0.1 update rate). */
export const BN_MOMENTUM = 0.9;

export interface Act {
  x: tf.Tensor;
  G: number;
  B: number;
}

export interface RunContext extends InferContext {
  training: boolean;
  dropout: number;
  /** Returns the variable of a parameter name; throws when missing. */
  param(name: string): tf.Variable;
  /** Seed for the next dropout mask (deterministic training). */
  nextSeed(): number;
}

function stackParams(ctx: RunContext, prefixes: string[], suffix: string): tf.Tensor {
  if (prefixes.length === 1) return ctx.param(prefixes[0] + suffix);
  return tf.stack(prefixes.map((p) => ctx.param(p + suffix)));
}

/**
 * Batch norm over all axes but the channel axis (and the group axis for grouped activations).
 * Training uses the batch statistics and moves the running averages; eval uses the running ones.
 * `bias` is the preceding layer's bias, if any: batch statistics cancel it exactly in training
 * (its gradient is zero), and it shifts the running mean and the eval-mode input.
 */
function batchNorm(ctx: RunContext, a: Act, prefixes: string[], name: string, bias?: tf.Tensor): Act {
  const G = prefixes.length;
  const C = a.x.shape[a.x.shape.length - 1];
  // View as [G, N, C] so one pass serves every group.
  const x3 = a.x.reshape([G, -1, C]);
  const gamma = stackParams(ctx, prefixes, `${name}/bn/gamma`).reshape([G, 1, C]);
  const beta = stackParams(ctx, prefixes, `${name}/bn/beta`).reshape([G, 1, C]);
  const b3 = bias?.reshape([G, 1, C]);
  let y: tf.Tensor;
  if (ctx.training) {
    const stats: BnStats = {};
    y = batchNormTrain(x3, gamma, beta, b3, stats);
    let mean = stats.mean!;
    if (b3) mean = tf.add(mean, b3);
    const n = x3.shape[1] as number;
    const unbias = n > 1 ? n / (n - 1) : 1;
    const means = G === 1 ? [mean.reshape([C])] : tf.unstack(mean.reshape([G, C]));
    const vars = G === 1 ? [stats.variance!.reshape([C])] : tf.unstack(stats.variance!.reshape([G, C]));
    prefixes.forEach((p, g) => {
      const mm = ctx.param(`${p}${name}/bn/moving_mean`);
      const mv = ctx.param(`${p}${name}/bn/moving_variance`);
      mm.assign(tf.add(tf.mul(mm, BN_MOMENTUM), tf.mul(means[g], 1 - BN_MOMENTUM)));
      mv.assign(tf.add(tf.mul(mv, BN_MOMENTUM), tf.mul(vars[g], (1 - BN_MOMENTUM) * unbias)));
    });
    tf.dispose([stats.mean!, stats.variance!]);
  } else {
    const mean = stackParams(ctx, prefixes, `${name}/bn/moving_mean`).reshape([G, 1, C]);
    const variance = stackParams(ctx, prefixes, `${name}/bn/moving_variance`).reshape([G, 1, C]);
    // Per-channel constants first: three ops on the activation.
    const scale = tf.mul(tf.rsqrt(tf.add(variance, BN_EPSILON)), gamma);
    y = tf.add(tf.mul(tf.sub(x3, b3 ? tf.sub(mean, b3) : mean), scale), beta);
  }
  return { ...a, x: y.reshape(a.x.shape) };
}

export interface BnStats {
  mean?: tf.Tensor;
  variance?: tf.Tensor;
}

/**
 * Training-mode batch norm of x [G, N, C] with the analytic gradient (one custom op instead of a
 * dozen broadcasting ops, each with a reduction in its gradient):
 *   xhat = (x - mean) * rsqrt(var + eps),  y = xhat * gamma + beta,
 *   dx = gamma * rsqrt(var + eps) * (dy - mean(dy) - xhat * mean(dy * xhat)),
 *   dgamma = sum(dy * xhat),  dbeta = sum(dy),  dbias = 0.
 * The batch mean and (biased) variance are handed back through `stats` for the running averages.
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, bias: tf.Tensor | undefined, stats: BnStats): tf.Tensor {
  const n = x.shape[1] as number;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xx, g, bt] = args as tf.Tensor[];
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const mean = tf.mean(xx, 1, true);
    const d = tf.sub(xx, mean);
    const variance = tf.mean(tf.square(d), 1, true);
    const rstd = tf.rsqrt(tf.add(variance, BN_EPSILON));
    const xhat = tf.mul(d, rstd);
    // The forward function runs in its own tidy: keep the statistics (batchNorm disposes them).
    stats.mean = tf.keep(mean);
    stats.variance = tf.keep(variance);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), bt),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dbeta = tf.sum(dy, 1, true);
        const dgamma = tf.sum(tf.mul(dy, xh), 1, true);
        const scale = tf.mul(gm, rs);
        // dx = scale * dy - xhat * (scale * dgamma / n) - scale * dbeta / n
        const dx = tf.sub(tf.mul(dy, scale), tf.add(tf.mul(xh, tf.mul(scale, dgamma).div(n)), tf.mul(scale, dbeta).div(n)));
        const grads = [dx, dgamma, dbeta];
        if (bias) grads.push(tf.zerosLike(bias));
        return grads;
      },
    };
  });
  return bias ? op(x, gamma, beta, bias) : op(x, gamma, beta);
}

/** Symmetric spatial zero padding of an NHWC tensor. */
function padHW(x: tf.Tensor4D, p: number): tf.Tensor4D {
  return p > 0 ? tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]) : x;
}

function conv2dAct(ctx: RunContext, a: Act, l: Extract<Layer, { type: 'conv' }>, prefixes: string[], name: string): Act {
  const x = a.x as tf.Tensor4D;
  const stride = l.stride ?? 1;
  const pad = l.pad ?? 0;
  const k = l.kernel;
  const G = prefixes.length;
  let y: tf.Tensor;
  if (G === 1) {
    const kernel = ctx.param(`${prefixes[0]}${name}/kernel`) as tf.Tensor4D;
    // 'same' only equals torch's symmetric padding at stride 1 with 2*pad = k-1.
    if (stride === 1 && 2 * pad === k - 1) y = tf.conv2d(x, kernel, 1, 'same');
    else y = tf.conv2d(padHW(x, pad), kernel, stride, 'valid');
    if ((l.bias ?? true) && !l.bn) y = tf.add(y, ctx.param(`${prefixes[0]}${name}/bias`));
  } else {
    if (stride !== 1) throw new Error(`${name}: grouped convolution supports stride 1 only`);
    const xp = padHW(x, pad);
    const [N, Hp, Wp, C] = xp.shape;
    const Ho = Hp - k + 1;
    const Wo = Wp - k + 1;
    const cols: tf.Tensor4D[] = [];
    for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) cols.push(tf.slice(xp, [0, dy, dx, 0], [N, Ho, Wo, C]));
    const im = (cols.length === 1 ? cols[0] : tf.concat(cols, 3)).reshape([G, (N / G) * Ho * Wo, k * k * C]);
    const kernels = stackParams(ctx, prefixes, `${name}/kernel`);
    const cout = kernels.shape[kernels.shape.length - 1];
    let y3 = tf.matMul(im as tf.Tensor3D, kernels.reshape([G, k * k * C, cout]) as tf.Tensor3D);
    if ((l.bias ?? true) && !l.bn) y3 = tf.add(y3, stackParams(ctx, prefixes, `${name}/bias`).reshape([G, 1, cout]));
    y = y3.reshape([N, Ho, Wo, cout]);
  }
  let out: Act = { ...a, x: y };
  // A bias before batch norm goes into the norm (see batchNorm): same values, two ops fewer.
  if (l.bn) out = batchNorm(ctx, out, prefixes, name, (l.bias ?? true) ? stackParams(ctx, prefixes, `${name}/bias`) : undefined);
  if (l.relu) out = { ...out, x: tf.relu(out.x) };
  return out;
}

function fcAct(ctx: RunContext, a: Act, l: Extract<Layer, { type: 'fc' }>, prefixes: string[], name: string): Act {
  const G = prefixes.length;
  const x = a.x as tf.Tensor3D; // [G, B, F]
  const F = x.shape[2];
  const units = fcUnits(l, ctx);
  let y: tf.Tensor;
  if (G === 1) {
    y = tf.matMul(x.reshape([a.B, F]) as tf.Tensor2D, ctx.param(`${prefixes[0]}${name}/kernel`) as tf.Tensor2D);
    if ((l.bias ?? true) && !l.bn) y = tf.add(y, ctx.param(`${prefixes[0]}${name}/bias`));
    y = y.reshape([1, a.B, units]);
  } else {
    y = tf.matMul(x, stackParams(ctx, prefixes, `${name}/kernel`) as tf.Tensor3D);
    if ((l.bias ?? true) && !l.bn) y = tf.add(y, stackParams(ctx, prefixes, `${name}/bias`).reshape([G, 1, units]));
  }
  let out: Act = { ...a, x: y };
  if (l.bn) out = batchNorm(ctx, out, prefixes, name, (l.bias ?? true) ? stackParams(ctx, prefixes, `${name}/bias`) : undefined);
  if (l.relu) out = { ...out, x: tf.relu(out.x) };
  return out;
}

function blockAct(ctx: RunContext, a: Act, l: Extract<Layer, { type: 'block' }>, prefixes: string[], name: string): Act {
  const cin = a.x.shape[3];
  const cout = channels(l.filters, ctx.width);
  const c1 = conv2dAct(ctx, a, { type: 'conv', name: `${name}.conv1`, filters: l.filters, kernel: 3, stride: l.stride, pad: 1, bias: false, bn: true, relu: true }, prefixes, `${name}.conv1`);
  const c2 = conv2dAct(ctx, c1, { type: 'conv', name: `${name}.conv2`, filters: l.filters, kernel: 3, stride: 1, pad: 1, bias: false, bn: true, relu: false }, prefixes, `${name}.conv2`);
  let shortcut = a;
  if (l.stride !== 1 || cin !== cout) {
    shortcut = conv2dAct(ctx, a, { type: 'conv', name: `${name}.downsample`, filters: l.filters, kernel: 1, stride: l.stride, pad: 0, bias: false, bn: true, relu: false }, prefixes, `${name}.downsample`);
  }
  return { ...a, x: tf.relu(tf.add(c2.x, shortcut.x)) };
}

/**
 * Runs `layers` on `a`. prefixes: one name prefix per group (length G); layer names are
 * prefix + layer name, exactly as arch.ts's inference names them.
 */
export function runLayers(ctx: RunContext, layers: Layer[], a: Act, prefixes: string[]): Act {
  if (prefixes.length !== a.G) throw new Error(`runLayers: ${prefixes.length} prefixes for ${a.G} groups`);
  for (const l of layers) {
    const name = l.name;
    switch (l.type) {
      case 'conv':
        a = conv2dAct(ctx, a, l, prefixes, name);
        break;
      case 'maxpool': {
        let x = a.x as tf.Tensor4D;
        if (l.pad === 'ceil') x = tf.maxPool(x, l.size, l.stride, 'same');
        else x = tf.maxPool(padHW(x, l.pad ?? 0), l.size, l.stride, 'valid');
        a = { ...a, x };
        break;
      }
      case 'block':
        if (a.G !== 1) throw new Error(`${name}: residual blocks are not grouped`);
        a = blockAct(ctx, a, l, prefixes, name);
        break;
      case 'gap': {
        const y = tf.mean(a.x, [1, 2]);
        a = { ...a, x: y.reshape([a.G, a.B, y.shape[1] as number]) };
        break;
      }
      case 'flatten':
        a = { ...a, x: a.x.reshape([a.G, a.B, -1]) };
        break;
      case 'fc':
        a = fcAct(ctx, a, l, prefixes, name);
        break;
      case 'dropout':
        if (ctx.training && ctx.dropout > 0) a = { ...a, x: tf.dropout(a.x, ctx.dropout, a.x.shape.slice(), ctx.nextSeed()) };
        break;
      case 'relu':
        a = { ...a, x: tf.relu(a.x) };
        break;
    }
  }
  return a;
}
