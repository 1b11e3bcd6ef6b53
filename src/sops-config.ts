// .sops.yaml at the output root: its first creation rule that covers sealed/ names the age
// recipients. The tool writes the rule when the file is missing and updates only that
// rule's recipients when --age-recipient is given; everything else in the file is the
// user's. Pure: text in, recipients and text out.
import { runInNewContext } from 'node:vm';
import { commentBlock, toYaml } from './yaml.ts';
import { parseUntrusted, readUntrusted } from './yaml-lib.ts';
import { checkRecipient } from './age-keys.ts';
import { sameLineEnds, SOPS_CONFIG_FILE } from './config.ts';
import { fail } from './errors.ts';
import { K8S_ENCRYPTED_REGEX } from './sops.ts';

/** Unanchored, as sops matches it against the path relative to .sops.yaml. */
export const SEALED_PATH_REGEX = 'sealed/.*\\.yaml$';

export interface SopsRule {
  /** Index of the rule in creation_rules, or -1 when the file has none (a new file). */
  index: number;
  recipients: string[];
  encryptedRegex: string;
}

/** The rule sops would use for `samplePath` (the first match), or a failure naming the fix. */
export function coveringRule(text: string | null, samplePath: string): SopsRule {
  if (text === null) return { index: -1, recipients: [], encryptedRegex: K8S_ENCRYPTED_REGEX };
  const parsed = readUntrusted(text, SOPS_CONFIG_FILE, 'fix it, or move it away to let the tool write one');
  const rules = (parsed as { creation_rules?: unknown } | null)?.creation_rules;
  const list = Array.isArray(rules) ? (rules as Record<string, unknown>[]) : [];
  const index = list.findIndex((rule) => {
    const pattern = rule?.path_regex;
    if (pattern === undefined) return true;
    if (String(pattern).length > 512)
      fail(`${SOPS_CONFIG_FILE}: path_regex is over 512 characters; simplify it (e.g. sealed/.*\\.yaml$)`);
    // RE2's (?i) prefix, the one RE2-only form seen in practice, as a JavaScript flag.
    const m = /^\(\?i\)(.*)$/s.exec(String(pattern));
    try {
      // sops evaluates RE2 (linear time); JavaScript backtracks, so a pattern from a pull
      // request runs under a deadline instead of possibly for hours.
      return (
        runInNewContext(
          'new RegExp(source, flags).test(path)',
          { source: m ? m[1]! : String(pattern), flags: m ? 'i' : '', path: samplePath },
          { timeout: 250 },
        ) === true
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        return fail(
          `${SOPS_CONFIG_FILE}: path_regex ${JSON.stringify(String(pattern).slice(0, 80))} takes too long to evaluate (it backtracks; sops's RE2 would not); simplify it (e.g. sealed/.*\\.yaml$)`,
        );
      }
      return fail(
        `${SOPS_CONFIG_FILE}: path_regex ${JSON.stringify(String(pattern).slice(0, 80))} is not a regular expression this tool can evaluate; simplify it (e.g. sealed/.*\\.yaml$)`,
      );
    }
  });
  const rule = list[index];
  if (!rule) {
    fail(
      `${SOPS_CONFIG_FILE} has no creation rule that covers ${samplePath}; add one first in creation_rules: {path_regex: '${SEALED_PATH_REGEX}', encrypted_regex: '${K8S_ENCRYPTED_REGEX}', age: 'age1...'}, or move the file away to let the tool write one`,
    );
  }
  const age = rule.age;
  const raw = Array.isArray(age) ? age.map(String) : typeof age === 'string' ? age.split(',') : [];
  const recipients = raw
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => checkRecipient(r, `${SOPS_CONFIG_FILE}: age recipient`));
  if (recipients.length === 0) {
    fail(
      `${SOPS_CONFIG_FILE}: the creation rule for sealed/ has no age recipients; set its age: to your recipients, or pass --age-recipient`,
    );
  }
  const regex = typeof rule.encrypted_regex === 'string' ? rule.encrypted_regex : K8S_ENCRYPTED_REGEX;
  if (regex !== K8S_ENCRYPTED_REGEX) {
    fail(
      `${SOPS_CONFIG_FILE}: the creation rule for sealed/ must select encrypted_regex: '${K8S_ENCRYPTED_REGEX}' (Flux and KSOPS need apiVersion, kind and metadata in plaintext); fix the rule`,
    );
  }
  return { index, recipients, encryptedRegex: regex };
}

/** The file with the covering rule's recipients set; unchanged text when they already match. */
export function withRecipients(text: string | null, rule: SopsRule, recipients: string[]): string {
  const age = recipients.join(',');
  if (text === null || rule.index < 0) {
    const header =
      'sops creation rules (written by minio-gitops): secrets under sealed/ are encrypted\nto these age recipients. To change them, list every recipient here (or pass each with\n--age-recipient) and re-run: the data keys are re-wrapped, the values stay.';
    return `${commentBlock(header)}\n${toYaml({ creation_rules: [{ path_regex: SEALED_PATH_REGEX, encrypted_regex: K8S_ENCRYPTED_REGEX, age }] })}`;
  }
  if (rule.recipients.join(',') === age) return text;
  const { doc } = parseUntrusted(text, SOPS_CONFIG_FILE, 'fix it, or move it away to let the tool write one');
  doc.setIn(['creation_rules', rule.index, 'age'], age);
  return sameLineEnds(text, doc.toString({ lineWidth: 0 }));
}
