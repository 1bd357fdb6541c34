/* Generated from schemas/spec.schema.json by scripts/gen-spec-types.mjs (npm run gen:types). Do not edit. */
/* Keys with a schema default are required here: loadSpec applies the defaults. */

/**
 * A dataset: its on-disk format, where it lives, and format-specific settings.
 */
export type Dataset = {
  /**
   * On-disk layout: synthetic (built in, no files), rafdb, affectnet, ckplus, sfew, oulu (Oulu-CASIA), fedro (FED-RO), fer2013, manifest (a CSV of path,label[,68 landmarks]; use it for MMI).
   */
  format: 'synthetic' | 'rafdb' | 'affectnet' | 'ckplus' | 'sfew' | 'oulu' | 'fedro' | 'fer2013' | 'manifest';
  /**
   * Folder holding the dataset as released (required for every format but synthetic). Use ${env:NAME,default} to keep machine paths out of the spec.
   */
  root?: string;
  /**
   * synthetic: number of training images.
   */
  train?: number;
  /**
   * synthetic: number of test images.
   */
  test?: number;
  /**
   * synthetic: seed of the generator (same seed, same images).
   */
  seed?: number;
  /**
   * synthetic: side of the generated images in pixels.
   */
  imageSize?: number;
  /**
   * synthetic: the family of faces. wild (the default): varied roll, scale, cluttered backgrounds and light, random expression intensity (stands for RAF-DB, AffectNet). hard: wild faces under more roll, harsher light and exposure, more noise, weaker expressions (stands for SFEW). lab: posed recordings of a fixed pool of subjects, frontal, studio-lit, plain backdrop: each subject's neutral (first) and peak (last) frame of one sequence per expression, in one split `all`, with subject ids for subject-independent folds (stands for CK+, MMI, Oulu-CASIA); full frames, cropped to the face by default.
   */
  style?: 'wild' | 'hard' | 'lab';
  /**
   * synthetic, style lab: number of subjects (default 40).
   */
  subjects?: number;
  /**
   * synthetic, style lab: sequences per subject, each a different expression drawn from the six (default 6); each gives a neutral and a peak frame.
   */
  expressions?: number;
  /**
   * synthetic: range [min, max] of expression intensity of the non-neutral faces (the peak frames in lab); 1 = the prototype. Default by style: wild [0.35, 1], hard [0.25, 0.85], lab [0.8, 1.05].
   *
   * @minItems 2
   * @maxItems 2
   */
  intensity?: [number, number];
  /**
   * synthetic: grey images, luma in all three channels (a near-infrared camera, as Oulu-CASIA's NI set).
   */
  grey?: boolean;
  /**
   * manifest: the CSV file (relative to root), columns path,label[,split][,subject][,x1,y1..x68,y68].
   */
  file?: string;
  /**
   * rafdb: use the released aligned 100x100 faces (Image/aligned) instead of the originals.
   */
  aligned?: boolean;
  /**
   * Face crop before resizing: face = a square box around the 68 landmarks (plus cropMargin on each side), none = the image as it is. Default by format: face for the full-frame formats (ckplus, oulu, sfew, fedro, manifest, and rafdb with aligned: false); none for the formats whose images are faces already (rafdb aligned, affectnet (cropped to its face box), fer2013, synthetic but for style lab, whose full frames are cropped to the face). Say none for a folder of faces that are already aligned.
   */
  crop?: 'face' | 'none';
  /**
   * crop: face: margin added on each side of the landmarks' box, as a fraction of the box side (default 0.15: the crop is 1.3 times the box).
   */
  cropMargin?: number;
  landmarks?: LandmarkSettings;
  /**
   * Fraction of samples that may be unreadable (missing file, corrupt image, bad label) before loading fails.
   */
  maxBadFraction: number;
};
/**
 * [min, max] side of the square occluder in pixels of a 224-pixel image (scaled to inputSize).
 *
 * @minItems 2
 * @maxItems 2
 */
