import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn status`.
const cmd: CommandModule = {
  command: 'status',
  describe: '(status: under construction)',
  handler: () => {
    throw new UserError('acnn status is under construction');
  },
};
export default cmd;
