// The live-cluster commands against a real control plane (test/controlplane.ts: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, all pinned builds from
// tools/install.sh, and kwok's simulated nodes): a server-side dry run of every overlay with
// Pod Security enforced, and verify failing and passing for the right reasons. The
// workloads' statuses (Deployments, StatefulSets, ReplicaSets, Jobs, pods, volumes,
// EndpointSlices) are written by those controllers only, never by the tests. Custom resources
// whose controllers this file does not run (Flux Kustomizations, cert-manager Certificates,
// ExternalSecrets, Argo CD Applications) get their status from the test, each write saying
// why; trust-manager's Bundle is built by the real trust-manager (test/trust.ts).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { main } from '../src/cli.ts';
import type { Cluster } from './cluster.ts';
import { CONTROLLERS, fileControlPlane, KWOK_FAIL_LABEL, statusWriters, type ControlPlane } from './controlplane.ts';
import { argv, validCombos } from './combos.ts';
import { makeCertificates } from './minio.ts';
import { distributeTrust } from './trust.ts';
import { missingCrds, needCrds, REPO, tempDir } from './tools.ts';

async function cli(args: string[], out: string) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, out, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const needCluster = fileControlPlane({
  prefix: 'minio-gitops-cluster-',
  available: () => missingCrds().length === 0,
  need: needCrds,
});

/** Creates (for real) the namespaces an engine would: the env's own, and the consumers'. */
async function createNamespaces(
  c: Cluster,
  namespace: k8s.KubernetesObject | undefined,
  consumers: string[],
  restricted = false,
) {
  const restrictedLabels = {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
  };
  const own =
    namespace && restricted
      ? {
          ...namespace,
          metadata: { ...namespace.metadata, labels: { ...namespace.metadata!.labels, ...restrictedLabels } },
        }
      : namespace;
  const core = c.kc.makeApiClient(k8s.CoreV1Api);
  for (const ns of [
    ...(own ? [own] : []),
    ...consumers.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: restrictedLabels } })),
  ]) {
    await applyReal(c, ns);
    // The dry-run pods run as the "default" ServiceAccount, which the controller manager makes in every namespace.
    await until(`the default ServiceAccount of ${ns.metadata!.name}`, 30, () =>
      core.readNamespacedServiceAccount({ name: 'default', namespace: ns.metadata!.name! }),
    );
  }
}

/** A real server-side apply of a plain object (test setup, playing the engine). */
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

type DryRunReport = {
  accepted: number;
  rejected: number;
  skipped: number;
  results: { object: string; result: string; message?: string }[];
};

