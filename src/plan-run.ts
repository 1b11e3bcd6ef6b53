// The run up to its plan: read the config, the disk, the record and the keys, render, and
// compare. Reads only; nothing is written here (the disk edge for planning).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { readGenerated, readText } from './apply.ts';
import type { Flags } from './args.ts';
import type { EnvSettings } from './options.ts';
import { CONFIG_FILE, resolveOptions, SOPS_CONFIG_FILE } from './config.ts';
import { OutputRoot } from './paths.ts';
import { commonGitDir, findRepository, type Repository } from './repo-state.ts';
import { fail } from './errors.ts';
import { baseOf, day2Notes, lastLayout, layoutFromFiles, layoutOf, restartNote, sharedBaseNotes } from './day2.ts';
import { baseTemplateHash } from './render/workload.ts';
import { catalogClaim, ROOT_SECRET } from './render/names.ts';
import { serverConfigHash } from './render/overlay.ts';
import { shortHash } from './render/hash.ts';
import { AUDIT_SECRET } from './render/audit.ts';
import {
  DELETED,
  formatRecord,
  makePlan,
  parseRecord,
  RECORD_FILE,
  sha256,
  type GeneratedRecord,
  type PendingWrites,
  type PlanEntry,
} from './plan.ts';
import { combine } from './render/files.ts';
import { ownedPrefixes, renderTree } from './render/index.ts';
import type { SecretsPlan } from './sealed.ts';
import { yamlLib } from './yaml-lib.ts';
import { readOwnYaml } from './yaml-read.ts';

/**
 * The branch pull requests go into, for the engine to follow when the config names none:
 * origin's default branch, else the branch the repository is on (unless it is a scaffold
 * branch). Read from the git directory; undefined when unknown.
 */
function baseBranch(repo: Repository | null): string | undefined {
  if (!repo) return undefined;
  const ref = (file: string) => {
    try {
      return /^ref: refs\/(?:heads|remotes\/origin)\/(\S+)\s*$/.exec(readFileSync(file, 'utf8'))?.[1];
    } catch {
      return undefined;
    }
  };
  const common = commonGitDir(repo);
  const current = ref(join(repo.gitDir, 'HEAD'));
  return (
    ref(join(common, 'refs/remotes/origin/HEAD')) ?? (current && !current.startsWith('scaffold/') ? current : undefined)
  );
}

