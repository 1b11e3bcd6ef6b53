// Argo CD's SOPS path with the real KSOPS (v4.5.1, built by tools/install-ksops.sh from the
// upstream copy in ../shared/vendor/kustomize-sops): every argocd + sops combination of the
// overlay matrix is built by the pinned kustomize with exec plugins on, as Argo CD's
// repo-server builds it with KSOPS. The same env re-rendered for Flux (the same sealed
// files, byte for byte) is built as Flux builds it, its sealed Secrets decrypted after the
// build by the real sops. The two must apply exactly the same objects, and each sealed
// Secret must be exactly what the real `sops -d` (MAC checked) gives for its file. The env
// README's review and first-install steps are run as written and give the same objects. The
// live-cluster commands' plugin-less build (builtObjects) must give the same objects too,
// and, undecrypted, what Flux's build gives before it decrypts. A tampered file and a
// missing key make KSOPS refuse the build.
// Without ../shared/vendor/kustomize-sops (a user's clone) these tests skip, saying why;
// with CI set they fail.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { main } from '../src/cli.ts';
import { argv, validCombos, type Combo } from './combos.ts';
import { build as fluxBuild } from './scaffolded.ts';
import { needTool, REPO, tempDir, unavailable } from './tools.ts';

type Ctx = { skip: (note?: string) => void };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [key: string]: any };

const KSOPS = join(REPO, '.tools', 'bin', 'ksops');
const VENDOR = join(REPO, '..', 'shared', 'vendor', 'kustomize-sops');

/** The pinned ksops (the version tools/install-ksops.sh builds), or: skip (locally) / fail (CI) saying why it is not there. */
export function needKsops(ctx: Ctx): string {
  const version = /^KSOPS_VERSION=(\S+)$/m.exec(readFileSync(join(REPO, 'tools', 'install-ksops.sh'), 'utf8'))?.[1];
  if (!version) throw new Error('tools/install-ksops.sh pins no KSOPS_VERSION');
  const stamp = existsSync(KSOPS) ? readFileSync(join(REPO, '.tools', 'bin', '.ksops.version'), 'utf8').trim() : '';
  if (stamp.startsWith(`${version}-`)) return KSOPS;
  return unavailable(
    ctx,
    existsSync(VENDOR)
      ? `ksops ${version} is not built: run \`bash tools/install.sh\` (needs Go >= 1.25)`
      : `ksops ${version} is not available: its source (../shared/vendor/kustomize-sops) is not beside this checkout, and tools/install.sh builds it only from there`,
  );
}

const combos = validCombos().filter((c) => c.secrets === 'sops');
const label = (c: Combo) =>
  Object.entries(c)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
