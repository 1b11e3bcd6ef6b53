// The live-cluster commands against a real kube-apiserver (and etcd), both pinned builds
// from tools/install.sh: a server-side dry run of every overlay with Pod Security
// enforced, and verify failing and passing for the right reasons. There is no
// controller-manager or kubelet: the tests play their part by writing status.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { main } from '../src/cli.ts';
import { fileCluster, type Cluster } from './cluster.ts';
import { argv, validCombos } from './combos.ts';
import { makeCertificates } from './minio.ts';
import { distributeTrust } from './trust.ts';
import { needCrds, REPO, tempDir } from './tools.ts';

async function cli(args: string[], out: string) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, out, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

const needCluster = fileCluster({ prefix: 'minio-gitops-cluster-', available: () => existsSync(join(REPO, '..', 'shared', 'crds')), need: needCrds });

/** Creates (for real) the namespaces an engine would: the env's own, and the consumers'. */
async function createNamespaces(c: Cluster, namespace: k8s.KubernetesObject | undefined, consumers: string[], restricted = false) {
  const api = k8s.KubernetesObjectApi.makeApiClient(c.kc);
  const restrictedLabels = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' };
  const own = namespace && restricted ? { ...namespace, metadata: { ...namespace.metadata, labels: { ...namespace.metadata!.labels, ...restrictedLabels } } } : namespace;
  for (const ns of [...(own ? [own] : []), ...consumers.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: restrictedLabels } }))]) {
    await applyReal(c, ns);
    // The controller-manager's part: every namespace has a "default" ServiceAccount.
    await applyReal(c, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns.metadata!.name } });
  }
}

/** A real server-side apply of a plain object (test setup, playing the engine). */
async function applyReal(c: Cluster, o: object) {
  const api = k8s.KubernetesObjectApi.makeApiClient(c.kc);
  return api.patch(k8s.loadYaml<k8s.KubernetesObject>(JSON.stringify(o)), undefined, undefined, 'test', true, k8s.PatchStrategy.ServerSideApply);
}

type DryRunReport = { accepted: number; rejected: number; skipped: number; results: { object: string; result: string; message?: string }[] };

