// The Argo CD and Flux manifests in clusters/<env>/: built with a real kustomize,
// validated against the engines' schemas (models and upstream CRDs), and checked against
// the overlay they deploy: the AppProject admits exactly what the overlay renders.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { run } from './run.ts';
import { kustomizeBuilders, needCrds, tempDir } from './tools.ts';
import { parseAllYaml, validateObject, type Obj } from './validate.ts';

const REPO_URL = 'https://git.example.com/platform/storage-gitops.git';

/** Where a Flux step comes in the env's chain: trust, minio, bootstrap, consumers. */
const stepOrder = (k: { metadata: { name: string } }) =>
  ['-trust', '', '-bootstrap', '-consumers'].indexOf(
    k.metadata.name.replace(/^minio-[a-z0-9-]*?(-trust|-bootstrap|-consumers)?$/, '$1'),
  );

function build(ctx: { skip: (note?: string) => void }, dir: string): Obj[] {
  const [builder] = kustomizeBuilders(ctx);
  return parseAllYaml(builder!.build(dir)) as Obj[];
}

type AnyObj = Obj & { spec: Record<string, any>; metadata: Record<string, any> };

const combos: [string, string[]][] = [
  ['prod, sealed secrets', ['--env', 'prod']],
  [
    'prod, standalone, external secrets, no TLS',
    ['--env', 'prod', '--replicas', '1', '--secrets', 'external', '--tls', 'off'],
  ],
  ['dev, plain secrets, hostpath', ['--env', 'dev']],
  [
    'dev, pvc, ingress and monitoring',
    ['--env', 'dev', '--storage', 'pvc', '--ingress', 'on', '--monitoring', 'on', '--tls', 'on'],
  ],
];

