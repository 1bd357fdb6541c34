import type { CommandModule } from 'yargs';

interface Args {
  dir: string;
  force?: boolean;
  backend: string;
  json?: boolean;
  quiet?: boolean;
  cache: string;
}

/**
 * `acnn run-dir <dir>`: one prepared run directory (its config.json), what `acnn run --workers`
 * and `acnn sweep` start in each worker process or Slurm array task. Hidden from --help.
 */
const cmd: CommandModule<object, Args> = {
  command: 'run-dir <dir>',
  describe: false,
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'Run directory: results/<spec>/<run-id> with its config.json' })
      .option('force', { type: 'boolean', describe: 'Rerun a finished run from scratch' })
      .option('backend', { type: 'string', choices: ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'], default: 'auto', describe: 'TensorFlow.js backend' })
      .option('json', { type: 'boolean', describe: 'One JSON event per line on stdout' })
      .option('quiet', { type: 'boolean', describe: 'Print nothing but failures' })
      .option('cache', { type: 'string', default: '.cache', describe: 'Cache directory (synthetic images, landmarks)' }),
  handler: async (args) => {
    const { runPrepared } = await import('../../train/run-prepared.js');
    const { createReporter } = await import('../../train/progress.js');
    const { chooseProgressMode } = await import('../../util/progress.js');
    const reporter = createReporter(chooseProgressMode(args));
    try {
      const { exitCode } = await runPrepared(args.dir, { reporter, force: args.force, backend: args.backend as never, cacheDir: args.cache });
      process.exitCode = exitCode;
    } finally {
      reporter.close();
    }
  },
};
export default cmd;
