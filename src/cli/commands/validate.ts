import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn validate`.
const cmd: CommandModule = {
  command: 'validate',
  describe: '(validate: under construction)',
  handler: () => {
    throw new UserError('acnn validate is under construction');
  },
};
export default cmd;
