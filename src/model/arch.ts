/**
 * Declarative network descriptions (timm style: one plain-data description per backbone and
 * variant) and the shape/parameter inference over them. Everything that counts parameters or
 * FLOPs works from these descriptions alone, so `acnn model summary` at 224 allocates nothing.
 * The same layer lists drive the tensor interpreter in layers.ts, and buildModel creates
 * exactly the variables listed by describeModel, so the counts cannot drift from the model.
 *
 * Deviations from the paper, following ../shared/reference/acnn-facts.md §1:
 * - VGG16 has batch norm after every convolution (VGG16-BN), as in the released nets.
 * - The PG-unit attention net is the released one (maxpool, conv1x1 with pad 1, GAP, FC 64, FC 1,
 *   each with BN); the paper only sketches it.
 * - The released nets start with a learned BatchNorm+Scale on the raw image; we use a fixed
 *   ImageNet mean/std normalisation instead (no parameters, so the facts file's counts hold and
 *   torchvision weights see the input they expect).
 * - Heads: pCNN/pACNN apply ReLU to the concatenated patch features before FC 1024; gCNN/gACNN
 *   do not (released nets).
 */
import type { Backbone, ModelOptions, Variant } from './types.js';

export type Layer =
  | {
      type: 'conv';
      name: string;
      filters: number;
      kernel: number;
      stride?: number;
      /** Symmetric zero padding (torch style). */
      pad?: number;
      bias?: boolean;
      bn?: boolean;
      relu?: boolean;
    }
  /** pad 'ceil' = Caffe's ceil-mode pooling (tf 'same'); a number = explicit zero padding (only used after a ReLU). */
  | { type: 'maxpool'; name: string; size: number; stride: number; pad?: number | 'ceil' }
  /** ResNet basic block: conv3x3(stride)+BN+ReLU, conv3x3+BN, shortcut (1x1 conv+BN when shape changes), add, ReLU. */
  | { type: 'block'; name: string; filters: number; stride: number }
  | { type: 'gap'; name: string }
  | { type: 'flatten'; name: string }
  /** units 'classes' = the class count (never width-scaled); fixed = never width-scaled. */
  | { type: 'fc'; name: string; units: number | 'classes'; fixed?: boolean; bias?: boolean; bn?: boolean; relu?: boolean }
  | { type: 'dropout'; name: string }
  | { type: 'relu'; name: string };

export interface BackboneDesc {
  backbone: Backbone;
  /** Input -> the stride-8 trunk map the patches are cropped from (conv4_2 / layer2). */
  trunk: Layer[];
  /** Trunk map -> global-branch map (conv4_3..conv5_2 / layer3). */
  global: Layer[];
  /** Trunk map -> logits: the unmodified backbone classifier (variant base). */
  classifier: Layer[];
  /** Channels of the PG-unit convolutions at width 1 (the trunk map's channels). */
  unitChannels: number;
}

const conv = (name: string, filters: number, extra: Partial<Extract<Layer, { type: 'conv' }>> = {}): Layer => ({
  type: 'conv',
  name,
  filters,
  kernel: 3,
  stride: 1,
  pad: 1,
  bias: true,
  bn: true,
  relu: true,
  ...extra,
});
const pool = (name: string): Layer => ({ type: 'maxpool', name, size: 2, stride: 2 });
const fc = (name: string, units: number | 'classes', extra: Partial<Extract<Layer, { type: 'fc' }>> = {}): Layer => ({
  type: 'fc',
  name,
  units,
  bias: true,
  relu: true,
  ...extra,
});