export type SizeRange = [number, number];
/**
 * [min, max] side of the square occluder in pixels of a 224-pixel image (scaled to inputSize).
 *
 * @minItems 2
 * @maxItems 2
 */
export type SizeRange1 = [number, number];
/**
 * "<test set>.<metric>": accuracy (overall %), meanClassAccuracy (mean of the per-class accuracies, %), loss (mean test cross-entropy), foldMean / foldStd (mean and std of the per-fold accuracies, %; only for a test set with folds and no hold); gateAuc / gateSpearman (gated variants) and normAuc / normSpearman (every patch variant) on a synthetically occluded set: how the gates' alpha and the un-gated patch features' norm separate patches the occluder covers >= 50% from the rest (AUC, 0.5 = blind) and follow the visible fraction (Spearman).
 */
export type Metric = string;

/**
 * An acnn experiment spec: datasets, model, training schedule, test sets, how the spec expands into runs, and the paper table it fills. Reference: docs/spec.md.
 */
export interface Spec {
  /**
   * Name of the experiment; results go to results/<name>/<run-id>/. Defaults to the file name without extension. Not inherited through extends.
   */
  name?: string;
  /**
   * Free text describing the experiment. Not inherited through extends.
   */
  description?: string;
  /**
   * Another spec file (or a list of them, applied in order) this one builds on, relative to this file. Maps merge deeply, lists and scalars are replaced (later wins); tag a list !append to append to the inherited list, or a map !replace to replace the inherited map instead of merging.
   */
  extends?: string | string[];
  /**
   * Datasets by name. Train data and test sets refer to these names.
   */
  datasets: {
    [k: string]: Dataset;
  };
  model: ModelConfig;
  train: TrainConfig;
  /**
   * Test sets by name. A test set's metrics are reported as "<name>.<metric>" (e.g. clean.accuracy).
   */
  test: {
    [k: string]: TestSet;
  };
  /**
   * Seed axis: the spec expands into one run per seed (sets train.seed).
   *
   * @minItems 1
   */
  seeds?: [number, ...number[]];
  /**
   * Grid axes: dotted key (e.g. model.variant, train.data.0.dataset, tags.group) -> list of values; the spec expands into every combination.
   */
  matrix?: {
    /**
     * @minItems 1
     */
    [k: string]: [unknown, ...unknown[]];
  };
  /**
   * Paired axes: dotted key -> list of values; all lists have the same length and the i-th values go together.
   */
  zip?: {
    /**
     * @minItems 1
     */
    [k: string]: [unknown, ...unknown[]];
  };
  /**
   * Explicit runs, typically one per paper table cell: each entry's `set` is applied onto the spec; its `tags` label the run. Composes with matrix, zip and seeds.
   *
   * @minItems 1
   */
  runs?: [RunEntry, ...RunEntry[]];
  table?: TableConfig;
  sweep?: SweepConfig;
}
/**
 * Where the 68 facial landmarks come from.
 */
export interface LandmarkSettings {
  /**
   * dataset: the dataset's own points (AffectNet, CK+, synthetic); detect: run the face and landmark detector once and cache the result; file: read them from `file`.
   */
  source: 'dataset' | 'detect' | 'file';
  /**
   * Landmarks file (source: file) or detection cache (source: detect), relative to the dataset root.
   */
  file?: string;
  /**
   * What to do with an image where no face is found: skip it, or use the mean face shape.
   */
  noFace: 'skip' | 'meanShape';
}
/**
 * The network: backbone, variant and size.
 */
