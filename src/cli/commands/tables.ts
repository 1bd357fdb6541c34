import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

interface Args {
  spec: string;
  set?: string[];
  results: string;
  print?: boolean;
}

const cmd: CommandModule<object, Args> = {
  command: 'tables <spec>',
  describe: "Rebuild a spec's table CSV from its run directories (no training): the runs of the last acnn run (plan.json), the layout of the spec as it is now",
  builder: (y) =>
    y
      .positional('spec', { type: 'string', demandOption: true, describe: 'Spec file (YAML)' })
      .option('set', { type: 'string', array: true, describe: "Plan the runs anew with these overrides instead of reading the last run's plan.json" })
      .option('results', { type: 'string', default: 'results', describe: 'Results directory' })
      .option('print', { type: 'boolean', default: true, describe: 'Also print the CSV' }),
  handler: async (args) => {
    const { loadSpec } = await import('../../spec/index.js');
    const { buildTables, reportRuns, describeSource } = await import('../../report/build.js');
    const { readFile } = await import('node:fs/promises');
    const loaded = await loadSpec(args.spec, { set: args.set });
    if (!loaded.spec.table) throw new UserError(`${args.spec}: the spec has no table: section`);
    const source = await reportRuns(loaded, args.results, { replan: args.set !== undefined });
    const file = (await buildTables(loaded, args.results, source.runs))!;
    if (args.print) process.stdout.write(await readFile(file, 'utf8'));
    console.error(`wrote ${file} (${describeSource(source)})`);
  },
};
export default cmd;