/** VGG16-BN (torchvision vgg16_bn). Trunk = the paper's "first nine convolution layers". */
export const VGG16: BackboneDesc = {
  backbone: 'vgg16',
  trunk: [
    conv('conv1_1', 64),
    conv('conv1_2', 64),
    pool('pool1'),
    conv('conv2_1', 128),
    conv('conv2_2', 128),
    pool('pool2'),
    conv('conv3_1', 256),
    conv('conv3_2', 256),
    conv('conv3_3', 256),
    pool('pool3'),
    conv('conv4_1', 512),
    conv('conv4_2', 512),
  ],
  global: [conv('conv4_3', 512), pool('pool4'), conv('conv5_1', 512), conv('conv5_2', 512)],
  classifier: [
    conv('conv4_3', 512),
    pool('pool4'),
    conv('conv5_1', 512),
    conv('conv5_2', 512),
    conv('conv5_3', 512),
    pool('pool5'),
    { type: 'flatten', name: 'flatten' },
    fc('fc6', 4096),
    { type: 'dropout', name: 'drop6' },
    fc('fc7', 4096),
    { type: 'dropout', name: 'drop7' },
    fc('fc8', 'classes', { relu: false }),
  ],
  unitChannels: 512,
};

const block = (name: string, filters: number, stride: number): Layer => ({ type: 'block', name, filters, stride });

/** ResNet-18 (torchvision resnet18). Crop from layer2 (stride 8), global branch = layer3 (facts file). */
export const RESNET18: BackboneDesc = {
  backbone: 'resnet18',
  trunk: [
    conv('conv1', 64, { kernel: 7, stride: 2, pad: 3, bias: false }),
    { type: 'maxpool', name: 'maxpool', size: 3, stride: 2, pad: 1 },
    block('layer1.0', 64, 1),
    block('layer1.1', 64, 1),
    block('layer2.0', 128, 2),
    block('layer2.1', 128, 1),
  ],
  global: [block('layer3.0', 256, 2), block('layer3.1', 256, 1)],
  classifier: [
    block('layer3.0', 256, 2),
    block('layer3.1', 256, 1),
    block('layer4.0', 512, 2),
    block('layer4.1', 512, 1),
    { type: 'gap', name: 'avgpool' },
    fc('fc', 'classes', { relu: false }),
  ],
  unitChannels: 128,
};

export const BACKBONES: Record<Backbone, BackboneDesc> = { vgg16: VGG16, resnet18: RESNET18 };

/** Which parts a variant is made of. */
export interface VariantDesc {
  variant: Variant;
  /** 24 PG-units on the cropped patches. */
  patches: boolean;
  /** Patch units carry the attention net (alpha); otherwise alpha = 1. */
  patchGate: boolean;
  /** Global branch (GG-unit feature). */
  global: boolean;
  globalGate: boolean;
  /** DLP-CNN: K spatial attention maps on the trunk map. */
  dlp: boolean;
  /** Head layers on the concatenated features; null = the backbone's own classifier. */
  head: Layer[] | null;
}

/** pCNN/pACNN (and DLP-CNN): concat -> ReLU -> FC 1024 -> dropout 0.5 -> ReLU -> FC classes. */
export const PATCH_HEAD: Layer[] = [
  { type: 'relu', name: 'concat_relu' },
  fc('head_fc1', 1024, { relu: false }),
  { type: 'dropout', name: 'head_drop' },
  { type: 'relu', name: 'head_relu' },
  fc('head_fc2', 'classes', { relu: false }),
];
/** gCNN/gACNN: concat -> FC 1024 -> dropout 0.5 -> ReLU -> FC classes. */
export const GLOBAL_HEAD: Layer[] = PATCH_HEAD.slice(1);

export const VARIANTS: Record<Variant, VariantDesc> = {
  base: { variant: 'base', patches: false, patchGate: false, global: false, globalGate: false, dlp: false, head: null },
  pcnn: { variant: 'pcnn', patches: true, patchGate: false, global: false, globalGate: false, dlp: false, head: PATCH_HEAD },
  pacnn: { variant: 'pacnn', patches: true, patchGate: true, global: false, globalGate: false, dlp: false, head: PATCH_HEAD },
  gcnn: { variant: 'gcnn', patches: true, patchGate: false, global: true, globalGate: false, dlp: false, head: GLOBAL_HEAD },
  gacnn: { variant: 'gacnn', patches: true, patchGate: true, global: true, globalGate: true, dlp: false, head: GLOBAL_HEAD },
  dlpcnn: { variant: 'dlpcnn', patches: false, patchGate: false, global: false, globalGate: false, dlp: true, head: PATCH_HEAD },
};

