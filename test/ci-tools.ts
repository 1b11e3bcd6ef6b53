// The real tools that check a rendered CI workflow, pinned by tools/install-ci.sh into the
// git-ignored .tools: actionlint (with the pinned shellcheck on the PATH, so it checks the
// `run:` scripts too), kubeconform with the Kubernetes JSON schemas made standalone from PyPI's
// kubernetes-validate and the upstream CRDs (.tools/crds, test/crds) converted as kubeconform's
// openapi2jsonschema.py does, all local files (kubeconform never gets a URL), and GitLab's CI
// schema (from PyPI's check-jsonschema) with ajv. Locally a missing tool skips the test with
// the reason; with CI set it fails the test instead (unavailable in test/tools.ts).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import YAML from 'yaml';
import { needTool, REPO, unavailable } from './tools.ts';

type Ctx = { skip: (note?: string) => void };
type Json = Record<string, unknown>;

const TOOLS = join(REPO, '.tools');
const TOOLS_BIN = join(TOOLS, 'bin');
const HOW = 'run `bash tools/install.sh` (or tools/install-ci.sh; needs Go, python3 with pip and unzip)';

/** A pin of tools/install-ci.sh (NAME=value), so that the tests and the installer agree. */
function pin(name: string): string {
  const script = readFileSync(join(REPO, 'tools', 'install-ci.sh'), 'utf8');
  const value = new RegExp(`^${name}=(\\S+)`, 'm').exec(script)?.[1];
  if (!value) throw new Error(`tools/install-ci.sh pins no ${name}`);
  return value;
}

/** .tools/bin/NAME when tools/install-ci.sh built it at its pinned VERSION. */
function needPinned(ctx: Ctx, name: string, version: string): string {
  const path = join(TOOLS_BIN, name);
  let stamp = '';
  try {
    stamp = readFileSync(join(TOOLS_BIN, `.${name}.version`), 'utf8').trim();
  } catch {}
  if (existsSync(path) && stamp === version) return path;
  return unavailable(ctx, `${name} ${version} is not in .tools/bin${stamp ? ` (${stamp} is)` : ''}: ${HOW}`);
}

/** The pinned actionlint (tools/install-ci.sh), or: skip the test (locally) / fail it (CI). */
export function needActionlint(ctx: Ctx): string {
  return needPinned(ctx, 'actionlint', pin('ACTIONLINT_VERSION'));
}

/** The pinned kubeconform (tools/install-ci.sh), or: skip the test (locally) / fail it (CI). */
export function needKubeconform(ctx: Ctx): string {
  return needPinned(ctx, 'kubeconform', pin('KUBECONFORM_VERSION'));
}

/** PATH with .tools/bin first, so a tool that looks for shellcheck finds the pinned one. */
export function toolsPath(): string {
  return [TOOLS_BIN, process.env.PATH ?? ''].join(delimiter);
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20, ...opts });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** One actionlint finding, as `-format '{{json .}}'` prints it. */
export interface ActionlintError {
  message: string;
  filepath: string;
  line: number;
  column: number;
  kind: string;
  snippet: string;
}

/**
 * actionlint on a workflow's text (as .github/workflows/<name>), in an empty scratch directory
 * (no project config), with the pinned shellcheck for the `run:` scripts (by path, and first on
 * the PATH) and pyflakes off (whether it ran would depend on the machine).
 * code: 0 when clean, 1 when it found errors; errors: what it found.
 */
