// TEMPORARY stub index: replaced by wt-policy's on merge.
export * from './policy.js';
export { PolicyHolder } from './watch.js';
export { AuditLog, type AuditEntry, type Decision } from './audit.js';
