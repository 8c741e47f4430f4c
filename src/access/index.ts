// Per-user access control (issue 17): the policy file, what it grants a user
// on an object, revoked certificates, and the manager's live copy of it.
export { PolicyError } from './errors.js';
export {
  LEVELS, atLeast, maxLevel, isLevel, parsePolicy, loadPolicy, type Level, type Policy, type Team,
} from './policy.js';
export { normalizeFingerprint, fingerprintOfPem, certIdentity } from './fingerprint.js';
export { isAdmin, levelOn, visibleLabels, isRevoked, type Visible } from './rules.js';
export { addRevoked } from './edit.js';
export { PolicyHolder, type PolicyHolderEvents } from './watch.js';
export { AuditLog, type AuditEntry, type Decision } from './audit.js';