export function runActionlint(ctx: Ctx, workflow: string, name = 'ci.yml'): Run & { errors: ActionlintError[] } {
  const actionlint = needActionlint(ctx);
  const shellcheck = needTool(ctx, 'shellcheck');
  const cwd = mkdtempSync(join(tmpdir(), 'actionlint-'));
  try {
    const r = run(
      actionlint,
      [
        '-format',
        '{{json .}}',
        `-shellcheck=${shellcheck}`,
        '-pyflakes=',
        '-stdin-filename',
        `.github/workflows/${name}`,
        '-',
      ],
      {
        input: workflow,
        cwd,
        env: { ...process.env, PATH: toolsPath() },
      },
    );
    if (r.code !== 0 && r.code !== 1) throw new Error(`actionlint failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
    const errors = r.stdout.trim() ? (JSON.parse(r.stdout) as ActionlintError[]) : [];
    return { ...r, errors };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

/**
 * The local Kubernetes schemas tools/install-ci.sh made standalone: kubeconform's
 * `-schema-location` template for them, and the `-kubernetes-version` to pass with it.
 */
export function kubeSchemaLocation(ctx: Ctx): { location: string; kubernetesVersion: string } {
  const kubernetesVersion = pin('KUBE_SCHEMAS_KUBERNETES');
  const root = join(TOOLS, 'kubeconform', 'schemas');
  const stamp = existsSync(join(root, '.stamp')) ? readFileSync(join(root, '.stamp'), 'utf8') : '';
  if (
    !stamp.startsWith(`${pin('KUBE_SCHEMAS_PACKAGE')} `) ||
    !existsSync(join(root, `v${kubernetesVersion}-standalone-strict`, 'statefulset-apps-v1.json'))
  ) {
    unavailable(ctx, `the Kubernetes ${kubernetesVersion} JSON schemas are not in .tools/kubeconform/schemas: ${HOW}`);
  }
  return {
    location: `${root}/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    kubernetesVersion,
  };
}

let gitlabParsed: { stamp: string; schema: Json } | undefined;

/** GitLab's CI schema (ci.json, draft-07), parsed; or: skip the test (locally) / fail it (CI). */
export function gitlabSchema(ctx: Ctx): Json {
  const file = join(TOOLS, 'gitlab-ci', 'ci.json');
  const stampFile = join(TOOLS, 'gitlab-ci', '.stamp');
  const stamp = existsSync(stampFile) ? readFileSync(stampFile, 'utf8') : '';
  if (!existsSync(file) || !stamp.includes(pin('GITLAB_SCHEMA_SHA256'))) {
    unavailable(ctx, `GitLab's CI schema is not in .tools/gitlab-ci: ${HOW}`);
  }
  if (gitlabParsed?.stamp !== stamp) gitlabParsed = { stamp, schema: JSON.parse(readFileSync(file, 'utf8')) as Json };
  return gitlabParsed.schema;
}

// ajv and ajv-formats are CommonJS: their default export is the module object under nodenext.
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ??
  AjvModule) as unknown as typeof AjvModule.default;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as unknown as typeof addFormatsModule.default;
let gitlabValidator: { schema: Json; validate: ReturnType<InstanceType<typeof Ajv>['compile']> } | undefined;

/** GitLab's `!reference [job, key]` tag, as a plain list (what check-jsonschema does). */
const gitlabTags: YAML.Tags = [{ tag: '!reference', collection: 'seq', default: false, resolve: (seq) => seq }];

/**
 * A `.gitlab-ci.yml`'s text checked against GitLab's CI schema (draft-07, with ajv and
 * ajv-formats): its errors (`<path> <message>`), empty when it is valid. A YAML error is one.
 */
