/** The paper's seven classes, in Table I order. Every adapter maps its own codes onto these indices. */
export const CLASSES = ['neutral', 'anger', 'disgust', 'fear', 'happy', 'sad', 'surprise'] as const;
export type ClassName = (typeof CLASSES)[number];
export const NUM_CLASSES = CLASSES.length;

/** A problem found while reading a dataset: reported, counted, and the sample skipped. */
export interface DataProblem {
  kind: 'missing-file' | 'corrupt-image' | 'bad-label' | 'bad-landmarks' | 'no-face' | 'other';
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
