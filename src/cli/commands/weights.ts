import type { Argv, CommandModule } from 'yargs';

interface GetArgs {
  what: string;
  sha256?: string;
  retries: number;
}
interface ImportArgs {
  file: string;
  name?: string;
}
interface ListArgs {
  json?: boolean;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

async function runGet(args: GetArgs): Promise<void> {
  const [{ getWeights, sourceOf }, { default: cliProgress }] = await Promise.all([import('../../weights/install.js'), import('cli-progress')]);
  const { url } = sourceOf(args.what);
  const tty = process.stderr.isTTY;
  const bar = tty ? new cliProgress.SingleBar({ format: ' {bar} {percentage}% | {value}/{total} MiB | {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
  const toMiB = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  const result = await getWeights(args.what, {
    sha256: args.sha256,
    retries: args.retries,
    onStart: ({ total, resumedFrom }) => {
      if (!tty) console.error(`downloading ${url}${resumedFrom ? ` (resuming at ${resumedFrom} bytes)` : ''}${total ? `, ${mib(total)}` : ''}`);
      bar?.start(toMiB(total ?? 0), toMiB(resumedFrom));
    },
    onProgress: ({ received }) => bar?.update(toMiB(received)),
    onRetry: (err, n) => {
      bar?.stop();
      console.error(`connection broke (${err.message}); resuming (attempt ${n + 1})`);
    },
  }).finally(() => bar?.stop());
  console.log(`${result.already ? 'already installed' : 'installed'}: ${result.path} (sha256 ${result.sha256})`);
}

async function runImport(args: ImportArgs): Promise<void> {
  const { importWeights } = await import('../../weights/install.js');
  const r = await importWeights(args.file, { name: args.name });
  const what = r.backbone ? ` (${r.backbone} tensors)` : '';
  console.log(`${r.already ? 'already installed' : 'installed'}: ${r.path}${what} (sha256 ${r.sha256})`);
}

async function runList(args: ListArgs): Promise<void> {
  const { listInstalled, weightsDir } = await import('../../weights/store.js');
  const items = await listInstalled();
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ dir: weightsDir(), weights: items }, null, 2)}\n`);
    return;
  }
  if (!items.length) {
    console.log(`no weights installed in ${weightsDir()} (acnn weights get vgg16_bn)`);
    return;
  }
  console.log(`weights in ${weightsDir()}:`);
  for (const w of items) {
    const use = w.imagenetFor ? `  pretrained: imagenet (${w.imagenetFor})` : '';
    console.log(`  ${w.file}  ${mib(w.bytes)}  sha256 ${w.sha256}${w.verified ? '' : '  MISMATCH: not the hash its name promises'}${use}`);
  }
}

const cmd: CommandModule = {
  command: 'weights <command>',
  describe: 'ImageNet weights for model.pretrained: imagenet (download, import, list)',
  builder: (y: Argv) =>
    y
      .command({
        command: 'get <what>',
        describe: "Download torchvision's checkpoint (vgg16_bn | resnet18, or a URL) into the cache, resumable, sha256-checked",
        builder: (c: Argv) =>
          c
            .positional('what', { type: 'string', demandOption: true, describe: 'vgg16_bn, resnet18, or an http(s) URL of <name>-<sha256 prefix>.pth' })
            .option('sha256', { type: 'string', describe: 'Expected sha256 (or prefix) when the file name carries none' })
            .option('retries', { type: 'number', default: 3, describe: 'Resumed attempts after a broken connection' })
            .epilogue('Files go to $ACNN_HOME/weights (default $XDG_CACHE_HOME/acnn, else ~/.cache/acnn). ACNN_WEIGHTS_BASE_URL replaces https://download.pytorch.org/models.'),
        handler: (a) => runGet(a as unknown as GetArgs),
      })
      .command({
        command: 'import <file>',
        describe: 'Install a checkpoint you already have (.pth or .safetensors), after checking it is a plain state dict',
        builder: (c: Argv) =>
          c
            .positional('file', { type: 'string', demandOption: true, describe: 'The .pth or .safetensors file' })
            .option('name', { type: 'string', describe: 'Install under this name (needed when it holds neither vgg16_bn nor resnet18 tensors)' }),
        handler: (a) => runImport(a as unknown as ImportArgs),
      })
      .command({
        command: 'list',
        describe: 'Installed weights with sizes and sha256',
        builder: (c: Argv) => c.option('json', { type: 'boolean', describe: 'Print JSON' }),
        handler: (a) => runList(a as unknown as ListArgs),
      })
      .demandCommand(1, 'Name a weights command: get, import or list.'),
  handler: () => undefined,
};
export default cmd;