export function validateGitlabCi(ctx: Ctx, text: string): string[] {
  const schema = gitlabSchema(ctx);
  if (gitlabValidator?.schema !== schema) {
    // strict: false, as GitLab's schema carries annotations ajv does not know (markdownDescription).
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    gitlabValidator = { schema, validate: ajv.compile(schema) };
  }
  const doc = YAML.parseDocument(text, { customTags: gitlabTags, merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) return doc.errors.map((e) => `YAML: ${e.message}`);
  const data: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (gitlabValidator.validate(data)) return [];
  return (gitlabValidator.validate.errors ?? []).map(
    (e) =>
      `${e.instancePath || '/'} ${e.message ?? e.keyword}${Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}

/** The upstream CRDs (.tools/crds, from tools/install-crds.sh and install-trust.sh) and ours (test/crds). */
function crdFiles(): string[] {
  const dirs = [join(TOOLS, 'crds'), join(REPO, 'test', 'crds')];
  return dirs.flatMap((dir) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(dir, f))
      : [],
  );
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * One CRD version's openAPIV3Schema made strict, as kubeconform's openapi2jsonschema.py
 * (with DENY_ROOT_ADDITIONAL_PROPERTIES) does, and as an API server with strict field
 * validation behaves: every object schema with properties gets `additionalProperties: false`
 * unless it says x-kubernetes-preserve-unknown-fields (or has additionalProperties already);
 * `format: int-or-string` becomes string-or-integer; `nullable: true` allows null. Only the
 * structural parts are walked (properties, items, additionalProperties), not allOf/anyOf/
 * oneOf/not, whose branches list only some properties. The root and every
 * x-kubernetes-embedded-resource allow apiVersion, kind and metadata.
 */
function strictSchema(node: Json, root: boolean): Json {
  const out: Json = { ...node };
  if (out.format === 'int-or-string') {
    delete out.format;
    delete out.type;
    out.oneOf = [{ type: 'string' }, { type: 'integer' }];
  }
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (out.nullable === true && Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (isObj(out.properties)) {
    const props: Json = {};
    for (const [k, v] of Object.entries(out.properties)) props[k] = isObj(v) ? strictSchema(v, false) : v;
    if (root || out['x-kubernetes-embedded-resource'] === true) {
      props.apiVersion ??= { type: 'string' };
      props.kind ??= { type: 'string' };
      props.metadata ??= { type: 'object' };
    }
    out.properties = props;
    if (!('additionalProperties' in out) && out['x-kubernetes-preserve-unknown-fields'] !== true)
      out.additionalProperties = false;
  }
  if (isObj(out.items)) out.items = strictSchema(out.items, false);
  else if (Array.isArray(out.items)) out.items = out.items.map((v) => (isObj(v) ? strictSchema(v, false) : v));
  if (isObj(out.additionalProperties)) out.additionalProperties = strictSchema(out.additionalProperties, false);
  return out;
}

/**
 * Converts every CRD in .tools/crds/*.yaml and test/crds/*.yaml into kubeconform schema files
 * in DIR, one per served version: DIR/<group>/<kind, lower-case>_<version>.json. Returns the
 * `-schema-location` template that finds them.
 */
export function crdSchemaDir(dir: string): string {
  let written = 0;
  for (const file of crdFiles()) {
    for (const doc of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const crd = doc.toJS() as Json | null;
      if (!isObj(crd) || crd.kind !== 'CustomResourceDefinition' || !isObj(crd.spec)) continue;
      const spec = crd.spec as {
        group: string;
        names: { kind: string };
        versions?: { name: string; served?: boolean; schema?: { openAPIV3Schema?: Json } }[];
      };
      for (const version of spec.versions ?? []) {
        const schema = version.schema?.openAPIV3Schema;
        if (version.served === false || !schema) continue;
        mkdirSync(join(dir, spec.group), { recursive: true });
        writeFileSync(
          join(dir, spec.group, `${spec.names.kind.toLowerCase()}_${version.name}.json`),
          JSON.stringify(strictSchema(schema, true)),
        );
        written++;
      }
    }
  }
  if (written === 0) throw new Error(`no CRD schema in ${crdFiles().join(', ') || '.tools/crds or test/crds'}`);
  return `${dir}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`;
}

let crdLocation: string | undefined;

/**
 * crdSchemaDir once per content of the CRDs and of the converter: into
 * .tools/kubeconform/crds-<hash> (git-ignored, kept for the next run; written aside and
 * renamed, so that test processes running at once do not see a half-written directory).
 */
function crdSchemas(): string {
  if (crdLocation) return crdLocation;
  const hash = createHash('sha256').update(strictSchema.toString()).update(crdSchemaDir.toString());
  for (const file of crdFiles()) hash.update(file).update(readFileSync(file));
  const parent = join(TOOLS, 'kubeconform');
  const dir = join(parent, `crds-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(dir)) {
    mkdirSync(parent, { recursive: true });
    const scratch = mkdtempSync(join(parent, '.crds-'));
    try {
      crdSchemaDir(scratch);
      renameSync(scratch, dir);
    } catch (e) {
      rmSync(scratch, { recursive: true, force: true });
      if (!existsSync(dir)) throw e;
    }
  }
  crdLocation = `${dir}/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`;
  return crdLocation;
}

/** One resource of kubeconform's `-output json -verbose` report. */
export interface KubeconformResource {
  filename: string;
  kind: string;
  name: string;
  version: string;
  status: 'statusValid' | 'statusInvalid' | 'statusError' | 'statusSkipped' | 'statusEmpty';
  msg: string;
  validationErrors?: { path: string; msg: string }[];
}
export interface KubeconformReport {
  resources: KubeconformResource[];
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

/**
 * kubeconform -strict -summary -output json (and -verbose, so that every resource is listed)
 * on a multi-document YAML text, against the local Kubernetes schemas and the converted CRDs
 * only: a kind with no schema is an error, never a download (no location is a URL, and any
 * HTTP(S) request would go to a closed loopback proxy). skipKinds: kinds not checked (-skip).
 * code: 0 when all are valid, 1 otherwise.
 */
export function runKubeconform(
  ctx: Ctx,
  yamlText: string,
  opts: { skipKinds?: string[] } = {},
): Run & { report: KubeconformReport } {
  const kubeconform = needKubeconform(ctx);
  const { location, kubernetesVersion } = kubeSchemaLocation(ctx);
  const locations = [location, crdSchemas()];
  for (const l of locations) if (!l.startsWith('/')) throw new Error(`not a local schema location: ${l}`);
  const args = ['-strict', '-summary', '-output', 'json', '-verbose', '-kubernetes-version', kubernetesVersion];
  for (const l of locations) args.push('-schema-location', l);
  if (opts.skipKinds?.length) args.push('-skip', opts.skipKinds.join(','));
  const closed = 'http://127.0.0.1:9';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HTTP_PROXY: closed,
    HTTPS_PROXY: closed,
    http_proxy: closed,
    https_proxy: closed,
  };
  delete env.NO_PROXY;
  delete env.no_proxy;
  const r = run(kubeconform, [...args, '-'], { input: yamlText, env });
  if (r.code !== 0 && r.code !== 1) throw new Error(`kubeconform failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
  return { ...r, report: JSON.parse(r.stdout) as KubeconformReport };
}

/**
 * A multi-document YAML text with each Secret's `sops` metadata removed, as Flux's
 * kustomize-controller removes it when it decrypts: what the API server gets, apart from the
 * values, which stay encrypted (strings, as the schema wants them). Each document is written
 * as JSON, so that no scalar changes type for kubeconform's YAML 1.1 parser (YAML.stringify
 * leaves `on` unquoted, which YAML 1.1 reads as a boolean).
 */
export function withoutSopsMetadata(yamlText: string): string {
  return YAML.parseAllDocuments(yamlText)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`YAML: ${doc.errors[0]!.message}`);
      return doc.toJS() as unknown;
    })
    .filter((obj) => obj != null)
    .map((obj) => {
      if (isObj(obj) && obj.kind === 'Secret') delete obj.sops;
      return JSON.stringify(obj);
    })
    .join('\n---\n');
}

/** `kubectl kustomize DIR` with the kubectl on the PATH (as the CI workflow would build it). */
export function kustomize(ctx: Ctx, dir: string): string {
  return execFileSync(needTool(ctx, 'kubectl'), ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
}
