import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn sweep`.
const cmd: CommandModule = {
  command: 'sweep',
  describe: '(sweep: under construction)',
  handler: () => {
    throw new UserError('acnn sweep is under construction');
  },
};
export default cmd;
