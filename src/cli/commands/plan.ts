import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn plan`.
const cmd: CommandModule = {
  command: 'plan',
  describe: '(plan: under construction)',
  handler: () => {
    throw new UserError('acnn plan is under construction');
  },
};
export default cmd;
