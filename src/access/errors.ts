// The one error the access policy code throws for a file or value the user
// must fix: the CLI prints its message without a stack, the manager logs it
// and keeps the last good policy.

/** `<source>:<line>: <reason>` when the line is known, `<source>: <reason>`, or just the reason. */
export class PolicyError extends Error {
  constructor(readonly reason: string, readonly source?: string, readonly line?: number) {
    super(source === undefined ? reason : `${source}${line === undefined ? '' : `:${line}`}: ${reason}`);
    this.name = 'PolicyError';
  }
}
