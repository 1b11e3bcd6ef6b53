// Day-2 changes of an erasure-coded env against a real control plane (test/controlplane.ts:
// etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes; kwok writes the
// pods' statuses, no container runs), with the pinned kubectl (tools/install-kubectl.sh, the
// Kubernetes of kube-apiserver and of the restarter Job's image) doing what the engine and the
// restarter Job do. The env is a prod-profile one (4 servers, claims, sealed root credentials),
// TLS, ingress and monitoring off so that it needs no CRD; `overlays/prod/minio` is applied
// server-side as the field manager 'flux-like' (with --force-conflicts, as Flux and Argo CD do).
//
// 1. An image bump: the StatefulSet controller leaves the servers alone (OnDelete), and the
//    rendered restarter, run as its own ServiceAccount (a TokenRequest token) with the Job's
//    own args taken from the build, deletes all 4 servers in one call; the StatefulSet
//    controller recreates them from the new template and the rollout completes. The token
//    can do nothing else: another pod, pods elsewhere, a server's `get` are forbidden. Run
//    again, it deletes nothing. "Rolled out" is every replica updated and ready, each pod's
//    controller-revision-hash the updateRevision: Kubernetes 1.36's StatefulSet controller never
//    moves status.currentRevision for OnDelete (kubernetes/kubernetes#73492).
// 2. Every allowed Day-2 change (another pool, bigger volumes, other resources) passes the
//    API server's dry run against the applied env (its claims Bound, on a StorageClass that
//    allows expansion); a changed claim template (the negative control) does not. Then the
//    pool is added for real: both StatefulSets ready, the restarter replaces the first pool.
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { main } from '../src/cli.ts';
import { SERVER_SCRATCH } from '../src/render/workload.ts';
import { fileControlPlane, until, type ControlPlane } from './controlplane.ts';
import { run } from './run.ts';
import { kubectl, needKubectl, restarterCommand, serviceAccountKubeconfig, type Kubectl } from './restarter.ts';
import { build, type Obj } from './scaffolded.ts';
import { needTool, REPO, tempDir } from './tools.ts';

const MANAGER = 'flux-like';
const NEW_IMAGE = 'quay.io/minio/minio:RELEASE.2025-10-15T17-29-55Z';
const CONFIG_LABEL = 'minio-gitops.io/config';
const BASE_LABEL = 'minio-gitops.io/base';
/** The servers' configuration as their labels say it: the base's pod template hash and the env's. */
const hashOf = (labels: Record<string, string> | undefined) =>
  `${labels?.[BASE_LABEL] ?? ''}/${labels?.[CONFIG_LABEL] ?? ''}`;
const SERVERS = 'app.kubernetes.io/name=minio,app.kubernetes.io/instance=minio,app.kubernetes.io/component=server';
/** The flags that leave the env needing no CRD (cert-manager, Ingress, ServiceMonitor). */
const NO_CRDS = ['--tls', 'off', '--ingress', 'off', '--monitoring', 'off'];

const needCluster = fileControlPlane({
  prefix: 'minio-gitops-day2-',
  crdFiles: () => [],
  need: (ctx) => {
    needTool(ctx, 'kustomize');
    needTool(ctx, 'sops');
    needKubectl(ctx);
  },
});