export interface ModelConfig {
  /**
   * Backbone network: vgg16 (VGG16-BN, the paper's) or resnet18 (Table V).
   */
  backbone: 'vgg16' | 'resnet18';
  /**
   * base: the plain backbone classifier; pcnn: patch branches without attention; pacnn: patch-gated ACNN; gcnn: patches + global branch without attention; gacnn: patches + gated global branch; dlpcnn: the DLP-CNN attention baseline.
   */
  variant: 'base' | 'pcnn' | 'gcnn' | 'pacnn' | 'gacnn' | 'dlpcnn';
  /**
   * Side of the square input image in pixels (224 in the paper); a multiple of 8.
   */
  inputSize: number;
  /**
   * Channel width multiplier (1 = the paper's widths; 0.25 for quick runs).
   */
  width: number;
  /**
   * Number of expression classes (7: neutral, anger, disgust, fear, happy, sad, surprise).
   */
  numClasses: number;
  /**
   * Dropout rate before the last layers.
   */
  dropout: number;
  /**
   * Initial weights of the class layer: glorot (uniform; used when the key is absent) or zeros, which starts every variant from the uniform prediction (loss ln 7) instead of random logits. Not in the paper (it does not say how its heads were initialised); the quickstart uses zeros (measured: with a random class layer the plain VGG16 spends its first ~100 updates undoing the initial logits).
   */
  classifierInit?: 'glorot' | 'zeros';
  /**
   * Beyond the paper, off when absent: batch norm after the hidden FC layers (fc6, fc7) of the base variant's VGG16 classifier. The quickstart's small from-scratch VGG16 needs it: with Adam, ~40% of fc6/fc7 units die within 100 updates and its accuracy then depends on the seed (measured in a PyTorch twin: 36-72% clean over 5 seeds at 1000 updates without, 66-72% over 3 seeds with). Other variants and backbones are unaffected.
   */
  classifierBatchNorm?: boolean;
  /**
   * Beyond the paper, off when absent: probability of dropping a whole PG-unit feature (independently per image and patch) in training, the kept ones rescaled. Patch variants only.
   */
  patchDropout?: number;
  dlp: DlpSettings;
  /**
   * Weights to start from: imagenet = torchvision's ImageNet checkpoint of the backbone (vgg16_bn-6c64b313.pth, resnet18-f37072fd.pth) from the weights cache (acnn weights get vgg16_bn); or a path to a .pth (zip or legacy) or .safetensors file with torchvision or timm names; null trains from scratch. Layers that do not fit (width != 1, VGG fc6 at an input other than 224) are skipped by name and recorded in meta.json.
   */
  pretrained: string | null;
  init?: ModelInit;
  execution?: ExecutionSettings;
}
/**
 * DLP-CNN settings (variant dlpcnn only).
 */
export interface DlpSettings {
  /**
   * Number of spatial attention maps (parts).
   */
  k: number;
  /**
   * Add the locality-preserving loss of the RAF-DB paper's DLP-CNN.
   */
  lpLoss: boolean;
  /**
   * Weight of the locality-preserving loss.
   */
  lambda: number;
  /**
   * Same-class nearest neighbours in the batch for the locality-preserving loss.
   */
  neighbours: number;
}
/**
 * Start from another run's trained model (fine-tuning, e.g. Table III protocol b): every variable is loaded from its checkpoint, the optimizer starts afresh. Give spec + where, or checkpoint. Not together with model.pretrained.
 */
export interface ModelInit {
  /**
   * A spec file (relative to the working directory) one of whose finished runs, in the same results directory, is the starting point.
   */
  spec?: string;
  where?: Where;
  /**
   * A checkpoint directory (results/<spec>/<run-id>/checkpoint) or a run directory holding one.
   */
  checkpoint?: string;
}
/**
 * Dotted key of the run config (tags.<name> included) -> value the run must have.
 */
export interface Where {
  [k: string]: unknown;
}
/**
 * How the patch crop and the 24 PG-units run. Every choice gives the same results; auto (or leaving a key out) takes the plan measured fastest for the backend, recorded in meta.json. Not part of the run id.
 */
