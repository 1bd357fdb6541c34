import type { CommandModule } from 'yargs';

interface Args {
  spec: string;
  set?: string[];
  json?: boolean;
}

const cmd: CommandModule<object, Args> = {
  command: 'render <spec>',
  describe: 'Print the resolved spec: extends merged, ${...} and --set applied, defaults written out',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
      .option('set', { type: 'string', array: true, describe: 'Override a key: --set model.width=0.5 (repeatable)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON instead of YAML' })
      .example('$0 render configs/quickstart.yaml --set train.lr=0.02', 'See the spec as acnn reads it') as never,
  handler: async (argv) => {
    const { loadSpec } = await import('../../spec/index.js');
    const { orderBySchema } = await import('../../spec/render.js');
    const loaded = await loadSpec(argv.spec, { set: argv.set });
    const ordered = orderBySchema(loaded.spec);
    if (argv.json) console.log(JSON.stringify(ordered, null, 2));
    else {
      const { stringify } = await import('yaml');
      process.stdout.write(`# resolved from ${argv.spec}\n${stringify(ordered, { lineWidth: 0 })}`);
    }
  },
};
export default cmd;
