// The env's objects as its GitOps engine would apply them: overlays/<env> built with
// kubectl's kustomize, and for Argo CD + SOPS without the KSOPS exec plugin; sealed
// Secrets decrypted in-process with the available age key, as Flux does.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { availableIdentities } from '../age-keys.ts';
import { fail } from '../errors.ts';
import { unwrapDataKey, verifyDocument, type SopsMetadata } from '../sops.ts';
import { makeTempDir, removeTempDir } from '../temp.ts';
import { yamlLib } from '../yaml-lib.ts';
import { id, type Obj } from './objects.ts';

/**
 * Everything overlays/<env> (or `path`, e.g. clusters/<env>) builds (kubectl's kustomize, as a user runs it), as plain
 * JSON. With `decrypt`, sealed Secrets are opened with the available age key, as Flux does
 * after its build; without, they stay as built (verify needs no values).
 *
 * An Argo CD env's sealed Secrets come from KSOPS generators, an exec plugin, which kubectl
 * does not run and neither does this (an exec plugin runs whatever a pull request names).
 * Such an env is built in a temporary copy of the kustomization directories the build
 * reaches (the user's tree is never touched), each KSOPS generator replaced by its `files`
 * as plain resources. With `decrypt`, each of those files must first pass the checks KSOPS
 * makes (an available key opens it, its MAC matches); then the sealed objects are
 * decrypted as for Flux.
 *
 * The files arrive through pull requests: every kustomization directory, generator and
 * sealed file the build reaches must be in the repository, symlinks resolved. The copy
 * keeps symlinks as they are, so kustomize judges them as it would in the user's tree.
 */
export async function builtObjects(
  root: string,
  env: string,
  decrypt: boolean,
  path = `overlays/${env}`,
): Promise<Obj[]> {
  const dir = join(root, path);
  if (!existsSync(join(dir, 'kustomization.yaml')))
    fail(
      `${dir} has no kustomization.yaml: env ${env} is not rendered in ${root}; run \`npx zx scaffold.ts --env ${env}\` first, or pass --out`,
    );
  const repo = realpathSync(root);
  const overlay = repoPath(repo, repo, path)!;
  const tree = kustomizations(repo, overlay);
  const sealed = [...tree.values()].flatMap((k) => k.ksops.flatMap((g) => g.files));
  if (decrypt) for (const file of sealed) checkSealedFile(repo, file);
  const copy = sealed.length > 0 ? copyWithoutKsops(repo, tree) : undefined;
  let stdout: string;
  try {
    const r = spawnSync('kubectl', ['kustomize', copy ? join(copy, relative(repo, overlay)) : dir], {
      encoding: 'utf8',
      maxBuffer: MAX_BUILD,
    });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOBUFS')
      fail(
        `the build of ${dir} is larger than ${MAX_BUILD >> 20} MiB, far beyond what an env holds; look for a large file the kustomization includes`,
      );
    if (r.error) fail(`kubectl is needed to build ${dir} (${r.error.message}); install kubectl >= 1.27`);
    if (r.status !== 0)
      fail(
        `kubectl kustomize ${dir}${copy ? ' (KSOPS generators as plain resources)' : ''} failed: ${kubectlError(copy ? r.stderr.split(copy).join(repo) : r.stderr)}; fix the kustomization (kubectl kustomize ${dir} shows the whole error)`,
      );
    stdout = r.stdout;
  } finally {
    if (copy) removeTempDir(copy);
  }
  const objects = yamlLib()
    .parseAllDocuments(stdout)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
  if ([...tree.values()].some((k) => k.ksops.length > 0)) refuseUnlisted(repo, env, tree, sealed, objects);
  if (!decrypt || !objects.some((o) => o.sops)) return objects;
  const identities = availableIdentities();
  const { decryptSops } = await import('sops-age');
  const out: Obj[] = [];
  for (const o of objects) {
    if (!o.sops) {
      out.push(o);
      continue;
    }
    const found = isSopsMetadata(o.sops) ? unwrapDataKey(o.sops, identities) : null;
    if (!found)
      fail(
        `${id(o)} is sealed and no available age key opens it (SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt); load the key of one of its recipients`,
      );
    // Flux checks no MAC after its build (the build reorders keys); neither does this.
    let plain: Obj;
    try {
      plain = (await decryptSops(JSON.stringify(o), { fileType: 'json', secretKey: found.identity })) as Obj;
    } catch (error) {
      fail(
        `${id(o)} is sealed but does not decrypt (${String((error as Error).message).split('\n')[0]}); restore its file with git, or edit it only with sops`,
      );
    }
    delete plain.sops;
    out.push(plain);
  }
  return out;
}

/** The most a build may print: an env is a few hundred KiB. */
const MAX_BUILD = 256 << 20;