/** The scaffolder as a person runs it (a real process), in `out`. */
function scaffolder(out: string, ...flags: string[]): string {
  const r = run([...flags, '--no-commit', '--out', out]);
  expect(r.code, `${flags.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout + r.stderr;
}

/** `verify`'s check of the first pool's StatefulSet, run as a person runs it (in-process, --json). */
async function serverCheck(
  cp: ControlPlane,
  out: string,
): Promise<{ status: string; detail: string; diagnosis?: string; next?: string }> {
  let stdout = '';
  await main(['verify', '--env', 'prod', '--json', '--out', out, '--kubeconfig', cp.kubeconfig], out, {
    out: (t) => (stdout += t),
    err: () => {},
  });
  const checks = (
    JSON.parse(stdout) as {
      checks: { check: string; status: string; detail: string; diagnosis?: string; next?: string }[];
    }
  ).checks;
  return checks.find((c) => c.check === 'MinIO statefulset/minio')!;
}

/** A copy of an output directory, for a change made from the same applied state. */
function copyOf(out: string): string {
  const copy = tempDir('minio-gitops-day2-change-');
  cpSync(out, copy, { recursive: true });
  return copy;
}

const find = (objs: Obj[], kind: string, name: string) => {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o)
    throw new Error(`no ${kind} ${name} in the build (${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')})`);
  return o;
};
const toYaml = (objs: Obj[]) => objs.map((o) => YAML.stringify(o)).join('---\n');

/** Server-side apply as the engine does it (optionally a server dry run). */
function apply(cp: ControlPlane, objs: Obj[], dryRun = false): Kubectl {
  return kubectl(
    cp.kubeconfig,
    [
      'apply',
      '--server-side',
      `--field-manager=${MANAGER}`,
      '--force-conflicts',
      ...(dryRun ? ['--dry-run=server'] : []),
      '-f',
      '-',
    ],
    toYaml(objs),
  );
}

/**
 * Applies a build for real: everything but the restarter Job in one apply, then the Job; a
 * Job whose template changed cannot be updated (spec.template is immutable), so, as Flux
 * does for an object annotated kustomize.toolkit.fluxcd.io/force: enabled, it is deleted
 * and created again.
 */
async function applyBuild(cp: ControlPlane, objs: Obj[]): Promise<void> {
  const job = find(objs, 'Job', 'minio-restarter');
  const rest = apply(
    cp,
    objs.filter((o) => o !== job),
  );
  expect(rest.code, rest.stderr).toBe(0);
  const first = apply(cp, [job]);
  if (first.code === 0) return;
  expect(first.stderr).toMatch(/field is immutable/);
  expect(
    (job.metadata as { annotations?: Record<string, string> }).annotations?.['kustomize.toolkit.fluxcd.io/force'],
  ).toBe('enabled');
  const gone = kubectl(cp.kubeconfig, [
    'delete',
    'job',
    job.metadata.name,
    '--namespace',
    job.metadata.namespace!,
    '--cascade=background',
    '--wait=true',
    '--timeout=60s',
  ]);
  expect(gone.code, gone.stderr).toBe(0);
  const again = apply(cp, [job]);
  expect(again.code, again.stderr).toBe(0);
}

/** The StatefulSet once the controller has seen its spec and `ready(sts)` holds. */
async function statefulSet(
  cp: ControlPlane,
  namespace: string,
  name: string,
  what: string,
  ready: (s: k8s.V1StatefulSet) => boolean,
  seconds = 120,
): Promise<k8s.V1StatefulSet> {
  const apps = cp.kc.makeApiClient(k8s.AppsV1Api);
  let last: k8s.V1StatefulSet | undefined;
  return until(
    `StatefulSet ${namespace}/${name} ${what}`,
    seconds,
    async () => {
      last = await apps.readNamespacedStatefulSet({ name, namespace });
      return last.status?.observedGeneration === last.metadata?.generation && ready(last) ? last : undefined;
    },
    async () => `${JSON.stringify(last?.status)}\n${cp.logs().slice(-3000)}`,
  );
}

const allReady = (n: number) => (s: k8s.V1StatefulSet) => s.status?.readyReplicas === n && s.status?.replicas === n;
/**
 * Every replica of the update revision, and ready. Not status.currentRevision: for an OnDelete
 * StatefulSet the controller of Kubernetes <= 1.36 never moves it to updateRevision
 * (kubernetes/kubernetes#73492, fixed by #136833 after 1.36); the pods' revision labels say it.
 */
const rolledOut = (n: number) => (s: k8s.V1StatefulSet) =>
  s.status?.updatedReplicas === n && s.status?.readyReplicas === n && s.status?.replicas === n;

const isReady = (p: k8s.V1Pod) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

async function serverPods(cp: ControlPlane, namespace: string, selector = SERVERS): Promise<k8s.V1Pod[]> {
  const core = cp.kc.makeApiClient(k8s.CoreV1Api);
  return (await core.listNamespacedPod({ namespace, labelSelector: selector })).items.sort((a, b) =>
    a.metadata!.name!.localeCompare(b.metadata!.name!),
  );
}

type PodEvent = {
  type: string;
  uid: string;
  name: string;
  ready: boolean;
  deleting: boolean;
  image: string;
  config: string;
};

/** Every event of the namespace's pods from now on, in the API server's order (one watch). */
async function watchPods(cp: ControlPlane, namespace: string): Promise<{ events: PodEvent[]; stop: () => void }> {
  const core = cp.kc.makeApiClient(k8s.CoreV1Api);
  const list = await core.listNamespacedPod({ namespace });
  const events: PodEvent[] = [];
  let failed: unknown;
  const controller = await new k8s.Watch(cp.kc).watch(
    `/api/v1/namespaces/${namespace}/pods`,
    { resourceVersion: list.metadata!.resourceVersion! },
    (type, p: k8s.V1Pod) =>
      events.push({
        type,
        uid: p.metadata!.uid!,
        name: p.metadata!.name!,
        ready: isReady(p),
        deleting: p.metadata!.deletionTimestamp !== undefined,
        image: p.spec!.containers[0]!.image!,
        config: hashOf(p.metadata!.labels),
      }),
    (err) => (failed = err),
  );
  return {
    events,
    stop: () => {
      controller.abort();
      if (failed && !(failed as Error).name?.includes('Abort')) console.warn(`pod watch ended: ${String(failed)}`);
    },
  };
}

/** A pod that may run in a restricted namespace, not one of the servers. */
function dummyPod(name: string) {
  return {
    metadata: { name, labels: { app: 'dummy' } },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'c',
          image: 'registry.k8s.io/pause:3.10',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

describe('Day-2 changes of an erasure-coded env on a real control plane', () => {
  it('an image bump: OnDelete keeps the servers; the rendered restarter, as its ServiceAccount, replaces all 4 at once; least privilege; idempotent', async (ctx) => {
    const cp = needCluster(ctx);
    const { version } = needKubectl(ctx);
    const began = Date.now();
    const lap: Record<string, number> = {};
    const mark = (what: string) => (lap[what] = (Date.now() - began) / 1000);
    const ns = 'minio-restart';
    const core = cp.kc.makeApiClient(k8s.CoreV1Api);

    const out = tempDir('minio-gitops-day2-');
    scaffolder(out, '--env', 'prod', '--namespace', ns, ...NO_CRDS);
    const first = build(ctx, out, 'overlays/prod/minio');
    const sts0 = find(first, 'StatefulSet', 'minio');
    expect(sts0.spec.updateStrategy).toEqual({ type: 'OnDelete' });
    expect(sts0.spec.podManagementPolicy).toBe('Parallel');
    const oldImage = sts0.spec.template.spec.containers[0].image as string;
    const oldHash = hashOf(sts0.spec.template.metadata.labels);
    expect(oldHash).toMatch(/^[b-z2-9]{16}\/[b-z2-9]{16}$/);
    expect(oldImage).not.toBe(NEW_IMAGE);
    // The pinned kubectl is the Kubernetes of the Job's image.
    expect(restarterCommand(first).image).toBe(`registry.k8s.io/kubectl:${version}`);

    await applyBuild(cp, first);
    await statefulSet(cp, ns, 'minio', 'with 4 ready servers', allReady(4));
    const before = await serverPods(cp, ns);
    expect(before.map((p) => p.metadata!.name)).toEqual(['minio-0', 'minio-1', 'minio-2', 'minio-3']);
    expect(
      before.every(
        (p) => p.spec!.containers[0]!.image === oldImage && hashOf(p.metadata!.labels) === oldHash && isReady(p),
      ),
    ).toBe(true);
    // The Job's pod (kwok completes it) gets the ServiceAccount's token: neither its pod nor its ServiceAccount opts out.
    const jobPod = await until(
      'the first restarter Job pod',
      60,
      async () =>
        (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app.kubernetes.io/name=minio-restarter' }))
          .items[0],
    );
    expect(jobPod.spec!.serviceAccountName).toBe('minio-restarter');
    expect(jobPod.spec!.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken))).toBe(true);
    mark('first build applied, 4 servers ready');
    // The env README's wait for the servers (rollout status knows no OnDelete StatefulSet), as a person runs it.
    const readme = readFileSync(join(out, 'overlays/prod/README.md'), 'utf8');
    const waitLines = [...readme.matchAll(/^kubectl -n \S+ wait statefulset\/minio .*$/gm)].map((m) => m[0]);
    expect(waitLines.map((l) => /\{\.status\.(\w+)\}/.exec(l)?.[1])).toEqual(['updatedReplicas', 'readyReplicas']);
    for (const line of waitLines) {
      const waited = spawnSync('bash', ['-c', line], {
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: `${join(REPO, '.tools', 'bin')}:${process.env.PATH}`, KUBECONFIG: cp.kubeconfig, HOME: tempDir() },
      });
      expect(waited.status, waited.stderr).toBe(0);
      expect(waited.stdout).toMatch(/statefulset.apps\/minio condition met/);
    }

    // The restarter's token, and what it does on an up-to-date env: nothing.
    const restarterKubeconfig = await serviceAccountKubeconfig(cp, ns, 'minio-restarter');
    const noop = restarterCommand(first).run(restarterKubeconfig);
    expect(noop.code, noop.stderr).toBe(0);
    expect(noop.stdout + noop.stderr).toMatch(/No resources found/);

    // The image bump, applied as the engine does.
    scaffolder(out, '--env', 'prod', '--image', NEW_IMAGE);
    // The tool's own server dry run of the change: the StatefulSet's update accepted, the
    // restarter Job (whose template cannot change) accepted as the new Job the engine makes.
    let dryRun = '';
    await main(
      ['apply', '--env', 'prod', '--server-dry-run', '--json', '--out', out, '--kubeconfig', cp.kubeconfig],
      out,
      { out: (t) => (dryRun += t), err: () => {} },
    );
    const results = (JSON.parse(dryRun) as { results: { object: string; result: string; message?: string }[] }).results;
    expect(results.find((x) => x.object === `StatefulSet/${ns}/minio`)).toEqual({
      object: `StatefulSet/${ns}/minio`,
      result: 'accepted',
    });
    expect(results.find((x) => x.object === `Job/${ns}/minio-restarter`)).toMatchObject({
      result: 'accepted',
      message: expect.stringMatching(/^replaced by the engine/),
    });
    expect(results.find((x) => x.object === `pod template of Job/${ns}/minio-restarter`)).toEqual({
      object: `pod template of Job/${ns}/minio-restarter`,
      result: 'accepted',
    });
    const second = build(ctx, out, 'overlays/prod/minio');
    const sts1 = find(second, 'StatefulSet', 'minio');
    const newHash = hashOf(sts1.spec.template.metadata.labels);
    const [newBase, newConfig] = newHash.split('/') as [string, string];
    expect(sts1.spec.template.spec.containers[0].image).toBe(NEW_IMAGE);
    expect(newHash).toMatch(/^[b-z2-9]{16}\/[b-z2-9]{16}$/);
    expect(newHash).not.toBe(oldHash);
    // The image is the base's: its hash changes, the env's does not.
    expect(newConfig).toBe(oldHash.split('/')[1]);
    expect(newBase).not.toBe(oldHash.split('/')[0]);
    await applyBuild(cp, second);
    const pending = await statefulSet(
      cp,
      ns,
      'minio',
      'seeing the new template',
      (s) => s.status?.updateRevision !== undefined && s.status.updateRevision !== s.status.currentRevision,
    );
    // OnDelete: a few seconds later, the same pods, the old image and label, all still ready.
    await new Promise((r) => setTimeout(r, 5000));
    const kept = await serverPods(cp, ns);
    expect(kept.map((p) => p.metadata!.uid)).toEqual(before.map((p) => p.metadata!.uid));
    expect(
      kept.every(
        (p) =>
          p.spec!.containers[0]!.image === oldImage &&
          hashOf(p.metadata!.labels) === oldHash &&
          isReady(p) &&
          !p.metadata!.deletionTimestamp,
      ),
    ).toBe(true);
    const waiting = await statefulSet(cp, ns, 'minio', 'still at the old revision', () => true);
    expect(waiting.status!.updateRevision).toBe(pending.status!.updateRevision);
    expect(waiting.status!.currentRevision).not.toBe(waiting.status!.updateRevision);
    expect(waiting.status!.updatedReplicas ?? 0).toBe(0);
    expect(waiting.status!.readyReplicas).toBe(4);
    // The applied Job is the one rendered (recreated with the new hash).
    const appliedJob = await cp.kc
      .makeApiClient(k8s.BatchV1Api)
      .readNamespacedJob({ name: 'minio-restarter', namespace: ns });
    const restart = restarterCommand(second);
    expect(
      [...(appliedJob.spec!.template.spec!.initContainers ?? []), ...appliedJob.spec!.template.spec!.containers].map(
        (c) => c.args,
      ),
    ).toEqual(restart.args);
    expect(restart.args.map((a) => a[a.indexOf('--selector') + 1])).toEqual([
      `${SERVERS},${BASE_LABEL}!=${newBase}`,
      `${SERVERS},${CONFIG_LABEL}!=${newConfig}`,
    ]);
    mark('image bump applied, servers kept (OnDelete)');
    // verify names the servers left on the old configuration, and the command that frees them.
    const stuck = await serverCheck(cp, out);
    expect(stuck).toMatchObject({ status: 'fail', detail: 'rolling out: 0/4 updated, 4 ready' });
    expect(stuck.diagnosis).toMatch(
      /servers still run the old configuration: the restarter Job minio-restarter replaces them all at once/,
    );
    expect(stuck.next).toBe(
      `kubectl -n ${ns} delete pod -l '${SERVERS},${BASE_LABEL}!=${newBase}' && kubectl -n ${ns} delete pod -l '${SERVERS},${CONFIG_LABEL}!=${newConfig}'`,
    );

    // The restarter: the Job's args, as its ServiceAccount, one call.
    const watch = await watchPods(cp, ns);
    const oldUids = new Set(before.map((p) => p.metadata!.uid!));
    const called = Date.now();
    const ran = restart.run(restarterKubeconfig);
    const callMs = Date.now() - called;
    expect(ran.code, ran.stderr).toBe(0);
    expect([...ran.stdout.matchAll(/^pod "([^"]+)" deleted/gm)].map((m) => m[1]).sort()).toEqual([
      'minio-0',
      'minio-1',
      'minio-2',
      'minio-3',
    ]);
    // When the one call returns, no old server is left running: each is terminating or gone.
    const leftOver = (await serverPods(cp, ns)).filter(
      (p) => oldUids.has(p.metadata!.uid!) && !p.metadata!.deletionTimestamp,
    );
    expect(leftOver.map((p) => p.metadata!.name)).toEqual([]);
    mark('restarter ran');
    const after = await statefulSet(cp, ns, 'minio', 'rolled out to the new revision', rolledOut(4));
    expect(after.status!.updateRevision).toBe(pending.status!.updateRevision);
    const now = await until('4 new ready servers', 60, async () => {
      const pods = await serverPods(cp, ns);
      return pods.length === 4 && pods.every((p) => isReady(p) && !p.metadata!.deletionTimestamp) ? pods : undefined;
    });
    mark('rolled out');
    watch.stop();
    // ... and passes once they are replaced (an OnDelete StatefulSet's currentRevision never moves).
    expect(await serverCheck(cp, out)).toMatchObject({ status: 'pass', detail: '4/4 replicas ready' });
    expect(now.map((p) => p.metadata!.name)).toEqual(['minio-0', 'minio-1', 'minio-2', 'minio-3']);
    expect(now.some((p) => oldUids.has(p.metadata!.uid!))).toBe(false);
    expect(now.every((p) => p.spec!.containers[0]!.image === NEW_IMAGE && hashOf(p.metadata!.labels) === newHash)).toBe(
      true,
    );
    expect(now.map((p) => p.metadata!.labels!['controller-revision-hash'])).toEqual(
      Array(4).fill(after.status!.updateRevision),
    );
    expect(before.map((p) => p.metadata!.labels!['controller-revision-hash'])).toEqual(
      Array(4).fill(waiting.status!.currentRevision),
    );
    console.log(
      `after the restart: status.currentRevision ${after.status!.currentRevision}, updateRevision ${after.status!.updateRevision} (OnDelete: kubernetes/kubernetes#73492)`,
    );
    // The API server's order of events (one watch): every old server was being deleted before
    // any replacement was Ready, and every replacement has the new image and label. (Not "gone
    // before": kwok finishes a deletion at once, so the StatefulSet controller may recreate
    // minio-0 while kubectl is still deleting minio-3; a real MinIO server is never Ready
    // without a quorum of peers of its own configuration anyway.)
    const events = watch.events;
    const timeline = () =>
      events
        .map((e, i) => `${i} ${e.type} ${e.name} ${e.uid.slice(0, 8)} ready=${e.ready} deleting=${e.deleting}`)
        .join('\n');
    const deletingAt = [...oldUids].map((uid) =>
      events.findIndex((e) => e.uid === uid && (e.deleting || e.type === 'DELETED')),
    );
    const goneAt = [...oldUids].map((uid) => events.findIndex((e) => e.uid === uid && e.type === 'DELETED'));
    expect(deletingAt.every((i) => i >= 0) && goneAt.every((i) => i >= 0), timeline()).toBe(true);
    const firstNew = events.findIndex((e) => !oldUids.has(e.uid) && e.type === 'ADDED' && /^minio-\d$/.test(e.name));
    const firstNewReady = events.findIndex((e) => !oldUids.has(e.uid) && e.ready && /^minio-\d$/.test(e.name));
    expect(firstNewReady, timeline()).toBeGreaterThan(Math.max(...deletingAt));
    expect(
      events
        .filter((e) => !oldUids.has(e.uid) && e.type === 'ADDED')
        .every((e) => e.image === NEW_IMAGE && e.config === newHash),
      timeline(),
    ).toBe(true);
    console.log(
      `restarter: one kubectl call of ${callMs} ms; events: last old server marked for deletion #${Math.max(...deletingAt)}, first replacement created #${firstNew}, last old server gone #${Math.max(...goneAt)}, first replacement Ready #${firstNewReady}`,
    );

    // Again: nothing outdated, nothing deleted.
    const again = restart.run(restarterKubeconfig);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toMatch(/No resources found/);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await serverPods(cp, ns)).map((p) => p.metadata!.uid)).toEqual(now.map((p) => p.metadata!.uid));

    // Least privilege: the same token cannot delete another pod, read a server, or list pods elsewhere.
    await core.createNamespacedPod({ namespace: ns, body: dummyPod('dummy') });
    await core.createNamespace({ body: { metadata: { name: 'day2-other' } } });
    const other = kubectl(restarterKubeconfig, ['delete', 'pod', 'dummy', '--namespace', ns, '--wait=false']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain(
      `pods "dummy" is forbidden: User "system:serviceaccount:${ns}:minio-restarter" cannot delete resource "pods" in API group "" in the namespace "${ns}"`,
    );
    const elsewhere = kubectl(restarterKubeconfig, ['get', 'pods', '--namespace', 'day2-other']);
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toContain(
      `User "system:serviceaccount:${ns}:minio-restarter" cannot list resource "pods" in API group "" in the namespace "day2-other"`,
    );
    const get = kubectl(restarterKubeconfig, ['get', 'pod', 'minio-0', '--namespace', ns]);
    expect(get.code).not.toBe(0);
    expect(get.stderr).toContain('cannot get resource "pods"');
    expect(
      (await core.readNamespacedPod({ name: 'dummy', namespace: ns })).metadata!.deletionTimestamp,
    ).toBeUndefined();

    // This env's StorageClass (the cluster default) does not allow expansion: a bigger size is
    // refused by the API server, as the scaffolder's note says.
    const grown = copyOf(out);
    expect(scaffolder(grown, '--env', 'prod', '--size', '20Gi')).toMatch(
      /allowVolumeExpansion: true; otherwise the claims are refused/,
    );
    const refused = apply(
      cp,
      build(ctx, grown, 'overlays/prod/minio').filter((o) => o.kind === 'PersistentVolumeClaim'),
      true,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(
      /persistentvolumeclaims "data-minio-0" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize/,
    );
    mark('checks done');
    console.log(`image bump through the restarter: ${JSON.stringify(lap)} (s from the test's start)`);
  }, 420_000);

  it('every allowed Day-2 change passes the API server dry run against the applied env, a changed claim template does not; a pool added for real', async (ctx) => {
    const cp = needCluster(ctx);
    needKubectl(ctx);
    const began = Date.now();
    const lap: Record<string, number> = {};
    const mark = (what: string) => (lap[what] = (Date.now() - began) / 1000);
    const ns = 'minio-day2';
    const core = cp.kc.makeApiClient(k8s.CoreV1Api);
    const storage = cp.kc.makeApiClient(k8s.StorageV1Api);

    // A StorageClass that allows expansion, of the control plane's simulated provisioner.
    const standard = await storage.readStorageClass({ name: cp.storageClass });
    expect(standard.allowVolumeExpansion).toBeFalsy();
    await storage.createStorageClass({
      body: {
        metadata: { name: 'expandable' },
        provisioner: standard.provisioner,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'WaitForFirstConsumer',
        allowVolumeExpansion: true,
      },
    });

    const out = tempDir('minio-gitops-day2-');
    scaffolder(out, '--env', 'prod', '--namespace', ns, '--storage-class', 'expandable', ...NO_CRDS);
    const first = build(ctx, out, 'overlays/prod/minio');
    const sts0 = find(first, 'StatefulSet', 'minio');
    expect(sts0.spec.volumeClaimTemplates[0].spec).toMatchObject({
      storageClassName: 'expandable',
      resources: { requests: { storage: '8Gi' } },
    });
    await applyBuild(cp, first);
    await statefulSet(cp, ns, 'minio', 'with 4 ready servers', allReady(4));
    const claims = await until('4 Bound claims data-minio-N', 60, async () => {
      const items = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items;
      return items.length === 4 && items.every((c) => c.status?.phase === 'Bound') ? items : undefined;
    });
    expect(claims.map((c) => c.metadata!.name).sort()).toEqual([
      'data-minio-0',
      'data-minio-1',
      'data-minio-2',
      'data-minio-3',
    ]);
    expect(
      claims.every((c) => c.spec!.storageClassName === 'expandable' && c.spec!.resources!.requests!.storage === '8Gi'),
    ).toBe(true);
    mark('first build applied, claims Bound');

    /** A change from the applied state: the scaffolder in a copy, the build, the dry run. */
    const change = (name: string, edit: (dir: string) => string[]) => {
      const dir = copyOf(out);
      scaffolder(dir, '--env', 'prod', ...edit(dir));
      const objs = build(ctx, dir, 'overlays/prod/minio');
      return { name, dir, objs };
    };
    /** The dry run of a build: the Job as the engine treats it (recreated when its template changed). */
    const dryRun = (objs: Obj[]) => {
      const job = find(objs, 'Job', 'minio-restarter');
      const r = apply(
        cp,
        objs.filter((o) => o !== job),
        true,
      );
      const j = apply(cp, [job], true);
      return { r, job: j };
    };
    const changes = [
      change('a second pool', () => ['--pools', '4x8Gi,4x8Gi']),
      change('bigger volumes', () => ['--size', '20Gi']),
      change('other resources', (dir) => {
        const file = join(dir, 'scaffold.config.yaml');
        const config = YAML.parseDocument(readFileSync(file, 'utf8'));
        config.setIn(['envs', 'prod', 'resources'], {
          requests: { cpu: '750m', memory: '2Gi' },
          limits: { cpu: '3', memory: '6Gi' },
        });
        writeFileSync(file, config.toString());
        return [];
      }),
    ];
    const [pools, size, resources] = changes;

    // What each change renders: the first StatefulSet's immutable fields as applied.
    const immutable = (s: Obj) => ({ ...s.spec, template: undefined, replicas: undefined, updateStrategy: undefined });
    for (const c of changes) expect(immutable(find(c.objs, 'StatefulSet', 'minio')), c.name).toEqual(immutable(sts0));
    const pool2 = find(pools!.objs, 'StatefulSet', 'minio-pool-2');
    const poolTemplate = structuredClone(pool2.spec.template);
    delete poolTemplate.metadata.labels['minio-gitops.io/pool'];
    // Each pool spreads its own servers over the nodes (spread.ts): the selectors differ.
    const firstTemplate = structuredClone(find(pools!.objs, 'StatefulSet', 'minio').spec.template);
    const selectors = [poolTemplate, firstTemplate].map((t) =>
      t.spec.topologySpreadConstraints.map((c: { labelSelector: object }) => c.labelSelector),
    );
    expect(selectors[0]).toEqual([
      expect.objectContaining({ matchLabels: expect.objectContaining({ 'minio-gitops.io/pool': '2' }) }),
    ]);
    expect(selectors[1]).toEqual([
      expect.objectContaining({ matchExpressions: [{ key: 'minio-gitops.io/pool', operator: 'DoesNotExist' }] }),
    ]);
    for (const t of [poolTemplate, firstTemplate]) delete t.spec.topologySpreadConstraints;
    // The overlay's patches reach the added pool: its servers are the first pool's, configuration and all.
    expect(poolTemplate).toEqual(firstTemplate);
    expect(pool2.spec.volumeClaimTemplates[0].spec).toMatchObject({
      storageClassName: 'expandable',
      resources: { requests: { storage: '8Gi' } },
    });
    expect(find(pools!.objs, 'Role', 'minio-restarter')).toMatchObject({
      rules: expect.arrayContaining([
        expect.objectContaining({
          verbs: ['delete'],
          resourceNames: [0, 1, 2, 3]
            .flatMap((i) => [`minio-${i}`])
            .concat([0, 1, 2, 3].map((i) => `minio-pool-2-${i}`)),
        }),
      ]),
    });
    const grownClaims = size!.objs.filter((o) => o.kind === 'PersistentVolumeClaim');
    expect(grownClaims.map((o) => `${o.metadata.name} ${o.spec.resources.requests.storage}`)).toEqual(
      [0, 1, 2, 3].map((i) => `data-minio-${i} 20Gi`),
    );
    // The env's cpu and memory, and the base's ephemeral-storage (merged in, whatever the env's resources).
    expect(find(resources!.objs, 'StatefulSet', 'minio').spec.template.spec.containers[0].resources).toEqual({
      requests: { cpu: '750m', memory: '2Gi', 'ephemeral-storage': SERVER_SCRATCH.request },
      limits: { cpu: '3', memory: '6Gi', 'ephemeral-storage': SERVER_SCRATCH.limit },
    });

    for (const c of changes) {
      const { r, job } = dryRun(c.objs);
      expect(r.code, `${c.name}: ${r.stderr}`).toBe(0);
      expect(r.stderr, c.name).not.toMatch(/Forbidden|Invalid|error/i);
      const applied = r.stdout.split('\n').filter((l) => l.endsWith('serverside-applied (server dry run)'));
      expect(applied.length, `${c.name}: ${r.stdout}`).toBe(c.objs.length - 1);
      for (const o of c.objs.filter((x) => x.kind === 'StatefulSet' || x.kind === 'PersistentVolumeClaim')) {
        expect(r.stdout, c.name).toContain(
          `${o.kind === 'StatefulSet' ? 'statefulset.apps' : 'persistentvolumeclaim'}/${o.metadata.name} serverside-applied (server dry run)`,
        );
      }
      // The Job: its template carries the configuration's hash; a changed one is recreated (force), never updated.
      const restarts =
        hashOf(find(c.objs, 'StatefulSet', 'minio').spec.template.metadata.labels) !==
        hashOf(sts0.spec.template.metadata.labels);
      expect(restarts, c.name).toBe(c !== size);
      expect(job.code === 0, `${c.name}: ${job.stderr}`).toBe(!restarts);
      if (job.code !== 0) {
        expect(job.stderr, c.name).toMatch(
          /The Job "minio-restarter" is invalid: spec\.template: Invalid value: .*field is immutable/,
        );
        expect(find(c.objs, 'Job', 'minio-restarter').metadata).toMatchObject({
          annotations: { 'kustomize.toolkit.fluxcd.io/force': 'enabled' },
        });
      }
    }
    // Nothing was changed by the dry runs.
    const stillClaims = (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items;
    expect(stillClaims.every((c) => c.spec!.resources!.requests!.storage === '8Gi')).toBe(true);
    mark('3 changes dry-run');

    // The negative control: the first StatefulSet with its claim template grown is refused.
    const edited = structuredClone(find(size!.objs, 'StatefulSet', 'minio'));
    edited.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '20Gi';
    const control = apply(cp, [edited], true);
    expect(control.code).not.toBe(0);
    expect(control.stderr).toMatch(
      /^The StatefulSet "minio" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', .* are forbidden$/m,
    );

    // The pool for real: both StatefulSets ready, then the restarter replaces the first pool's servers.
    const before = await serverPods(cp, ns);
    await applyBuild(cp, pools!.objs);
    const newHash = hashOf(pool2.spec.template.metadata.labels);
    await statefulSet(cp, ns, 'minio-pool-2', 'with 4 ready servers', rolledOut(4));
    // The first pool's StatefulSet selects the new pool's pods too (its selector cannot change) but owns only its own.
    const waiting = await statefulSet(
      cp,
      ns,
      'minio',
      'seeing the new template',
      (s) => s.status?.updateRevision !== s.status?.currentRevision,
    );
    expect(waiting.status).toMatchObject({ replicas: 4, readyReplicas: 4 });
    expect(
      (await serverPods(cp, ns))
        .filter((p) => p.metadata!.name!.startsWith('minio-pool-2-'))
        .every((p) => p.metadata!.ownerReferences?.[0]?.name === 'minio-pool-2'),
    ).toBe(true);
    const restarterKubeconfig = await serviceAccountKubeconfig(cp, ns, 'minio-restarter');
    const ran = restarterCommand(pools!.objs).run(restarterKubeconfig);
    expect(ran.code, ran.stderr).toBe(0);
    expect([...ran.stdout.matchAll(/^pod "([^"]+)" deleted/gm)].map((m) => m[1]).sort()).toEqual([
      'minio-0',
      'minio-1',
      'minio-2',
      'minio-3',
    ]);
    const rolled = await statefulSet(cp, ns, 'minio', 'rolled out to the new revision', rolledOut(4));
    const all = await until('8 ready servers of the new configuration', 60, async () => {
      const pods = await serverPods(cp, ns);
      return pods.length === 8 &&
        pods.every((p) => isReady(p) && hashOf(p.metadata!.labels) === newHash && !p.metadata!.deletionTimestamp)
        ? pods
        : undefined;
    });
    const pool2Set = await statefulSet(cp, ns, 'minio-pool-2', 'rolled out', rolledOut(4));
    for (const p of all)
      expect(p.metadata!.labels!['controller-revision-hash'], p.metadata!.name).toBe(
        (p.metadata!.name!.startsWith('minio-pool-2-') ? pool2Set : rolled).status!.updateRevision,
      );
    const oldUids = new Set(before.map((p) => p.metadata!.uid));
    expect(all.filter((p) => oldUids.has(p.metadata!.uid)).length).toBe(0);
    expect(
      all
        .map((p) => p.spec!.containers[0]!.env!.find((e) => e.name === 'MINIO_VOLUMES')!.value)
        .every((v) => v === pool2.spec.template.spec.containers[0].env[0].value),
    ).toBe(true);
    const noop = restarterCommand(pools!.objs).run(restarterKubeconfig);
    expect(noop.stdout + noop.stderr).toMatch(/No resources found/);
    mark('pool added for real');
    console.log(`Day-2 dry runs and a real pool: ${JSON.stringify(lap)} (s from the test's start)`);
  }, 420_000);
});