const id = (o: Obj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const parse = (text: string) =>
  YAML.parseAllDocuments(text)
    .map((d) => d.toJS() as Obj)
    .filter(Boolean);
const byId = (objs: Obj[]) => {
  const map = new Map(objs.map((o) => [id(o), o]));
  expect(map.size, 'two objects with the same kind, namespace and name').toBe(objs.length);
  return map;
};

async function scaffold(args: string[], out: string, gitops: 'argocd' | 'flux' = 'argocd'): Promise<void> {
  let stderr = '';
  const code = await main([...args, '--gitops', gitops, '--no-commit'], out, {
    out: () => {},
    err: (t) => (stderr += t),
  });
  expect(code, stderr).toBe(0);
}

/** A PATH whose first directory holds only ksops (so the build finds it, and nothing else of .tools/bin). */
function ksopsPath(ksops: string): string {
  const dir = tempDir('minio-gitops-ksops-path-');
  symlinkSync(ksops, join(dir, 'ksops'));
  return `${dir}:${process.env.PATH}`;
}

/** `kustomize build --enable-alpha-plugins --enable-exec`, as Argo CD's repo-server runs it with KSOPS. */
function pluginBuild(kustomize: string, dir: string, env: NodeJS.ProcessEnv) {
  return spawnSync(kustomize, ['build', '--enable-alpha-plugins', '--enable-exec', dir], {
    encoding: 'utf8',
    env,
    maxBuffer: 64 << 20,
  });
}

/** Every KSOPS generator of the tree: its kustomization directory and the sealed files it lists. */
function generators(out: string, env: string): { dir: string; files: string[] }[] {
  const found: { dir: string; files: string[] }[] = [];
  const walk = (dir: string) => {
    const k = YAML.parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as {
      generators?: string[];
      resources?: string[];
    };
    expect(k.resources, `${dir}: the sealed files come from the generator only`).toBeUndefined();
    for (const g of k.generators ?? []) {
      const doc = YAML.parse(readFileSync(join(dir, g), 'utf8')) as { kind: string; files: string[] };
      expect(doc.kind).toBe('ksops');
      found.push({ dir, files: doc.files.map((f) => join(dir, f)) });
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(join(out, 'sealed', env));
  return found;
}

/** Every file under dir (but .git) and its content. */
function files(dir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      if (e.isDirectory()) walk(join(d, e.name));
      else found.set(relative(dir, join(d, e.name)), readFileSync(join(d, e.name), 'utf8'));
    }
  };
  walk(dir);
  return found;
}

describe('Argo CD + SOPS: KSOPS builds every sealed Secret', () => {
  let compared = 0;
  let secrets = 0;
  let envs = 0;

  it.for(combos.map((c) => [label(c), c] as const))(
    '%s: kustomize with KSOPS = sops -d of the sealed files + what Flux applies for the same env',
    async ([, c], ctx) => {
      const ksops = needKsops(ctx);
      const kustomize = needTool(ctx, 'kustomize');
      const sops = needTool(ctx, 'sops');
      const kubectl = needTool(ctx, 'kubectl');
      const out = tempDir();
      await scaffold(argv(c), out);
      const env = c.profile;
      const sealed = generators(out, env).flatMap((g) => g.files);
      expect(sealed.length).toBeGreaterThanOrEqual(4); // root credentials, and each default consumer's two

      // The same env for Flux: a copy re-rendered with --gitops flux keeps every sealed file.
      const flux = tempDir('minio-gitops-flux-');
      cpSync(out, flux, { recursive: true });
      await scaffold(argv(c), flux, 'flux');
      const [argoFiles, fluxFiles] = [files(out), files(flux)];
      for (const f of sealed) expect(fluxFiles.get(relative(out, f)), f).toBe(argoFiles.get(relative(out, f)));
      for (const [f, text] of argoFiles)
        if (f.startsWith(`overlays/${env}/`) && f !== `overlays/${env}/README.md`)
          expect(fluxFiles.get(f), f).toBe(text);
      expect(YAML.parse(fluxFiles.get(`sealed/${env}/kustomization.yaml`)!)).toMatchObject({
        resources: expect.any(Array),
      });

      // The env README's review command, run as written (the pinned kustomize), in the repository.
      const review = /^(kustomize build .+?) +# review everything/m.exec(
        readFileSync(join(out, 'overlays', env, 'README.md'), 'utf8'),
      )?.[1];
      expect(review).toBe(`kustomize build --enable-alpha-plugins --enable-exec overlays/${env}`);
      const r = spawnSync(kustomize, review!.split(' ').slice(1), {
        cwd: out,
        encoding: 'utf8',
        env: { ...process.env, PATH: ksopsPath(ksops) },
        maxBuffer: 64 << 20,
      });
      expect(r.status, r.stderr).toBe(0);
      const built = parse(r.stdout);
      const byKey = byId(built);
      expect(built.filter((o) => 'sops' in o)).toEqual([]);

      // The README's first-install steps, each part's build run as written, in the repository
      // (`kubectl apply -k DIR` builds as `kubectl kustomize DIR`; `BUILD | kubectl apply -f -`
      // runs BUILD): every step builds, nothing stays sealed, and the parts are the whole env.
      const steps = /^## Apply\n[\s\S]*?^```sh\n([\s\S]*?)^```$/m
        .exec(readFileSync(join(out, 'overlays', env, 'README.md'), 'utf8'))![1]!
        .split('\n')
        .filter((l) => l.includes('kubectl apply'));
      expect(steps.length).toBeGreaterThanOrEqual(3); // minio, bootstrap, consumers (and trust)
      const parts: Obj[] = [];
      for (const step of steps) {
        const k = /^kubectl apply -k (\S+)$/.exec(step);
        const piped = /^(kustomize build [^|]+?) \| kubectl apply -f -$/.exec(step);
        expect(
          k ?? piped,
          `a step that is not \`kubectl apply -k DIR\` nor \`kustomize build ... | kubectl apply -f -\`: ${step}`,
        ).toBeTruthy();
        const [tool, ...args] = k ? [kubectl, 'kustomize', k[1]!] : [kustomize, ...piped![1]!.split(' ').slice(1)];
        const part = spawnSync(tool!, args, {
          cwd: out,
          encoding: 'utf8',
          env: { ...process.env, PATH: ksopsPath(ksops) },
          maxBuffer: 64 << 20,
        });
        expect(part.status, `${step}: ${part.stderr}`).toBe(0);
        parts.push(...parse(part.stdout));
      }
      expect(parts.filter((o) => 'sops' in o)).toEqual([]);
      expect(parts.map(id).sort()).toEqual([...byKey.keys()].sort());
      for (const o of parts) expect(o, id(o)).toEqual(byKey.get(id(o)));

      // What Flux applies: its build, each sealed Secret decrypted after it (the real sops).
      const fluxRaw = parse(
        execFileSync(kustomize, ['build', join(flux, 'overlays', env)], { encoding: 'utf8', maxBuffer: 64 << 20 }),
      );
      const applied = fluxBuild(ctx, flux, `overlays/${env}`);
      expect(built).toEqual(applied); // every object, in the same order
      compared += built.length;

      // Each sealed Secret is exactly what `sops -d` of its file gives (MAC checked), and
      // those are exactly the objects Flux's build leaves sealed.
      const opened = byId(
        sealed.map((f) => YAML.parse(execFileSync(sops, ['decrypt', f], { encoding: 'utf8' })) as Obj),
      );
      expect([...opened.keys()].sort()).toEqual(
        fluxRaw
          .filter((o) => 'sops' in o)
          .map(id)
          .sort(),
      );
      for (const [key, o] of opened) {
        expect(o.kind).toBe('Secret');
        expect(byKey.get(key), key).toEqual(o);
        secrets++;
      }

      // The live-cluster commands build it without plugins: decrypted (apply --server-dry-run),
      // the same objects; undecrypted (verify), what Flux's build gives before it decrypts.
      const { builtObjects } = await import('../src/cluster/build.ts');
      const ours = byId((await builtObjects(out, env, true)) as Obj[]);
      expect([...ours.keys()].sort()).toEqual([...byKey.keys()].sort());
      for (const [key, o] of byKey) expect(ours.get(key), key).toEqual(o);
      const oursSealed = byId((await builtObjects(out, env, false)) as Obj[]);
      expect([...oursSealed.keys()].sort()).toEqual(fluxRaw.map(id).sort());
      for (const o of fluxRaw) expect(oursSealed.get(id(o)), id(o)).toEqual(o);
      envs++;
    },
  );

  it('counts', () => {
    if (envs > 0)
      console.log(
        `KSOPS builds: ${envs} of ${combos.length} argocd + sops combinations, ${compared} objects equal to Flux's (${secrets} sealed Secrets equal to sops -d)`,
      );
  });
});

