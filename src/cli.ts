// The command: flags and config in, plan, apply (or print it), summary out. Errors a
// user can fix come back as one line and exit code 2, with nothing written.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { applyPlan, checkPlanWritable, checkWritable, readText } from './apply.ts';
import { helpText, parseFlags, type Flags } from './args.ts';
import { CONFIG_FILE, resolveOptions } from './config.ts';
import { fail, UsageError } from './errors.ts';
import type { Options } from './options.ts';
import { counts, formatRecord, makePlan, parseRecord, RECORD_FILE, type Plan, type PlanEntry } from './plan.ts';
import { combine } from './render/files.ts';
import { ownedPrefixes, renderTree } from './render/index.ts';
import type { SecretsPlan } from './sealed.ts';
import { SOPS_CONFIG_FILE } from './sops-config.ts';
import { RUN_AS } from './render/names.ts';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** The URL of the output repository's origin remote, if it has one. */
function originRemote(root: string): string | undefined {
  const r = spawnSync('git', ['-C', root, 'remote', 'get-url', 'origin'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** Everything up to the plan: no file is written here. */
export async function planRun(root: string, flags: Flags, now = new Date()) {
  const configBefore = readText(join(root, CONFIG_FILE));
  const { options, configText, notes } = resolveOptions(configBefore, flags, { repoURL: originRemote(root) });
  if (!options.global.repoURL) notes.push(`no repository URL (no --repo-url, none in ${CONFIG_FILE}, no origin remote): clusters/${options.env}/ (the ${options.global.gitops} manifests) is not rendered; pass --repo-url URL`);
  // age and sops code loads only for envs that seal secrets (or to refuse sops flags).
  const needsSealing = options.settings.secrets === 'sops' || flags.rotate.length > 0 || flags.ageRecipients.length > 0;
  const secrets: SecretsPlan = needsSealing ? await (await import('./sealed.ts')).planSecrets(root, options, flags, now) : { files: [], generated: [], recipients: [] };
  const desired = combine(renderTree(options), secrets.files);
  const recordBefore = readText(join(root, RECORD_FILE));
  const record = parseRecord(recordBefore);
  const paths = new Set([...desired.map((f) => f.path), ...Object.keys(record)]);
  const disk = new Map([...paths].map((p) => [p, readText(join(root, p))]));
  const plan = makePlan({
    desired,
    disk,
    record,
    owned: ownedPrefixes(options.env),
    managed: [
      { path: CONFIG_FILE, before: configBefore, after: configText },
      ...(secrets.sopsConfig ? [{ path: SOPS_CONFIG_FILE, ...secrets.sopsConfig }] : []),
    ],
    force: flags.force,
  });
  const recordAfter = formatRecord(plan.record);
  const recordEntry: PlanEntry = {
    path: RECORD_FILE,
    action: recordBefore === recordAfter ? 'unchanged' : recordBefore === null ? 'create' : 'update',
    before: recordBefore,
    after: recordAfter,
  };
  return { options, notes, secrets, plan: { ...plan, entries: [...plan.entries, recordEntry] } };
}

function summaryLine(plan: Plan): string {
  const c = counts(plan);
  return `${c.create} created, ${c.update} updated, ${c.delete} deleted, ${c.unchanged} unchanged`;
}

function warnings(options: Options): string[] {
  const s = options.settings;
  const list: string[] = [];
  if (s.secrets === 'plain') {
    list.push(`overlays/${options.env} uses fixed development credentials in a plain Secret: for development only, never for data that matters`);
  }
  if (s.storage === 'hostpath') {
    list.push(`overlays/${options.env} stores data in the node directory ${s.hostPath}, which must belong to uid ${RUN_AS} (on the node: mkdir -p ${s.hostPath} && chown ${RUN_AS}:${RUN_AS} ${s.hostPath}); its namespace is labelled Pod Security "privileged" for that volume`);
  }
  return list;
}

/** What a person must know about keys and credentials; never a secret value. */
function secretsReport(options: Options, secrets: SecretsPlan, dryRun: boolean): string[] {
  const lines: string[] = [];
  if (secrets.generated.length > 0) {
    lines.push(`${dryRun ? 'would generate' : 'generated'} new credentials: ${secrets.generated.join(', ')} (sealed/${options.env}/, encrypted to ${secrets.recipients.length} age recipient${secrets.recipients.length === 1 ? '' : 's'})`);
  }
  const key = secrets.newKey;
  if (key) {
    lines.push(
      `${dryRun ? 'would create' : 'created'} an age key for sops: ${key.path} (mode 0600, outside the repository: back it up; whoever holds it can read the secrets)`,
      `  recipient: ${key.recipient}`,
      `  Flux:    kubectl -n flux-system create secret generic sops-age --from-file=age.agekey=${key.path}`,
      `  Argo CD: kubectl -n argocd create secret generic sops-age --from-file=keys.txt=${key.path}  (mount it into the repo-server, see overlays/${options.env}/README.md)`,
    );
  }
  return lines;
}

const MARK: Record<string, string> = { create: '+', update: '~', delete: '-' };

async function printDryRun(io: Io, entries: PlanEntry[]): Promise<void> {
  const { createTwoFilesPatch } = await import('diff');
  for (const e of entries) {
    if (e.action === 'unchanged') continue;
    const sealed = e.path.startsWith('sealed/') && !e.path.endsWith('kustomization.yaml') && !e.path.endsWith('secret-generator.yaml');
    io.out(`${e.action} ${e.path}${e.forced ? '  (hand edit)' : ''}${sealed ? '  (encrypted; no diff shown)' : ''}\n`);
    if (e.path === RECORD_FILE || sealed) continue; // hashes and ciphertext: noise in a review
    const from = e.before === null ? '/dev/null' : `a/${e.path}`;
    const to = e.after === null ? '/dev/null' : `b/${e.path}`;
    io.out(createTwoFilesPatch(from, to, e.before ?? '', e.after ?? '', '', '', { context: 3 }).split('\n').slice(1).join('\n'));
  }
}

export async function main(argv: string[], defaultOut: string, io: Io = processIo): Promise<number> {
  try {
    const flags = parseFlags(argv);
    if (flags.help) {
      io.out(helpText());
      return 0;
    }
    if (flags.out === '') fail('--out needs a directory; leave it out to write beside scaffold.ts');
    const root = resolve(flags.out ?? defaultOut);
    checkWritable(root);
    // A dry run shows hand edits in its plan instead of refusing.
    const now = new Date();
    const { options, notes, secrets, plan } = await planRun(root, flags.dryRun ? { ...flags, force: true } : flags, now);

    if (flags.dryRun) {
      await printDryRun(io, plan.entries);
      for (const note of notes) io.err(`note: ${note}\n`);
      io.out(`dry run for env ${options.env} in ${root}: ${summaryLine(plan)}; nothing written\n`);
      for (const line of secretsReport(options, secrets, true)) io.out(`${line}\n`);
      if (plan.conflicts.length > 0 && !flags.force) {
        io.out(`hand edits a real run would refuse to overwrite (without --force): ${plan.conflicts.join(', ')}\n`);
      }
      return 0;
    }
    checkPlanWritable(root, plan.entries);
    // The key first: sealed files encrypted to a key that was never saved would be lost.
    if (secrets.newKey) (await import('./age-keys.ts')).saveIdentity(secrets.newKey, now);
    const touched = applyPlan(root, plan.entries, [CONFIG_FILE, SOPS_CONFIG_FILE, RECORD_FILE]);
    for (const e of plan.entries) if (e.action !== 'unchanged') io.out(`${MARK[e.action]} ${e.path}${e.forced ? '  (hand edit overwritten: --force)' : ''}\n`);
    io.out(`env ${options.env} in ${root}: ${summaryLine(plan)}\n`);
    for (const note of notes) io.err(`note: ${note}\n`);
    for (const w of warnings(options)) io.err(`warning: ${w}\n`);
    for (const line of secretsReport(options, secrets, false)) io.out(`${line}\n`);
    if (touched.length > 0) {
      io.out(`next: review with \`kubectl kustomize ${join(root, 'overlays', options.env)}\`, then commit the change and open a pull request\n`);
    }
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
