// TEMPORARY stub: replaced by wt-policy's module on merge.
import { EventEmitter } from 'node:events';
import type { Policy } from './policy.js';
export class PolicyHolder extends EventEmitter {
  constructor(public current: Policy) { super(); }
  static load(_file: string): PolicyHolder { throw new Error('stub'); }
  reload(_reason: string): boolean { return false; }
  watch(): void { /* stub */ }
  close(): void { /* stub */ }
}