describe('apply --server-dry-run against a real kube-apiserver', () => {
  it('accepts every object of every valid option combination, with Pod Security enforced on the pod templates', async (ctx) => {
    const c = needCluster(ctx);
    const { builtObjects } = await import('../src/cluster/build.ts');
    let applies = 0;
    for (const combo of validCombos()) {
      const out = tempDir();
      const scaffolded = await cli([...argv(combo), '--no-commit'], out);
      expect(scaffolded.code, scaffolded.stderr).toBe(0);
      const objects = await builtObjects(out, combo.profile, false);
      // The env's namespace as rendered (restricted; privileged only for hostPath), the consumers' restricted.
      await createNamespaces(
        c,
        objects.find((o) => o.kind === 'Namespace'),
        ['el-demo', 'analytics', 'cert-manager'],
      );
      const r = await cli(
        ['apply', '--env', combo.profile, '--server-dry-run', '--json', '--out', out, '--kubeconfig', c.kubeconfig],
        out,
      );
      const report = JSON.parse(r.stdout) as DryRunReport;
      expect(
        report.results.filter((x) => x.result !== 'accepted'),
        JSON.stringify(combo),
      ).toEqual([]);
      expect(r.code).toBe(0);
      // Every object, plus a Pod for each workload (the server, the Job, the catalog server, and an erasure-coded env's restarter Job).
      const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind)).length;
      expect(workloads).toBe(combo.replicas === '1' ? 3 : 4);
      expect(report.accepted).toBe(objects.length + workloads);
      applies += report.accepted;
    }
    console.log(`server-side dry-run applies accepted: ${applies} (${validCombos().length} combinations)`);
  }, 600_000);

  it('what the server rejects: a typo (strict fields), a privileged container (Pod Security); a first install is skipped, not failed', async (ctx) => {
    const c = needCluster(ctx);
    const { appendFileSync, writeFileSync } = await import('node:fs');
    const out = tempDir();
    expect(
      (
        await cli(
          ['--env', 'lab', '--profile', 'dev', '--storage', 'pvc', '--namespace', 'minio-lab', '--no-commit'],
          out,
        )
      ).code,
    ).toBe(0);
    const dryRun = async () => {
      const r = await cli(
        ['apply', '--env', 'lab', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig],
        out,
      );
      return {
        ...r,
        report: JSON.parse(
          (
            await cli(
              ['apply', '--env', 'lab', '--server-dry-run', '--json', '--out', out, '--kubeconfig', c.kubeconfig],
              out,
            )
          ).stdout,
        ) as DryRunReport,
      };
    };
    // Before the first install: nothing to judge in a namespace that does not exist yet.
    const first = await dryRun();
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^ok {8}Namespace\/minio-lab$/m);
    expect(first.stdout).toMatch(
      /^skipped {3}Deployment\/minio-lab\/minio: namespace minio-lab does not exist yet \(the engine creates it first\); run again once it does$/m,
    );
    expect(first.report.rejected).toBe(0);

    // A person's hand edit: a typo and a privileged container, in an extra patch.
    await createNamespaces(
      c,
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'minio-lab', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
      } as never,
      ['el-demo', 'analytics'],
    );
    writeFileSync(
      join(out, 'overlays/lab/minio/patch-mine.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: minio}\nspec:\n  template:\n    spec:\n      hostNetwrok: true\n',
    );
    appendFileSync(join(out, 'overlays/lab/minio/kustomization.yaml'), '  - path: patch-mine.yaml\n');
    const typo = await dryRun();
    expect(typo.code).toBe(1);
    expect(typo.stdout).toMatch(
      /^REJECTED {2}Deployment\/minio-lab\/minio: .*hostNetwrok.*(field not declared in schema|unknown field)/m,
    );
    writeFileSync(
      join(out, 'overlays/lab/minio/patch-mine.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: minio}\nspec:\n  template:\n    spec:\n      containers:\n        - name: minio\n          securityContext: {privileged: true, allowPrivilegeEscalation: true}\n',
    );
    const privileged = await dryRun();
    expect(privileged.code).toBe(1);
    // The Deployment itself passes (Pod Security only warns about it); its pods would not.
    expect(privileged.stdout).toMatch(/^ok {8}Deployment\/minio-lab\/minio$/m);
    expect(privileged.stdout).toMatch(
      /^REJECTED {2}pod template of Deployment\/minio-lab\/minio: pods "minio-pod-check" is forbidden: violates PodSecurity "restricted:latest": .*privileged/m,
    );
    expect(privileged.stdout).toMatch(/^ok {8}pod template of Job\/minio-lab\/minio-bootstrap$/m);
    expect(privileged.report.results.filter((x) => x.result === 'rejected').map((x) => x.object)).toEqual([
      'pod template of Deployment/minio-lab/minio',
    ]);
  });

  it('skips the pod check where the build relabels the namespace (hostPath: privileged), rather than judge it at the old level', async (ctx) => {
    const c = needCluster(ctx);
    const out = tempDir();
    expect((await cli(['--env', 'hp', '--profile', 'dev', '--namespace', 'minio-hp', '--no-commit'], out)).code).toBe(
      0,
    );
    await createNamespaces(
      c,
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'minio-hp', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
      } as never,
      ['el-demo', 'analytics'],
    );
    const r = await cli(['apply', '--env', 'hp', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig], out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^skipped {3}pod template of Deployment\/minio-hp\/minio: this build changes the Pod Security level of namespace minio-hp \(enforce restricted -> privileged\); run again once it is applied$/m,
    );
  });

  it('cannot reach the API server: one line, exit 2', async () => {
    const { writeFileSync } = await import('node:fs');
    const dir = tempDir();
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    for (const command of [['verify'], ['apply', '--server-dry-run']]) {
      const r = await cli([...command, '--env', 'dev', '--out', REPO, '--kubeconfig', kubeconfig], REPO);
      expect(r.code, command.join(' ')).toBe(2);
      expect(r.stderr).toMatch(
        /^error: cannot reach the API server https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\); check the kubeconfig and --context\n$/,
      );
    }
  });

  it('decrypts sealed Secrets before sending them, and says so when no key opens them', async (ctx) => {
    const c = needCluster(ctx);
    const out = tempDir();
    expect(
      (
        await cli(
          ['--env', 'sealed', '--profile', 'prod', '--namespace', 'minio-sealed', '--ingress', 'off', '--no-commit'],
          out,
        )
      ).code,
    ).toBe(0);
    await createNamespaces(
      c,
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'minio-sealed', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
      } as never,
      ['el-demo', 'analytics'],
    );
    const ok = await cli(
      ['apply', '--env', 'sealed', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig],
      out,
    );
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^ok {8}Secret\/minio-sealed\/minio-root-credentials$/m);
    const saved = process.env.SOPS_AGE_KEY_FILE;
    process.env.SOPS_AGE_KEY_FILE = join(tempDir(), 'no-keys.txt');
    try {
      const r = await cli(
        ['apply', '--env', 'sealed', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig],
        out,
      );
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /^error: Secret\/([\w.-]+\/)?minio-[\w.-]+ is sealed and no available age key opens it .*; load the key of one of its recipients\n$/,
      );
      // verify needs no values, so no key.
      expect(
        (await cli(['verify', '--env', 'sealed', '--json', '--out', out, '--kubeconfig', c.kubeconfig], out)).stdout,
      ).toMatch(/"checks"/);
    } finally {
      process.env.SOPS_AGE_KEY_FILE = saved;
    }
  });

  it('refuses apply without --server-dry-run, and says what applies instead', async () => {
    const r = await cli(['apply', '--env', 'dev'], REPO);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: apply is the GitOps engine's job .* use apply --server-dry-run/);
  });
});

// verify: its own env and consumer namespaces, so the dry-run tests above do not matter.
const VERIFY_CONFIG = `repoURL: https://git.example.com/platform/storage.git
envs:
  check:
    profile: dev
    namespace: minio-check
    consumers:
      flink: {namespace: check-flink, kind: flink-cmf, buckets: [flink]}
      spark: {namespace: check-spark, kind: iceberg-spark, buckets: [datalake], catalogServer: lake}
      lake: {namespace: check-spark, kind: iceberg-catalog, buckets: [datalake/warehouse/]}
`;

