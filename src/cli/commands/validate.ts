import type { CommandModule } from 'yargs';

interface Args {
  specs: string[];
  set?: string[];
}

const cmd: CommandModule<object, Args> = {
  command: 'validate <specs..>',
  describe: 'Check spec files: every problem of every file, with file:line:col, key and a did-you-mean',
  builder: (y) =>
    y
      .positional('specs', { type: 'string', array: true, demandOption: true, describe: 'Spec files (YAML)' })
      .option('set', { type: 'string', array: true, describe: 'Override a key before validation: --set train.lr=0.01 (repeatable)' })
      .example('$0 validate configs/*.yaml', 'Validate every config')
      .example('$0 validate configs/table2.yaml --set train.iterations=100', 'Validate with an override') as never,
  handler: async (argv) => {
    const { loadSpec, expandRuns, SpecError } = await import('../../spec/index.js');
    const { displayFile } = await import('../../spec/errors.js');
    let bad = 0;
    for (const file of argv.specs) {
      try {
        const loaded = await loadSpec(file, { set: argv.set });
        const runs = expandRuns(loaded);
        console.log(`ok: ${displayFile(loaded.file)} (${runs.length} run${runs.length === 1 ? '' : 's'})`);
      } catch (err) {
        if (!(err instanceof SpecError)) throw err;
        bad++;
        console.error(err.message);
      }
    }
    if (bad) {
      if (argv.specs.length > 1) console.error(`${bad} of ${argv.specs.length} spec files have problems`);
      process.exitCode = 2;
    }
  },
};
export default cmd;
