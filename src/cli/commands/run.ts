import type { CommandModule } from 'yargs';
import { BACKEND_CHOICES } from '../../engine/backend.js';

interface Args {
  spec: string;
  set?: string[];
  only?: string[];
  force?: boolean;
  backend: string;
  json?: boolean;
  quiet?: boolean;
  results: string;
  cache: string;
  workers: string;
}

const cmd: CommandModule<object, Args> = {
  command: 'run <spec>',
  describe: 'Train and evaluate every run of a spec, then write its table CSV (finished runs are skipped, interrupted ones resume)',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
      .option('set', { type: 'string', array: true, describe: 'Override a key before validation: --set train.lr=0.01' })
      .option('only', { type: 'string', array: true, describe: 'Run only these run ids (see acnn plan)' })
      .option('force', { type: 'boolean', describe: 'Rerun finished runs from scratch' })
      .option('backend', {
        type: 'string',
        choices: [...BACKEND_CHOICES],
        default: 'auto',
        describe: 'TensorFlow.js backend; auto takes the first that loads (tfjs-node-gpu, tfjs-node, wasm, cpu); webgpu only by name (npm run install:webgpu)',
      })
      .option('json', { type: 'boolean', describe: 'One JSON event per line on stdout (for scripts)' })
      .option('quiet', { type: 'boolean', describe: 'Print nothing but failures' })
      .option('results', { type: 'string', default: 'results', describe: 'Results directory' })
      .option('cache', { type: 'string', default: '.cache', describe: 'Cache directory (synthetic images, landmarks)' })
      .option('workers', {
        type: 'string',
        default: 'auto',
        describe: 'Runs trained at once, each in its own process; auto = one per core on the single-threaded WebAssembly/JS backends, 1 on native TensorFlow',
      })
      .example('$0 run configs/quickstart.yaml', 'the main job on the built-in synthetic dataset')
      .example('$0 run configs/table2.yaml --set train.iterations=1000', 'a shorter Table II'),
  handler: async (args) => {
    const { runSpec } = await import('../../train/run-spec.js');
    const { chooseProgressMode } = await import('../../train/progress.js');
    const { workerExecutor, autoWorkers } = await import('../../sweep/run-workers.js');
    const { UserError } = await import('../../util/errors.js');
    const workers = args.workers === 'auto' ? autoWorkers(args.backend, Infinity) : Number(args.workers);
    if (!Number.isInteger(workers) || workers < 1) throw new UserError(`--workers must be a positive integer or auto, got ${args.workers}`);
    const executor =
      workers > 1
        ? workerExecutor({ workers, specFile: args.spec, sets: args.set, backend: args.backend, resultsDir: args.results, cacheDir: args.cache, json: args.json })
        : undefined;
    const result = await runSpec(args.spec, {
      executor,
      set: args.set,
      only: args.only,
      force: args.force,
      backend: args.backend as never,
      progress: chooseProgressMode(args),
      resultsDir: args.results,
      cacheDir: args.cache,
    });
    process.exitCode = result.exitCode;
  },
};
export default cmd;
