import type { CommandModule } from 'yargs';

interface DoctorArgs {
  json?: boolean;
}

/** `acnn doctor`: which TensorFlow.js backends load here, and why the others don't. Always exits 0. */
const cmd: CommandModule<object, DoctorArgs> = {
  command: 'doctor',
  describe: 'Check which TensorFlow.js backends load on this machine and why the others do not',
  builder: (y) => y.option('json', { type: 'boolean', describe: 'Print the report as JSON' }),
  handler: async (args) => {
    // Heavy: pulls in TensorFlow.js; kept out of CLI start-up.
    const { runDoctor, formatDoctor } = await import('../../engine/doctor.js');
    const report = await runDoctor();
    console.log(args.json ? JSON.stringify(report, null, 2) : formatDoctor(report));
  },
};
export default cmd;