export interface ExecutionSettings {
  /**
   * Patch crop: host (copy on the host; a device sync on GPU backends), ops (pad + slices), gather (one gather of precomputed indices), or auto.
   */
  crop?: 'auto' | 'host' | 'ops' | 'gather';
  /**
   * PG-units: loop (24 small graphs with native convolutions), batched (one grouped graph, im2col + batched matmul), or auto.
   */
  pgUnits?: 'auto' | 'loop' | 'batched';
}
/**
 * Training data mix and schedule.
 */
export interface TrainConfig {
  /**
   * The training mix: datasets and splits (several entries are merged, e.g. RAF-DB + AffectNet).
   *
   * @minItems 1
   */
  data: [TrainData, ...TrainData[]];
  occlusion: TrainOcclusion;
  gateSupervision?: GateSupervision;
  /**
   * Optimizer.
   */
  optimizer: 'sgd' | 'adam';
  /**
   * Base learning rate (the paper: 0.001).
   */
  lr: number;
  lrPolicy: LrPolicy;
  /**
   * SGD momentum.
   */
  momentum: number;
  /**
   * L2 weight decay.
   */
  weightDecay: number;
  /**
   * Images per step.
   */
  batchSize: number;
  /**
   * Steps whose gradients are accumulated into one update; effective batch = batchSize x accumulate (the paper: 128).
   */
  accumulate: number;
  /**
   * Length of training in updates (give iterations or epochs).
   */
  iterations?: number;
  /**
   * Length of training in passes over the training mix (give iterations or epochs).
   */
  epochs?: number;
  /**
   * Updates of linear learning-rate warm-up.
   */
  warmup: number;
  /**
   * Seed of everything random in the run (init, data order, occluders). The `seeds` axis sets it.
   */
  seed: number;
  /**
   * Updates between progress/metrics lines.
   */
  logEvery: number;
  /**
   * Updates between evaluations on the test sets (0: only at the end).
   */
  evalEvery: number;
  /**
   * Updates between checkpoints (0: only at the end).
   */
  checkpointEvery: number;
}
/**
 * One part of the training mix.
 */
export interface TrainData {
  /**
   * A dataset name from `datasets`.
   */
  dataset: string;
  /**
   * Split of that dataset (rafdb: train/test, affectnet: train/validation, sfew: train/val, synthetic: train/test (style lab: all), ckplus/oulu/fedro: all).
   */
  split: string;
  /**
   * Sampling weight of this part relative to the others (1 = in proportion to its size).
   */
  weight: number;
  folds?: Folds;
}
/**
 * Train on k-1 folds of this split: every fold but `hold` (required here). Use the same k, groupBy and seed as the test sets that hold the fold out.
 */
export interface Folds {
  /**
   * Number of folds.
   */
  k: number;
  /**
   * subject: subject-independent folds (no subject in two folds); none: folds over samples.
   */
  groupBy: 'subject' | 'none';
  /**
   * Seed of the fold assignment.
   */
  seed: number;
  /**
   * The held-out fold, 0 .. k-1.
   */
  hold?: number;
}
/**
 * Synthetic occlusion of training images.
 */
export interface TrainOcclusion {
  /**
   * Fraction of training samples that are occluded copies; 0.5 = the paper's 1:1 mix of clean and occluded images, 0 = no occlusion.
   */
  ratio: number;
  /**
   * random-square: an occluder of side in `size` at a random position (the paper's protocol); ck-r8/ck-r16/ck-r24: random blocks of 8/16/24 px at 48 px; eyes/mouth: the eye or mouth region.
   */
  protocol: 'random-square' | 'ck-r8' | 'ck-r16' | 'ck-r24' | 'eyes' | 'mouth';
  /**
   * procedural: drawn occluder shapes (hands, sunglasses, masks, cups, hair, books, textured shapes: stand-ins for the paper's ~4k object photos, which are not public); misleading (beyond the paper): parts of other synthetic faces with other expressions (eyes, brows, mouths) pasted over the face, beside hands and objects; otherwise a folder of object images (PNG with alpha, or image + mask; write ./misleading for a folder of that name).
   */
  occluders: string;
  size: SizeRange;
}
/**
 * Beyond the paper, off when absent: a loss that pulls each PG-unit's gate alpha towards the fraction of its patch window the occluder leaves uncovered (known for synthetic occlusion), added with `weight` to the cross-entropy. Gated variants (pacnn, gacnn) only.
 */
