// Certificate tooling: a CA, server and client certificates for TLS between
// docker clients, the manager and the engines, and client bundles
// (docs/certs.md).
export { CertError } from './errors.js';
export {
  createCA, issueCert, type KeyPair, type CaOptions, type CertOptions,
  DEFAULT_CA_NAME, DEFAULT_CA_DAYS, DEFAULT_CERT_DAYS, DEFAULT_KEY_BITS,
} from './issue.js';
export {
  initCA, issueToDir, loadCA, certPaths, caPaths, defaultCertDir, type CertDirs,
} from './files.js';
export { bundle, envLines, accessPolicyEntry, bundleZipPath, BUNDLE_SCRIPTS } from './bundle.js';
export { describeCert, SERVER_AUTH, CLIENT_AUTH, type CertSummary } from './inspect.js';
export { KEY_MODE, CERT_MODE, DIR_MODE } from './write.js';
