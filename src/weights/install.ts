/**
 * `acnn weights get` and `acnn weights import`: a file enters the cache only after its sha256
 * (prefix from the file name, torch.hub's check) and its content (a state dict the restricted
 * reader accepts) are checked, by rename from a temporary file in the same folder.
 */
import { copyFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { backboneOf, readStateDict, TORCHVISION_NAME, weightFormatOf, type StateDict } from '../model/index.js';
import { UserError } from '../util/errors.js';
import { downloadToPart, type DownloadOptions } from './download.js';
import { baseUrl, CATALOG, hashPrefixOf, installFile, sha256File, weightsDir } from './store.js';
import { exists } from '../util/fs.js';

export interface InstallResult {
  file: string;
  path: string;
  sha256: string;
  /** Already there with this content: nothing was written. */
  already: boolean;
}

/** Reads the file through the restricted reader; anything it refuses is refused here too. */
async function checkContent(file: string, shownAs: string): Promise<StateDict> {
  try {
    return await readStateDict(file);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${err.message.split(file).join(shownAs)}\nNothing was installed.`);
    throw err;
  }
}

/** Where `acnn weights get NAME|URL` fetches from, and the file name it installs. */
export function sourceOf(what: string): { url: string; file: string } {
  const entry = CATALOG[what];
  if (entry) return { url: `${baseUrl()}/${entry.file}`, file: entry.file };
  if (/^https?:\/\//.test(what)) {
    const file = decodeURIComponent(new URL(what).pathname.split('/').pop() ?? '');
    if (!file) throw new UserError(`weights get: ${what} names no file`);
    return { url: what, file };
  }
  throw new UserError(`weights get: unknown weights '${what}' (known: ${Object.keys(CATALOG).join(', ')}; or an http(s) URL of a file named <name>-<sha256 prefix>.pth)`);
}

export interface GetOptions extends DownloadOptions {
  /** The sha256 (or a prefix) to check, when the file name carries none. */
  sha256?: string;
  dir?: string;
}

export async function getWeights(what: string, opts: GetOptions = {}): Promise<InstallResult> {
  const { url, file } = sourceOf(what);
  const expect = (opts.sha256 ?? hashPrefixOf(file))?.toLowerCase();
  if (!expect) throw new UserError(`weights get: ${file} carries no sha256 prefix in its name (<name>-<hex>.pth); give --sha256`);
  const dir = opts.dir ?? weightsDir();
  await mkdir(dir, { recursive: true });
  const final = path.join(dir, installedName(file, expect));
  if (await exists(final)) {
    const sha256 = await sha256File(final);
    if (sha256.startsWith(expect)) return { file: path.basename(final), path: final, sha256, already: true };
  }
  const part = path.join(dir, `.${path.basename(final)}.part`);
  await downloadToPart(url, part, opts);
  const sha256 = await sha256File(part);
  if (!sha256.startsWith(expect)) {
    await rm(part, { force: true });
    throw new UserError(`${url}: sha256 ${sha256} does not start with ${expect}, the hash its name promises; the download was deleted and nothing was installed.`);
  }
  try {
    await checkContent(part, url);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  await installFile(part, final);
  return { file: path.basename(final), path: final, sha256, already: false };
}

/** `name-<hash>.ext`: a catalog or URL name keeps its own hash; a name without one gets the sha256 prefix. */
function installedName(file: string, sha: string): string {
  if (hashPrefixOf(file)) return file;
  const ext = path.extname(file) || '.pth';
  return `${path.basename(file, ext)}-${sha.slice(0, 8)}${ext}`;
}

export interface ImportOptions {
  /** Install under this name even when the file holds no known backbone. */
  name?: string;
  dir?: string;
}

/**
 * Installs a copy the user already has. Named after torchvision's file when its sha256 is that
 * file's, else `<backbone's torchvision name>-<sha8>` (so `pretrained: imagenet` finds it), else
 * `--name`-<sha8>; a file holding neither backbone needs --name.
 */
export async function importWeights(src: string, opts: ImportOptions = {}): Promise<InstallResult & { backbone?: string }> {
  const dict = await checkContent(src, src);
  const sha256 = await sha256File(src);
  const format = await weightFormatOf(src);
  const ext = format === 'safetensors' ? '.safetensors' : '.pth';
  const backbone = backboneOf(dict);
  const catalog = Object.values(CATALOG).find((e) => sha256.startsWith(hashPrefixOf(e.file)!));
  let base: string;
  if (catalog) base = catalog.file;
  else if (opts.name) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.]*$/.test(opts.name)) throw new UserError(`weights import: --name '${opts.name}' must be letters, digits, _ and . only`);
    base = `${opts.name}-${sha256.slice(0, 8)}${ext}`;
  } else if (backbone) base = `${TORCHVISION_NAME[backbone]}-${sha256.slice(0, 8)}${ext}`;
  else {
    throw new UserError(
      `${src}: holds neither vgg16_bn nor resnet18 tensors (torchvision names, e.g. features.0.weight or layer1.0.conv1.weight); give --name NAME to install it anyway. Nothing was installed.`,
    );
  }
  const dir = opts.dir ?? weightsDir();
  await mkdir(dir, { recursive: true });
  const final = path.join(dir, base);
  if ((await exists(final)) && (await sha256File(final)) === sha256) return { file: base, path: final, sha256, already: true, backbone };
  const tmp = path.join(dir, `.${base}.${process.pid}.tmp`);
  try {
    await copyFile(src, tmp);
    await installFile(tmp, final);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { file: base, path: final, sha256, already: false, backbone };
}
