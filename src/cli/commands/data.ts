import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn data`.
const cmd: CommandModule = {
  command: 'data',
  describe: '(data: under construction)',
  handler: () => {
    throw new UserError('acnn data is under construction');
  },
};
export default cmd;