export interface GateSupervision {
  /**
   * Weight of the gate loss (mean squared error between alpha and the uncovered fraction, over every patch of every image); 0 turns it off.
   */
  weight: number;
}
/**
 * Learning-rate schedule. poly: lr * (1 - step/total)^power; step: lr * gamma^floor(step/stepSize); constant.
 */
export interface LrPolicy {
  /**
   * Schedule kind.
   */
  type: 'poly' | 'step' | 'constant';
  /**
   * poly: the exponent.
   */
  power: number;
  /**
   * step: the factor applied every stepSize updates.
   */
  gamma: number;
  /**
   * step: updates between decays.
   */
  stepSize?: number;
}
/**
 * A test set: a dataset split, optionally occluded, optionally in folds.
 */
export interface TestSet {
  /**
   * A dataset name from `datasets`.
   */
  dataset: string;
  /**
   * Split of that dataset.
   */
  split: string;
  occlusion?: TestOcclusion;
  folds?: Folds1;
}
/**
 * Deterministic synthetic occlusion of test images (same seed, same occluded images for every variant).
 */
export interface TestOcclusion {
  /**
   * none; random-square: the paper's occluder of side in `size` at a random position; ck-r8/ck-r16/ck-r24: random 8/16/24 px blocks at 48 px (Table III); eyes/mouth: the eye or mouth region.
   */
  protocol: 'none' | 'random-square' | 'ck-r8' | 'ck-r16' | 'ck-r24' | 'eyes' | 'mouth';
  /**
   * Seed of the occlusions.
   */
  seed: number;
  /**
   * procedural: drawn occluder shapes; misleading (beyond the paper): other faces' parts with other expressions, beside hands and objects; otherwise a folder of object images (see train.occlusion.occluders).
   */
  occluders: string;
  size: SizeRange1;
}
/**
 * K-fold protocol: the set is split into k folds (subject-independent with groupBy: subject). On a test set without hold: evaluated whole, with per-fold accuracies (metrics foldMean, foldStd; Table III protocol a). With hold: on a test set only that fold is evaluated, on training data every fold but that one is used (Table III protocol b: the held-out fold is a run axis).
 */
export interface Folds1 {
  /**
   * Number of folds.
   */
  k: number;
  /**
   * subject: subject-independent folds (no subject in two folds); none: folds over samples.
   */
  groupBy: 'subject' | 'none';
  /**
   * Seed of the fold assignment.
   */
  seed: number;
  /**
   * The held-out fold, 0 .. k-1.
   */
  hold?: number;
}
/**
 * One explicit run: settings applied onto the spec, and tags that label it in tables.
 */
export interface RunEntry {
  /**
   * Labels of the run (string -> string); tables select runs with where: {tags.<name>: value}.
   */
  tags?: {
    [k: string]: string;
  };
  /**
   * Dotted key -> value, applied onto the spec for this run.
   */
  set?: {
    [k: string]: unknown;
  };
}
/**
 * The paper table this spec fills: a cell = the runs matching its row's and its column's `where`; value = mean of the metric over them, with the std over runs (seeds, or fold runs) when there are several, or the std over folds (foldStd) for a single run's foldMean.
 */
