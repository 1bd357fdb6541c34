/** The paper's seven classes, in Table I order. Every adapter maps its own codes onto these indices. */
export const CLASSES = ['neutral', 'anger', 'disgust', 'fear', 'happy', 'sad', 'surprise'] as const;
export type ClassName = (typeof CLASSES)[number];
export const NUM_CLASSES = CLASSES.length;

/** A problem found while reading a dataset: reported, counted, and the sample skipped. */
export interface DataProblem {
  /** bad-record: a row or file that cannot be read as one sample (wrong field count, wrong pixel count). */
  kind: 'missing-file' | 'corrupt-image' | 'bad-label' | 'bad-landmarks' | 'bad-record' | 'no-face' | 'other';
  file: string;
  line?: number;
  message: string;
}

/** One sample as listed by an adapter, before any pixel is decoded. */
export interface SampleRef {
  /** Stable id within the dataset (relative path, or synthetic index). */
  id: string;
  /** Absolute image path; for synthetic data a descriptor string. */
  source: string;
  /** Index into CLASSES. */
  label: number;
  split: string;
  /** 68 iBUG points (x0,y0,x1,y1,...) in the image's own pixel frame, when the dataset has them. */
  landmarks?: Float32Array;
  /** Subject id, for subject-independent folds (CK+, Oulu-CASIA, MMI). */
  subject?: string;
}

/** A decoded sample: RGB bytes, row-major, 3 channels. */
export interface DecodedSample {
  id: string;
  width: number;
  height: number;
  rgb: Uint8Array;
  landmarks: Float32Array;
  label: number;
}

/** What the runner gets: a batch at the model's input size. */
export interface Batch {
  size: number;
  ids: string[];
  /** float32 NHWC in [0,1], size * inputSize * inputSize * 3. */
  images: Float32Array;
  /** size * 68 * 2, in input pixels. */
  landmarks: Float32Array;
  labels: Int32Array;
  /** size * inputSize * inputSize, 1 where an occluder covers the pixel; absent when nothing is occluded. */
  occluderMasks?: Uint8Array;
}

/** A dataset entry as the runner hands it to data/: plain options, no spec types. */
export interface DatasetOptions {
  /** The spec's name for it (used in messages and cache paths). */
  name: string;
  format: string;
  root?: string;
  /** Format-specific settings (synthetic sizes, landmark policy, manifest path, ...). */
  [key: string]: unknown;
}

export interface DatasetListing {
  samples: SampleRef[];
  problems: DataProblem[];
}

/** One per format (rafdb, affectnet, ckplus, sfew, oulu, fedro, fer2013, manifest, synthetic). */
export interface DatasetAdapter {
  readonly format: string;
  /** Splits this format knows (e.g. ['train', 'test']). */
  splits(options: DatasetOptions): string[];
  /** Lists a split. Bad rows become problems, never exceptions; a missing root is a UserError. */
  list(options: DatasetOptions, split: string): Promise<DatasetListing>;
  /** Decodes one sample; throws DataError (naming the file) for a corrupt or missing image. */
  load(ref: SampleRef, options: DatasetOptions): Promise<DecodedSample>;
}

/** An occluded image at input size and the occluder's mask (1 = covered). */
export interface OccludedImage {
  rgb: Uint8Array;
  mask: Uint8Array;
}
