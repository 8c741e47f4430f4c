// Editing a policy file in place (`swarm certs revoke`): the operator's
// comments and layout stay, the result is checked before it replaces the file,
// and a manager watching the file never reads half of it.
import * as fs from 'node:fs';
import { isScalar, isSeq, parseDocument, Scalar } from 'yaml';
import { writeFileAtomic } from '../util/atomicwrite.js';
import { PolicyError } from './errors.js';
import { fingerprintProblem } from './fingerprint.js';
import { parsePolicy, readPolicyText } from './policy.js';

/** Add `fingerprint` to the file's `revoked` list; `added` is false when it was already there (the file is untouched). */
export function addRevoked(file: string, fingerprint: string): { added: boolean; fingerprint: string } {
  const p = fingerprintProblem(fingerprint);
  if (typeof p === 'string') throw new PolicyError(`bad fingerprint ${JSON.stringify(fingerprint)}: ${p}`);
  const fp = p.fingerprint;
  // a symlinked policy (a config map, a dotfiles repo) is edited where it lives
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    real = file;
  }
  const text = readPolicyText(file);
  // refuse to edit a file that is already broken: the operator should see why first
  const before = parsePolicy(text, file);
  if (before.revoked.has(fp)) return { added: false, fingerprint: fp };
  const next = isJson(text) ? editJson(text, fp, file) : editYaml(text, fp, file);
  try {
    parsePolicy(next, file);
  } catch (e) {
    // cannot happen for a valid input; say so rather than write it
    throw new PolicyError(`not written: the edited policy would not load (${(e as Error).message})`, file);
  }
  writeAtomic(real, next, file);
  return { added: true, fingerprint: fp };
}

const isJson = (text: string): boolean => text.trimStart().startsWith('{');

/** JSON has no comments to keep: rewrite it, 2-space indent. A `{`-file that is YAML flow style, not JSON, goes the YAML way. */
function editJson(text: string, fp: string, file: string): string {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(text);
  } catch {
    return editYaml(text, fp, file);
  }
  obj.revoked = [...(Array.isArray(obj.revoked) ? obj.revoked : []), fp];
  return JSON.stringify(obj, null, 2) + '\n';
}

function editYaml(text: string, fp: string, file: string): string {
  const doc = parseDocument(text, { uniqueKeys: false });
  const list = doc.get('revoked', true);
  const item = new Scalar(fp);
  if (isSeq(list)) {
    // the new line looks like its neighbours ("quoted" or plain)
    const last = list.items[list.items.length - 1];
    if (isScalar(last) && last.type) item.type = last.type;
    list.items.push(item);
  } else if (list === undefined || list === null || (isScalar(list) && list.value === null)) {
    // absent or empty (`revoked:`): a block list
    doc.set('revoked', doc.createNode([fp]));
  } else {
    // an alias (`revoked: *old`): adding to it would change what else it names
    throw new PolicyError('cannot add to revoked: it is not a plain list; add the fingerprint by hand', file);
  }
  // no folding of long lines, `[a, b]` rather than `[ a, b ]`: as close to the operator's text as yaml prints
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** Temp file beside the target with its mode, synced, renamed over it. */
function writeAtomic(file: string, data: string, shown: string): void {
  let mode = 0o644;
  try {
    mode = fs.statSync(file).mode & 0o7777;
  } catch {
    // keep the default
  }
  try {
    writeFileAtomic(file, data, mode);
  } catch (e) {
    throw new PolicyError(`cannot write the access policy: ${(e as Error).message}`, shown);
  }
}
