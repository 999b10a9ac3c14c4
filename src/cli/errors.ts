/** An expected problem (bad flag, port in use, not root): printed as one line, no stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}
