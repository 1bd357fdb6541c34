/**
 * The user's weights cache: `$ACNN_HOME/weights/` (ACNN_HOME defaults to $XDG_CACHE_HOME/acnn,
 * else ~/.cache/acnn). Every installed file is named `<name>-<hex>.<ext>`, the hex being the
 * start of its sha256 (torchvision's convention, checked the way torch.hub checks it), and got
 * there by rename from a checked temporary file: a partial or unchecked file is never listed
 * or used. Downloads in progress are `.<file>.part`, hidden from listings.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Backbone } from '../model/types.js';

/** torchvision's ImageNet checkpoints: `model.pretrained: imagenet` means these. */
export interface CatalogEntry {
  name: string;
  file: string;
  backbone: Backbone;
}
export const CATALOG: Record<string, CatalogEntry> = {
  vgg16_bn: { name: 'vgg16_bn', file: 'vgg16_bn-6c64b313.pth', backbone: 'vgg16' },
  resnet18: { name: 'resnet18', file: 'resnet18-f37072fd.pth', backbone: 'resnet18' },
};
export const DEFAULT_BASE_URL = 'https://download.pytorch.org/models';

export function catalogFor(backbone: Backbone): CatalogEntry {
  return Object.values(CATALOG).find((e) => e.backbone === backbone)!;
}

/** Where torchvision's files are fetched from; ACNN_WEIGHTS_BASE_URL points elsewhere (a mirror, a test server). */
export function baseUrl(): string {
  return (process.env.ACNN_WEIGHTS_BASE_URL || DEFAULT_BASE_URL).replace(/\/+$/, '');
}

export function acnnHome(): string {
  if (process.env.ACNN_HOME) return path.resolve(process.env.ACNN_HOME);
  if (process.env.XDG_CACHE_HOME) return path.resolve(process.env.XDG_CACHE_HOME, 'acnn');
  return path.join(os.homedir(), '.cache', 'acnn');
}

export function weightsDir(): string {
  return path.join(acnnHome(), 'weights');
}

const INSTALLED = /^([A-Za-z0-9][A-Za-z0-9_.]*?)-([0-9a-f]{8,64})\.(pth|pt|safetensors)$/;

/** The sha256 prefix a file name carries (`resnet18-f37072fd.pth` -> f37072fd), as torch.hub reads it. */
export function hashPrefixOf(fileName: string): string | undefined {
  return fileName.match(/-([0-9a-f]{8,64})\.[A-Za-z0-9]+$/)?.[1];
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface InstalledWeights {
  /** The name before the hash (vgg16_bn, resnet18, or one given to `weights import --name`). */
  name: string;
  file: string;
  path: string;
  bytes: number;
  sha256: string;
  /** Whether the sha256 starts with the hex in the file name. */
  verified: boolean;
  /** The backbone whose `pretrained: imagenet` this file can serve, by its name. */
  imagenetFor?: Backbone;
  installedAt: string;
}

export async function listInstalled(dir = weightsDir()): Promise<InstalledWeights[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const out: InstalledWeights[] = [];
  for (const file of names.sort()) {
    const m = file.match(INSTALLED);
    if (!m) continue;
    const p = path.join(dir, file);
    const st = await fs.stat(p);
    if (!st.isFile()) continue;
    const sha256 = await sha256File(p);
    const imagenetFor = CATALOG[m[1]]?.backbone;
    out.push({ name: m[1], file, path: p, bytes: st.size, sha256, verified: sha256.startsWith(m[2]), ...(imagenetFor ? { imagenetFor } : {}), installedAt: st.mtime.toISOString() });
  }
  return out;
}

/**
 * The file `pretrained: imagenet` uses for a backbone: torchvision's own file when installed,
 * else the newest imported copy named after it (`vgg16_bn-<hash>.pth`), else undefined.
 */
export async function resolveImagenet(backbone: Backbone, dir = weightsDir()): Promise<string | undefined> {
  const entry = catalogFor(backbone);
  const own = path.join(dir, entry.file);
  try {
    if ((await fs.stat(own)).isFile()) return own;
  } catch {
    // not installed under torchvision's name
  }
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return undefined;
  }
  const copies = [];
  for (const file of names) {
    const m = file.match(INSTALLED);
    if (m && m[1] === entry.name) copies.push({ file, mtime: (await fs.stat(path.join(dir, file))).mtimeMs });
  }
  copies.sort((a, b) => b.mtime - a.mtime || a.file.localeCompare(b.file));
  return copies.length ? path.join(dir, copies[0].file) : undefined;
}

/** Makes a checked temporary file the installed one: fsync, rename in the same folder, fsync the folder. */
export async function installFile(tmp: string, finalPath: string): Promise<void> {
  const fh = await fs.open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, finalPath);
  const dh = await fs.open(path.dirname(finalPath), 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}
