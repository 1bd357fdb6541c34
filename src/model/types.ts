import type * as tf from '@tensorflow/tfjs';
import type { CropImpl, ExecutionInfo, PgUnitsImpl } from './execution.js';

export type Backbone = 'vgg16' | 'resnet18';
export type Variant = 'base' | 'pcnn' | 'gcnn' | 'pacnn' | 'gacnn' | 'dlpcnn';

/** Everything a network needs to be built. Plain data: models know nothing of specs. */
export interface ModelOptions {
  backbone: Backbone;
  variant: Variant;
  /** Square input side in pixels (224 in the paper). */
  inputSize: number;
  /** Channel width multiplier (1 = the paper's widths). */
  width: number;
  numClasses: number;
  dropout: number;
  /** DLP-CNN only. */
  dlp?: { k: number; lpLoss: boolean; lambda: number; neighbours: number };
  /**
   * How the 24 PG-units run: 'batched' (grouped ops over all units) or 'loop' (one small graph
   * per unit). Same variables and results either way; absent or 'auto' = the execution plan
   * measured best for the active backend (execution.ts). A built model holds the resolved choice.
   */
  pgUnits?: PgUnitsImpl | 'auto';
  /**
   * Beyond the paper (default 0): probability of dropping a whole patch feature (all 24 units,
   * independently per image) in training, rescaling the kept ones.
   */
  patchDropout?: number;
  /**
   * Initial weights of the class layer: 'glorot' (uniform, the default) or 'zeros', which starts
   * every variant from the uniform prediction (loss ln C) instead of random logits.
   */
  classifierInit?: 'glorot' | 'zeros';
  /** Beyond the paper: batch norm after the hidden FC layers (fc6, fc7) of the base variant's VGG16 classifier. */
  classifierBatchNorm?: boolean;
  /** Patch-crop implementation (crop.ts); same values and gradients either way; 'auto' as above. */
  crop?: CropImpl | 'auto';
}

/**
 * Region centres [B, 24, 2] (x, y in input pixels, b-major). A host array costs nothing; a
 * tensor is read back to the host (a device sync on GPU backends), so trainers pass arrays.
 */
export type RegionPointsInput = tf.Tensor3D | Float32Array;

export interface ForwardOutput {
  logits: tf.Tensor2D;
  /** Gated variants: the 24 patch weights, [B, 24]. */
  alpha?: tf.Tensor2D;
  /** gACNN: the global branch weight, [B]. */
  alphaGlobal?: tf.Tensor1D;
  /** Patch variants: the L2 norm of each PG-unit's feature before its gate, [B, 24]. */
  patchNorms?: tf.Tensor2D;
  /** Extra loss terms the variant adds (DLP-CNN's locality-preserving loss), already weighted. */
  auxLoss?: tf.Scalar;
}

export interface AcnnModel {
  readonly options: ModelOptions;
  /** The crop and PG-unit strategies chosen at build time for the active backend. */
  readonly execution: ExecutionInfo;
  /**
   * images: [B, S, S, 3] float32 in [0, 1]; points: [B, 24, 2] region centres in input pixels
   * (ignored by base and dlpcnn; see RegionPointsInput); labels are needed only by variants with an auxiliary loss.
   * dropoutSeed fixes the dropout masks of this call (trainers pass one per step for exact resume).
   */
  forward(images: tf.Tensor4D, points: RegionPointsInput, training: boolean, labels?: tf.Tensor1D, dropoutSeed?: number): ForwardOutput;
  /** Trainable variables, named after the paper's layers (conv4_2, roi7_conv1, ...). */
  trainableVariables(): tf.Variable[];
  /** Every variable including BN running statistics, by name (for checkpoints). */
  namedVariables(): Map<string, tf.Variable>;
  dispose(): void;
}
