// scaffold.config.yaml: every choice of every run, so that `--env NAME` alone reproduces
// the last run. Flags override the file and are recorded in it. A person's comments and
// layout survive an update (config-edit.ts), and the file is left byte-identical when
// nothing changed. Pure: text in, options and text out.
import { isDeepStrictEqual } from 'node:util';
import type { Flags } from './args.ts';
import { type ConfigEdit, readConfigFile } from './config-edit.ts';
import { dataLayoutNotes, migrateDataLayout } from './consumers.ts';
import { fail } from './errors.ts';
import { RECORD_FILE } from './plan.ts';
import { consumerNamespaceObjects } from './render/names.ts';
import { commentBlock, toYaml } from './yaml.ts';
import {
  checkCombination,
  checkGlobal,
  checks,
  defaultGlobal,
  ENV_FIELDS,
  GLOBAL_FIELDS,
  parsePoolsFlag,
  PROFILES,
  profileDefaults,
  type EnvSettings,
  type GlobalSettings,
  type Options,
  type Profile,
} from './options.ts';

export const CONFIG_FILE = 'scaffold.config.yaml';
/** sops's creation rules, at the output root (sops-config.ts reads and updates it). */
export const SOPS_CONFIG_FILE = '.sops.yaml';

const CONFIG_HEADER = [
  'minio-gitops configuration: the scaffolder records every choice here.',
  '`npx zx scaffold.ts --env NAME` re-renders env NAME from this file; flags override it',
  'and are written back. Edit values here, then re-run the scaffolder.',
].join('\n');

export interface Resolved {
  options: Options;
  /** The config file's new text; identical to the input when nothing changed. */
  configText: string;
  notes: string[];
  /** The env's settings as the config held them before this run (undefined: not in it). */
  previous?: EnvSettings;
}

type Raw = Record<string, unknown>;

function isMap(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const CONFIG_FIX = 'fix the file, or move it away to start from the defaults';

/** The file's settings and the way to update it, or no edit when there is no file yet. */
function parseConfig(text: string | null): { edit: ConfigEdit | null; raw: Raw } {
  if (text === null || text.trim() === '') return { edit: null, raw: {} };
  const { edit, raw } = readConfigFile(text, CONFIG_FILE, CONFIG_FIX);
  if (raw === null || raw === undefined) return { edit: null, raw: {} };
  if (!isMap(raw)) fail(`${CONFIG_FILE} must hold a map of settings (image, envs, ...); ${CONFIG_FIX}`);
  return { edit, raw };
}

/** Text in the form of the original: a file kept with CRLF stays CRLF, one with a byte order mark keeps it. */
export function sameLineEnds(original: string, text: string): string {
  const lf = original.split('\n').length - 1;
  const crlf = original.split('\r\n').length - 1;
  const ends = lf > 0 && crlf === lf ? text.replace(/\r?\n/g, '\r\n') : text;
  return original.startsWith('\uFEFF') && !ends.startsWith('\uFEFF') ? `\uFEFF${ends}` : ends;
}

function unknownKeys(raw: Raw, known: readonly string[], where: string): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) fail(`${where}${key} is not a known setting; known: ${known.join(', ')}`);
  }
}

function checkFields<S extends object>(
  raw: Raw,
  table: { [K in keyof S]: (v: unknown, w: string) => S[K] },
  where: string,
): Partial<S> {
  const out: Partial<S> = {};
  for (const key of Object.keys(table) as (keyof S & string)[]) {
    if (raw[key] !== undefined && raw[key] !== null) out[key] = table[key](raw[key], `${where}${key}`);
  }
  return out;
}

function envProfile(env: string, raw: Raw | undefined, where: string): Profile | undefined {
  if (raw?.profile !== undefined) return checks.oneOf(PROFILES)(raw.profile, `${where}profile`);
  return (PROFILES as readonly string[]).includes(env) ? (env as Profile) : undefined;
}

