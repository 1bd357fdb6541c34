import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn tables`.
const cmd: CommandModule = {
  command: 'tables',
  describe: '(tables: under construction)',
  handler: () => {
    throw new UserError('acnn tables is under construction');
  },
};
export default cmd;