describe('apply --server-dry-run against a real kube-apiserver', () => {
  it('accepts every object of every valid option combination, with Pod Security enforced on the pod templates', async (ctx) => {
    const c = needCluster(ctx);
    const { builtObjects } = await import('../src/cluster/kube.ts');
    let applies = 0;
    for (const combo of validCombos()) {
      const out = tempDir();
      const scaffolded = await cli([...argv(combo), '--no-commit'], out);
      expect(scaffolded.code, scaffolded.stderr).toBe(0);
      const objects = await builtObjects(out, combo.profile, false);
      // The env's namespace as rendered (restricted; privileged only for hostPath), the consumers' restricted.
      await createNamespaces(c, objects.find((o) => o.kind === 'Namespace'), ['el-demo', 'analytics', 'cert-manager']);
      const r = await cli(['apply', '--env', combo.profile, '--server-dry-run', '--json', '--out', out, '--kubeconfig', c.kubeconfig], out);
      const report = JSON.parse(r.stdout) as DryRunReport;
      expect(report.results.filter((x) => x.result !== 'accepted'), JSON.stringify(combo)).toEqual([]);
      expect(r.code).toBe(0);
      // Every object, plus a Pod for each workload (the server, the Job, the catalog server).
      const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind)).length;
      expect(workloads).toBe(3);
      expect(report.accepted).toBe(objects.length + workloads);
      applies += report.accepted;
    }
    console.log(`server-side dry-run applies accepted: ${applies} (${validCombos().length} combinations)`);
  }, 600_000);

  it('what the server rejects: a typo (strict fields), a privileged container (Pod Security); a first install is skipped, not failed', async (ctx) => {
    const c = needCluster(ctx);
    const { appendFileSync, writeFileSync } = await import('node:fs');
    const out = tempDir();
    expect((await cli(['--env', 'lab', '--profile', 'dev', '--storage', 'pvc', '--namespace', 'minio-lab', '--no-commit'], out)).code).toBe(0);
    const dryRun = async () => {
      const r = await cli(['apply', '--env', 'lab', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig], out);
      return { ...r, report: JSON.parse((await cli(['apply', '--env', 'lab', '--server-dry-run', '--json', '--out', out, '--kubeconfig', c.kubeconfig], out)).stdout) as DryRunReport };
    };
    // Before the first install: nothing to judge in a namespace that does not exist yet.
    const first = await dryRun();
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^ok        Namespace\/minio-lab$/m);
    expect(first.stdout).toMatch(/^skipped   Deployment\/minio-lab\/minio: namespace minio-lab does not exist yet \(the engine creates it first\); run again once it does$/m);
    expect(first.report.rejected).toBe(0);

    // A person's hand edit: a typo and a privileged container, in an extra patch.
    await createNamespaces(c, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'minio-lab', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } } as never, ['el-demo', 'analytics']);
    writeFileSync(join(out, 'overlays/lab/minio/patch-mine.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: minio}\nspec:\n  template:\n    spec:\n      hostNetwrok: true\n');
    appendFileSync(join(out, 'overlays/lab/minio/kustomization.yaml'), '  - path: patch-mine.yaml\n');
    const typo = await dryRun();
    expect(typo.code).toBe(1);
    expect(typo.stdout).toMatch(/^REJECTED  Deployment\/minio-lab\/minio: .*hostNetwrok.*(field not declared in schema|unknown field)/m);
    writeFileSync(join(out, 'overlays/lab/minio/patch-mine.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: minio}\nspec:\n  template:\n    spec:\n      containers:\n        - name: minio\n          securityContext: {privileged: true, allowPrivilegeEscalation: true}\n');
    const privileged = await dryRun();
    expect(privileged.code).toBe(1);
    // The Deployment itself passes (Pod Security only warns about it); its pods would not.
    expect(privileged.stdout).toMatch(/^ok        Deployment\/minio-lab\/minio$/m);
    expect(privileged.stdout).toMatch(/^REJECTED  pod template of Deployment\/minio-lab\/minio: pods "minio-pod-check" is forbidden: violates PodSecurity "restricted:latest": .*privileged/m);
    expect(privileged.stdout).toMatch(/^ok        pod template of Job\/minio-lab\/minio-bootstrap$/m);
    expect(privileged.report.results.filter((x) => x.result === 'rejected').map((x) => x.object)).toEqual(['pod template of Deployment/minio-lab/minio']);
  });

  it('skips the pod check where the build relabels the namespace (hostPath: privileged), rather than judge it at the old level', async (ctx) => {
    const c = needCluster(ctx);
    const out = tempDir();
    expect((await cli(['--env', 'hp', '--profile', 'dev', '--namespace', 'minio-hp', '--no-commit'], out)).code).toBe(0);
    await createNamespaces(c, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'minio-hp', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } } as never, ['el-demo', 'analytics']);
    const r = await cli(['apply', '--env', 'hp', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig], out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^skipped   pod template of Deployment\/minio-hp\/minio: this build changes the Pod Security level of namespace minio-hp \(enforce restricted -> privileged\); run again once it is applied$/m);
  });

  it('cannot reach the API server: one line, exit 2', async () => {
    const { writeFileSync } = await import('node:fs');
    const dir = tempDir();
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n');
    for (const command of [['verify'], ['apply', '--server-dry-run']]) {
      const r = await cli([...command, '--env', 'dev', '--out', REPO, '--kubeconfig', kubeconfig], REPO);
      expect(r.code, command.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: cannot reach the API server https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\); check the kubeconfig and --context\n$/);
    }
  });

  it('decrypts sealed Secrets before sending them, and says so when no key opens them', async (ctx) => {
    const c = needCluster(ctx);
    const out = tempDir();
    expect((await cli(['--env', 'sealed', '--profile', 'prod', '--namespace', 'minio-sealed', '--ingress', 'off', '--no-commit'], out)).code).toBe(0);
    await createNamespaces(c, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'minio-sealed', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } } as never, ['el-demo', 'analytics']);
    const ok = await cli(['apply', '--env', 'sealed', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig], out);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/^ok        Secret\/minio-sealed\/minio-root-credentials$/m);
    const saved = process.env.SOPS_AGE_KEY_FILE;
    process.env.SOPS_AGE_KEY_FILE = join(tempDir(), 'no-keys.txt');
    try {
      const r = await cli(['apply', '--env', 'sealed', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig], out);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: Secret\/minio-[\w.-]+ is sealed and no available age key opens it .*; load the key of one of its recipients\n$/);
      // verify needs no values, so no key.
      expect((await cli(['verify', '--env', 'sealed', '--json', '--out', out, '--kubeconfig', c.kubeconfig], out)).stdout).toMatch(/"checks"/);
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

