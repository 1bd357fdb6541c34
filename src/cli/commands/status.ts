import type { CommandModule } from 'yargs';

interface Args {
  spec: string;
  set?: string[];
  results: string;
  json?: boolean;
}

const cmd: CommandModule<object, Args> = {
  command: 'status <spec>',
  describe: "Each run's state and progress, read from the run directories",
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
      .option('set', { type: 'string', array: true, describe: 'The same --set overrides the runs were made with' })
      .option('results', { type: 'string', default: 'results', describe: 'Results directory' })
      .option('json', { type: 'boolean', describe: 'Machine-readable output' }),
  handler: async (args) => {
    const { loadSpec, expandRuns } = await import('../../spec/index.js');
    const { runStatuses, formatStatusTable } = await import('../../report/status.js');
    const { runLabel } = await import('../../train/run-label.js');
    const loaded = await loadSpec(args.spec, { set: args.set });
    const runs = expandRuns(loaded).map((r) => ({ id: r.id, label: runLabel(r) }));
    const rows = await runStatuses(args.results, loaded.name, runs);
    if (args.json) console.log(JSON.stringify({ spec: loaded.name, runs: rows }, null, 2));
    else console.log(formatStatusTable(rows));
  },
};
export default cmd;
