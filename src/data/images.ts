import { promises as fs } from 'node:fs';
import sharp from 'sharp';

/**
 * One sample that cannot be read (corrupt or missing image, unusable landmarks). Not a
 * UserError: the loader catches it, turns it into a DataProblem and skips the sample, so a
 * single bad file never stops a run.
 */
export class DataError extends Error {
  readonly file: string;
  readonly kind: 'missing-file' | 'corrupt-image' | 'bad-landmarks' | 'other';
  /** The message without the file name (DataProblem keeps file and message apart). */
  readonly detail: string;
  constructor(file: string, message: string, kind: DataError['kind'] = 'corrupt-image') {
    super(`${file}: ${message}`);
    this.name = 'DataError';
    this.file = file;
    this.kind = kind;
    this.detail = message;
  }
}

export interface RgbImage {
  width: number;
  height: number;
  /** Row-major, 3 channels, no padding. */
  rgb: Uint8Array;
}

export interface CropBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Keeps a box inside the image and on whole pixels; null when nothing of it is left. */
export function clampBox(box: CropBox, width: number, height: number): CropBox | null {
  const left = Math.max(0, Math.round(box.left));
  const top = Math.max(0, Math.round(box.top));
  const right = Math.min(width, Math.round(box.left + box.width));
  const bottom = Math.min(height, Math.round(box.top + box.height));
  if (right - left < 2 || bottom - top < 2) return null;
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * Decodes an image file (JPEG, PNG, ...) to RGB, optionally cropped. Grey images are
 * expanded and alpha dropped so every sample reaches the model with 3 channels.
 */
export async function decodeImageFile(file: string, crop?: CropBox): Promise<RgbImage & { crop?: CropBox }> {
  let buf: Buffer;
  try {
    // A pipe or device under an image's name would block the read forever, or never end.
    if (!(await fs.stat(file)).isFile()) throw new DataError(file, 'not a regular file (a folder, pipe or device)', 'other');
    buf = await fs.readFile(file);
  } catch (err) {
    if (err instanceof DataError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(file, 'file not found (or a symbolic link to nothing)', 'missing-file');
    throw new DataError(file, code === 'ELOOP' ? 'cannot read: a loop of symbolic links' : `cannot read (${code ?? String(err)})`, 'other');
  }
  if (buf.length === 0) throw new DataError(file, 'empty file (0 bytes)', 'corrupt-image');
  return decodeImageBuffer(buf, file, crop);
}

export async function decodeImageBuffer(buf: Buffer, file: string, crop?: CropBox): Promise<RgbImage & { crop?: CropBox }> {
  try {
    // failOn 'warning' makes truncated JPEGs fail instead of decoding to grey padding.
    let img = sharp(buf, { failOn: 'warning' }).rotate();
    let used: CropBox | undefined;
    if (crop) {
      const meta = await img.metadata();
      const w = meta.autoOrient?.width ?? meta.width ?? 0;
      const h = meta.autoOrient?.height ?? meta.height ?? 0;
      const box = clampBox(crop, w, h);
      if (!box) throw new DataError(file, `face box ${JSON.stringify(crop)} lies outside the ${w}x${h} image`, 'other');
      used = box;
      img = sharp(buf, { failOn: 'warning' }).rotate().extract(box);
    }
    const { data, info } = await img.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const rgb = info.channels === 3 ? new Uint8Array(data.buffer, data.byteOffset, data.length) : toRgb(data, info.channels);
    return { width: info.width, height: info.height, rgb, crop: used };
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(file, `corrupt or unsupported image (${(err as Error).message.split('\n')[0]})`, 'corrupt-image');
  }
}

function toRgb(data: Buffer, channels: number): Uint8Array {
  const n = data.length / channels;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const g = data[i * channels];
    out[i * 3] = g;
    out[i * 3 + 1] = channels >= 3 ? data[i * channels + 1] : g;
    out[i * 3 + 2] = channels >= 3 ? data[i * channels + 2] : g;
  }
  return out;
}

/** Grey pixels (FER2013) to RGB. */
export function greyToRgb(grey: Uint8Array): Uint8Array {
  const out = new Uint8Array(grey.length * 3);
  for (let i = 0; i < grey.length; i++) out[i * 3] = out[i * 3 + 1] = out[i * 3 + 2] = grey[i];
  return out;
}

/**
 * Resizes (fill, no aspect preservation) then extracts a window, with the centre-aligned
 * geometry the landmarks follow: x -> (x + 0.5) * s - 0.5. libvips shrinks that way, but its
 * upsampling lands half an output pixel off it, so any axis that grows is interpolated here
 * (bilinear, only for the window's pixels), after libvips has done the shrinking.
 */
export async function resizeAndCrop(img: RgbImage, resizeW: number, resizeH: number, window: CropBox): Promise<Uint8Array> {
  let src = img;
  const shrinkW = resizeW < img.width ? resizeW : img.width;
  const shrinkH = resizeH < img.height ? resizeH : img.height;
  if (shrinkW !== img.width || shrinkH !== img.height) {
    const raw = { width: img.width, height: img.height, channels: 3 as const };
    const data = await sharp(Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength), { raw })
      .resize(shrinkW, shrinkH, { fit: 'fill', kernel: 'linear' })
      .raw()
      .toBuffer();
    src = { width: shrinkW, height: shrinkH, rgb: new Uint8Array(data.buffer, data.byteOffset, data.length) };
  }
  if (src.width === resizeW && src.height === resizeH) return extractWindow(src, window);
  return bilinearWindow(src, resizeW, resizeH, window);
}