/** The Deployment controller's part: a Deployment's pods ready (status written as it writes it). */
async function deploymentReady(c: Cluster, namespace: string, name: string) {
  const apps = c.kc.makeApiClient(k8s.AppsV1Api);
  const d = await apps.readNamespacedDeployment({ name, namespace });
  d.status = { observedGeneration: d.metadata!.generation, replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 };
  await apps.replaceNamespacedDeploymentStatus({ name, namespace, body: d });
}

type Report = { ok: boolean; checks: { check: string; status: string; detail: string; diagnosis?: string; next?: string }[] };

describe('verify against a real kube-apiserver', () => {
  let out = '';
  const verify = async (c: Cluster, ...extra: string[]) => {
    const r = await cli(['verify', '--env', 'check', '--json', '--out', out, '--kubeconfig', c.kubeconfig, ...extra], out);
    return { ...r, report: r.stdout ? (JSON.parse(r.stdout) as Report) : undefined };
  };
  const byName = (report: Report) => Object.fromEntries(report.checks.map((x) => [x.check, x]));

  it('fails on an empty cluster, each check with its diagnosis and next command', async (ctx) => {
    const c = needCluster(ctx);
    out = mkdtempSync(join(tmpdir(), 'minio-gitops-verify-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(out, 'scaffold.config.yaml'), VERIFY_CONFIG);
    expect((await cli(['--env', 'check', '--no-commit'], out)).code).toBe(0);
    const { code, report } = await verify(c);
    expect(code).toBe(1);
    const checks = byName(report!);
    expect(checks['namespace minio-check']).toMatchObject({ status: 'fail', detail: 'does not exist' });
    expect(checks['namespace check-flink']).toMatchObject({ status: 'fail', next: 'kubectl create namespace check-flink' });
    expect(checks['MinIO deployment/minio']).toMatchObject({ status: 'fail', detail: 'not found', diagnosis: expect.stringMatching(/connection refused/) });
    // The catalog server's Deployment is checked as what it is, never as MinIO.
    expect(report!.checks.filter((x) => x.check.startsWith('MinIO ')).map((x) => x.check)).toEqual(['MinIO deployment/minio']);
    expect(checks['Iceberg catalog deployment check-spark/minio-check-lake']).toMatchObject({ status: 'fail', detail: 'not found', diagnosis: expect.stringMatching(/Connection refused/) });
    expect(checks['Service minio endpoints']).toMatchObject({ status: 'fail', detail: 'no ready endpoints', diagnosis: expect.stringMatching(/connection refused/) });
    expect(checks['bootstrap Job minio-bootstrap']).toMatchObject({ status: 'fail', detail: 'not found', diagnosis: expect.stringMatching(/404 .*bucket does not exist.*403 .*access denied/), next: 'flux reconcile kustomization minio-check-bootstrap -n flux-system --with-source' });
    expect(checks['Secret check-flink/minio-check-s3-credentials-flink']).toMatchObject({ status: 'fail', detail: 'not found' });
    expect(checks['FlinkEnvironment check-flink/minio-check-flink']).toMatchObject({ status: 'fail', detail: 'not found' });
    expect(checks['Flux Kustomization flux-system/minio-check']).toMatchObject({ status: 'fail', detail: 'not found', next: 'kubectl apply -k clusters/check' });
    expect(checks['Certificate minio-tls']).toMatchObject({ status: 'skip', detail: 'TLS is off in this env' });
    for (const x of report!.checks.filter((y) => y.status === 'fail')) expect(x.diagnosis && x.next, x.check).toBeTruthy();
  });

  it('passes once the objects are applied and the controllers have done their part', async (ctx) => {
    const c = needCluster(ctx);
    const { builtObjects } = await import('../src/cluster/kube.ts');
    const { execFileSync } = await import('node:child_process');
    const api = k8s.KubernetesObjectApi.makeApiClient(c.kc);
    const apply = async (o: object) => applyReal(c, o);
    const objects = await builtObjects(out, 'check', false);
    const engine = k8s.loadAllYaml(execFileSync('kubectl', ['kustomize', join(out, 'clusters/check')], { encoding: 'utf8' }));
    for (const ns of [objects.find((o) => o.kind === 'Namespace')!, ...['check-flink', 'check-spark', 'flux-system'].map((name) => k8s.loadYaml<k8s.V1Namespace>(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })))]) await apply(ns);
    for (const o of [...objects.filter((x) => x.kind !== 'Namespace'), ...engine]) await apply(o);

    // What the controllers would do: the Deployment's pod is ready, the Service has an
    // endpoint, the Job completed, Flux applied its three steps.
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const batch = c.kc.makeApiClient(k8s.BatchV1Api);
    const custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
    const deployment = await apps.readNamespacedDeployment({ name: 'minio', namespace: 'minio-check' });
    deployment.status = { observedGeneration: deployment.metadata!.generation, replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 };
    await apps.replaceNamespacedDeploymentStatus({ name: 'minio', namespace: 'minio-check', body: deployment });
    await api.create(k8s.loadYaml<k8s.KubernetesObject>(JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'minio-abc12', namespace: 'minio-check', labels: { 'kubernetes.io/service-name': 'minio' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.5'], conditions: { ready: true } }], ports: [{ name: 'api', port: 9000, protocol: 'TCP' }],
    })));
    await completeJob(batch, 'minio-check', 'succeeded');
    await deploymentReady(c, 'check-spark', 'minio-check-lake');
    for (const name of ['minio-check', 'minio-check-bootstrap', 'minio-check-consumers']) {
      const k = (await custom.getNamespacedCustomObject({ group: 'kustomize.toolkit.fluxcd.io', version: 'v1', namespace: 'flux-system', plural: 'kustomizations', name })) as { status?: object };
      k.status = { conditions: [{ type: 'Ready', status: 'True', reason: 'ReconciliationSucceeded', message: 'Applied revision: main@sha1:0', lastTransitionTime: new Date().toISOString() }] };
      await custom.replaceNamespacedCustomObjectStatus({ group: 'kustomize.toolkit.fluxcd.io', version: 'v1', namespace: 'flux-system', plural: 'kustomizations', name, body: k });
    }

    const { code, report } = await verify(c);
    expect(report!.checks.filter((x) => x.status === 'fail')).toEqual([]);
    expect(code).toBe(0);
    const checks = byName(report!);
    expect(checks['MinIO deployment/minio']).toMatchObject({ status: 'pass', detail: '1/1 replicas ready' });
    expect(checks['Secret check-spark/minio-check-s3-credentials-spark']).toMatchObject({ status: 'pass', detail: expect.stringMatching(/values not shown/) });
    expect(checks['FlinkEnvironment check-flink/minio-check-flink']).toMatchObject({ status: 'pass', detail: expect.stringMatching(/credentials injected from minio-check-s3-credentials-flink \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION\)/) });
    expect(checks['Iceberg catalog deployment check-spark/minio-check-lake']).toMatchObject({ status: 'pass', detail: '1/1 ready' });
    expect(report!.checks.filter((x) => x.status === 'pass').length).toBe(14);
    // The plain text: one line a check, no secret value anywhere.
    const text = await cli(['verify', '--env', 'check', '--out', out, '--kubeconfig', c.kubeconfig], out);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^env check: 14 passed, 0 failed, 3 skipped$/m);
    expect(text.stdout).not.toContain('dev-flink-password-change-me');
  });

  it('a missing Secret key, a failed Job and a not-ready replica each get their own diagnosis; --wait polls', async (ctx) => {
    const c = needCluster(ctx);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const batch = c.kc.makeApiClient(k8s.BatchV1Api);
    const secret = await core.readNamespacedSecret({ name: 'minio-check-s3-credentials-flink', namespace: 'check-flink' });
    delete secret.data!.AWS_SECRET_ACCESS_KEY;
    await core.replaceNamespacedSecret({ name: 'minio-check-s3-credentials-flink', namespace: 'check-flink', body: secret });
    await completeJob(batch, 'minio-check', 'failed');
    const deployment = await apps.readNamespacedDeployment({ name: 'minio', namespace: 'minio-check' });
    deployment.status = { ...deployment.status, readyReplicas: 0, availableReplicas: 0 };
    await apps.replaceNamespacedDeploymentStatus({ name: 'minio', namespace: 'minio-check', body: deployment });

    const { code, report, stderr } = await verify(c, '--wait', '2s');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^waiting: \d+\/\d+ checks pass; first failing: MinIO deployment\/minio \(0\/1 replicas ready\); \d+s left$/m);
    const failures = report!.checks.filter((x) => x.status === 'fail');
    expect(failures.map((x) => x.check)).toEqual(['MinIO deployment/minio', 'bootstrap Job minio-bootstrap', 'Secret check-flink/minio-check-s3-credentials-flink']);
    const [replica, job, key] = failures;
    expect(replica).toMatchObject({ detail: '0/1 replicas ready', next: expect.stringMatching(/kubectl -n minio-check describe pods -l app\.kubernetes\.io\/name=minio/) });
    expect(job).toMatchObject({ detail: 'failed (BackoffLimitExceeded: Job has reached the specified backoff limit)', diagnosis: expect.stringMatching(/access denied.*root credentials/), next: 'kubectl -n minio-check logs job/minio-bootstrap' });
    expect(key).toMatchObject({ detail: 'missing key(s) AWS_SECRET_ACCESS_KEY', diagnosis: expect.stringMatching(/couldn't find key AWS_SECRET_ACCESS_KEY in Secret/) });
  });

  it('no false passes: a hand-scaled or not-yet-rolled-out workload, credentials from the wrong Secret; a Job gone after its TTL is fine when Flux ran it', async (ctx) => {
    const c = needCluster(ctx);
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const batch = c.kc.makeApiClient(k8s.BatchV1Api);
    const custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
    const check = async (name: string) => (await verify(c)).report!.checks.find((x) => x.check === name)!;

    const scale = async (replicas: number, observed?: number) => {
      const d = await apps.readNamespacedDeployment({ name: 'minio', namespace: 'minio-check' });
      d.spec!.replicas = replicas;
      const updated = await apps.replaceNamespacedDeployment({ name: 'minio', namespace: 'minio-check', body: d });
      updated.status = { observedGeneration: observed ?? updated.metadata!.generation, replicas, readyReplicas: replicas, availableReplicas: replicas, updatedReplicas: replicas };
      await apps.replaceNamespacedDeploymentStatus({ name: 'minio', namespace: 'minio-check', body: updated });
      return updated.metadata!.generation!;
    };
    const generation = await scale(0);
    expect(await check('MinIO deployment/minio')).toMatchObject({ status: 'fail', detail: '0 replicas, the env configures 1' });
    await scale(1, generation); // the controller has not seen the new spec yet
    expect(await check('MinIO deployment/minio')).toMatchObject({ status: 'fail', detail: 'a new version is not rolled out yet' });
    await scale(1);
    expect(await check('MinIO deployment/minio')).toMatchObject({ status: 'pass', detail: '1/1 replicas ready' });

    const env = (await custom.getNamespacedCustomObject({ group: 'platform.confluent.io', version: 'v1beta1', namespace: 'check-flink', plural: 'flinkenvironments', name: 'minio-check-flink' })) as any;
    env.spec.flinkApplicationDefaults.spec.podTemplate.spec.containers[0].env.find((e: { name: string }) => e.name === 'AWS_ACCESS_KEY_ID').valueFrom.secretKeyRef.name = 'no-such-secret';
    await custom.replaceNamespacedCustomObject({ group: 'platform.confluent.io', version: 'v1beta1', namespace: 'check-flink', plural: 'flinkenvironments', name: 'minio-check-flink', body: env });
    expect(await check('FlinkEnvironment check-flink/minio-check-flink')).toMatchObject({ status: 'fail', detail: "AWS_ACCESS_KEY_ID reads no-such-secret/AWS_ACCESS_KEY_ID, not the consumer's Secret minio-check-s3-credentials-flink" });
    // The original setup's wiring: an unexpanded ${...} that the plugin sends as the key.
    const seed = (await custom.getNamespacedCustomObject({ group: 'platform.confluent.io', version: 'v1beta1', namespace: 'check-flink', plural: 'flinkenvironments', name: 'minio-check-flink' })) as any;
    seed.spec.flinkApplicationDefaults.spec.podTemplate.spec.containers[0].env.find((e: { name: string }) => e.name === 'AWS_ACCESS_KEY_ID').valueFrom.secretKeyRef.name = 'minio-check-s3-credentials-flink';
    seed.spec.flinkApplicationDefaults.spec.flinkConfiguration['s3.access-key'] = '${S3_ACCESS_KEY}';
    await custom.replaceNamespacedCustomObject({ group: 'platform.confluent.io', version: 'v1beta1', namespace: 'check-flink', plural: 'flinkenvironments', name: 'minio-check-flink', body: seed });
    expect(await check('FlinkEnvironment check-flink/minio-check-flink')).toMatchObject({ status: 'fail', detail: 's3.access-key is ${S3_ACCESS_KEY}', diagnosis: expect.stringMatching(/403 InvalidAccessKeyId/) });

    await batch.deleteNamespacedJob({ name: 'minio-bootstrap', namespace: 'minio-check', propagationPolicy: 'Background' });
    expect(await check('bootstrap Job minio-bootstrap')).toMatchObject({ status: 'skip', detail: expect.stringMatching(/removed an hour after it finishes, and the bootstrap Kustomization is Ready/) });
  });

  it('a user who may not read the env gets failed checks that say so, not a crash', async (ctx) => {
    const c = needCluster(ctx);
    const r = await cli(['verify', '--env', 'check', '--json', '--out', out, '--kubeconfig', c.userKubeconfig('nobody')], out);
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    const ns = report.checks.find((x) => x.check === 'namespace minio-check')!;
    expect(ns).toMatchObject({ status: 'fail', detail: expect.stringMatching(/forbidden: User "nobody" cannot get resource "namespaces"/), next: 'kubectl auth can-i --list' });
    expect(ns.diagnosis).toMatch(/may not read this/);
  });

  it('console needs a ready server pod, and says so (no kubelet here to forward to)', async (ctx) => {
    const c = needCluster(ctx);
    const r = await cli(['console', '--env', 'check', '--out', out, '--kubeconfig', c.kubeconfig, '--port', '0'], out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --port "0" is not a port/);
    const none = await cli(['console', '--env', 'check', '--out', out, '--kubeconfig', c.kubeconfig], out);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: no ready MinIO pod in namespace minio-check \(0 found\); run `npx zx scaffold.ts verify --env check` to see why$/m);
  });

  it('bad input: one line and exit 2', async (ctx) => {
    const c = needCluster(ctx);
    const cases: [string[], RegExp][] = [
      [['verify'], /^error: verify needs --env NAME/],
      [['verify', '--env', 'check', '--wait', 'soon'], /^error: --wait "soon" is not a duration; use e\.g\. 90s, 5m or 1h/],
      [['verify', '--env', 'check', '--context', 'nowhere'], /^error: --context nowhere is not in the kubeconfig; use one of: test/],
      [['verify', '--env', 'staging'], /^error: env staging is not in .*scaffold\.config\.yaml; scaffold it first/],
      [['verify', '--env', 'check', '--colour'], /^error: verify: unknown option or missing value at --colour; run with --help/],
      [['verify', '--env', 'check', '--kubeconfig', join(out, 'nope')], /^error: cannot read the kubeconfig .*nope .*; pass --kubeconfig FILE/],
    ];
    for (const [args, message] of cases) {
      const r = await cli([...args, '--out', out, ...(args.includes('--kubeconfig') ? [] : ['--kubeconfig', c.kubeconfig])], out);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });
});