/** PG-unit body (names get the `roi{i}_` prefix). */
export function unitBody(channels: number): Layer[] {
  return [conv('conv1', channels), conv('conv2', channels)];
}
/** PG-unit feature branch psi. */
export const UNIT_FEATURE: Layer[] = [{ type: 'flatten', name: 'flatten' }, fc('fc', 64)];
/** GG-unit feature. */
export const GLOBAL_FEATURE: Layer[] = [{ type: 'flatten', name: 'flatten' }, fc('fc', 512)];
/** The attention net shared in design (not in weights) by PG- and GG-units; sigmoid follows. */
export const ATTENTION: Layer[] = [
  { type: 'maxpool', name: 'att_pool', size: 2, stride: 2, pad: 'ceil' },
  conv('att_conv', 128, { kernel: 1, pad: 1 }),
  { type: 'gap', name: 'att_gap' },
  fc('att_fc1', 64, { bn: true }),
  fc('att_fc2', 1, { fixed: true, bn: true, relu: false }),
];
/** DLP-CNN part feature size per attention map at width 1 (mirrors the PG-unit's psi). */
export const DLP_PART_UNITS = 64;

export const NUM_PATCHES = 24;
export const GLOBAL_PREFIX = 'gg_';
export const DLP_PREFIX = 'dlp_';
export const unitPrefix = (i: number): string => `roi${i + 1}_`;

// ---------------------------------------------------------------------------------------------
// Shape and parameter inference

export type Init = 'he' | 'glorot' | 'zeros' | 'ones';
export interface ParamSpec {
  name: string;
  shape: number[];
  init: Init;
  trainable: boolean;
  /** The class layer's kernel (its initialisation is a model option). */
  classifier?: boolean;
}
export interface LayerRow {
  name: string;
  type: string;
  /** Output shape per image (no batch dim). */
  outShape: number[];
  /** Trainable parameters (weights, biases, BN scale and offset). */
  params: number;
  /** Forward FLOPs per image (2 x multiply-accumulates of convolutions and FC layers). */
  flops: number;
}
export interface Description {
  options: ModelOptions;
  rows: LayerRow[];
  params: ParamSpec[];
  totalParams: number;
  totalFlops: number;
  /** Side of the stride-8 trunk map and of the cropped patches. */
  mapSide: number;
  patchSide: number;
}

export function channels(c: number, width: number): number {
  return Math.max(1, Math.round(c * width));
}

export function patchSideFor(mapSide: number): number {
  return Math.max(2, Math.round((6 * mapSide) / 28));
}

export function convOut(n: number, k: number, stride: number, pad: number): number {
  return Math.floor((n + 2 * pad - k) / stride) + 1;
}

export function poolOut(n: number, l: Extract<Layer, { type: 'maxpool' }>): number {
  if (l.pad === 'ceil') return Math.ceil(n / l.stride);
  return convOut(n, l.size, l.stride, l.pad ?? 0);
}

function bnParams(prefix: string, c: number): ParamSpec[] {
  return [
    { name: `${prefix}/bn/gamma`, shape: [c], init: 'ones', trainable: true },
    { name: `${prefix}/bn/beta`, shape: [c], init: 'zeros', trainable: true },
    { name: `${prefix}/bn/moving_mean`, shape: [c], init: 'zeros', trainable: false },
    { name: `${prefix}/bn/moving_variance`, shape: [c], init: 'ones', trainable: false },
  ];
}

function convParams(name: string, k: number, cin: number, cout: number, bias: boolean, bn: boolean): ParamSpec[] {
  const p: ParamSpec[] = [{ name: `${name}/kernel`, shape: [k, k, cin, cout], init: 'he', trainable: true }];
  if (bias) p.push({ name: `${name}/bias`, shape: [cout], init: 'zeros', trainable: true });
  if (bn) p.push(...bnParams(name, cout));
  return p;
}

const count = (ps: ParamSpec[]) => ps.filter((p) => p.trainable).reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);

/** Shape of an activation per image: [H, W, C] or [F]. */
export type Shape = number[];

