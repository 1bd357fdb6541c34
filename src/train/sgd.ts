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

/** Kernels and FC weights decay; biases and BN scale/offset (rank 1) do not. */
function decays(v: tf.Variable): boolean {
  return v.rank >= 2;
}