/** Polls `check` (bounded in time) until it returns a value; the last state in the error. */
async function until<T>(
  what: string,
  seconds: number,
  check: () => Promise<T | undefined>,
  state: () => Promise<string> = async () => '',
): Promise<T> {
  const began = Date.now();
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() - began > seconds * 1000)
      throw new Error(`${what}: not reached in ${seconds} s: ${await state().catch((e) => String(e))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `kubectl cordon` (or uncordon) of every node: nothing new is scheduled while cordoned. */
async function cordon(c: ControlPlane, unschedulable: boolean) {
  const core = c.kc.makeApiClient(k8s.CoreV1Api);
  for (const name of c.nodes)
    await core.patchNode(
      { name, body: { spec: { unschedulable } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
}

/** MinIO's server pods (not the bootstrap Job's) in a namespace. */
const SERVER_PODS = 'app.kubernetes.io/name=minio,app.kubernetes.io/component=server';

/** Every status writer is one of the control plane's components (never this test). */
function expectControllersWrote(
  o: { metadata?: { managedFields?: k8s.V1ManagedFieldsEntry[] } },
  what: string,
  expected: string[],
) {
  const { status } = statusWriters(o);
  expect(status, `${what}: who wrote its status`).toEqual(expect.arrayContaining(expected));
  expect(
    status.filter((m) => !(CONTROLLERS as readonly string[]).includes(m)),
    `${what}: a status written by someone else`,
  ).toEqual([]);
}

type Report = {
  ok: boolean;
  checks: { check: string; status: string; detail: string; diagnosis?: string; next?: string }[];
};

describe('verify against a real kube-apiserver', () => {
  let out = '';
  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });
  const verify = async (c: Cluster, ...extra: string[]) => {
    const r = await cli(
      ['verify', '--env', 'check', '--json', '--out', out, '--kubeconfig', c.kubeconfig, ...extra],
      out,
    );
    return { ...r, report: r.stdout ? (JSON.parse(r.stdout) as Report) : undefined };
  };
  const byName = (report: Report) => Object.fromEntries(report.checks.map((x) => [x.check, x]));

  it('fails on an empty cluster, each check with its diagnosis and next command', async (ctx) => {
    const c = needCluster(ctx);
    out = mkdtempSync(join(tmpdir(), 'minio-gitops-verify-')); // shared by this describe's tests
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(out, 'scaffold.config.yaml'), VERIFY_CONFIG);
    expect((await cli(['--env', 'check', '--no-commit'], out)).code).toBe(0);
    const { code, report } = await verify(c);
    expect(code).toBe(1);
    const checks = byName(report!);
    expect(checks['namespace minio-check']).toMatchObject({ status: 'fail', detail: 'does not exist' });
    expect(checks['namespace check-flink']).toMatchObject({
      status: 'fail',
      next: 'kubectl create namespace check-flink',
    });
    expect(checks['MinIO deployment/minio']).toMatchObject({
      status: 'fail',
      detail: 'not found',
      diagnosis: expect.stringMatching(/connection refused/),
    });
    // The catalog server's Deployment is checked as what it is, never as MinIO.
    expect(report!.checks.filter((x) => x.check.startsWith('MinIO ')).map((x) => x.check)).toEqual([
      'MinIO deployment/minio',
    ]);
    expect(checks['Iceberg catalog deployment check-spark/minio-check-lake']).toMatchObject({
      status: 'fail',
      detail: 'not found',
      diagnosis: expect.stringMatching(/Connection refused/),
    });
    expect(checks['Service minio endpoints']).toMatchObject({
      status: 'fail',
      detail: 'no ready endpoints',
      diagnosis: expect.stringMatching(/connection refused/),
    });
    expect(checks['bootstrap Job minio-bootstrap']).toMatchObject({
      status: 'fail',
      detail: 'not found',
      diagnosis: expect.stringMatching(/404 .*bucket does not exist.*403 .*access denied/),
      next: 'flux reconcile kustomization minio-check-bootstrap -n flux-system --with-source',
    });
    expect(checks['Secret check-flink/minio-check-s3-credentials-flink']).toMatchObject({
      status: 'fail',
      detail: 'not found',
    });
    expect(checks['FlinkEnvironment check-flink/minio-check-flink']).toMatchObject({
      status: 'fail',
      detail: 'not found',
    });
    expect(checks['Flux Kustomization flux-system/minio-check']).toMatchObject({
      status: 'fail',
      detail: 'not found',
      next: 'kubectl apply -k clusters/check',
    });
    expect(checks['Certificate minio-tls']).toMatchObject({ status: 'skip', detail: 'TLS is off in this env' });
    for (const x of report!.checks.filter((y) => y.status === 'fail'))
      expect(x.diagnosis && x.next, x.check).toBeTruthy();
  });

  it('passes once the objects are applied and the controllers have made the workloads ready', async (ctx) => {
    const c = needCluster(ctx);
    const { builtObjects } = await import('../src/cluster/build.ts');
    const { execFileSync } = await import('node:child_process');
    const apply = async (o: object) => applyReal(c, o);
    const objects = await builtObjects(out, 'check', false);
    const engine = k8s.loadAllYaml(
      execFileSync('kubectl', ['kustomize', join(out, 'clusters/check')], { encoding: 'utf8' }),
    );
    for (const ns of [
      objects.find((o) => o.kind === 'Namespace')!,
      ...['check-flink', 'check-spark', 'flux-system'].map((name) =>
        k8s.loadYaml<k8s.V1Namespace>(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
      ),
    ])
      await apply(ns);
    const applied = Date.now();
    for (const o of [...objects.filter((x) => x.kind !== 'Namespace'), ...engine]) await apply(o);

    // Flux's part, written by the test: no Flux controller runs in this file (test/gitops-e2e.test.ts runs the real ones on the rendered repository).
    const custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
    for (const name of ['minio-check', 'minio-check-bootstrap', 'minio-check-consumers']) {
      const k = (await custom.getNamespacedCustomObject({
        group: 'kustomize.toolkit.fluxcd.io',
        version: 'v1',
        namespace: 'flux-system',
        plural: 'kustomizations',
        name,
      })) as { status?: object };
      k.status = {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'ReconciliationSucceeded',
            message: 'Applied revision: main@sha1:0',
            lastTransitionTime: new Date().toISOString(),
          },
        ],
      };
      await custom.replaceNamespacedCustomObjectStatus({
        group: 'kustomize.toolkit.fluxcd.io',
        version: 'v1',
        namespace: 'flux-system',
        plural: 'kustomizations',
        name,
        body: k,
      });
    }

    // The rest is the control plane's: the scheduler places MinIO's, the catalog server's and
    // the Job's pods, kwok runs them (the Job's to completion), the controller manager writes
    // the Deployments' and the Job's status, binds the catalog's volume and fills the
    // Service's EndpointSlice. verify --wait polls until every check passes.
    const { code, report, stderr } = await verify(c, '--wait', '90s');
    expect(
      report!.checks.filter((x) => x.status === 'fail'),
      stderr,
    ).toEqual([]);
    expect(code).toBe(0);
    console.log(
      `verify passed ${((Date.now() - applied) / 1000).toFixed(1)} s after the env was applied (the workloads made ready by the controllers)`,
    );
    const checks = byName(report!);
    expect(checks['MinIO deployment/minio']).toMatchObject({ status: 'pass', detail: '1/1 replicas ready' });
    expect(checks['Service minio endpoints']).toMatchObject({
      status: 'pass',
      detail: '1 ready endpoint(s) on port 9000',
    });
    expect(checks['bootstrap Job minio-bootstrap']).toMatchObject({ status: 'pass' });
    expect(checks['Secret check-spark/minio-check-s3-credentials-spark']).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(/values not shown/),
    });
    expect(checks['FlinkEnvironment check-flink/minio-check-flink']).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(
        /credentials injected from minio-check-s3-credentials-flink \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION\)/,
      ),
    });
    expect(checks['Iceberg catalog deployment check-spark/minio-check-lake']).toMatchObject({
      status: 'pass',
      detail: '1/1 ready',
    });
    expect(report!.checks.filter((x) => x.status === 'pass').length).toBe(14);

    // Who wrote what verify judged: the controllers and kwok, never this test.
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const batch = c.kc.makeApiClient(k8s.BatchV1Api);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const discovery = c.kc.makeApiClient(k8s.DiscoveryV1Api);
    for (const [namespace, name] of [
      ['minio-check', 'minio'],
      ['check-spark', 'minio-check-lake'],
    ] as const) {
      expectControllersWrote(
        await apps.readNamespacedDeployment({ name, namespace }),
        `Deployment ${namespace}/${name}`,
        ['kube-controller-manager'],
      );
    }
    const job = await batch.readNamespacedJob({ name: 'minio-bootstrap', namespace: 'minio-check' });
    expect(job.status?.succeeded).toBe(1);
    expectControllersWrote(job, 'the bootstrap Job', ['kube-controller-manager']);
    const pods = [
      ...(await core.listNamespacedPod({ namespace: 'minio-check' })).items,
      ...(await core.listNamespacedPod({ namespace: 'check-spark' })).items,
    ];
    expect(
      pods
        .map((p) => `${p.metadata!.namespace}/${p.metadata!.labels!['app.kubernetes.io/name']} ${p.status!.phase}`)
        .sort(),
    ).toEqual([
      'check-spark/iceberg-catalog Running',
      'minio-check/minio Running',
      'minio-check/minio-bootstrap Succeeded',
    ]);
    for (const p of pods) {
      expect(c.nodes, p.metadata!.name).toContain(p.spec!.nodeName);
      expectControllersWrote(p, `pod ${p.metadata!.name}`, ['kwok']);
    }
    const pvc = await core.readNamespacedPersistentVolumeClaim({
      name: 'minio-check-lake-data',
      namespace: 'check-spark',
    });
    expect(pvc.status?.phase).toBe('Bound');
    expectControllersWrote(pvc, 'the catalog PVC', ['kube-controller-manager']);
    const slices = (
      await discovery.listNamespacedEndpointSlice({
        namespace: 'minio-check',
        labelSelector: 'kubernetes.io/service-name=minio',
      })
    ).items;
    expect(slices.flatMap((x) => x.endpoints ?? []).map((e) => e.targetRef?.name)).toEqual([
      pods.find((p) => p.metadata!.labels!['app.kubernetes.io/component'] === 'server')!.metadata!.name,
    ]);
    for (const x of slices) expect(statusWriters(x).all).toEqual(['kube-controller-manager']);

    // The plain text: one line a check, no secret value anywhere.
    const text = await cli(['verify', '--env', 'check', '--out', out, '--kubeconfig', c.kubeconfig], out);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^env check: 14 passed, 0 failed, 3 skipped$/m);
    expect(text.stdout).not.toContain('dev-flink-password-change-me');
  });

  it('a missing Secret key, a failed Job and an unschedulable server each get their own diagnosis; --wait polls', async (ctx) => {
    const c = needCluster(ctx);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const batch = c.kc.makeApiClient(k8s.BatchV1Api);
    const { builtObjects } = await import('../src/cluster/build.ts');
    // A person's edit: a key removed from a consumer's Secret.
    const secret = await core.readNamespacedSecret({
      name: 'minio-check-s3-credentials-flink',
      namespace: 'check-flink',
    });
    delete secret.data!.AWS_SECRET_ACCESS_KEY;
    await core.replaceNamespacedSecret({
      name: 'minio-check-s3-credentials-flink',
      namespace: 'check-flink',
      body: secret,
    });

    // A bootstrap Job whose pods fail: the rendered Job, re-created (a finished Job stays
    // finished; Flux's force re-creates it the same way) with kwok's failure label on its pod
    // template, so each pod's container exits 1. backoffLimit 1 instead of the rendered 3:
    // the same path, without waiting out the Job controller's 10 + 20 + 40 s back-off.
    const rendered = (await builtObjects(out, 'check', false)).find((o) => o.kind === 'Job')!;
    await batch.deleteNamespacedJob({
      name: 'minio-bootstrap',
      namespace: 'minio-check',
      propagationPolicy: 'Background',
    });
    await until('the old Job gone', 30, async () =>
      (await batch.readNamespacedJob({ name: 'minio-bootstrap', namespace: 'minio-check' }).then(
        () => true,
        () => false,
      ))
        ? undefined
        : true,
    );
    const failing = structuredClone(rendered);
    failing.spec.backoffLimit = 1;
    failing.spec.template.metadata.labels[KWOK_FAIL_LABEL] = 'true';
    await applyReal(c, failing);
    const readJob = () => batch.readNamespacedJob({ name: 'minio-bootstrap', namespace: 'minio-check' });
    const failedJob = await until(
      'the bootstrap Job Failed',
      60,
      async () =>
        (await readJob()).status?.conditions?.some((x) => x.type === 'Failed' && x.status === 'True')
          ? readJob()
          : undefined,
      async () => JSON.stringify((await readJob()).status),
    );
    expect(failedJob.status?.failed).toBe(2);
    expectControllersWrote(failedJob, 'the failed Job', ['kube-controller-manager']);
    const jobPods = (
      await core.listNamespacedPod({
        namespace: 'minio-check',
        labelSelector: `batch.kubernetes.io/controller-uid=${failedJob.metadata!.uid}`,
      })
    ).items;
    expect(
      jobPods.map((p) => `${p.status?.phase} ${p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode}`),
    ).toEqual(['Failed 1', 'Failed 1']);

    // The nodes cordoned and MinIO's pod deleted, as a drain does: its replacement cannot be scheduled.
    await cordon(c, true);
    onTestFinished(() => cordon(c, false));
    await core.deleteCollectionNamespacedPod({ namespace: 'minio-check', labelSelector: SERVER_PODS });
    const pending = await until("MinIO's replacement pod Unschedulable", 60, async () => {
      const pods = (await core.listNamespacedPod({ namespace: 'minio-check', labelSelector: SERVER_PODS })).items;
      const d = await apps.readNamespacedDeployment({ name: 'minio', namespace: 'minio-check' });
      const unschedulable =
        pods.length === 1 &&
        pods[0]!.status?.conditions?.some((x) => x.type === 'PodScheduled' && x.reason === 'Unschedulable');
      return unschedulable && (d.status?.readyReplicas ?? 0) === 0 ? pods[0] : undefined;
    });
    expectControllersWrote(pending, 'the pending pod', ['kube-scheduler']);

    const { code, report, stderr } = await verify(c, '--wait', '2s');
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /^waiting: \d+\/\d+ checks pass; first failing: MinIO deployment\/minio \(0\/1 replicas ready\); \d+s left$/m,
    );
    const failures = report!.checks.filter((x) => x.status === 'fail');
    expect(failures.map((x) => x.check)).toEqual([
      'MinIO deployment/minio',
      'Service minio endpoints',
      'bootstrap Job minio-bootstrap',
      'Secret check-flink/minio-check-s3-credentials-flink',
    ]);
    const [replica, endpoints, job, key] = failures;
    expect(replica).toMatchObject({
      detail: '0/1 replicas ready',
      next: expect.stringMatching(/kubectl -n minio-check describe pods -l app\.kubernetes\.io\/name=minio/),
    });
    expect(endpoints).toMatchObject({ detail: 'no ready endpoints' });
    expect(job).toMatchObject({
      detail: 'failed (BackoffLimitExceeded: Job has reached the specified backoff limit)',
      diagnosis: expect.stringMatching(/access denied.*root credentials/),
      next: 'kubectl -n minio-check logs job/minio-bootstrap',
    });
    expect(key).toMatchObject({
      detail: 'missing key(s) AWS_SECRET_ACCESS_KEY',
      diagnosis: expect.stringMatching(/couldn't find key AWS_SECRET_ACCESS_KEY in Secret/),
    });
  });

  it('no false passes: a hand-scaled or not-yet-rolled-out workload, credentials from the wrong Secret; a Job gone after its TTL is fine when Flux ran it', async (ctx) => {
    const c = needCluster(ctx);
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const batch = c.kc.makeApiClient(k8s.BatchV1Api);
    const custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
    const check = async (name: string) => (await verify(c)).report!.checks.find((x) => x.check === name)!;
    const read = () => apps.readNamespacedDeployment({ name: 'minio', namespace: 'minio-check' });
    // `kubectl scale`, by hand.
    const scale = async (replicas: number) =>
      (
        await apps.patchNamespacedDeployment(
          { name: 'minio', namespace: 'minio-check', body: { spec: { replicas } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        )
      ).metadata!.generation!;

    const generation = await scale(0);
    expect(await check('MinIO deployment/minio')).toMatchObject({
      status: 'fail',
      detail: '0 replicas, the env configures 1',
    });
    await until('the Deployment controller saw the scale-down', 30, async () =>
      (await read()).status?.observedGeneration === generation ? true : undefined,
    );
    // The moment before the Deployment controller sees a change, held: the controller
    // manager stopped (SIGSTOP) while the spec goes back to 1 replica.
    const resume = c.pause('kube-controller-manager');
    try {
      const next = await scale(1);
      expect((await read()).status?.observedGeneration).toBe(generation);
      expect(next).toBeGreaterThan(generation);
      expect(await check('MinIO deployment/minio')).toMatchObject({
        status: 'fail',
        detail: 'a new version is not rolled out yet',
      });
    } finally {
      resume();
    }
    // Resumed: it scales the ReplicaSet up, the scheduler and kwok make the new pod ready.
    const resumed = Date.now();
    const ready = await until('MinIO ready again', 60, async () => {
      const x = await check('MinIO deployment/minio');
      return x.status === 'pass' ? x : undefined;
    });
    expect(ready).toMatchObject({ status: 'pass', detail: '1/1 replicas ready' });
    console.log(`the controller manager resumed: MinIO ready again in ${((Date.now() - resumed) / 1000).toFixed(1)} s`);
    expectControllersWrote(await read(), 'Deployment minio', ['kube-controller-manager']);

    const env = (await custom.getNamespacedCustomObject({
      group: 'platform.confluent.io',
      version: 'v1beta1',
      namespace: 'check-flink',
      plural: 'flinkenvironments',
      name: 'minio-check-flink',
    })) as any;
    env.spec.flinkApplicationDefaults.spec.podTemplate.spec.containers[0].env.find(
      (e: { name: string }) => e.name === 'AWS_ACCESS_KEY_ID',
    ).valueFrom.secretKeyRef.name = 'no-such-secret';
    await custom.replaceNamespacedCustomObject({
      group: 'platform.confluent.io',
      version: 'v1beta1',
      namespace: 'check-flink',
      plural: 'flinkenvironments',
      name: 'minio-check-flink',
      body: env,
    });
    expect(await check('FlinkEnvironment check-flink/minio-check-flink')).toMatchObject({
      status: 'fail',
      detail:
        "AWS_ACCESS_KEY_ID reads no-such-secret/AWS_ACCESS_KEY_ID, not the consumer's Secret minio-check-s3-credentials-flink",
    });
    // The original setup's wiring: an unexpanded ${...} that the plugin sends as the key.
    const seed = (await custom.getNamespacedCustomObject({
      group: 'platform.confluent.io',
      version: 'v1beta1',
      namespace: 'check-flink',
      plural: 'flinkenvironments',
      name: 'minio-check-flink',
    })) as any;
    seed.spec.flinkApplicationDefaults.spec.podTemplate.spec.containers[0].env.find(
      (e: { name: string }) => e.name === 'AWS_ACCESS_KEY_ID',
    ).valueFrom.secretKeyRef.name = 'minio-check-s3-credentials-flink';
    seed.spec.flinkApplicationDefaults.spec.flinkConfiguration['s3.access-key'] = '${S3_ACCESS_KEY}';
    await custom.replaceNamespacedCustomObject({
      group: 'platform.confluent.io',
      version: 'v1beta1',
      namespace: 'check-flink',
      plural: 'flinkenvironments',
      name: 'minio-check-flink',
      body: seed,
    });
    expect(await check('FlinkEnvironment check-flink/minio-check-flink')).toMatchObject({
      status: 'fail',
      detail: 's3.access-key is ${S3_ACCESS_KEY}',
      diagnosis: expect.stringMatching(/403 InvalidAccessKeyId/),
    });

    await batch.deleteNamespacedJob({
      name: 'minio-bootstrap',
      namespace: 'minio-check',
      propagationPolicy: 'Background',
    });
    expect(await check('bootstrap Job minio-bootstrap')).toMatchObject({
      status: 'skip',
      detail: expect.stringMatching(/removed an hour after it finishes, and the bootstrap Kustomization is Ready/),
    });
  });

  it('a user who may not read the env gets failed checks that say so, not a crash', async (ctx) => {
    const c = needCluster(ctx);
    const r = await cli(
      ['verify', '--env', 'check', '--json', '--out', out, '--kubeconfig', c.userKubeconfig('nobody')],
      out,
    );
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    const ns = report.checks.find((x) => x.check === 'namespace minio-check')!;
    expect(ns).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/forbidden: User "nobody" cannot get resource "namespaces"/),
      next: 'kubectl auth can-i --list',
    });
    expect(ns.diagnosis).toMatch(/may not read this/);
  });

  it('console needs a ready server pod, and says so (a pending one is not enough)', async (ctx) => {
    const c = needCluster(ctx);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const r = await cli(['console', '--env', 'check', '--out', out, '--kubeconfig', c.kubeconfig, '--port', '0'], out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --port "0" is not a port/);
    // MinIO's pod replaced by one that cannot be scheduled (the nodes cordoned): one pod, not ready.
    // (A ready pod would start the forward, which runs until interrupted; kwok's pods have no kubelet to forward to.)
    await cordon(c, true);
    onTestFinished(() => cordon(c, false));
    await core.deleteCollectionNamespacedPod({ namespace: 'minio-check', labelSelector: SERVER_PODS });
    await until('only an unschedulable MinIO pod', 60, async () => {
      const pods = (await core.listNamespacedPod({ namespace: 'minio-check', labelSelector: SERVER_PODS })).items;
      return pods.length === 1 &&
        pods[0]!.status?.conditions?.some((x) => x.type === 'PodScheduled' && x.reason === 'Unschedulable')
        ? true
        : undefined;
    });
    const none = await cli(['console', '--env', 'check', '--out', out, '--kubeconfig', c.kubeconfig], out);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /^error: no ready MinIO pod in namespace minio-check \(1 found\); run `npx zx scaffold.ts verify --env check` to see why$/m,
    );
  });

  it('bad input: one line and exit 2', async (ctx) => {
    const c = needCluster(ctx);
    const cases: [string[], RegExp][] = [
      [['verify'], /^error: verify needs --env NAME/],
      [
        ['verify', '--env', 'check', '--wait', 'soon'],
        /^error: --wait "soon" is not a duration; use e\.g\. 90s, 5m or 1h/,
      ],
      [
        ['verify', '--env', 'check', '--context', 'nowhere'],
        /^error: --context nowhere is not in the kubeconfig; use one of: test/,
      ],
      [['verify', '--env', 'staging'], /^error: env staging is not in .*scaffold\.config\.yaml; scaffold it first/],
      [
        ['verify', '--env', 'check', '--colour'],
        /^error: verify: unknown option or missing value at --colour; run with --help/,
      ],
      [
        ['verify', '--env', 'check', '--kubeconfig', join(out, 'nope')],
        /^error: cannot read the kubeconfig .*nope .*; pass --kubeconfig FILE/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await cli(
        [...args, '--out', out, ...(args.includes('--kubeconfig') ? [] : ['--kubeconfig', c.kubeconfig])],
        out,
      );
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});

describe('verify with TLS, external secrets and Argo CD', () => {
  it('checks the Certificates, the ExternalSecrets and the Application, and names what is not Ready', async (ctx) => {
    const c = needCluster(ctx);
    const { builtObjects } = await import('../src/cluster/build.ts');
    const { execFileSync } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const out = tempDir();
    writeFileSync(
      join(out, 'scaffold.config.yaml'),
      VERIFY_CONFIG.replace('check:', 'argo:')
        .replace('profile: dev', 'profile: prod')
        .replace('minio-check', 'minio-argo')
        .replace(/check-/g, 'argo-'),
    );
    expect(
      (
        await cli(
          [
            '--env',
            'argo',
            '--secrets',
            'external',
            '--ingress',
            'off',
            '--monitoring',
            'off',
            '--gitops',
            'argocd',
            '--no-commit',
          ],
          out,
        )
      ).code,
    ).toBe(0);
    const apply = async (o: object) => applyReal(c, o);
    const ns = (name: string) =>
      k8s.loadYaml<k8s.KubernetesObject>(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    const objects = await builtObjects(out, 'argo', false);
    for (const o of [
      objects.find((x) => x.kind === 'Namespace')!,
      ns('argo-flink'),
      ns('argo-spark'),
      ns('argocd'),
      ns('cert-manager'),
    ])
      await apply(o);
    for (const o of [
      ...objects.filter((x) => x.kind !== 'Namespace'),
      ...k8s.loadAllYaml(execFileSync('kubectl', ['kustomize', join(out, 'clusters/argo')], { encoding: 'utf8' })),
    ])
      await apply(o);

    const custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
    // Statuses of custom resources whose controllers this file does not run, written by the test (each write says why).
    const setStatus = async (
      group: string,
      version: string,
      plural: string,
      namespace: string,
      name: string,
      status: object,
    ) => {
      const o = (await custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as {
        status?: object;
      };
      o.status = status;
      // Argo CD's Application has no status subresource: its controller updates the object.
      if (plural === 'applications')
        await custom.replaceNamespacedCustomObject({ group, version, namespace, plural, name, body: o });
      else await custom.replaceNamespacedCustomObjectStatus({ group, version, namespace, plural, name, body: o });
    };
    const ready = (yes: boolean, message = '') => ({
      conditions: [
        {
          type: 'Ready',
          status: yes ? 'True' : 'False',
          reason: yes ? 'Ready' : 'Pending',
          message,
          lastTransitionTime: new Date().toISOString(),
        },
      ],
    });
    const run = async () =>
      JSON.parse(
        (await cli(['verify', '--env', 'argo', '--json', '--out', out, '--kubeconfig', c.kubeconfig], out)).stdout,
      ) as Report;
    // As applied, with no cert-manager, External Secrets or Argo CD running: no status at all, and verify says so.
    const bare = Object.fromEntries((await run()).checks.map((x) => [x.check, x]));
    expect(bare['Certificate minio-argo/minio-tls']).toMatchObject({ status: 'fail', detail: 'not Ready' });
    expect(bare['ExternalSecret argo-flink/minio-argo-s3-credentials-flink']).toMatchObject({
      status: 'fail',
      detail: 'not Ready',
    });
    expect(bare['Secret argo-flink/minio-argo-s3-credentials-flink']).toMatchObject({
      status: 'fail',
      detail: 'not found',
      diagnosis: expect.stringMatching(/its ExternalSecret has not synced/),
    });
    expect(bare['Argo CD Application argocd/minio-argo']).toMatchObject({
      status: 'fail',
      detail: 'unknown / unknown',
    });

    // cert-manager's part: no cert-manager runs in this file (test/gitops-e2e.test.ts runs the real one, which issues the rendered Certificates).
    for (const cert of objects.filter((o) => o.kind === 'Certificate'))
      await setStatus(
        'cert-manager.io',
        'v1',
        'certificates',
        cert.metadata!.namespace!,
        cert.metadata!.name!,
        ready(true),
      );
    // External Secrets' part (Ready, and the Secrets it writes): no test runs its controller (no secret store here), so this is the only pass path of these checks; the real CRD's schema checks the status.
    for (const es of objects.filter((o) => o.kind === 'ExternalSecret')) {
      await setStatus(
        'external-secrets.io',
        'v1',
        'externalsecrets',
        es.metadata!.namespace!,
        es.metadata!.name!,
        ready(true),
      );
      const keys = [
        ...((es as any).spec.data as { secretKey: string }[]).map((d) => d.secretKey),
        ...Object.keys((es as any).spec.target.template?.data ?? {}),
      ];
      await apply(
        k8s.loadYaml<k8s.KubernetesObject>(
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: (es as any).spec.target.name, namespace: es.metadata!.namespace },
            stringData: Object.fromEntries(keys.map((k) => [k, 'x'])),
          }),
        ),
      );
    }
    // Argo CD's part: no test runs its controllers (issue 11: their module does not resolve from the Go proxy), so this is the only pass path of this check; the real CRD's schema checks the status.
    await setStatus('argoproj.io', 'v1alpha1', 'applications', 'argocd', 'minio-argo', {
      sync: { status: 'Synced' },
      health: { status: 'Healthy' },
    });

    // The workloads' part is the control plane's: 4 MinIO servers on 4 nodes, each with its
    // volume provisioned and bound, the Service's endpoints, the Job complete, the catalog server ready.
    const workloadChecks = [
      'MinIO statefulset/minio',
      'Service minio endpoints',
      'bootstrap Job minio-bootstrap',
      'Iceberg catalog deployment argo-spark/minio-argo-lake',
    ];
    const settled = await until(
      "the argo env's workloads ready",
      120,
      async () => {
        const r = await run();
        return workloadChecks.every((name) => r.checks.find((x) => x.check === name)?.status === 'pass')
          ? r
          : undefined;
      },
      async () => JSON.stringify((await run()).checks.filter((x) => workloadChecks.includes(x.check))),
    );
    expect(settled.checks.find((x) => x.check === 'MinIO statefulset/minio')).toMatchObject({
      detail: '4/4 replicas ready',
    });
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    expectControllersWrote(
      await apps.readNamespacedStatefulSet({ name: 'minio', namespace: 'minio-argo' }),
      'StatefulSet minio-argo/minio',
      ['kube-controller-manager'],
    );
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: 'minio-argo' })).items;
    expect(claims.map((x) => `${x.metadata!.name} ${x.status?.phase}`).sort()).toEqual(
      [0, 1, 2, 3].map((i) => `data-minio-${i} Bound`),
    );
    for (const x of claims) expectControllersWrote(x, `PVC ${x.metadata!.name}`, ['kube-controller-manager']);
    const servers = (await core.listNamespacedPod({ namespace: 'minio-argo', labelSelector: SERVER_PODS })).items;
    expect(new Set(servers.map((p) => p.spec!.nodeName)).size).toBe(4); // the preferred anti-affinity spreads them
    expectControllersWrote(
      await c.kc.makeApiClient(k8s.BatchV1Api).readNamespacedJob({ name: 'minio-bootstrap', namespace: 'minio-argo' }),
      'Job minio-argo/minio-bootstrap',
      ['kube-controller-manager'],
    );

    // The consumers' truststore: not there until trust-manager has built it.
    const untrusted = Object.fromEntries((await run()).checks.map((x) => [x.check, x]));
    expect(untrusted['trust-manager Bundle minio-argo-trust']).toMatchObject({ status: 'fail', detail: 'not Synced' });
    expect(untrusted['truststore argo-flink/minio-argo-trust']).toMatchObject({
      status: 'fail',
      detail: 'not found',
      diagnosis: expect.stringMatching(
        /Flink checkpoints never complete, Spark fails with "PKIX path building failed"/,
      ),
    });
    // The real trust-manager builds it from the rendered Bundle (the CA Secret is the test's, as cert-manager would make it).
    const pki = tempDir();
    const { ca } = makeCertificates(pki);
    const bundle = objects.find((o) => o.kind === 'Bundle')!;
    await distributeTrust(ctx, c, {
      bundle,
      caPem: readFileSync(ca, 'utf8'),
      caKeyPem: readFileSync(join(pki, 'ca.key'), 'utf8'),
      caSecret: { name: 'minio-argo-ca', key: 'tls.crt' },
      trustNamespace: 'cert-manager',
      namespaces: ['argo-flink', 'argo-spark'],
    });
    const good = await run();
    expect(good.checks.filter((x) => x.status === 'fail')).toEqual([]);
    expect(good.checks.find((x) => x.check === 'FlinkEnvironment argo-flink/minio-argo-flink')).toMatchObject({
      status: 'pass',
    });
    const names = good.checks.map((x) => `${x.status} ${x.check}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'pass MinIO statefulset/minio',
        'pass Certificate minio-argo/minio-tls',
        'pass trust-manager Bundle minio-argo-trust',
        'pass truststore argo-flink/minio-argo-trust',
        'pass truststore argo-spark/minio-argo-trust',
        'pass ExternalSecret minio-argo/minio-root-credentials',
        'pass ExternalSecret argo-flink/minio-argo-s3-credentials-flink',
        'pass Argo CD Application argocd/minio-argo',
      ]),
    );

    // The same three parts, not Ready (written by the test, as above).
    await setStatus(
      'cert-manager.io',
      'v1',
      'certificates',
      'minio-argo',
      'minio-tls',
      ready(false, 'Issuing certificate as Secret does not exist'),
    );
    await setStatus(
      'external-secrets.io',
      'v1',
      'externalsecrets',
      'argo-spark',
      'minio-argo-s3-credentials-spark',
      ready(false, 'could not get secret data from provider'),
    );
    await setStatus('argoproj.io', 'v1alpha1', 'applications', 'argocd', 'minio-argo', {
      sync: { status: 'OutOfSync' },
      health: { status: 'Degraded' },
    });
    // A FlinkEnvironment whose JVMs would not load the truststore (someone dropped the options).
    const flinkEnv = (await custom.getNamespacedCustomObject({
      group: 'platform.confluent.io',
      version: 'v1beta1',
      namespace: 'argo-flink',
      plural: 'flinkenvironments',
      name: 'minio-argo-flink',
    })) as any;
    delete flinkEnv.spec.flinkApplicationDefaults.spec.flinkConfiguration['env.java.opts.all'];
    await custom.replaceNamespacedCustomObject({
      group: 'platform.confluent.io',
      version: 'v1beta1',
      namespace: 'argo-flink',
      plural: 'flinkenvironments',
      name: 'minio-argo-flink',
      body: flinkEnv,
    });
    const bad = await run();
    expect(bad.ok).toBe(false);
    expect(
      Object.fromEntries(bad.checks.filter((x) => x.status === 'fail').map((x) => [x.check, [x.detail, x.next]])),
    ).toEqual({
      'Certificate minio-argo/minio-tls': [
        'not Ready: Issuing certificate as Secret does not exist',
        'kubectl -n minio-argo describe certificate minio-tls',
      ],
      'ExternalSecret argo-spark/minio-argo-s3-credentials-spark': [
        'not Ready: could not get secret data from provider',
        'kubectl -n argo-spark describe externalsecret minio-argo-s3-credentials-spark',
      ],
      'Argo CD Application argocd/minio-argo': ['OutOfSync / Degraded', 'argocd app get minio-argo'],
      'FlinkEnvironment argo-flink/minio-argo-flink': [
        'its JVMs do not load the truststore (env.java.opts.all and a mounted minio-argo-trust)',
        'kubectl -n argo-flink get flinkenvironment minio-argo-flink -o yaml',
      ],
    });
  });
});