export interface InferContext {
  width: number;
  numClasses: number;
}

export function fcUnits(l: Extract<Layer, { type: 'fc' }>, ctx: InferContext): number {
  if (l.units === 'classes') return ctx.numClasses;
  return l.fixed ? l.units : channels(l.units, ctx.width);
}

/**
 * Runs the shape inference over `layers` from `input`, appending rows and parameter specs.
 * Layer and parameter names get `prefix`.
 */
export function inferLayers(
  layers: Layer[],
  input: Shape,
  prefix: string,
  ctx: InferContext,
  rows: LayerRow[],
  params: ParamSpec[],
): Shape {
  let s = input;
  for (const l of layers) {
    const name = prefix + l.name;
    let ps: ParamSpec[] = [];
    let flops = 0;
    switch (l.type) {
      case 'conv': {
        const cout = channels(l.filters, ctx.width);
        const stride = l.stride ?? 1;
        const pad = l.pad ?? 0;
        const h = convOut(s[0], l.kernel, stride, pad);
        const w = convOut(s[1], l.kernel, stride, pad);
        ps = convParams(name, l.kernel, s[2], cout, l.bias ?? true, l.bn ?? false);
        flops = 2 * l.kernel * l.kernel * s[2] * cout * h * w;
        s = [h, w, cout];
        break;
      }
      case 'maxpool':
        s = [poolOut(s[0], l), poolOut(s[1], l), s[2]];
        break;
      case 'block': {
        const cout = channels(l.filters, ctx.width);
        const h = convOut(s[0], 3, l.stride, 1);
        const w = convOut(s[1], 3, l.stride, 1);
        ps = [...convParams(`${name}.conv1`, 3, s[2], cout, false, true), ...convParams(`${name}.conv2`, 3, cout, cout, false, true)];
        flops = 2 * 9 * s[2] * cout * h * w + 2 * 9 * cout * cout * h * w;
        if (l.stride !== 1 || s[2] !== cout) {
          ps.push(...convParams(`${name}.downsample`, 1, s[2], cout, false, true));
          flops += 2 * s[2] * cout * h * w;
        }
        s = [h, w, cout];
        break;
      }
      case 'gap':
        s = [s[2]];
        break;
      case 'flatten':
        s = [s.reduce((a, b) => a * b, 1)];
        break;
      case 'fc': {
        if (s.length !== 1) throw new Error(`${name}: fc needs a flat input, got [${s}]`);
        const units = fcUnits(l, ctx);
        const classifier = l.units === 'classes';
        ps.push({ name: `${name}/kernel`, shape: [s[0], units], init: classifier ? 'glorot' : 'he', trainable: true, ...(classifier ? { classifier } : {}) });
        if (l.bias ?? true) ps.push({ name: `${name}/bias`, shape: [units], init: 'zeros', trainable: true });
        if (l.bn) ps.push(...bnParams(name, units));
        flops = 2 * s[0] * units;
        s = [units];
        break;
      }
      case 'dropout':
      case 'relu':
        break;
    }
    params.push(...ps);
    rows.push({ name, type: l.type, outShape: s, params: count(ps), flops });
  }
  return s;
}

/**
 * The base variant's classifier. With `classifierBatchNorm` (beyond the paper) the hidden FC
 * layers of VGG16's classifier (fc6, fc7) get batch norm before their ReLU: measured on the
 * quickstart's small from-scratch VGG16, Adam otherwise silences ~40% of their units within 100
 * updates and the net's progress depends on the seed (PyTorch twin, 1000 updates, 5 seeds:
 * 36-72% clean without, 66-72% on 3 seeds with).
 */
export function baseClassifier(options: ModelOptions): Layer[] {
  const layers = BACKBONES[options.backbone].classifier;
  if (!options.classifierBatchNorm) return layers;
  return layers.map((l) => (l.type === 'fc' && l.units !== 'classes' ? { ...l, bn: true } : l));
}

