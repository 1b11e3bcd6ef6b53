// The live-cluster commands on an Argo CD + SOPS env, against a real kube-apiserver (and
// etcd), both pinned builds from tools/install.sh. kubectl cannot build such an env (its
// sealed Secrets come from KSOPS generators, an exec plugin), so the commands build it
// without plugins, the generators' files as plain resources in a temporary copy, and
// decrypt the sealed Secrets in-process: apply --server-dry-run sends them decrypted, verify
// needs no key. The user's tree is never touched. The repository's files arrive through pull
// requests: a tampered or missing sealed file, a sealed file listed as a plain resource (KSOPS
// would not decrypt it), and a path that leads out of the repository (relative, absolute,
// through a symlink, a kustomization directory), are each one line and exit 2 from both
// commands (apply's MAC check aside: verify reads no values).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { main } from '../src/cli.ts';
import { fileCluster, type Cluster } from './cluster.ts';
import { run, snapshot } from './run.ts';
import { missingCrds, needCrds, needTool, tempDir } from './tools.ts';

const REPO_URL = 'https://git.example.com/platform/storage.git';

async function cli(args: string[], out: string, env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  // The process environment for one in-process run (the key file, the temp dir), restored after.
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const code = await main(args, out, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
    return { code, stdout, stderr };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const needCluster = fileCluster({
  prefix: 'minio-gitops-argocd-',
  available: () => missingCrds().length === 0,
  need: needCrds,
});

/** A real server-side apply (test setup, playing the engine). */
async function applyReal(c: Cluster, o: object) {
  const api = k8s.KubernetesObjectApi.makeApiClient(c.kc);
  return api.patch(
    k8s.loadYaml<k8s.KubernetesObject>(JSON.stringify(o)),
    undefined,
    undefined,
    'test',
    true,
    k8s.PatchStrategy.ServerSideApply,
  );
}

/** The namespaces the env's objects go to, made for real (restricted), each with its "default" ServiceAccount. */
async function createNamespaces(c: Cluster, names: string[]) {
  for (const name of names) {
    await applyReal(c, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
        },
      },
    });
    await applyReal(c, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } });
  }
}

type DryRunReport = {
  accepted: number;
  rejected: number;
  skipped: number;
  results: { object: string; result: string; message?: string }[];
};
type Report = { ok: boolean; checks: { check: string; status: string; detail: string }[] };