describe.each(['argocd', 'flux'])('%s manifests', (engine) => {
  it.for(combos)('%s: build, validate, and match the overlay', ([, args], ctx) => {
    needCrds(ctx);
    const out = tempDir();
    const r = run([...args, '--gitops', engine, '--repo-url', REPO_URL, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const env = args[1]!;
    const objs = build(ctx, join(out, 'clusters', env)) as AnyObj[];
    expect(objs.flatMap(validateObject)).toEqual([]);
    for (const dir of ['', 'bootstrap', 'consumers'].map((d) => join(out, 'sealed', env, d))) {
      if (engine !== 'argocd' || !existsSync(join(dir, 'secret-generator.yaml'))) continue;
      // KSOPS cannot be built on this machine (its module is not on the Go proxy here), so
      // for the kinds check the sealed Secrets are listed as plain resources: the same
      // objects KSOPS would emit, still encrypted.
      const files = YAML.parse(readFileSync(join(dir, 'secret-generator.yaml'), 'utf8')).files as string[];
      writeFileSync(join(dir, 'kustomization.yaml'), YAML.stringify({ resources: files }));
    }
    const overlay = build(ctx, join(out, 'overlays', env)) as AnyObj[];
    const namespace = overlay.find((o) => o.kind === 'Namespace')!.metadata.name;
    // With TLS the env's private CA lives in cert-manager's namespace, its trust Bundle cluster-wide.
    const tls = !args.includes('--tls') ? env === 'prod' : args[args.indexOf('--tls') + 1] === 'on';
    const clusterScoped = ['Namespace', 'ClusterIssuer', 'Bundle'];

    if (engine === 'argocd') {
      expect(objs.map((o) => o.kind).sort()).toEqual(['AppProject', 'Application']);
      const project = objs.find((o) => o.kind === 'AppProject')!;
      const app = objs.find((o) => o.kind === 'Application')!;
      expect(JSON.stringify(project.spec)).not.toContain('*');
      expect(project.spec.sourceRepos).toEqual([REPO_URL]);
      // MinIO's namespace, the consumers' (their Secrets, FlinkEnvironment, Spark config, the
      // catalog server) and, with TLS, cert-manager's (the private CA).
      expect(project.spec.destinations).toEqual(
        [namespace, 'analytics', 'el-demo', ...(tls ? ['cert-manager'] : [])].map((ns) => ({
          server: 'https://kubernetes.default.svc',
          namespace: ns,
        })),
      );
      expect([...new Set(overlay.flatMap((o) => (o.metadata.namespace ? [o.metadata.namespace] : [])))].sort()).toEqual(
        project.spec.destinations.map((d: { namespace: string }) => d.namespace).sort(),
      );
      // Exactly the kinds the overlay renders: nothing missing, nothing extra.
      const groupOf = (o: AnyObj) => (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '');
      const rendered = new Set(
        overlay.filter((o) => !clusterScoped.includes(o.kind)).map((o) => `${groupOf(o)}/${o.kind}`),
      );
      const allowed = new Set(
        (project.spec.namespaceResourceWhitelist as { group: string; kind: string }[]).map(
          (k) => `${k.group}/${k.kind}`,
        ),
      );
      expect([...allowed].sort()).toEqual([...rendered].sort());
      const renderedCluster = [
        ...new Set(overlay.filter((o) => clusterScoped.includes(o.kind)).map((o) => `${groupOf(o)}/${o.kind}`)),
      ].sort();
      expect(
        (project.spec.clusterResourceWhitelist as { group: string; kind: string }[])
          .map((k) => `${k.group}/${k.kind}`)
          .sort(),
      ).toEqual(renderedCluster);
      expect(app.metadata.finalizers).toBeUndefined(); // deleting the Application keeps MinIO's volumes
      expect(app.spec).toMatchObject({
        project: project.metadata.name,
        source: { repoURL: REPO_URL, targetRevision: 'main', path: `overlays/${env}` },
        destination: { namespace },
        syncPolicy: {
          automated: { prune: true, selfHeal: true },
          syncOptions: expect.arrayContaining(['CreateNamespace=true', 'ServerSideApply=true']),
          retry: { limit: 5 },
        },
      });
      // Sync waves: the namespace, then credentials and certificates, then the servers, then
      // the consumers' objects; the bootstrap Job is a PostSync hook after all of them.
      const wave = (o: AnyObj) => Number(o.metadata.annotations?.['argocd.argoproj.io/sync-wave'] ?? 0);
      const inMinio = (o: AnyObj) => o.metadata.namespace === namespace;
      const waveOf = (kind: string, where = inMinio) => overlay.filter((o) => o.kind === kind && where(o)).map(wave);
      expect(waveOf('Namespace', () => true)).toEqual([-2]);
      for (const kind of ['Secret', 'ExternalSecret', 'Certificate', 'Issuer'])
        for (const w of waveOf(kind)) expect(w, kind).toBe(-1);
      for (const o of overlay.filter(
        (x) => x.metadata.namespace === 'cert-manager' || ['ClusterIssuer', 'Bundle'].includes(x.kind),
      ))
        expect(wave(o), `${o.kind}/${o.metadata.name}`).toBe(-1);
      for (const kind of ['Deployment', 'StatefulSet']) for (const w of waveOf(kind)) expect(w).toBe(0);
      const consumerSide = overlay.filter(
        (o) => o.metadata.namespace === 'el-demo' || o.metadata.namespace === 'analytics',
      );
      const catalogKinds = ['Deployment', 'NetworkPolicy', 'PersistentVolumeClaim', 'Service', 'ServiceAccount'];
      expect(consumerSide.map((o) => o.kind).sort()).toEqual(
        [
          'ConfigMap',
          'FlinkEnvironment',
          ...catalogKinds,
          ...Array(3).fill(args.includes('external') ? 'ExternalSecret' : 'Secret'),
        ].sort(),
      );
      for (const o of consumerSide) expect(wave(o), `${o.kind}/${o.metadata.name}`).toBe(1);
      const job = overlay.find((o) => o.kind === 'Job')!;
      expect(job.metadata.annotations).toMatchObject({
        'argocd.argoproj.io/hook': 'PostSync',
        'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
        'argocd.argoproj.io/sync-wave': '2',
      });
    } else {
      expect(objs.map((o) => o.kind).sort()).toEqual(['GitRepository', ...Array(tls ? 4 : 3).fill('Kustomization')]);
      const source = objs.find((o) => o.kind === 'GitRepository')!;
      expect(source.spec).toMatchObject({ url: REPO_URL, ref: { branch: 'main' } });
      // The steps in order: the CA and the truststore (TLS), MinIO, then the bootstrap Job
      // (awaited), then the consumers.
      const steps = objs
        .filter((o) => o.kind === 'Kustomization')
        .sort((a, b) => (a.spec.dependsOn ? 1 : 0) - (b.spec.dependsOn ? 1 : 0) || stepOrder(a) - stepOrder(b));
      const sourceRef = { kind: 'GitRepository', name: source.metadata.name };
      expect(steps.map((k) => [k.metadata.name, k.spec.path, k.spec.dependsOn?.[0]?.name, k.spec.wait])).toEqual([
        ...(tls ? [[`minio-${env}-trust`, `./overlays/${env}/trust`, undefined, true]] : []),
        [`minio-${env}`, `./overlays/${env}/minio`, tls ? `minio-${env}-trust` : undefined, true],
        [`minio-${env}-bootstrap`, `./overlays/${env}/bootstrap`, `minio-${env}`, true],
        [`minio-${env}-consumers`, `./overlays/${env}/consumers`, `minio-${env}-bootstrap`, false],
      ]);
      const sealed = overlay.some((o) => o.kind === 'Secret' && 'sops' in o);
      for (const step of steps) {
        expect(step.spec).toMatchObject({ prune: true, sourceRef });
        expect(step.spec.decryption).toEqual(
          sealed ? { provider: 'sops', secretRef: { name: 'sops-age' } } : undefined,
        );
      }
      // Each step builds on its own, and together they are the whole env.
      const parts = [...(tls ? ['trust'] : []), 'minio', 'bootstrap', 'consumers'].flatMap(
        (d) => build(ctx, join(out, 'overlays', env, d)) as AnyObj[],
      );
      const id = (o: AnyObj) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
      expect(parts.map(id).sort()).toEqual(overlay.map(id).sort());
    }
  });
});

describe('Argo CD with several clusters', () => {
  it('renders an ApplicationSet with a cluster generator, create-update and preserved resources', (ctx) => {
    needCrds(ctx);
    const out = tempDir();
    const r = run([
      '--env',
      'prod',
      '--gitops',
      'argocd',
      '--clusters',
      'eu-1,us-1,ap-1',
      '--repo-url',
      REPO_URL,
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const objs = build(ctx, join(out, 'clusters/prod')) as AnyObj[];
    expect(objs.flatMap(validateObject)).toEqual([]);
    expect(objs.map((o) => o.kind).sort()).toEqual(['AppProject', 'ApplicationSet']);
    const set = objs.find((o) => o.kind === 'ApplicationSet')!;
    expect(set.spec.generators).toEqual([
      {
        clusters: {
          selector: {
            matchExpressions: [{ key: 'minio-gitops.io/cluster', operator: 'In', values: ['eu-1', 'us-1', 'ap-1'] }],
          },
        },
      },
    ]);
    expect(set.spec.syncPolicy).toEqual({ applicationsSync: 'create-update', preserveResourcesOnDeletion: true });
    // Destinations by name, as the AppProject admits them (Argo CD matches server to server).
    expect(set.spec.template.spec.destination).toEqual({ name: '{{.name}}', namespace: 'minio' });
    expect(objs.find((o) => o.kind === 'AppProject')!.spec.destinations).toEqual(
      ['eu-1', 'us-1', 'ap-1'].flatMap((name) =>
        ['minio', 'analytics', 'el-demo', 'cert-manager'].map((namespace) => ({ name, namespace })),
      ),
    );
    // Back to one cluster: the ApplicationSet file goes, an Application comes.
    expect(run(['--env', 'prod', '--clusters', 'eu-1', '--out', out]).code).toBe(0);
    expect(existsSync(join(out, 'clusters/prod/applicationset.yaml'))).toBe(false);
    expect(YAML.parse(readFileSync(join(out, 'clusters/prod/application.yaml'), 'utf8')).spec.destination).toEqual({
      name: 'eu-1',
      namespace: 'minio',
    });
  });
});

describe('Flux steps the env no longer has', () => {
  it('are named, with the command that removes them, when TLS goes off (kubectl apply -k does not delete them)', () => {
    const out = tempDir();
    expect(run(['--env', 'prod', '--repo-url', REPO_URL, '--no-commit', '--out', out]).code).toBe(0);
    expect(existsSync(join(out, 'clusters/prod/kustomization-minio-trust.yaml'))).toBe(true);
    const off = run(['--env', 'prod', '--tls', 'off', '--no-commit', '--out', out]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toMatch(/^- clusters\/prod\/kustomization-minio-trust\.yaml$/m);
    expect(off.stdout).toMatch(
      /^ {2}once merged: kubectl -n flux-system delete kustomization minio-prod-trust {4}# a step the env no longer has/m,
    );
    expect(off.stdout).not.toMatch(/delete kustomization minio-prod(-bootstrap|-consumers)?\s/);
  });
});

describe('the repository URL', () => {
  it("defaults to the output repository's origin remote and is recorded", () => {
    const out = tempDir();
    execFileSync('git', ['init', '-q', out]);
    execFileSync('git', ['-C', out, 'remote', 'add', 'origin', 'git@github.com:acme/storage.git']);
    expect(run(['--env', 'dev', '--out', out]).code).toBe(0);
    // Flux takes no scp-like URL: the same repository as ssh://.
    expect(YAML.parse(readFileSync(join(out, 'clusters/dev/gitrepository.yaml'), 'utf8')).spec.url).toBe(
      'ssh://git@github.com/acme/storage.git',
    );
    expect(YAML.parse(readFileSync(join(out, 'scaffold.config.yaml'), 'utf8')).repoURL).toBe(
      'git@github.com:acme/storage.git',
    );
  });

  it('without one, the engine manifests are not rendered, and the run says why', () => {
    const out = tempDir();
    const r = run(['--env', 'dev', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^note: no repository URL .* clusters\/dev\/ .* is not rendered; pass --repo-url URL$/m);
    expect(existsSync(join(out, 'clusters'))).toBe(false);
  });

  it('refuses a URL that is not one', () => {
    const r = run(['--env', 'dev', '--repo-url', 'not a url', '--out', tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--repo-url "not a url" is not a git repository URL/);
  });
});