/** kubectl's error in one line: its log prefixes (time, pid, file) dropped, its lines joined, at most 400 characters. */
function kubectlError(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+\s+\S+\]\s*/, '').trim())
    .filter(Boolean);
  const text = lines.join(' ').replace(/\s+/g, ' ');
  return text.length > 400 ? `${text.slice(0, 400)}...` : text || 'no message';
}

const KUSTOMIZATION_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
/** The fields of a kustomization whose entries may name another kustomization directory. */
const DIR_FIELDS = ['resources', 'bases', 'components', 'generators', 'transformers', 'validators'] as const;

interface Kustomization {
  file: string;
  doc: Record<string, unknown>;
  /** Its KSOPS generators: the entry that lists each, and the real paths of the files it decrypts. */
  ksops: { entry: string; files: string[] }[];
  /** The files it lists as resources (real paths). */
  resources: string[];
}

const within = (dir: string, path: string) => path === dir || path.startsWith(`${dir}${sep}`);

/**
 * `entry` (as `from`, a file in the repository, lists it; relative to `dir`) as a real path,
 * or undefined when it does not exist. One that leads outside the repository, by its path
 * or through a symlink, is refused.
 */
function repoPath(repo: string, dir: string, entry: string, from?: string): string | undefined {
  const path = resolve(dir, entry);
  const real = existsSync(path) ? realpathSync(path) : undefined;
  if (!within(repo, path) || (real && !within(repo, real))) {
    const what = from ? `${relative(repo, from)} lists ${JSON.stringify(entry)}, which` : entry;
    fail(
      `${what} leads outside the repository ${repo}${real && within(repo, path) ? ` (a symlink to ${real})` : ''}: a build reads only the repository's files; fix the path`,
    );
  }
  return real;
}

function parseYamlFile(repo: string, file: string): unknown[] {
  try {
    return yamlLib()
      .parseAllDocuments(readFileSync(file, 'utf8'))
      .map((d) => {
        if (d.errors.length > 0) throw d.errors[0];
        return d.toJS() as unknown;
      })
      .filter((d) => d !== null && d !== undefined);
  } catch (error) {
    return fail(
      `${relative(repo, file)} is not valid YAML (${(error as Error).message.split('\n')[0]}); restore it with git, or re-run the scaffolder`,
    );
  }
}

/** Every kustomization directory the build of `dir` reaches (local ones), with its KSOPS generators. */
function kustomizations(
  repo: string,
  dir: string,
  seen = new Map<string, Kustomization>(),
): Map<string, Kustomization> {
  const name = KUSTOMIZATION_NAMES.find((n) => existsSync(join(dir, n)));
  if (seen.has(dir) || !name) return seen; // none: kustomize says what is wrong
  const file = repoPath(repo, dir, name)!;
  const parsed = parseYamlFile(repo, file)[0];
  const doc = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
  const k: Kustomization = { file, doc, ksops: [], resources: [] };
  seen.set(dir, k);
  for (const field of DIR_FIELDS) {
    for (const entry of Array.isArray(doc[field]) ? (doc[field] as unknown[]) : []) {
      if (typeof entry !== 'string') continue;
      const path = repoPath(repo, dir, entry, file);
      if (!path) continue; // a remote one (a git or http URL), or missing: kustomize fetches it or says so
      if (statSync(path).isDirectory()) kustomizations(repo, path, seen);
      else if (field === 'resources') k.resources.push(path);
      else if (field === 'generators') {
        const docs = parseYamlFile(repo, path) as Record<string, unknown>[];
        const ksops = docs.filter((d) => d?.kind === 'ksops');
        if (ksops.length === 0) continue;
        const shown = relative(repo, path);
        if (ksops.length < docs.length)
          fail(`${shown} holds KSOPS and other generators; give the KSOPS generator a file of its own`);
        const listed = ksops.flatMap((g) => {
          if (g.secretFrom !== undefined)
            fail(
              `${shown}: a KSOPS secretFrom generator cannot be built without the plugin; build it with \`kustomize build --enable-alpha-plugins --enable-exec\` and ksops on the PATH`,
            );
          if (!Array.isArray(g.files) || !g.files.every((f) => typeof f === 'string'))
            fail(`${shown}: a KSOPS generator needs \`files\`, a list of paths`);
          return g.files as string[];
        });
        // KSOPS runs in the kustomization's directory: its files are relative to that.
        const files = listed.map((f) => {
          const real = repoPath(repo, dir, f, path);
          if (!real || !statSync(real).isFile())
            fail(
              `${shown} lists ${JSON.stringify(f)}, which is not a file; restore it with git, or re-run the scaffolder`,
            );
          return real;
        });
        k.ksops.push({ entry, files });
      }
    }
  }
  return seen;
}

