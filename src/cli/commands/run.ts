import type { CommandModule } from 'yargs';
import { UserError } from '../../util/errors.js';

// PLACEHOLDER: replaced by the module that implements `acnn run`.
const cmd: CommandModule = {
  command: 'run',
  describe: '(run: under construction)',
  handler: () => {
    throw new UserError('acnn run is under construction');
  },
};
export default cmd;
