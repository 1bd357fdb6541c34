import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn render`.
const cmd: CommandModule = {
  command: 'render',
  describe: '(render: under construction)',
  handler: () => {
    throw new UserError('acnn render is under construction');
  },
};
export default cmd;