describe('verify with TLS, external secrets and Argo CD', () => {
  it('checks the Certificates, the ExternalSecrets and the Application, and names what is not Ready', async (ctx) => {
    const c = needCluster(ctx);
    const { builtObjects } = await import('../src/cluster/kube.ts');
    const { execFileSync } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    const out = tempDir();
    writeFileSync(join(out, 'scaffold.config.yaml'), VERIFY_CONFIG.replace('check:', 'argo:').replace('profile: dev', 'profile: prod').replace('minio-check', 'minio-argo').replace(/check-/g, 'argo-'));
    expect((await cli(['--env', 'argo', '--secrets', 'external', '--ingress', 'off', '--monitoring', 'off', '--gitops', 'argocd', '--no-commit'], out)).code).toBe(0);
    const api = k8s.KubernetesObjectApi.makeApiClient(c.kc);
    const apply = async (o: object) => applyReal(c, o);
    const ns = (name: string) => k8s.loadYaml<k8s.KubernetesObject>(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    const objects = await builtObjects(out, 'argo', false);
    for (const o of [objects.find((x) => x.kind === 'Namespace')!, ns('argo-flink'), ns('argo-spark'), ns('argocd'), ns('cert-manager')]) await apply(o);
    for (const o of [...objects.filter((x) => x.kind !== 'Namespace'), ...k8s.loadAllYaml(execFileSync('kubectl', ['kustomize', join(out, 'clusters/argo')], { encoding: 'utf8' }))]) await apply(o);

    const custom = c.kc.makeApiClient(k8s.CustomObjectsApi);
    const setStatus = async (group: string, version: string, plural: string, namespace: string, name: string, status: object) => {
      const o = (await custom.getNamespacedCustomObject({ group, version, namespace, plural, name })) as { status?: object };
      o.status = status;
      // Argo CD's Application has no status subresource: its controller updates the object.
      if (plural === 'applications') await custom.replaceNamespacedCustomObject({ group, version, namespace, plural, name, body: o });
      else await custom.replaceNamespacedCustomObjectStatus({ group, version, namespace, plural, name, body: o });
    };
    const ready = (yes: boolean, message = '') => ({ conditions: [{ type: 'Ready', status: yes ? 'True' : 'False', reason: yes ? 'Ready' : 'Pending', message, lastTransitionTime: new Date().toISOString() }] });
    // The controllers' part: servers ready, an endpoint, the Job done, cert-manager and
    // External Secrets done (with the Secrets ESO would write), Argo CD synced.
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const sts = await apps.readNamespacedStatefulSet({ name: 'minio', namespace: 'minio-argo' });
    sts.status = { observedGeneration: sts.metadata!.generation, replicas: 4, readyReplicas: 4, availableReplicas: 4, currentReplicas: 4, updatedReplicas: 4 };
    await apps.replaceNamespacedStatefulSetStatus({ name: 'minio', namespace: 'minio-argo', body: sts });
    await api.create(k8s.loadYaml<k8s.KubernetesObject>(JSON.stringify({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'minio-x1', namespace: 'minio-argo', labels: { 'kubernetes.io/service-name': 'minio' } },
      addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.7'], conditions: { ready: true } }], ports: [{ name: 'api', port: 9000, protocol: 'TCP' }],
    })));
    await completeJob(c.kc.makeApiClient(k8s.BatchV1Api), 'minio-argo', 'succeeded');
    for (const cert of objects.filter((o) => o.kind === 'Certificate')) await setStatus('cert-manager.io', 'v1', 'certificates', cert.metadata!.namespace!, cert.metadata!.name!, ready(true));
    for (const es of objects.filter((o) => o.kind === 'ExternalSecret')) {
      await setStatus('external-secrets.io', 'v1', 'externalsecrets', es.metadata!.namespace!, es.metadata!.name!, ready(true));
      const keys = [...((es as any).spec.data as { secretKey: string }[]).map((d) => d.secretKey), ...Object.keys((es as any).spec.target.template?.data ?? {})];
      await apply(k8s.loadYaml<k8s.KubernetesObject>(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: (es as any).spec.target.name, namespace: es.metadata!.namespace }, stringData: Object.fromEntries(keys.map((k) => [k, 'x'])) })));
    }
    await setStatus('argoproj.io', 'v1alpha1', 'applications', 'argocd', 'minio-argo', { sync: { status: 'Synced' }, health: { status: 'Healthy' } });
    await deploymentReady(c, 'argo-spark', 'minio-argo-lake');

    const run = async () => JSON.parse((await cli(['verify', '--env', 'argo', '--json', '--out', out, '--kubeconfig', c.kubeconfig], out)).stdout) as Report;
    // The consumers' truststore: not there until trust-manager has built it.
    const untrusted = Object.fromEntries((await run()).checks.map((x) => [x.check, x]));
    expect(untrusted['trust-manager Bundle minio-argo-trust']).toMatchObject({ status: 'fail', detail: 'not Synced' });
    expect(untrusted['truststore argo-flink/minio-argo-trust']).toMatchObject({ status: 'fail', detail: 'not found', diagnosis: expect.stringMatching(/Flink checkpoints never complete, Spark fails with "PKIX path building failed"/) });
    // The real trust-manager builds it from the rendered Bundle (the CA Secret is the test's, as cert-manager would make it).
    const pki = tempDir();
    const { ca } = makeCertificates(pki);
    const bundle = objects.find((o) => o.kind === 'Bundle')!;
    await distributeTrust(ctx, c, { bundle, caPem: readFileSync(ca, 'utf8'), caKeyPem: readFileSync(join(pki, 'ca.key'), 'utf8'), caSecret: { name: 'minio-argo-ca', key: 'tls.crt' }, trustNamespace: 'cert-manager', namespaces: ['argo-flink', 'argo-spark'] });
    const good = await run();
    expect(good.checks.filter((x) => x.status === 'fail')).toEqual([]);
    expect(good.checks.find((x) => x.check === 'FlinkEnvironment argo-flink/minio-argo-flink')).toMatchObject({ status: 'pass' });
    const names = good.checks.map((x) => `${x.status} ${x.check}`);
    expect(names).toEqual(expect.arrayContaining(['pass MinIO statefulset/minio', 'pass Certificate minio-argo/minio-tls', 'pass trust-manager Bundle minio-argo-trust', 'pass truststore argo-flink/minio-argo-trust', 'pass truststore argo-spark/minio-argo-trust', 'pass ExternalSecret minio-argo/minio-root-credentials', 'pass ExternalSecret argo-flink/minio-s3-credentials-flink', 'pass Argo CD Application argocd/minio-argo']));

    await setStatus('cert-manager.io', 'v1', 'certificates', 'minio-argo', 'minio-tls', ready(false, 'Issuing certificate as Secret does not exist'));
    await setStatus('external-secrets.io', 'v1', 'externalsecrets', 'argo-spark', 'minio-argo-s3-credentials-spark', ready(false, 'could not get secret data from provider'));
    await setStatus('argoproj.io', 'v1alpha1', 'applications', 'argocd', 'minio-argo', { sync: { status: 'OutOfSync' }, health: { status: 'Degraded' } });
    // A FlinkEnvironment whose JVMs would not load the truststore (someone dropped the options).
    const flinkEnv = (await custom.getNamespacedCustomObject({ group: 'platform.confluent.io', version: 'v1beta1', namespace: 'argo-flink', plural: 'flinkenvironments', name: 'minio-argo-flink' })) as any;
    delete flinkEnv.spec.flinkApplicationDefaults.spec.flinkConfiguration['env.java.opts.all'];
    await custom.replaceNamespacedCustomObject({ group: 'platform.confluent.io', version: 'v1beta1', namespace: 'argo-flink', plural: 'flinkenvironments', name: 'minio-argo-flink', body: flinkEnv });
    const bad = await run();
    expect(bad.ok).toBe(false);
    expect(Object.fromEntries(bad.checks.filter((x) => x.status === 'fail').map((x) => [x.check, [x.detail, x.next]]))).toEqual({
      'Certificate minio-argo/minio-tls': ['not Ready: Issuing certificate as Secret does not exist', 'kubectl -n minio-argo describe certificate minio-tls'],
      'ExternalSecret argo-spark/minio-argo-s3-credentials-spark': ['not Ready: could not get secret data from provider', 'kubectl -n argo-spark describe externalsecret minio-argo-s3-credentials-spark'],
      'Argo CD Application argocd/minio-argo': ['OutOfSync / Degraded', 'argocd app get minio-argo'],
      'FlinkEnvironment argo-flink/minio-argo-flink': ['its JVMs do not load the truststore (env.java.opts.all and a mounted minio-argo-trust)', 'kubectl -n argo-flink get flinkenvironment minio-argo-flink -o yaml'],
    });
  });
});

