import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn model`.
const cmd: CommandModule = {
  command: 'model',
  describe: '(model: under construction)',
  handler: () => {
    throw new UserError('acnn model is under construction');
  },
};
export default cmd;
