// The command: flags and config in, plan, apply (or print it), summary out. Errors a
// user can fix come back as one line and exit code 2, with nothing written.
import { join, resolve } from 'node:path';
import { applyPlan, checkPlanWritable, checkWritable, readText } from './apply.ts';
import { helpText, parseFlags, type Flags } from './args.ts';
import { CONFIG_FILE, resolveOptions } from './config.ts';
import { fail, UsageError } from './errors.ts';
import type { Options } from './options.ts';
import { counts, formatRecord, makePlan, parseRecord, RECORD_FILE, type Plan, type PlanEntry } from './plan.ts';
import { ownedPrefixes, renderTree } from './render/index.ts';
import { RUN_AS } from './render/names.ts';

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Everything up to the plan: no file is written here. */
export function planRun(root: string, flags: Flags) {
  const configBefore = readText(join(root, CONFIG_FILE));
  const { options, configText, notes } = resolveOptions(configBefore, flags);
  const desired = renderTree(options);
  const recordBefore = readText(join(root, RECORD_FILE));
  const record = parseRecord(recordBefore);
  const paths = new Set([...desired.map((f) => f.path), ...Object.keys(record)]);
  const disk = new Map([...paths].map((p) => [p, readText(join(root, p))]));
  const plan = makePlan({
    desired,
    disk,
    record,
    owned: ownedPrefixes(options.env),
    config: { path: CONFIG_FILE, before: configBefore, after: configText },
    force: flags.force,
  });
  const recordAfter = formatRecord(plan.record);
  const recordEntry: PlanEntry = {
    path: RECORD_FILE,
    action: recordBefore === recordAfter ? 'unchanged' : recordBefore === null ? 'create' : 'update',
    before: recordBefore,
    after: recordAfter,
  };
  return { options, notes, plan: { ...plan, entries: [...plan.entries, recordEntry] } };
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

const MARK: Record<string, string> = { create: '+', update: '~', delete: '-' };

async function printDryRun(io: Io, entries: PlanEntry[]): Promise<void> {
  const { createTwoFilesPatch } = await import('diff');
  for (const e of entries) {
    if (e.action === 'unchanged') continue;
    io.out(`${e.action} ${e.path}${e.forced ? '  (hand edit)' : ''}\n`);
    if (e.path === RECORD_FILE) continue; // hashes only: noise in a review
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
    const { options, notes, plan } = planRun(root, flags.dryRun ? { ...flags, force: true } : flags);
    for (const note of notes) io.err(`note: ${note}\n`);

    if (flags.dryRun) {
      await printDryRun(io, plan.entries);
      io.out(`dry run for env ${options.env} in ${root}: ${summaryLine(plan)}; nothing written\n`);
      if (plan.conflicts.length > 0 && !flags.force) {
        io.out(`hand edits a real run would refuse to overwrite (without --force): ${plan.conflicts.join(', ')}\n`);
      }
      return 0;
    }
    checkPlanWritable(root, plan.entries);
    const touched = applyPlan(root, plan.entries, [CONFIG_FILE, RECORD_FILE]);
    for (const e of plan.entries) if (e.action !== 'unchanged') io.out(`${MARK[e.action]} ${e.path}${e.forced ? '  (hand edit overwritten: --force)' : ''}\n`);
    io.out(`env ${options.env} in ${root}: ${summaryLine(plan)}\n`);
    for (const w of warnings(options)) io.err(`warning: ${w}\n`);
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
