import type { CommandModule } from 'yargs';

interface Args {
  spec: string;
  set?: string[];
  json?: boolean;
}

const cmd: CommandModule<object, Args> = {
  command: 'plan <spec>',
  describe: 'List the runs a spec expands to: run id, the settings that differ between runs, tags',
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
      .option('set', { type: 'string', array: true, describe: 'Override a key: --set train.iterations=100 (repeatable)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print a JSON array of {id, index, differs, tags, config}' })
      .example('$0 plan configs/table2.yaml', 'The 12 runs of Table II') as never,
  handler: async (argv) => {
    const { loadSpec, expandRuns } = await import('../../spec/index.js');
    const { formatPlan } = await import('../../spec/render.js');
    const loaded = await loadSpec(argv.spec, { set: argv.set });
    const runs = expandRuns(loaded);
    if (argv.json) {
      console.log(JSON.stringify(runs.map((r) => ({ id: r.id, index: r.index, differs: r.differs, tags: r.config.tags, config: r.config })), null, 2));
    } else process.stdout.write(formatPlan(loaded, runs));
  },
};
export default cmd;