/** The whole network, from the options alone (no tensors). */
export function describeModel(options: ModelOptions): Description {
  validateOptions(options);
  const bb = BACKBONES[options.backbone];
  const vd = VARIANTS[options.variant];
  const ctx: InferContext = { width: options.width, numClasses: options.numClasses };
  const rows: LayerRow[] = [];
  const params: ParamSpec[] = [];
  const S = options.inputSize;
  rows.push({ name: 'input', type: 'input', outShape: [S, S, 3], params: 0, flops: 0 });
  const trunk = inferLayers(bb.trunk, [S, S, 3], '', ctx, rows, params);
  const mapSide = trunk[0];
  const patchSide = patchSideFor(mapSide);
  if (!vd.head) {
    inferLayers(baseClassifier(options), trunk, '', ctx, rows, params);
  } else {
    let features = 0;
    if (vd.patches) {
      rows.push({ name: 'crop', type: 'crop', outShape: [NUM_PATCHES, patchSide, patchSide, trunk[2]], params: 0, flops: 0 });
      const uc = channels(bb.unitChannels, options.width);
      for (let i = 0; i < NUM_PATCHES; i++) {
        const p = unitPrefix(i);
        const body = inferLayers(unitBody(bb.unitChannels), [patchSide, patchSide, trunk[2]], p, ctx, rows, params);
        if (body[2] !== uc) throw new Error('unit channels');
        const f = inferLayers(UNIT_FEATURE, body, p, ctx, rows, params);
        if (vd.patchGate) inferLayers(ATTENTION, body, p, ctx, rows, params);
        features += f[0];
      }
    }
    if (vd.global) {
      const g = inferLayers(bb.global, trunk, '', ctx, rows, params);
      const f = inferLayers(GLOBAL_FEATURE, g, GLOBAL_PREFIX, ctx, rows, params);
      if (vd.globalGate) inferLayers(ATTENTION, g, GLOBAL_PREFIX, ctx, rows, params);
      features += f[0];
    }
    if (vd.dlp) {
      const K = options.dlp?.k ?? 8;
      const C = trunk[2];
      const D = channels(DLP_PART_UNITS, options.width);
      const ps: ParamSpec[] = [
        { name: `${DLP_PREFIX}maps/kernel`, shape: [1, 1, C, K], init: 'glorot', trainable: true },
        { name: `${DLP_PREFIX}maps/bias`, shape: [K], init: 'zeros', trainable: true },
      ];
      params.push(...ps);
      rows.push({ name: `${DLP_PREFIX}maps`, type: 'conv', outShape: [mapSide, mapSide, K], params: count(ps), flops: 2 * C * K * mapSide * mapSide });
      rows.push({ name: `${DLP_PREFIX}pool`, type: 'masked-gap', outShape: [K, C], params: 0, flops: 2 * K * C * mapSide * mapSide });
      const fs: ParamSpec[] = [
        { name: `${DLP_PREFIX}parts/kernel`, shape: [K, C, D], init: 'he', trainable: true },
        { name: `${DLP_PREFIX}parts/bias`, shape: [K, D], init: 'zeros', trainable: true },
      ];
      params.push(...fs);
      rows.push({ name: `${DLP_PREFIX}parts`, type: 'fc', outShape: [K * D], params: count(fs), flops: 2 * K * C * D });
      features += K * D;
    }
    rows.push({ name: 'concat', type: 'concat', outShape: [features], params: 0, flops: 0 });
    inferLayers(vd.head, [features], '', ctx, rows, params);
  }
  const totalParams = rows.reduce((a, r) => a + r.params, 0);
  const totalFlops = rows.reduce((a, r) => a + r.flops, 0);
  return { options, rows, params, totalParams, totalFlops, mapSide, patchSide };
}