/**
 * A temporary copy of the kustomization directories (kustomize reads no file outside a
 * kustomization's directory, so each outermost one suffices), laid out as in the
 * repository, with each KSOPS generator replaced by its files as resources. KSOPS reads
 * files anywhere (in the repository, as checked); one outside the kustomization's directory
 * is copied into it, where kustomize may read it.
 */
function copyWithoutKsops(repo: string, tree: Map<string, Kustomization>): string {
  const copy = makeTempDir('minio-gitops-build-');
  try {
    const dirs = [...tree.keys()];
    for (const d of dirs.filter((d) => !dirs.some((o) => o !== d && within(o, d)))) {
      cpSync(d, join(copy, relative(repo, d)), {
        recursive: true,
        verbatimSymlinks: true,
        filter: (src) => basename(src) !== '.git',
      });
    }
    for (const [dir, k] of tree) {
      if (k.ksops.length === 0) continue;
      const ksops = new Set(k.ksops.map((g) => g.entry));
      const files = k.ksops
        .flatMap((g) => g.files)
        .map((f, i) => {
          if (within(dir, f)) return relative(dir, f);
          const to = join(copy, relative(repo, dir), '.ksops-files', `${i}-${basename(f)}`);
          cpSync(f, to);
          return relative(join(copy, relative(repo, dir)), to);
        });
      const { generators, resources, ...rest } = k.doc as { generators: string[]; resources?: unknown[] };
      const others = generators.filter((e) => !ksops.has(e));
      const doc = {
        ...rest,
        resources: [...(resources ?? []), ...files],
        ...(others.length > 0 ? { generators: others } : {}),
      };
      writeFileSync(join(copy, relative(repo, k.file)), yamlLib().stringify(doc));
    }
  } catch (error) {
    removeTempDir(copy);
    throw error;
  }
  return copy;
}

/** The MAC of each sops document of a file (it identifies the document after the build). */
function sopsMacs(repo: string, file: string): string[] {
  return (parseYamlFile(repo, file) as { sops?: { mac?: unknown } }[])
    .map((d) => d?.sops?.mac)
    .filter((m): m is string => typeof m === 'string');
}

/**
 * In an env built with KSOPS (Argo CD), only the generators' files are decrypted: a sealed
 * object that comes in any other way (a sops file listed as a plain resource) Argo CD would
 * send encrypted, and the API server would reject it. Refused, naming it and its file.
 * (Flux decrypts every sops object after its build, so a Flux env may list them as resources.)
 */
function refuseUnlisted(
  repo: string,
  env: string,
  tree: Map<string, Kustomization>,
  sealed: string[],
  objects: Obj[],
): void {
  const fromKsops = new Set(sealed.flatMap((f) => sopsMacs(repo, f)));
  const stray = objects.find((o) => o.sops && !fromKsops.has(o.sops.mac));
  if (!stray) return;
  const mac = stray.sops!.mac;
  const source = [...tree.values()]
    .flatMap((k) => k.resources.map((r) => ({ k, r })))
    .find(({ r }) => sopsMacs(repo, r).includes(mac));
  const where = source ? ` (${relative(repo, source.r)}, a plain resource of ${relative(repo, source.k.file)})` : '';
  fail(
    `${id(stray)} is sealed${where} but no KSOPS generator lists it: Argo CD would send it encrypted and the API server would reject it; move its file from resources to the files of a KSOPS generator (as sealed/${env}/secret-generator.yaml lists the env's), or leave it out`,
  );
}

function isSopsMetadata(m: unknown): m is SopsMetadata {
  const s = m as SopsMetadata | undefined;
  return Array.isArray(s?.age) && typeof s.mac === 'string' && typeof s.lastmodified === 'string';
}

/**
 * What KSOPS checks before it decrypts a file: a key of ours opens it and its MAC matches.
 * Argo CD refuses the whole sync otherwise, so the dry run does too.
 */
function checkSealedFile(repo: string, file: string): void {
  const shown = relative(repo, file);
  const docs = parseYamlFile(repo, file) as (Record<string, unknown> & { sops?: unknown })[];
  const doc = docs[0];
  if (docs.length !== 1 || !isSopsMetadata(doc?.sops))
    fail(
      `${shown} (listed by a KSOPS generator) is not one sops-encrypted document; restore it with git, or re-run the scaffolder`,
    );
  const found = unwrapDataKey(doc.sops, availableIdentities());
  if (!found)
    fail(
      `${shown} is sealed and no available age key opens it (SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt); load the key of one of its recipients`,
    );
  const problem = verifyDocument(doc, found.dataKey);
  if (problem)
    fail(
      `${shown} fails its integrity check (${problem}): KSOPS refuses it, so Argo CD would not sync; restore it with git, or edit it only with sops`,
    );
}