/** Plays the Job controller: the bootstrap Job (re-created) ends succeeded or failed. */
async function completeJob(batch: k8s.BatchV1Api, namespace: string, outcome: 'succeeded' | 'failed') {
  const name = 'minio-bootstrap';
  const job = await batch.readNamespacedJob({ name, namespace });
  if (job.status?.conditions?.length) {
    // A finished Job stays finished: start a fresh one from the same spec.
    await batch.deleteNamespacedJob({ name, namespace, propagationPolicy: 'Background' });
    delete job.metadata!.resourceVersion;
    delete job.metadata!.uid;
    delete job.metadata!.creationTimestamp;
    delete job.metadata!.managedFields;
    delete job.spec!.selector;
    delete job.spec!.template.metadata!.labels!['controller-uid'];
    delete job.spec!.template.metadata!.labels!['batch.kubernetes.io/controller-uid'];
    delete job.status;
    for (let i = 0; i < 50; i++) {
      try {
        await batch.createNamespacedJob({ namespace, body: job });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }
  const fresh = await batch.readNamespacedJob({ name, namespace });
  const now = new Date();
  const start = new Date(now.getTime() - 10_000);
  fresh.status =
    outcome === 'succeeded'
      ? {
          startTime: start,
          completionTime: now,
          succeeded: 1,
          conditions: [
            { type: 'SuccessCriteriaMet', status: 'True', lastTransitionTime: now, lastProbeTime: now },
            { type: 'Complete', status: 'True', lastTransitionTime: now, lastProbeTime: now },
          ],
        }
      : {
          startTime: start,
          failed: 4,
          conditions: [
            { type: 'FailureTarget', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: now, lastProbeTime: now },
            { type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit', lastTransitionTime: now, lastProbeTime: now },
          ],
        };
  await batch.replaceNamespacedJobStatus({ name, namespace, body: fresh });
}
