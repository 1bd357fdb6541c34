import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn doctor`.
const cmd: CommandModule = {
  command: 'doctor',
  describe: '(doctor: under construction)',
  handler: () => {
    throw new UserError('acnn doctor is under construction');
  },
};
export default cmd;
