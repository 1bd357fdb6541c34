/**
 * A problem with what the user gave us (spec, flags, data). The CLI prints the message
 * without a stack trace and exits with `exitCode` (2 by convention).
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}
