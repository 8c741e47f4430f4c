// TEMPORARY stub: replaced by wt-bundle's module on merge.
export type Decision = 'allowed' | 'denied' | 'hidden' | 'refused';
export interface AuditEntry { time: string; user: string; remote: string; method: string; path: string; route: string; object?: string; node?: string; decision: Decision; reason?: string; status?: number | string }
export class AuditLog {
  static open(_target: string): AuditLog { return new AuditLog(); }
  write(e: AuditEntry): void { process.stdout.write(JSON.stringify(e) + '\n'); }
  reopen(): void { /* stub */ }
  async close(): Promise<void> { /* stub */ }
  readonly dropped = 0;
}