/**
 * `defaults.repoURL`: the output repository's origin remote, used when neither a flag nor
 * the config names the repository (a function: asking git costs a process, so only then);
 * `defaults.rendered`: the envs whose files the record
 * holds (both read at the edge, by the caller).
 */
export function resolveOptions(
  configText: string | null,
  flags: Flags,
  defaults: { repoURL?: () => string | undefined; revision?: string; rendered?: string[] } = {},
): Resolved {
  if (!flags.env) {
    fail(
      '--env is required, e.g. `npx zx scaffold.ts --env dev`; write it after scaffold.ts (zx takes options written before the script as its own)',
    );
  }
  const env = checks.dnsLabel(flags.env, '--env');
  const { edit, raw } = parseConfig(configText);
  const notes: string[] = [];

  // Before the consumers had settings of their own, their namespaces were a global list.
  // Its default equals the default consumers' namespaces, so that one migrates by itself;
  // any other list names consumers the tool cannot guess (kind, buckets): the person says.
  const migrated = raw.consumerNamespaces !== undefined;
  if (migrated) {
    const old = raw.consumerNamespaces;
    if (!isDeepStrictEqual(Array.isArray(old) ? [...old].sort() : old, ['analytics', 'el-demo'])) {
      fail(
        `${CONFIG_FILE}: consumerNamespaces ${JSON.stringify(old)} is replaced by each env's consumers, which also get a kind and their buckets; describe them under envs.NAME.consumers (see docs/consumers.md) and remove consumerNamespaces`,
      );
    }
    edit?.delete(['consumerNamespaces']);
    delete raw.consumerNamespaces;
    notes.push(
      `${CONFIG_FILE}: consumerNamespaces [el-demo, analytics] is replaced by the default consumers in those namespaces (flink in el-demo, spark in analytics, under envs.NAME.consumers); removed it`,
    );
  }
  unknownKeys(raw, [...Object.keys(GLOBAL_FIELDS), 'envs'], `${CONFIG_FILE}: `);
  const global: GlobalSettings = {
    ...defaultGlobal(),
    ...checkFields<GlobalSettings>(raw, GLOBAL_FIELDS, `${CONFIG_FILE}: `),
  };
  // The origin remote is a default only when an engine could fetch it (not a local path).
  const origin = !global.repoURL && !flags.settings['global.repoURL'] ? defaults.repoURL?.() : undefined;
  if (origin && /^(https?|ssh):\/\/|^git@[^:\s]+:/.test(origin))
    global.repoURL = checks.repoURL(origin, 'the origin remote (the default for --repo-url)');
  // A repository whose default branch is not main: the engine follows that branch, unless told.
  if (raw.revision === undefined && defaults.revision && defaults.revision !== global.revision) {
    const revision = (() => {
      try {
        return GLOBAL_FIELDS.revision(defaults.revision, "the repository's default branch");
      } catch {
        return undefined; // a branch name the engines' field does not take: keep the default
      }
    })();
    if (revision) {
      global.revision = revision;
      notes.push(
        `the engine follows branch ${revision}, the repository's default branch (--revision BRANCH to choose another)`,
      );
    }
  }
  for (const [key, { flag, raw: value }] of Object.entries(flags.settings)) {
    if (!key.startsWith('global.')) continue;
    const field = key.slice('global.'.length) as keyof GlobalSettings;
    (global as unknown as Raw)[field] = GLOBAL_FIELDS[field](value, flag);
  }

  // `envs:` with nothing under it is an empty map, in the file too (setIn needs a map).
  if (raw.envs === null) edit?.set(['envs'], {});
  const envs = raw.envs ?? {};
  if (!isMap(envs))
    fail(
      `${CONFIG_FILE}: envs must be a map from env name to its settings; restore it with git, or write each env's settings under envs.NAME`,
    );
  // Every env in the file is checked, not only this run's: a broken file is reported now.
  const recorded: Record<string, Partial<EnvSettings>> = {};
  for (const [name, value] of Object.entries(envs)) {
    const where = `${CONFIG_FILE}: envs.${name}.`;
    checks.dnsLabel(name, `${CONFIG_FILE}: env name`);
    if (!isMap(value)) fail(`${CONFIG_FILE}: envs.${name} must be a map of settings`);
    unknownKeys(value, Object.keys(ENV_FIELDS), where);
    if (!envProfile(name, value, where)) fail(`${where}profile is missing; set it to dev or prod`);
    // This run's env drops former defaults that never worked (written back below).
    if (name === env) notes.push(...migrateDataLayout(value, where));
    recorded[name] = checkFields<EnvSettings>(value, ENV_FIELDS, where);
    // Rendered before per-env names (its files are in the record, its config has no
    // consumerNames): its objects keep their names until the person switches. An env only
    // written into the file, never rendered, has no objects yet: it gets per-env names.
    recorded[name].consumerNames ??= defaults.rendered?.includes(name) ? 'legacy' : 'per-env';
  }

  // An env whose files the record lists but the config no longer describes (a pull request
  // emptied envs): rewriting the file without it would lose its settings for good.
  const dropped =
    configText !== null ? (defaults.rendered ?? []).filter((name) => name !== env && !(name in envs)) : [];
  if (dropped.length > 0) {
    fail(
      `${CONFIG_FILE} has no settings for env ${dropped.join(', env ')}, whose files ${RECORD_FILE} lists; restore them (git log -p ${CONFIG_FILE}), or remove the env's files and their lines in ${RECORD_FILE} first`,
    );
  }
  const before = recorded[env];
  const flagProfile =
    flags.settings.profile && ENV_FIELDS.profile(flags.settings.profile.raw, flags.settings.profile.flag);
  const profile = flagProfile || before?.profile || envProfile(env, undefined, '');
  if (!profile) fail(`env ${env} is new: choose its defaults with --profile dev or --profile prod`);
  // A different profile for a recorded env starts again from that profile's defaults.
  const kept = before && (!flagProfile || flagProfile === before.profile) ? before : {};
  if (before && kept !== before)
    notes.push(`env ${env} switched to the ${profile} profile: its settings restart from that profile's defaults`);

  const settings: EnvSettings = { ...profileDefaults(profile, env), ...kept, profile };
  // A new profile does not rename the consumers' objects (their state would not follow).
  if (before?.consumerNames) settings.consumerNames = before.consumerNames;
  for (const [key, { flag, raw: value }] of Object.entries(flags.settings)) {
    if (key.startsWith('global.') || key === 'profile') continue;
    if (key === 'pools') {
      const other = [flags.settings.replicas?.flag, flags.settings.size?.flag].filter(Boolean);
      if (other.length > 0)
        fail(
          `${flag} sets every pool's servers and size, the first one's too, and ${other.join(' and ')} set${other.length === 1 ? 's' : ''} the first one's; give ${flag} alone`,
        );
      Object.assign(settings, parsePoolsFlag(value, flag));
      continue;
    }
    const field = key as keyof EnvSettings;
    (settings as unknown as Raw)[field] = ENV_FIELDS[field](value, flag);
  }
  // Trust settings take effect only with TLS: a flag for them on a plain-http env is a mistake.
  for (const key of ['truststore', 'caSecret'] as const) {
    const given = flags.settings[key];
    if (given && !settings.tls)
      fail(
        `${given.flag} applies only with TLS on, and env ${env} has TLS off (the consumers reach MinIO over http); drop ${given.flag}, or add --tls on`,
      );
  }
  // Spreading places the servers of an erasure-coded env; a single server has none to place.
  // A value the file holds from before is dropped when this run's flags make the env standalone.
  if (settings.replicas === 1) {
    const given = flags.settings.spread;
    if (given)
      fail(
        `${given.flag} applies only to an erasure-coded env (it places the servers on nodes), and env ${env} is a single server (replicas 1) with nothing to spread; drop ${given.flag}`,
      );
    if (kept.spread !== undefined && !flags.settings.replicas) {
      fail(
        `${CONFIG_FILE}: envs.${env}.spread applies only to an erasure-coded env, and env ${env} is a single server (replicas 1); remove spread from envs.${env}`,
      );
    }
  }
  checkGlobal(global);
  checkCombination(env, settings, global);
  notes.push(...sharedObjects(env, settings, global, recorded));
  if (
    before?.consumerNames &&
    before.consumerNames !== settings.consumerNames &&
    Object.keys(settings.consumers).length > 0
  ) {
    notes.push(
      `env ${env}: ${settings.consumerNames} names rename the objects in the consumers' namespaces, and their state does not follow: a Flink job under a renamed FlinkDeployment or FlinkEnvironment starts without its checkpoints unless started from a savepoint, a renamed catalog server with an empty catalog until its catalog.db is copied across; follow docs/consumers.md (Names) before this is merged`,
    );
  }
  notes.push(...dataLayoutNotes(`env ${env}`, settings.consumers));

  const configTextOut = edit
    ? updateConfig(edit, configText!, migrated, global, env, settings)
    : newConfig(global, env, settings);
  const previousProfile = before?.profile ?? envProfile(env, undefined, '');
  const previous =
    before && previousProfile
      ? ({ ...profileDefaults(previousProfile, env), ...before, profile: previousProfile } as EnvSettings)
      : undefined;
  // An erasure-coded env rendered before the spread setting: its servers only preferred
  // separate nodes, and the default now enforces it (and restarts them, with the new template).
  if (
    previous &&
    defaults.rendered?.includes(env) &&
    previous.replicas > 1 &&
    settings.replicas > 1 &&
    before?.spread === undefined &&
    !flags.settings.spread
  ) {
    const most = Math.max(settings.replicas, ...settings.pools.map((p) => p.servers));
    notes.push(
      `env ${env}: spread host is the new default: no two servers of a pool on one node, enforced by the scheduler, and every server restarts once with it; a cluster with fewer than ${most} nodes the servers may run on leaves some Pending, so keep the old placement there with --spread none (docs/hardening.md, Spreading)`,
    );
  }
  return { options: { env, global, settings, repoPath: '' }, configText: configTextOut, notes, previous };
}