/** The URL of the output repository's origin remote, if it has one. */
function originRemote(root: string, repo: Repository | null): string | undefined {
  if (repo === null) return undefined;
  const r = spawnSync('git', ['-C', root, 'remote', 'get-url', 'origin'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

/** A generated file's object, or undefined. */
// biome-ignore lint/suspicious/noExplicitAny: a generated file of any kind, read field by field
function parsed(text: string | null): any {
  if (text === null) return undefined;
  const own = readOwnYaml(text);
  if (own !== undefined) return own;
  try {
    return yamlLib().parse(text);
  } catch {
    return undefined;
  }
}

/** The kind, namespace and name of a generated object. */
function identity(text: string | null): { kind: string; namespace: string; name: string } | undefined {
  const doc = parsed(text);
  const [kind, name, namespace] = [doc?.kind, doc?.metadata?.name, doc?.metadata?.namespace];
  return [kind, name, namespace].every((v) => typeof v === 'string') ? { kind, name, namespace } : undefined;
}

/** Objects an update renames ("Secret ns/old is now new"), in files under the given directories. */
function renamedObjects(entries: PlanEntry[], dirs: string[]): string[] {
  return entries
    .filter((e) => e.action === 'update' && dirs.some((d) => e.path.startsWith(d)))
    .flatMap((e) => {
      const [was, is] = [identity(e.before), identity(e.after)];
      return was && is && was.kind === is.kind && was.name !== is.name
        ? [`${was.kind} ${was.namespace}/${was.name} is now ${is.name}`]
        : [];
    });
}

/**
 * The Secrets of the Certificates an update deletes, as `namespace/name`: cert-manager does
 * not delete what it issued, so they outlive their Certificate (a person deletes them).
 */
function issuedSecrets(entries: PlanEntry[], namespace: string): string[] {
  return entries
    .filter((e) => e.action === 'delete')
    .flatMap((e) => {
      const doc = parsed(e.before);
      return doc?.kind === 'Certificate' && typeof doc.spec?.secretName === 'string'
        ? [`${doc.metadata?.namespace ?? namespace}/${doc.spec.secretName}`]
        : [];
    });
}

/**
 * The record the plan compares with: what the record says the tool wrote, and, for the
 * files an interrupted run was writing, what that run wrote if the disk still holds it (so
 * that its writes are neither taken for a person's edits nor left behind: a re-run with
 * other flags updates or removes them).
 */
function withPendingWrites(
  record: GeneratedRecord,
  pending: PendingWrites,
  disk: Map<string, string | null>,
): GeneratedRecord {
  const out = { ...record };
  for (const [path, hash] of Object.entries(pending)) {
    const text = disk.get(path) ?? null;
    if (hash === DELETED && text === null) delete out[path];
    else if (text !== null && hash !== DELETED && hash !== '' && sha256(text) === hash) out[path] = hash;
  }
  return out;
}

/**
 * A fingerprint of the sealed values the servers read at start: the encrypted rootUser and
 * rootPassword, and the audit webhook's token. They change only when the values do (new
 * recipients re-wrap the data key and keep them; another key a person adds is nothing
 * MinIO reads), so a rotation restarts the servers through this.
 */
function rootChecksum(sealed: { path: string; content: string }[], env: string): string | undefined {
  const read = [
    [ROOT_SECRET, ['rootUser', 'rootPassword']],
    [AUDIT_SECRET, ['token']],
  ] as const;
  const values: string[] = [];
  for (const [name, keys] of read) {
    const file = sealed.find((f) => f.path === `sealed/${env}/${name}.yaml`);
    if (file)
      values.push(...keys.map((key) => new RegExp(`^\\s+${key}:\\s*(\\S+)\\s*$`, 'm').exec(file.content)?.[1] ?? ''));
    else if (name === ROOT_SECRET) return undefined;
  }
  return shortHash(values.join('\n'));
}

/** Everything up to the plan: no file is written here. */
export async function planRun(
  root: string,
  flags: Flags,
  now = new Date(),
  repo: Repository | null = findRepository(root),
) {
  const out = new OutputRoot(root, repo ? [repo.gitDir, commonGitDir(repo)] : []);
  const configBefore = readText(out.at(CONFIG_FILE));
  // The record first: the envs already rendered here keep their consumers' names (config.ts),
  // and sealing compares its fingerprints of the sealed files' public values.
  const recordBefore = readText(out.at(RECORD_FILE));
  const { files: recorded, pending, sealed: sealedBefore, layouts: layoutsBefore } = parseRecord(recordBefore);
  const rendered = [...new Set(Object.keys(recorded).flatMap((path) => /^overlays\/([^/]+)\//.exec(path)?.[1] ?? []))];
  const resolved = resolveOptions(configBefore, flags, {
    repoURL: () => originRemote(root, repo),
    revision: baseBranch(repo),
    rendered,
  });
  const { configText, notes } = resolved;
  const top = repo?.top ?? null;
  const options = { ...resolved.options, repoPath: top && top !== root ? `${relative(top, root)}/` : '' };
  if (!options.global.repoURL)
    notes.push(
      `no repository URL (no --repo-url, none in ${CONFIG_FILE}, no origin remote): clusters/${options.env}/ (the ${options.global.gitops} manifests) is not rendered; pass --repo-url URL`,
    );
  // Day-2, before any key is made: the env's data layout as the last run left it (day2.ts).
  const unedited = (path: string) => {
    const text = readGenerated(out.at(path));
    return text !== null && recorded[path] === sha256(text) ? text : null;
  };
  const wasRendered = rendered.includes(options.env);
  const previousLayout = lastLayout(
    layoutsBefore[options.env],
    wasRendered ? layoutFromFiles(options.env, unedited) : undefined,
    () => (wasRendered && resolved.previous ? layoutOf(resolved.previous) : undefined),
  );
  const layout = layoutOf(options.settings, previousLayout);
  // The catalog servers' claims that stay (in the same namespace, same name): their class cannot change either.
  const catalogs = (s?: EnvSettings) =>
    s
      ? Object.entries(s.consumers)
          .filter(([, c]) => c.kind === 'iceberg-catalog')
          .map(([name, c]) => `${c.namespace}/${catalogClaim({ ...options, settings: s }, name)}`)
      : [];
  const keptCatalogs = previousLayout
    ? catalogs(resolved.previous).filter((c) => catalogs(options.settings).includes(c))
    : [];
  notes.push(...day2Notes(options.env, previousLayout, layout, flags.leaveDataBehind, keptCatalogs));
  // age and sops code loads only for envs that seal secrets (or to refuse sops flags).
  const needsSealing = options.settings.secrets === 'sops' || flags.rotate.length > 0 || flags.ageRecipients.length > 0;
  const secrets: SecretsPlan = needsSealing
    ? await (await import('./sealed.ts')).planSecrets(out, options, flags, now, sealedBefore, recorded)
    : { files: [], generated: [], recipients: [] };
  notes.push(...(secrets.notes ?? []));
  const mirrors = secrets.files.filter((f) => f.path.startsWith(`sealed/${options.env}/bootstrap/`));
  const sealedChecksum = mirrors.length > 0 ? shortHash(mirrors.map((f) => f.content).join('\0')) : undefined;
  const rendering = {
    ...options,
    sealedChecksum,
    rootChecksum: rootChecksum(secrets.files, options.env),
    claimSizes: layout.pools.map((p) => p.claimSize),
  };
  const desired = combine(renderTree(rendering), secrets.files);
  // The servers' hashes: the env's patches, and the base's pod template, which every env
  // shares (a change of it restarts the other envs' servers too: noted, and recorded).
  const bases = {
    standalone: baseTemplateHash(options.global, false),
    distributed: baseTemplateHash(options.global, true),
  };
  layout.config = serverConfigHash(rendering);
  layout.base = baseOf(layout, bases);
  notes.push(
    ...restartNote(options.env, previousLayout, layout),
    ...sharedBaseNotes(options.env, layoutsBefore, bases),
  );
  const paths = new Set([...desired.map((f) => f.path), ...Object.keys(recorded), ...Object.keys(pending)]);
  const disk = new Map([...paths].map((p) => [p, readGenerated(out.at(p))]));
  const record = withPendingWrites(recorded, pending, disk);
  // Another env's stopped run: its files are written with settings its config does not hold
  // yet (the config is written last), so only a run of that env can finish it.
  const envOf = (path: string) => /^(?:overlays|sealed|clusters)\/([^/]+)\//.exec(path)?.[1];
  const others = Object.keys(pending).filter(
    (p) => envOf(p) !== undefined && envOf(p) !== options.env && record[p] === pending[p] && disk.get(p) !== null,
  );
  const othersDeleted = Object.keys(pending).filter(
    (p) => envOf(p) !== undefined && envOf(p) !== options.env && pending[p] === DELETED && disk.get(p) === null,
  );
  const stoppedEnvs = [...new Set([...others, ...othersDeleted].map((p) => envOf(p)!))];
  if (stoppedEnvs.length > 0 && !flags.check && !flags.dryRun) {
    const files = [...others, ...othersDeleted];
    fail(
      `a run for env ${stoppedEnvs.join(' and env ')} stopped before it finished (${files.length} file(s) written and not committed, e.g. ${files[0]}); finish it first with \`npx zx scaffold.ts --env ${stoppedEnvs[0]}\` (any flags), or undo its files with git (git checkout, git clean)`,
    );
  }
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
    merged: secrets.files.map((f) => f.path),
  });
  // Earlier versions kept the private CA in the env's namespace: replacing it re-issues the certificates.
  if (
    plan.entries.some((e) => e.action === 'delete' && e.path === `overlays/${options.env}/minio/issuer-ca.yaml`) &&
    plan.entries.some((e) => e.path === `overlays/${options.env}/trust/clusterissuer-ca.yaml`)
  ) {
    notes.push(
      `env ${options.env}: the private CA moves to ${options.global.trustNamespace} (a ClusterIssuer, so trust-manager can give it to the consumers): cert-manager makes a new CA and re-issues the servers' certificate from it; clients that imported the old minio-ca.crt must import the new one (the env README, TLS)`,
    );
  }
  const renamed = renamedObjects(plan.entries, [
    `overlays/${options.env}/consumers/`,
    `sealed/${options.env}/consumers/`,
  ]);
  if (renamed.length > 0) {
    const claims = renamed.some((r) => r.startsWith('PersistentVolumeClaim '));
    notes.push(
      `env ${options.env}: renamed in the consumers' namespaces: ${renamed.join(', ')}; an engine that prunes deletes the old ones${claims ? " (a claim excepted: the new one starts empty, so copy the catalog's catalog.db across before the new server takes writes, then delete the old claim)" : ''}, objects applied by hand stay until you delete them; point workloads of your own that name the old ones at the new names`,
    );
  }
  const issued = issuedSecrets(plan.entries, options.settings.namespace);
  if (issued.length > 0) {
    notes.push(
      `env ${options.env}: cert-manager keeps the Secrets it issued for the Certificates this removes (${issued.join(', ')}); once the change is synced and nothing mounts them, delete them: ${issued.map((i) => `kubectl -n ${i.split('/')[0]} delete secret ${i.split('/')[1]}`).join('; ')}`,
    );
  }
  // Files whose current content is the run's input (a person may edit them freely).
  const merged = [CONFIG_FILE, SOPS_CONFIG_FILE, RECORD_FILE, ...secrets.files.map((f) => f.path)];
  // The fingerprints of other envs stay; this env's are the ones its sealing knows now.
  const owned = ownedPrefixes(options.env);
  const sealedAfter = {
    ...Object.fromEntries(
      Object.entries(sealedBefore).filter(([path]) => !owned.some((prefix) => path.startsWith(prefix))),
    ),
    ...secrets.fingerprints,
  };
  // Every env now has this base (base/ is shared); an env whose base was never recorded keeps none.
  const layoutsAfter = {
    ...Object.fromEntries(
      Object.entries(layoutsBefore).map(([name, l]) => [
        name,
        l.base === undefined ? l : { ...l, base: baseOf(l, bases) },
      ]),
    ),
    [options.env]: layout,
  };
  const recordAfter = formatRecord(plan.record, {}, sealedAfter, layoutsAfter);
  const recordEntry: PlanEntry = {
    path: RECORD_FILE,
    action: recordBefore === recordAfter ? 'unchanged' : recordBefore === null ? 'create' : 'update',
    before: recordBefore,
    after: recordAfter,
  };
  // The tool's own writes on disk (what the record or an interrupted run says it wrote):
  // uncommitted, they are a stopped run's work for this run to commit, not a person's.
  const toolWrites = [...paths].filter((p) => {
    const text = disk.get(p) ?? null;
    return text === null ? pending[p] === DELETED : sha256(text) === record[p];
  });
  return {
    out,
    options,
    notes,
    secrets,
    record,
    pending,
    toolWrites,
    finalRecord: { files: plan.record, sealed: sealedAfter, layouts: layoutsAfter },
    layoutsBefore,
    merged,
    isRepo: top !== null,
    repository: repo,
    plan: { ...plan, entries: [...plan.entries, recordEntry] },
  };
}