function extractWindow(img: RgbImage, w: CropBox): Uint8Array {
  if (w.left === 0 && w.top === 0 && w.width === img.width && w.height === img.height) return img.rgb;
  const out = new Uint8Array(w.width * w.height * 3);
  for (let y = 0; y < w.height; y++) {
    const from = ((y + w.top) * img.width + w.left) * 3;
    out.set(img.rgb.subarray(from, from + w.width * 3), y * w.width * 3);
  }
  return out;
}

/** Bilinear samples of the image resized to resizeW x resizeH, for the window's pixels only. */
function bilinearWindow(img: RgbImage, resizeW: number, resizeH: number, w: CropBox): Uint8Array {
  const { width: W, height: H, rgb } = img;
  const kx = W / resizeW;
  const ky = H / resizeH;
  const x0 = new Int32Array(w.width);
  const x1 = new Int32Array(w.width);
  const fx = new Float32Array(w.width);
  for (let u = 0; u < w.width; u++) {
    const sx = Math.min(W - 1, Math.max(0, (u + w.left + 0.5) * kx - 0.5));
    x0[u] = Math.floor(sx);
    x1[u] = Math.min(W - 1, x0[u] + 1);
    fx[u] = sx - x0[u];
  }
  const out = new Uint8Array(w.width * w.height * 3);
  for (let v = 0; v < w.height; v++) {
    const sy = Math.min(H - 1, Math.max(0, (v + w.top + 0.5) * ky - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(H - 1, y0 + 1);
    const fy = sy - y0;
    const r0 = y0 * W * 3;
    const r1 = y1 * W * 3;
    for (let u = 0; u < w.width; u++) {
      const a = x0[u] * 3;
      const b = x1[u] * 3;
      const f = fx[u];
      const o = (v * w.width + u) * 3;
      for (let c = 0; c < 3; c++) {
        const top = rgb[r0 + a + c] + (rgb[r0 + b + c] - rgb[r0 + a + c]) * f;
        const bot = rgb[r1 + a + c] + (rgb[r1 + b + c] - rgb[r1 + a + c]) * f;
        out[o + c] = Math.round(top + (bot - top) * fy);
      }
    }
  }
  return out;
}

/** Encodes RGB to PNG or JPEG (fixtures, previews, detector inputs). */
export async function encodeImage(img: RgbImage, format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const pipe = sharp(Buffer.from(img.rgb.buffer, img.rgb.byteOffset, img.rgb.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  });
  return format === 'png' ? pipe.png().toBuffer() : pipe.jpeg({ quality: 92 }).toBuffer();
}