/**
 * Two envs bound for one cluster must not render the same object: their engines would take
 * it over from each other. Two envs with MinIO in one namespace collide on all of MinIO's
 * objects; in the consumers' namespaces per-env names keep envs apart, legacy names do
 * not (nor a consumer named like another env's prefixed one). Refused when both name a
 * cluster they share (`clusters`); otherwise a note, since only the person knows where
 * each env's engine runs (an Argo CD Application without clusters goes to the cluster of
 * the Argo CD that syncs it, which may be one per cluster).
 */
function sharedObjects(
  env: string,
  s: EnvSettings,
  global: GlobalSettings,
  recorded: Record<string, Partial<EnvSettings>>,
): string[] {
  const objects = (name: string, settings: EnvSettings) =>
    consumerNamespaceObjects({ env: name, global, settings, repoPath: '' });
  const clashOf = (a: EnvSettings, name: string, b: EnvSettings) => {
    if (a.namespace === b.namespace) return `MinIO's objects in namespace ${a.namespace}`;
    const mine = new Set(objects(env, a));
    return objects(name, b).find((o) => mine.has(o));
  };
  const notes: string[] = [];
  for (const [name, r] of Object.entries(recorded)) {
    const profile = r.profile ?? envProfile(name, undefined, '');
    if (name === env || !profile) continue;
    const other: EnvSettings = { ...profileDefaults(profile, name), ...r, profile } as EnvSettings;
    const clash = clashOf(s, name, other);
    if (!clash) continue;
    // The switch that clears it (a legacy name can equal another env's per-env one).
    const perEnv = (x: EnvSettings): EnvSettings => ({ ...x, consumerNames: 'per-env' });
    const switches = [
      ...(s.consumerNames === 'legacy' && !clashOf(perEnv(s), name, other) ? [`env ${env}`] : []),
      ...(other.consumerNames === 'legacy' && !clashOf(s, name, perEnv(other)) ? [`env ${name}`] : []),
    ];
    const both =
      s.consumerNames === 'legacy' && other.consumerNames === 'legacy' && !clashOf(perEnv(s), name, perEnv(other));
    const fix =
      s.namespace === other.namespace
        ? 'give one of them another namespace (--namespace)'
        : switches.length > 0 || both
          ? `switch ${switches.length > 0 ? switches.join(' or ') : `both env ${env} and env ${name}`} to per-env names (--consumer-names per-env; docs/consumers.md, Names)`
          : "rename one env's consumer";
    const cluster = s.clusters.find((c) => other.clusters.includes(c));
    if (cluster)
      fail(
        `env ${env}: env ${name} also renders ${clash} on cluster ${cluster}, and the two would take over each other's objects; ${fix}`,
      );
    if (s.clusters.length > 0 && other.clusters.length > 0) continue; // on different clusters, by name
    notes.push(
      `env ${env}: env ${name} also renders ${clash}: keep the two on different clusters (on one they would take over each other's objects), or ${fix}`,
    );
  }
  return notes;
}

