import * as tf from '@tensorflow/tfjs';

/**
 * SGD with momentum and L2 weight decay, Caffe's form (the paper trained in Caffe):
 *   v <- momentum * v + (g + wd * w);   w <- w - lr * v
 * Written out rather than using tf.train.momentum so that its state is a plain name -> tensor
 * map that checkpoints hold exactly, and weight decay skips BN parameters and biases (decay_mult 0).
 */
export class SgdMomentum {
  private readonly velocity = new Map<string, tf.Variable>();

  constructor(
    readonly momentum: number,
    readonly weightDecay: number,
  ) {}

  /** grads: variable name -> gradient (already averaged over accumulation steps). */
  apply(variables: tf.Variable[], grads: Record<string, tf.Tensor>, lr: number): void {
    tf.tidy(() => {
      for (const v of variables) {
        const g = grads[v.name];
        if (!g) continue;
        const decayed = this.weightDecay > 0 && decays(v) ? g.add(v.mul(this.weightDecay)) : g;
        let vel = this.velocity.get(v.name);
        if (!vel) {
          vel = tf.variable(tf.zerosLike(v), false, `${v.name}/velocity`);
          this.velocity.set(v.name, vel);
        }
        vel.assign(vel.mul(this.momentum).add(decayed));
        v.assign(v.sub(vel.mul(lr)));
      }
    });
  }

  /** The optimizer state for a checkpoint. */
  state(): Map<string, tf.Tensor> {
    return new Map([...this.velocity].map(([name, v]) => [`${name}/velocity`, v]));
  }

  /** Restores velocities saved by state(); unknown names are an error (the checkpoint is for another net). */
  load(state: Map<string, tf.Tensor>, variables: tf.Variable[]): void {
    const byName = new Map(variables.map((v) => [v.name, v]));
    for (const [key, value] of state) {
      const name = key.replace(/\/velocity$/, '');
      const target = byName.get(name);
      if (!target) throw new Error(`optimizer state names "${name}", which the model does not have`);
      if (!tf.util.arraysEqual(target.shape, value.shape)) {
        throw new Error(`optimizer state "${name}" has shape [${value.shape}], the variable has [${target.shape}]`);
      }
      this.velocity.get(name)?.dispose();
      this.velocity.set(name, tf.variable(value.clone(), false, `${name}/velocity`));
    }
  }

  dispose(): void {
    for (const v of this.velocity.values()) v.dispose();
    this.velocity.clear();
  }
}

/**
 * Adam (Kingma & Ba) with the same L2 weight decay and the same plain-map state as SgdMomentum,
 * for researchers who swap the paper's optimizer (`train.optimizer: adam`; beta1 = momentum).
 */
export class Adam {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;
  // Kept as a variable so that state() hands out tensors it owns, like the moment slots.
  private readonly tVar = tf.variable(tf.scalar(0), false);

  constructor(
    readonly beta1: number,
    readonly weightDecay: number,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-8,
  ) {}

  apply(variables: tf.Variable[], grads: Record<string, tf.Tensor>, lr: number): void {
    this.t++;
    tf.tidy(() => this.tVar.assign(tf.scalar(this.t)));
    const correction = Math.sqrt(1 - this.beta2 ** this.t) / (1 - this.beta1 ** this.t);
    tf.tidy(() => {
      for (const w of variables) {
        const g0 = grads[w.name];
        if (!g0) continue;
        const g = this.weightDecay > 0 && decays(w) ? g0.add(w.mul(this.weightDecay)) : g0;
        const m = this.slot(this.m, w, 'm');
        const v = this.slot(this.v, w, 'v');
        m.assign(m.mul(this.beta1).add(g.mul(1 - this.beta1)));
        v.assign(v.mul(this.beta2).add(g.square().mul(1 - this.beta2)));
        w.assign(w.sub(m.div(v.sqrt().add(this.epsilon)).mul(lr * correction)));
      }
    });
  }

  private slot(map: Map<string, tf.Variable>, w: tf.Variable, kind: string): tf.Variable {
    let s = map.get(w.name);
    if (!s) {
      s = tf.variable(tf.zerosLike(w), false, `${w.name}/${kind}`);
      map.set(w.name, s);
    }
    return s;
  }

  state(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [name, s] of this.m) out.set(`${name}/m`, s);
    for (const [name, s] of this.v) out.set(`${name}/v`, s);
    out.set('adam/t', this.tVar);
    return out;
  }

  load(state: Map<string, tf.Tensor>, variables: tf.Variable[]): void {
    const byName = new Map(variables.map((w) => [w.name, w]));
    for (const [key, value] of state) {
      if (key === 'adam/t') {
        this.t = value.dataSync()[0];
        tf.tidy(() => this.tVar.assign(tf.scalar(this.t)));
        continue;
      }
      const match = /^(.*)\/(m|v)$/.exec(key);
      const target = match && byName.get(match[1]);
      if (!match || !target) throw new Error(`optimizer state names "${key}", which the model does not have`);
      const map = match[2] === 'm' ? this.m : this.v;
      map.get(match[1])?.dispose();
      map.set(match[1], tf.variable(value.clone(), false, `${match[1]}/${match[2]}`));
    }
  }

  dispose(): void {
    for (const s of [...this.m.values(), ...this.v.values()]) s.dispose();
    this.tVar.dispose();
    this.m.clear();
    this.v.clear();
  }
}

export type Optimizer = SgdMomentum | Adam;

export function createOptimizer(kind: 'sgd' | 'adam', momentum: number, weightDecay: number): Optimizer {
  return kind === 'adam' ? new Adam(momentum, weightDecay) : new SgdMomentum(momentum, weightDecay);
}

/** Kernels and FC weights decay; biases and BN scale/offset (rank 1) do not. */
function decays(v: tf.Variable): boolean {
  return v.rank >= 2;
}