describe('Argo CD + SOPS env: apply --server-dry-run and verify against a real kube-apiserver', () => {
  it('the dry run sends every object, the sealed Secrets decrypted as KSOPS decrypts them, and the API server accepts all', async (ctx) => {
    const c = needCluster(ctx);
    const sops = needTool(ctx, 'sops');
    needTool(ctx, 'kubectl');
    const out = tempDir();
    const scaffolded = await cli(['--env', 'prod', '--gitops', 'argocd', '--repo-url', REPO_URL, '--no-commit'], out);
    expect(scaffolded.code, scaffolded.stderr).toBe(0);
    // kubectl cannot build it: the KSOPS generators are exec plugins.
    expect(() => execFileSync('kubectl', ['kustomize', join(out, 'overlays', 'prod')], { stdio: 'pipe' })).toThrow(
      /external plugins disabled|unable to load external plugin/,
    );

    const { builtObjects } = await import('../src/cluster/build.ts');
    const { makeApi } = await import('../src/cluster/kube.ts');
    const { serverDryRun } = await import('../src/cluster/dry-run.ts');
    const objects = await builtObjects(out, 'prod', true);
    const namespaces = [
      ...new Set(objects.map((o) => o.metadata.namespace).filter((n): n is string => Boolean(n))),
    ].sort();
    expect(namespaces).toEqual(['analytics', 'cert-manager', 'el-demo', 'minio']);
    await createNamespaces(c, namespaces);

    // The sealed Secrets as the real sops opens each file (MAC checked), in the build decrypted.
    const sealedFiles = execFileSync(
      'find',
      [
        join(out, 'sealed', 'prod'),
        '-name',
        '*.yaml',
        '!',
        '-name',
        'kustomization.yaml',
        '!',
        '-name',
        'secret-generator.yaml',
      ],
      { encoding: 'utf8' },
    )
      .trim()
      .split('\n');
    expect(sealedFiles).toHaveLength(10); // root, the KMS key, console basic auth, the metrics user's, and each default consumer's two
    const secrets = objects.filter((o) => o.kind === 'Secret');
    expect(secrets.map((o) => `${o.metadata.namespace}/${o.metadata.name}`).sort()).toHaveLength(sealedFiles.length);
    for (const file of sealedFiles) {
      const opened = YAML.parse(execFileSync(sops, ['decrypt', file], { encoding: 'utf8' })) as {
        metadata: { name: string; namespace: string };
        stringData: Record<string, string>;
      };
      const built = secrets.find(
        (o) => o.metadata.name === opened.metadata.name && o.metadata.namespace === opened.metadata.namespace,
      );
      expect(built, file).toEqual(opened);
    }
    expect(objects.filter((o) => 'sops' in o)).toEqual([]);

    // The command itself, as a user runs it (its own build; no temporary copy left behind).
    const before = snapshot(out);
    const scratch = tempDir('minio-gitops-tmp-');
    const r = await cli(
      ['apply', '--env', 'prod', '--server-dry-run', '--json', '--out', out, '--kubeconfig', c.kubeconfig],
      out,
      { TMPDIR: scratch },
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as DryRunReport;
    expect(report.results.filter((x) => x.result !== 'accepted')).toEqual([]);
    // The servers, the bootstrap and restarter Jobs, the catalog server: each also as its Pod.
    const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind)).length;
    expect(workloads).toBe(4);
    expect(report.accepted).toBe(objects.length + workloads);
    for (const s of secrets)
      expect(report.results).toContainEqual({
        object: `Secret/${s.metadata.namespace}/${s.metadata.name}`,
        result: 'accepted',
      });
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(scratch)).toEqual([]);

    // The control: a sealed Secret sent as built, not decrypted, is refused by the same API server.
    const api = await makeApi(c.kc);
    const raw = (await builtObjects(out, 'prod', false)).find(
      (o) => o.kind === 'Secret' && o.metadata.name === 'minio-root-credentials',
    )!;
    expect(raw.sops).toBeDefined();
    const refused = await serverDryRun(api, [raw]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ result: 'rejected', message: expect.stringMatching(/sops/) });
    console.log(
      `argocd + sops prod: ${report.accepted} dry-run applies accepted (${objects.length} objects, ${secrets.length} sealed Secrets decrypted)`,
    );
  }, 120_000);

  it('without the age key: apply says so in one line (exit 2); verify needs no key and reports its checks', async (ctx) => {
    const c = needCluster(ctx);
    needTool(ctx, 'kubectl');
    const out = tempDir();
    expect((await cli(['--env', 'prod', '--gitops', 'argocd', '--repo-url', REPO_URL, '--no-commit'], out)).code).toBe(
      0,
    );
    const { builtObjects } = await import('../src/cluster/build.ts');
    const objects = await builtObjects(out, 'prod', true);
    await createNamespaces(c, ['minio', 'el-demo', 'analytics', 'cert-manager']);
    // The engine's part, for real: the env's objects in the cluster (the Secrets decrypted).
    for (const o of objects) await applyReal(c, o);

    const noKey = { SOPS_AGE_KEY_FILE: join(tempDir('minio-gitops-nokey-'), 'keys.txt') };
    const apply = await cli(
      ['apply', '--env', 'prod', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig],
      out,
      noKey,
    );
    expect(apply.code).toBe(2);
    expect(apply.stdout).toBe('');
    expect(apply.stderr).toMatch(
      /^error: sealed\/prod\/[\w/-]+\.yaml is sealed and no available age key opens it .*; load the key of one of its recipients\n$/,
    );

    const verify = await cli(
      ['verify', '--env', 'prod', '--json', '--out', out, '--kubeconfig', c.kubeconfig],
      out,
      noKey,
    );
    expect(verify.stderr).toBe('');
    // No controllers run here, so the workloads are not ready: checks fail (1), the command does not (2).
    expect(verify.code).toBe(1);
    const checks = Object.fromEntries((JSON.parse(verify.stdout) as Report).checks.map((x) => [x.check, x]));
    // The sealed consumer Secrets, judged by the keys of the plugin-less build (values never read).
    for (const s of [
      'el-demo/minio-s3-credentials-flink',
      'analytics/minio-s3-credentials-spark',
      'analytics/minio-s3-credentials-iceberg',
    ])
      expect(checks[`Secret ${s}`], s).toMatchObject({ status: 'pass' });
    expect(checks['namespace minio']).toMatchObject({ status: 'pass' });
    expect(checks['MinIO statefulset/minio']).toMatchObject({ status: 'fail' });
    expect(checks['Argo CD Application argocd/minio-prod']).toMatchObject({ status: 'fail' });
  }, 120_000);

  it('a sealed file changed outside sops, a missing one, paths out of the repository: apply and verify exit 2 with one line; the tree untouched, no copy left', async (ctx) => {
    const c = needCluster(ctx);
    needTool(ctx, 'kubectl');
    const scaffolded = tempDir();
    expect(
      (await cli(['--env', 'prod', '--gitops', 'argocd', '--repo-url', REPO_URL, '--no-commit'], scaffolded)).code,
    ).toBe(0);
    const outside = tempDir('minio-gitops-outside-');
    cpSync(join(scaffolded, 'sealed', 'prod'), join(outside, 'sealed'), { recursive: true });
    const generator = (out: string, add: string) => {
      const file = join(out, 'sealed', 'prod', 'secret-generator.yaml');
      writeFileSync(file, readFileSync(file, 'utf8').replace('files:\n', `files:\n  - ${add}\n`));
    };
    const root = 'sealed/prod/minio-root-credentials.yaml';
    // Each case: how the pull request changes the tree, and the one line apply (and verify, when it also refuses) must give.
    const cases: { name: string; change: (out: string) => void; apply: RegExp; verify?: RegExp }[] = [
      {
        name: 'a sealed file changed outside sops (its MAC)',
        change: (out) =>
          writeFileSync(
            join(out, root),
            readFileSync(join(out, root), 'utf8').replace(
              'app.kubernetes.io/component: credentials\n',
              'app.kubernetes.io/component: tampered\n',
            ),
          ),
        apply:
          /^error: sealed\/prod\/minio-root-credentials\.yaml fails its integrity check \(the MAC does not match the content\): KSOPS refuses it, so Argo CD would not sync; restore it with git, or edit it only with sops\n$/,
      },
      {
        name: 'a sealed file removed',
        change: (out) => rmSync(join(out, root)),
        apply:
          /^error: sealed\/prod\/secret-generator\.yaml lists "\.\/minio-root-credentials\.yaml", which is not a file; restore it with git, or re-run the scaffolder\n$/,
        verify:
          /^error: sealed\/prod\/secret-generator\.yaml lists "\.\/minio-root-credentials\.yaml", which is not a file/,
      },
      {
        name: 'a generator listing ../../etc/passwd-style path',
        change: (out) => generator(out, '../../../../../../../../etc/passwd'),
        apply:
          /^error: sealed\/prod\/secret-generator\.yaml lists "(\.\.\/){8}etc\/passwd", which leads outside the repository \/\S+: a build reads only the repository's files; fix the path\n$/,
        verify:
          /^error: sealed\/prod\/secret-generator\.yaml lists "(\.\.\/){8}etc\/passwd", which leads outside the repository/,
      },
      {
        name: 'a generator listing an absolute path',
        change: (out) => generator(out, join(outside, 'sealed', 'minio-root-credentials.yaml')),
        apply:
          /^error: sealed\/prod\/secret-generator\.yaml lists "\/\S+\/sealed\/minio-root-credentials\.yaml", which leads outside the repository \/\S+: a build reads only/,
        verify: /which leads outside the repository/,
      },
      {
        name: 'a sealed file that is a symlink out of the repository (to a valid sealed file)',
        change: (out) => {
          rmSync(join(out, root));
          symlinkSync(join(outside, 'sealed', 'minio-root-credentials.yaml'), join(out, root));
        },
        apply:
          /^error: sealed\/prod\/secret-generator\.yaml lists "\.\/minio-root-credentials\.yaml", which leads outside the repository \/\S+ \(a symlink to \/\S+\/sealed\/minio-root-credentials\.yaml\): a build reads only the repository's files; fix the path\n$/,
        verify: /\(a symlink to \/\S+\/sealed\/minio-root-credentials\.yaml\)/,
      },
      {
        // KSOPS decrypts only its generators' files: Argo CD would send this one encrypted.
        name: 'a sealed file listed as a plain resource, not by the KSOPS generator',
        change: (out) => {
          const file = join(out, 'sealed', 'prod', 'secret-generator.yaml');
          const text = readFileSync(file, 'utf8');
          expect(text).toContain('  - ./minio-root-credentials.yaml\n');
          writeFileSync(file, text.replace('  - ./minio-root-credentials.yaml\n', ''));
          writeFileSync(
            join(out, 'sealed', 'prod', 'kustomization.yaml'),
            `${readFileSync(join(out, 'sealed', 'prod', 'kustomization.yaml'), 'utf8')}resources:\n  - minio-root-credentials.yaml\n`,
          );
        },
        apply:
          /^error: Secret\/minio\/minio-root-credentials is sealed \(sealed\/prod\/minio-root-credentials\.yaml, a plain resource of sealed\/prod\/kustomization\.yaml\) but no KSOPS generator lists it: Argo CD would send it encrypted and the API server would reject it; move its file from resources to the files of a KSOPS generator \(as sealed\/prod\/secret-generator\.yaml lists the env's\), or leave it out\n$/,
        verify:
          /^error: Secret\/minio\/minio-root-credentials is sealed \(sealed\/prod\/minio-root-credentials\.yaml, a plain resource of sealed\/prod\/kustomization\.yaml\) but no KSOPS generator lists it/,
      },
      {
        name: 'a kustomization reaching a directory out of the repository',
        change: (out) => {
          const file = join(out, 'overlays', 'prod', 'minio', 'kustomization.yaml');
          writeFileSync(
            file,
            readFileSync(file, 'utf8').replace('  - ../../../sealed/prod\n', `  - ${join(outside, 'sealed')}\n`),
          );
        },
        apply:
          /^error: overlays\/prod\/minio\/kustomization\.yaml lists "\/\S+\/sealed", which leads outside the repository/,
        verify:
          /^error: overlays\/prod\/minio\/kustomization\.yaml lists "\/\S+\/sealed", which leads outside the repository/,
      },
    ];
    for (const k of cases) {
      const out = tempDir();
      cpSync(scaffolded, out, { recursive: true });
      k.change(out);
      const before = snapshot(out);
      const scratch = tempDir('minio-gitops-tmp-');
      const apply = await cli(
        ['apply', '--env', 'prod', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig],
        out,
        { TMPDIR: scratch },
      );
      expect({ code: apply.code, stdout: apply.stdout, stderr: apply.stderr }, k.name).toMatchObject({
        code: 2,
        stdout: '',
        stderr: expect.stringMatching(k.apply),
      });
      expect(apply.stderr.split('\n'), k.name).toHaveLength(2);
      expect(apply.stderr, k.name).not.toContain(scratch);
      const verify = await cli(['verify', '--env', 'prod', '--out', out, '--kubeconfig', c.kubeconfig], out, {
        TMPDIR: scratch,
      });
      if (k.verify) {
        expect({ code: verify.code, stdout: verify.stdout, stderr: verify.stderr }, k.name).toMatchObject({
          code: 2,
          stdout: '',
          stderr: expect.stringMatching(k.verify),
        });
        expect(verify.stderr.split('\n'), k.name).toHaveLength(2);
      } else {
        // verify reads no values, so it needs no MAC: it reaches the cluster and judges it
        // (checks fail: no controller runs here, and the Application was never applied).
        expect({ code: verify.code, stderr: verify.stderr }, k.name).toEqual({ code: 1, stderr: '' });
        expect(verify.stdout, k.name).toMatch(/^FAIL {2}Argo CD Application argocd\/minio-prod: not found$/m);
        expect(verify.stdout, k.name).toMatch(/^env prod: \d+ passed, \d+ failed/m);
      }
      expect(snapshot(out), k.name).toEqual(before);
      expect(readdirSync(scratch), k.name).toEqual([]);
    }

    // Not refused: a sealed file elsewhere in the repository, which KSOPS reads (its
    // working directory is the kustomization's) though kustomize would not; the same objects.
    const moved = tempDir();
    cpSync(scaffolded, moved, { recursive: true });
    mkdirSync(join(moved, 'elsewhere'));
    cpSync(join(moved, root), join(moved, 'elsewhere', 'root.yaml'));
    rmSync(join(moved, root));
    const file = join(moved, 'sealed', 'prod', 'secret-generator.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('./minio-root-credentials.yaml', '../../elsewhere/root.yaml'),
    );
    const { builtObjects } = await import('../src/cluster/build.ts');
    const sorted = (objs: { kind: string; metadata: { name: string; namespace?: string } }[]) =>
      objs
        .map((o) => [`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, o] as const)
        .sort(([x], [y]) => x.localeCompare(y));
    expect(sorted(await builtObjects(moved, 'prod', true))).toEqual(
      sorted(await builtObjects(scaffolded, 'prod', true)),
    );

    // A refusal from a real process, as a user sees it: one line on stderr, no stack trace.
    const out = tempDir();
    cpSync(scaffolded, out, { recursive: true });
    generator(out, '../../../../../../../../etc/passwd');
    const r = run(['apply', '--env', 'prod', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^error: sealed\/prod\/secret-generator\.yaml lists "(\.\.\/){8}etc\/passwd", which leads outside the repository \/\S+: a build reads only the repository's files; fix the path\n$/,
    );
  }, 120_000);
});