/** The settings in the order of their tables, as the file lists them. */
function ordered<S extends object>(values: S, table: object): Partial<S> {
  return Object.fromEntries(Object.keys(table).map((key) => [key, values[key as keyof S]])) as Partial<S>;
}

/** An env's settings as the file keeps them: `pools` only once the env has more than one, `spread` only for an erasure-coded env. */
function envEntry(settings: EnvSettings): Partial<EnvSettings> {
  return Object.fromEntries(
    Object.entries(ordered(settings, ENV_FIELDS)).filter(
      ([key, value]) =>
        (key !== 'pools' || (value as unknown[]).length > 0) && (key !== 'spread' || settings.replicas > 1),
    ),
  );
}

/** A first config file, written with the own emitter (no parser needed). */
function newConfig(global: GlobalSettings, env: string, settings: EnvSettings): string {
  return `${commentBlock(CONFIG_HEADER)}\n${toYaml({ ...ordered(global, GLOBAL_FIELDS), envs: { [env]: envEntry(settings) } })}`;
}

function updateConfig(
  edit: ConfigEdit,
  original: string,
  migrated: boolean,
  global: GlobalSettings,
  env: string,
  settings: EnvSettings,
): string {
  let changed = migrated;
  // Maps are updated key by key, so a comment on an untouched key (a bucket, a consumer)
  // stays where the person wrote it; anything else is replaced when it differs.
  const set = (path: string[], value: unknown) => {
    const current = edit.get(path);
    if (isDeepStrictEqual(current, value)) return;
    if (edit.isMap(path) && isMap(value) && isMap(current)) {
      for (const key of Object.keys(current)) if (!(key in value)) edit.delete([...path, key]);
      for (const [key, v] of Object.entries(value)) set([...path, key], v);
    } else {
      edit.set(path, value);
    }
    changed = true;
  };
  for (const key of Object.keys(GLOBAL_FIELDS) as (keyof GlobalSettings)[]) set([key], global[key]);
  const entry = envEntry(settings);
  for (const key of Object.keys(ENV_FIELDS) as (keyof EnvSettings)[]) {
    if (key in entry) set(['envs', env, key], entry[key]);
    else if (edit.has(['envs', env, key])) {
      edit.delete(['envs', env, key]);
      changed = true;
    }
  }
  return changed ? sameLineEnds(original, edit.text()) : original;
}