export function validateOptions(o: ModelOptions): void {
  if (!(o.backbone in BACKBONES)) throw new RangeError(`unknown backbone '${o.backbone}' (vgg16 | resnet18)`);
  if (!(o.variant in VARIANTS)) throw new RangeError(`unknown variant '${o.variant}' (base | pcnn | pacnn | gcnn | gacnn | dlpcnn)`);
  if (!Number.isInteger(o.inputSize) || o.inputSize < 32) throw new RangeError(`inputSize must be an integer >= 32, got ${o.inputSize}`);
  if (!(o.width > 0)) throw new RangeError(`width must be positive, got ${o.width}`);
  if (!Number.isInteger(o.numClasses) || o.numClasses < 2) throw new RangeError(`numClasses must be an integer >= 2, got ${o.numClasses}`);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new RangeError(`dropout must be in [0, 1), got ${o.dropout}`);
  if (o.dlp && (!Number.isInteger(o.dlp.k) || o.dlp.k < 1)) throw new RangeError(`dlp.k must be a positive integer, got ${o.dlp.k}`);
  if (o.patchDropout !== undefined && !(o.patchDropout >= 0 && o.patchDropout < 1)) throw new RangeError(`patchDropout must be in [0, 1), got ${o.patchDropout}`);
}

// ---------------------------------------------------------------------------------------------
// torchvision names (ImageNet initialisation, model/pretrained.ts)

/** torchvision vgg16_bn `features.N` index of each convolution (its BN is N + 1). */
export const VGG16_TORCH_CONV: Readonly<Record<string, number>> = {
  conv1_1: 0, conv1_2: 3, conv2_1: 7, conv2_2: 10, conv3_1: 14, conv3_2: 17, conv3_3: 20,
  conv4_1: 24, conv4_2: 27, conv4_3: 30, conv5_1: 34, conv5_2: 37, conv5_3: 40,
};
/** torchvision vgg16_bn classifier indices; the class layer (classifier.6) is never imported. */
export const VGG16_TORCH_FC: Readonly<Record<string, number>> = { fc6: 0, fc7: 3 };

export type TorchLayout = 'conv' | 'fc' | 'fc-from-chw' | 'vector';
export interface TorchSource {
  torch: string;
  /** conv: OIHW -> HWIO; fc: [out, in] -> [in, out]; fc-from-chw: also reorders the flattened C,H,W input to H,W,C. */
  layout: TorchLayout;
}

const BN_TORCH: Record<string, string> = { gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };

/** The torchvision tensor a parameter imports from, or null for layers torchvision lacks (ACNN units, heads, class layers). */
export function torchvisionSource(backbone: Backbone, param: string): TorchSource | null {
  const [layer, ...rest] = param.split('/');
  const leaf = rest.join('/');
  const bn = rest[0] === 'bn' ? BN_TORCH[rest[1]] : undefined;
  if (backbone === 'vgg16') {
    const ci = VGG16_TORCH_CONV[layer];
    if (ci !== undefined) {
      if (leaf === 'kernel') return { torch: `features.${ci}.weight`, layout: 'conv' };
      if (leaf === 'bias') return { torch: `features.${ci}.bias`, layout: 'vector' };
      if (bn) return { torch: `features.${ci + 1}.${bn}`, layout: 'vector' };
      return null;
    }
    const fi = VGG16_TORCH_FC[layer];
    if (fi !== undefined) {
      if (leaf === 'kernel') return { torch: `classifier.${fi}.weight`, layout: layer === 'fc6' ? 'fc-from-chw' : 'fc' };
      if (leaf === 'bias') return { torch: `classifier.${fi}.bias`, layout: 'vector' };
    }
    return null;
  }
  // ResNet-18: our conv names are torchvision's module names with the BN folded into the conv's name.
  let m: RegExpMatchArray | null;
  if (layer === 'conv1') {
    if (leaf === 'kernel') return { torch: 'conv1.weight', layout: 'conv' };
    if (bn) return { torch: `bn1.${bn}`, layout: 'vector' };
    return null;
  }
  if ((m = layer.match(/^(layer\d\.\d)\.(conv1|conv2|downsample)$/))) {
    const [, blk, part] = m;
    if (leaf === 'kernel') return { torch: part === 'downsample' ? `${blk}.downsample.0.weight` : `${blk}.${part}.weight`, layout: 'conv' };
    if (bn) return { torch: part === 'downsample' ? `${blk}.downsample.1.${bn}` : `${blk}.bn${part.slice(-1)}.${bn}`, layout: 'vector' };
  }
  return null;
}