describe('KSOPS at the edges: what it refuses, what it reads', () => {
  async function prodEnv(ctx: Ctx) {
    const ksops = needKsops(ctx);
    const kustomize = needTool(ctx, 'kustomize');
    const out = tempDir();
    await scaffold(['--env', 'prod'], out);
    return { ksops, kustomize, out, dir: join(out, 'overlays', 'prod'), path: ksopsPath(ksops) };
  }

  it('a sealed file changed outside sops: the MAC check fails the build', async (ctx) => {
    const { kustomize, out, dir, path } = await prodEnv(ctx);
    expect(pluginBuild(kustomize, dir, { ...process.env, PATH: path }).status).toBe(0);
    const file = join(out, 'sealed', 'prod', 'minio-root-credentials.yaml');
    const text = readFileSync(file, 'utf8');
    // A readable field (covered by the MAC, not encrypted): every value still decrypts.
    expect(text).toContain('app.kubernetes.io/component: credentials\n');
    writeFileSync(
      file,
      text.replace('app.kubernetes.io/component: credentials\n', 'app.kubernetes.io/component: tampered\n'),
    );
    const r = pluginBuild(kustomize, dir, { ...process.env, PATH: path });
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/minio-root-credentials\.yaml/);
    expect(r.stderr).toMatch(/Failed to verify data integrity\. expected mac "[0-9A-F]+", got "[0-9A-F]+"/);
  });

  it('a machine without the key (or with another key): a clear error naming the file', async (ctx) => {
    const { kustomize, dir, path } = await prodEnv(ctx);
    const home = tempDir('minio-gitops-nokey-');
    mkdirSync(join(home, 'config'));
    const noKey = {
      ...process.env,
      PATH: path,
      HOME: home,
      XDG_CONFIG_HOME: join(home, 'config'),
      SOPS_AGE_KEY_FILE: join(home, 'none.txt'),
    };
    const r = pluginBuild(kustomize, dir, noKey);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/error decrypting file "\.\/minio-[a-z-]+\.yaml"/);
    expect(r.stderr).toMatch(/trouble decrypting file: Error getting data key: 0 successful groups required, got 0/);

    // Another age key (a teammate's own, not a recipient): refused the same way.
    const other = join(home, 'other.txt');
    const { newIdentity, saveIdentity } = await import('../src/age-keys.ts');
    saveIdentity(newIdentity(other), new Date());
    const wrong = pluginBuild(kustomize, dir, { ...noKey, SOPS_AGE_KEY_FILE: other });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/error decrypting file "\.\/minio-[a-z-]+\.yaml"/);
    expect(wrong.stderr).toMatch(
      /trouble decrypting file: Error getting data key: 0 successful groups required, got 0/,
    );
  });

  it('a sealed file elsewhere in the repository: KSOPS reads it (relative to the kustomization), and so does the plugin-less build', async (ctx) => {
    const { kustomize, out, dir, path } = await prodEnv(ctx);
    const sops = needTool(ctx, 'sops');
    needTool(ctx, 'kubectl');
    mkdirSync(join(out, 'elsewhere'));
    cpSync(join(out, 'sealed', 'prod', 'minio-root-credentials.yaml'), join(out, 'elsewhere', 'root.yaml'));
    rmSync(join(out, 'sealed', 'prod', 'minio-root-credentials.yaml'));
    const generator = join(out, 'sealed', 'prod', 'secret-generator.yaml');
    writeFileSync(
      generator,
      readFileSync(generator, 'utf8').replace('./minio-root-credentials.yaml', '../../elsewhere/root.yaml'),
    );
    const r = pluginBuild(kustomize, dir, { ...process.env, PATH: path });
    expect(r.status, r.stderr).toBe(0);
    const built = byId(parse(r.stdout));
    expect(built.get('Secret/minio/minio-root-credentials')).toEqual(
      YAML.parse(execFileSync(sops, ['decrypt', join(out, 'elsewhere', 'root.yaml')], { encoding: 'utf8' })),
    );
    const { builtObjects } = await import('../src/cluster/build.ts');
    const ours = byId((await builtObjects(out, 'prod', true)) as Obj[]);
    expect([...ours.keys()].sort()).toEqual([...built.keys()].sort());
    for (const [key, o] of built) expect(ours.get(key), key).toEqual(o);
  });
});
