// The one error the certificate library throws for a user's mistake (a bad
// name, a missing CA, a file it will not overwrite): the CLI prints its
// message without a stack.
export class CertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertError';
  }
}