export interface TableConfig {
  /**
   * File name of the table: results/<spec name>/<id>.csv.
   */
  id: string;
  /**
   * Caption.
   */
  title?: string;
  /**
   * Rows, in order.
   *
   * @minItems 1
   */
  rows: [TableLine, ...TableLine[]];
  /**
   * Columns, in order.
   *
   * @minItems 1
   */
  columns: [TableLine, ...TableLine[]];
  /**
   * The paper's values: row name -> column name -> number (null: no value in the paper).
   */
  paper?: {
    [k: string]: {
      [k: string]: number | null;
    };
  };
}
/**
 * A row or column of the table: its name, which runs belong to it (`where`), and (on the rows or on the columns) the metric of its cells. A line with neither `where` nor `metric` is paper-only (a method acnn does not run): its cells show the paper's value alone.
 */
export interface TableLine {
  /**
   * Label, as in the paper.
   */
  name: string;
  where?: Where;
  metric?: Metric;
}
/**
 * A hyperparameter sweep over the spec (acnn sweep): grid, zipped axes, seeds and random search; each trial is an ordinary run.
 */
export interface SweepConfig {
  /**
   * Dotted key -> list of values; every combination is a trial.
   */
  grid?: {
    /**
     * @minItems 1
     */
    [k: string]: [unknown, ...unknown[]];
  };
  /**
   * Dotted key -> list of values, all of one length; the i-th values go together.
   */
  zip?: {
    /**
     * @minItems 1
     */
    [k: string]: [unknown, ...unknown[]];
  };
  /**
   * Seed axis of the sweep (sets train.seed).
   *
   * @minItems 1
   */
  seeds?: [number, ...number[]];
  random?: RandomSearch;
  objective?: Objective;
  /**
   * Where trials run: local worker processes, or a Slurm job array.
   */
  executor: 'local' | 'slurm';
  /**
   * Local executor: worker processes.
   */
  workers: number;
  slurm: SlurmSettings;
}
/**
 * Random search: `trials` draws from the distributions in `params`, reproducible from `seed`.
 */
export interface RandomSearch {
  /**
   * Number of random trials.
   */
  trials: number;
  /**
   * Seed of the draws.
   */
  seed: number;
  /**
   * Dotted key -> distribution.
   */
  params: {
    [k: string]: SweepParam;
  };
}
/**
 * A random-search distribution.
 */
export interface SweepParam {
  /**
   * choice: one of `values`; uniform: a float in [low, high]; loguniform: a float whose log is uniform in [log low, log high]; int: an integer in [low, high].
   */
  distribution: 'choice' | 'uniform' | 'loguniform' | 'int';
  /**
   * Lower bound (uniform, loguniform, int).
   */
  low?: number;
  /**
   * Upper bound (uniform, loguniform, int).
   */
  high?: number;
  /**
   * Candidates (choice).
   *
   * @minItems 1
   */
  values?: [unknown, ...unknown[]];
}
/**
 * What the summary sorts by and the best trial maximises or minimises.
 */
export interface Objective {
  metric: Metric;
  /**
   * max or min.
   */
  mode: 'max' | 'min';
}
/**
 * Slurm job-array settings.
 */
export interface SlurmSettings {
  /**
   * Partition (sbatch --partition): one word, no spaces or shell characters.
   */
  partition?: string;
  /**
   * Account (sbatch --account): one word, no spaces or shell characters.
   */
  account?: string;
  /**
   * Time limit per trial (sbatch --time), e.g. 02:00:00.
   */
  time: string;
  /**
   * GPUs per trial (sbatch --gpus).
   */
  gpus: number;
  /**
   * CPUs per trial (sbatch --cpus-per-task).
   */
  cpus: number;
  /**
   * Memory per trial (sbatch --mem), e.g. 8G.
   */
  mem: string;
  /**
   * Trials running at once (the %P of --array=0-N%P); 0 = no limit.
   */
  parallel: number;
  /**
   * Further sbatch arguments, verbatim, one option each (e.g. --constraint=v100): each starts with - and is one line.
   */
  extraArgs: string[];
}
