// The live-cluster commands against a real kube-apiserver (and etcd), both pinned builds
// from tools/install.sh: a server-side dry run of every overlay with Pod Security
// enforced, and verify failing and passing for the right reasons. There is no
// controller-manager or kubelet: the tests play their part by writing status.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { main } from '../src/cli.ts';
import { startCluster, type Cluster } from './cluster.ts';
import { findTool, needCrds, needTool, REPO, tempDir } from './tools.ts';

const DIMENSIONS = {
  profile: ['dev', 'prod'],
  storage: ['hostpath', 'pvc'],
  secrets: ['plain', 'sops', 'external'],
  tls: ['on', 'off'],
  replicas: ['1', '4'],
  extras: ['on', 'off'],
} as const;

function validCombos(): Record<keyof typeof DIMENSIONS, string>[] {
  let combos: Record<string, string>[] = [{}];
  for (const [key, values] of Object.entries(DIMENSIONS)) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  return (combos as Record<keyof typeof DIMENSIONS, string>[]).filter((c) => !(c.storage === 'hostpath' && c.replicas !== '1') && !(c.secrets === 'plain' && c.profile === 'prod'));
}

async function cli(args: string[], out: string) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, out, { out: (t) => (stdout += t), err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

let cluster: Cluster | undefined;
let setupError: string | undefined;
// One cluster for the file (a test's tempDir would go with its test).
const clusterDir = mkdtempSync(join(tmpdir(), 'minio-gitops-cluster-'));

function needCluster(ctx: { skip: (note?: string) => void }): Cluster {
  needTool(ctx, 'kube-apiserver');
  needTool(ctx, 'etcd');
  needCrds(ctx);
  if (!cluster) throw new Error(`the test cluster did not start: ${setupError}`);
  return cluster;
}

beforeAll(async () => {
  const apiserver = findTool('kube-apiserver');
  const etcd = findTool('etcd');
  if (!apiserver || !etcd || !existsSync(join(REPO, '..', 'shared', 'crds'))) return;
  try {
    cluster = await startCluster(clusterDir, { etcd, apiserver });
  } catch (error) {
    setupError = (error as Error).message;
  }
}, 120_000);

afterAll(() => {
  cluster?.stop();
  rmSync(clusterDir, { recursive: true, force: true });
});

/** Creates (for real) the namespaces an engine would: the env's own, and the consumers'. */
async function createNamespaces(c: Cluster, namespace: k8s.KubernetesObject | undefined, consumers: string[], restricted = false) {
  const api = k8s.KubernetesObjectApi.makeApiClient(c.kc);
  const restrictedLabels = { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' };
  const own = namespace && restricted ? { ...namespace, metadata: { ...namespace.metadata, labels: { ...namespace.metadata!.labels, ...restrictedLabels } } } : namespace;
  for (const ns of [...(own ? [own] : []), ...consumers.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: restrictedLabels } }))]) {
    await api.patch(k8s.loadYaml(JSON.stringify(ns)), undefined, undefined, 'test', true, k8s.PatchStrategy.ServerSideApply);
  }
}

describe('apply --server-dry-run against a real kube-apiserver', () => {
  it('accepts every object of every valid option combination, with Pod Security enforced on the pod templates', async (ctx) => {
    const c = needCluster(ctx);
    const { builtObjects } = await import('../src/cluster/kube.ts');
    let applies = 0;
    for (const combo of validCombos()) {
      const out = tempDir();
      const args = ['--env', combo.profile, '--storage', combo.storage, '--secrets', combo.secrets, '--tls', combo.tls, '--replicas', combo.replicas, '--ingress', combo.extras, '--monitoring', combo.extras];
      const scaffolded = await cli([...args, '--no-commit'], out);
      expect(scaffolded.code, scaffolded.stderr).toBe(0);
      const objects = await builtObjects(out, combo.profile);
      // The env's namespace as rendered (restricted; privileged only for hostPath), the consumers' restricted.
      await createNamespaces(c, objects.find((o) => o.kind === 'Namespace'), ['el-demo', 'analytics']);
      const r = await cli(['apply', '--env', combo.profile, '--server-dry-run', '--json', '--out', out, '--kubeconfig', c.kubeconfig], out);
      const report = JSON.parse(r.stdout) as { accepted: number; rejected: number; results: { object: string; accepted: boolean; message?: string }[] };
      expect(report.results.filter((x) => !x.accepted), JSON.stringify(combo)).toEqual([]);
      expect(r.code).toBe(0);
      // Every object, plus a Pod for each of the two workloads (the server and the Job).
      expect(report.accepted).toBe(objects.length + 2);
      applies += report.accepted;
    }
    console.log(`server-side dry-run applies accepted: ${applies} (${validCombos().length} combinations)`);
  }, 600_000);

  it("rejects a pod template that breaks the namespace's Pod Security level, naming the violation", async (ctx) => {
    const c = needCluster(ctx);
    const { builtObjects } = await import('../src/cluster/kube.ts');
    const out = tempDir();
    expect((await cli(['--env', 'lab', '--profile', 'dev', '--namespace', 'minio-lab', '--no-commit'], out)).code).toBe(0);
    // A hostPath volume in a namespace that enforces restricted (not the privileged label it renders).
    await createNamespaces(c, (await builtObjects(out, 'lab')).find((o) => o.kind === 'Namespace'), ['el-demo', 'analytics'], true);
    const r = await cli(['apply', '--env', 'lab', '--server-dry-run', '--out', out, '--kubeconfig', c.kubeconfig], out);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^REJECTED  pod template of Deployment\/minio-lab\/minio: .*violates PodSecurity "restricted:latest": restricted volume types \(volume "data" uses restricted volume type "hostPath"\)$/m);
    expect(r.stdout).toMatch(/^ok        pod template of Job\/minio-lab\/minio-bootstrap$/m);
    expect(r.stdout).toMatch(/: \d+ accepted, 1 rejected \(server-side dry run: nothing was changed\)$/m);
  });

  it('refuses apply without --server-dry-run, and says what applies instead', async () => {
    const r = await cli(['apply', '--env', 'dev'], REPO);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: apply is the GitOps engine's job .* use apply --server-dry-run/);
  });
});
