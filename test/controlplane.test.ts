// The control plane of test/controlplane.ts, proven: a Deployment, a StatefulSet with
// volume claim templates and required anti-affinity, and a Job reach their ready / complete
// states through the real kube-controller-manager, kube-scheduler and kwok's simulated
// kubelets; the test only creates the objects, as a user (or a GitOps engine) does, and
// checks in each object's managedFields that every status was written by those components.
// And the other way: a pod no node can take stays Pending (its Deployment not Available),
// a Job whose pods fail (kwok's failure label) is Failed by the Job controller after its
// retries, and a paused controller manager leaves a spec change unobserved.
import { describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import {
  CONTROLLERS,
  fileControlPlane,
  KWOK_FAIL_LABEL,
  statusWriters as managers,
  type ControlPlane,
} from './controlplane.ts';

const TEST = 'test'; // the field manager of everything this test writes
const NS = 'apps';

let cp: ControlPlane | undefined;
const controlPlane = fileControlPlane({
  prefix: 'minio-gitops-controlplane-',
  crdFiles: () => [], // no CRDs: these are all built-in kinds
  started: async (started) => {
    cp = started;
    await started.kc
      .makeApiClient(k8s.CoreV1Api)
      .createNamespace({ body: { metadata: { name: NS } }, fieldManager: TEST });
  },
});

/** Polls `check` (bounded in time) until it returns a value; the last state in the error. */
async function until<T>(
  what: string,
  seconds: number,
  check: () => Promise<T | undefined>,
  describeState: () => Promise<string>,
): Promise<{ value: T; seconds: number }> {
  const began = Date.now();
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return { value, seconds: (Date.now() - began) / 1000 };
    if (Date.now() - began > seconds * 1000)
      throw new Error(
        `${what}: not reached in ${seconds} s: ${await describeState().catch((e) => String(e))}\n${cp?.logs().slice(-6000)}`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

type Managed = { metadata?: { managedFields?: k8s.V1ManagedFieldsEntry[] } };
function expectStatusBy(o: Managed, expected: string[], what: string) {
  const m = managers(o);
  expect(m.status, `${what}: status managers`).toEqual(expect.arrayContaining(expected));
  expect(
    m.status.filter((x) => !(CONTROLLERS as readonly string[]).includes(x)),
    `${what}: status written by someone else`,
  ).toEqual([]);
}

const labels = (app: string) => ({ 'app.kubernetes.io/name': app });
const container = { name: 'app', image: 'registry.invalid/app:1', ports: [{ containerPort: 8080 }] };

describe('a real control plane: kube-controller-manager, kube-scheduler and kwok nodes', () => {
  it('the controller manager makes each namespace its default ServiceAccount and root CA', async (ctx) => {
    const c = controlPlane(ctx);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const { value: sa } = await until(
      'the default ServiceAccount',
      30,
      () => core.readNamespacedServiceAccount({ name: 'default', namespace: NS }),
      async () => 'missing',
    );
    expect(managers(sa).all).not.toContain(TEST); // an empty object: no managed fields to name its writer
    const cm = await core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: NS });
    expect(cm.data?.['ca.crt']).toContain('BEGIN CERTIFICATE');
    expect(managers(cm).all).toEqual(['kube-controller-manager']);
    const nodes = (await core.listNode()).items;
    expect(nodes.map((n) => n.metadata!.name).sort()).toEqual(c.nodes);
    for (const n of nodes) {
      expect(n.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
      expectStatusBy(n, ['kwok'], `node ${n.metadata!.name}`);
    }
  });

  it('a Deployment becomes Available with its ready replicas, its pods scheduled and Running', async (ctx) => {
    const c = controlPlane(ctx);
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const began = Date.now();
    await apps.createNamespacedDeployment({
      namespace: NS,
      fieldManager: TEST,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: labels('web') },
          template: { metadata: { labels: labels('web') }, spec: { containers: [container] } },
        },
      },
    });
    const read = () => apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    const { value: d } = await until(
      'Deployment web Available',
      90,
      async () => {
        const d = await read();
        const available = d.status?.conditions?.find((x) => x.type === 'Available')?.status === 'True';
        return available &&
          d.status?.readyReplicas === 3 &&
          d.status.availableReplicas === 3 &&
          d.status.updatedReplicas === 3 &&
          d.status.observedGeneration === d.metadata!.generation
          ? d
          : undefined;
      },
      async () => JSON.stringify((await read()).status),
    );
    console.log(
      `Deployment Available with 3 ready replicas ${((Date.now() - began) / 1000).toFixed(1)} s after it was created`,
    );
    expectStatusBy(d, ['kube-controller-manager'], 'Deployment');
    expect(managers(d).all).toEqual(['kube-controller-manager', TEST]);

    const rs = (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app.kubernetes.io/name=web' }))
      .items;
    expect(rs).toHaveLength(1);
    expect(rs[0]!.status?.readyReplicas).toBe(3);
    expect(managers(rs[0]!).all).toEqual(['kube-controller-manager']);

    const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/name=web' })).items;
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(c.nodes).toContain(p.spec?.nodeName);
      expect(p.status?.phase).toBe('Running');
      expect(p.status?.podIP).toBeTruthy();
      expect(p.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
      // Created by the ReplicaSet controller, its status written by kwok (the kubelet's part).
      expect(managers(p).all).not.toContain(TEST);
      expectStatusBy(p, ['kwok'], `pod ${p.metadata!.name}`);
    }

    // A rollout, as a changed manifest makes: a new ReplicaSet scaled up, the old pods
    // deleted (terminating, then removed by kwok as a kubelet does), the old ReplicaSet at 0.
    const rolled = Date.now();
    await apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: NS,
        fieldManager: TEST,
        body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'registry.invalid/app:2' }],
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    await until(
      'Deployment web rolled out',
      90,
      async () => {
        const d = await read();
        const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/name=web' }))
          .items;
        const done =
          d.status?.observedGeneration === d.metadata!.generation &&
          d.status?.updatedReplicas === 3 &&
          d.status.readyReplicas === 3 &&
          d.status.replicas === 3;
        return done &&
          pods.length === 3 &&
          pods.every((p) => p.spec?.containers[0]?.image === 'registry.invalid/app:2' && p.status?.phase === 'Running')
          ? true
          : undefined;
      },
      async () => JSON.stringify((await read()).status),
    );
    console.log(`Deployment rolled out to a new image in ${((Date.now() - rolled) / 1000).toFixed(1)} s`);
    const sets = (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app.kubernetes.io/name=web' }))
      .items;
    expect(sets.map((x) => x.status?.replicas).sort()).toEqual([0, 3]);
    expect(pods.map((p) => p.metadata!.name)).not.toContain(
      (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/name=web' })).items[0]!.metadata!
        .name,
    );
  });

  it('a StatefulSet (4 replicas, required anti-affinity, volume claim templates) gets 4 ready pods on 4 nodes and Bound volumes', async (ctx) => {
    const c = controlPlane(ctx);
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const discovery = c.kc.makeApiClient(k8s.DiscoveryV1Api);
    const began = Date.now();
    await core.createNamespacedService({
      namespace: NS,
      fieldManager: TEST,
      body: {
        metadata: { name: 'store-hl' },
        spec: { clusterIP: 'None', selector: labels('store'), ports: [{ name: 'http', port: 8080 }] },
      },
    });
    await apps.createNamespacedStatefulSet({
      namespace: NS,
      fieldManager: TEST,
      body: {
        metadata: { name: 'store' },
        spec: {
          replicas: 4,
          serviceName: 'store-hl',
          podManagementPolicy: 'Parallel',
          selector: { matchLabels: labels('store') },
          template: {
            metadata: { labels: labels('store') },
            spec: {
              affinity: {
                podAntiAffinity: {
                  requiredDuringSchedulingIgnoredDuringExecution: [
                    { labelSelector: { matchLabels: labels('store') }, topologyKey: 'kubernetes.io/hostname' },
                  ],
                },
              },
              containers: [{ ...container, volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
            },
          },
          // No storageClassName: the cluster's default class, as the rendered MinIO leaves it.
          volumeClaimTemplates: [
            {
              metadata: { name: 'data' },
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '8Gi' } } },
            },
          ],
        },
      },
    });
    const read = () => apps.readNamespacedStatefulSet({ name: 'store', namespace: NS });
    const { value: s } = await until(
      'StatefulSet store ready',
      120,
      async () => {
        const s = await read();
        return s.status?.readyReplicas === 4 &&
          s.status.availableReplicas === 4 &&
          s.status.currentReplicas === 4 &&
          s.status.observedGeneration === s.metadata!.generation
          ? s
          : undefined;
      },
      async () => JSON.stringify((await read()).status),
    );
    console.log(
      `StatefulSet with 4 ready replicas and Bound volumes ${((Date.now() - began) / 1000).toFixed(1)} s after it was created`,
    );
    expectStatusBy(s, ['kube-controller-manager'], 'StatefulSet');

    const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/name=store' })).items;
    expect(pods.map((p) => p.metadata!.name).sort()).toEqual(['store-0', 'store-1', 'store-2', 'store-3']);
    // Required anti-affinity: the scheduler put each on its own node.
    expect(new Set(pods.map((p) => p.spec!.nodeName)).size).toBe(4);
    const nodeOf = Object.fromEntries(pods.map((p) => [p.metadata!.name!, p.spec!.nodeName!]));

    for (let i = 0; i < 4; i++) {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: `data-store-${i}`, namespace: NS });
      expect(pvc.spec?.storageClassName).toBe(c.storageClass); // set by the DefaultStorageClass admission
      expect(pvc.status?.phase).toBe('Bound');
      expect(pvc.metadata?.annotations?.['volume.kubernetes.io/selected-node']).toBe(nodeOf[`store-${i}`]);
      expectStatusBy(pvc, ['kube-controller-manager'], `PVC data-store-${i}`);
      expect(managers(pvc).all).not.toContain(TEST);
      const pv = await core.readPersistentVolume({ name: pvc.spec!.volumeName! });
      expect(pv.status?.phase).toBe('Bound');
      expect(pv.spec?.claimRef).toMatchObject({ namespace: NS, name: `data-store-${i}`, uid: pvc.metadata!.uid });
      expect(pv.spec?.capacity?.storage).toBe('8Gi');
      // Provisioned on the pod's node (WaitForFirstConsumer), bound by the PV controller.
      expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms?.[0]?.matchExpressions?.[0]?.values).toEqual([
        nodeOf[`store-${i}`],
      ]);
      expectStatusBy(pv, ['kube-controller-manager'], `PV ${pv.metadata!.name}`);
      expect(managers(pv).all).toContain('kwok');
    }

    // The endpoint slice controller publishes the ready pods' addresses (kwok gave them IPs).
    const { value: ready } = await until(
      'EndpointSlice of store-hl with 4 ready endpoints',
      30,
      async () => {
        const slices = (
          await discovery.listNamespacedEndpointSlice({
            namespace: NS,
            labelSelector: 'kubernetes.io/service-name=store-hl',
          })
        ).items;
        const ready = slices.flatMap((x) => x.endpoints ?? []).filter((e) => e.conditions?.ready);
        return ready.length === 4 ? ready : undefined;
      },
      async () => 'fewer',
    );
    expect(ready.map((e) => e.targetRef?.name).sort()).toEqual(['store-0', 'store-1', 'store-2', 'store-3']);
  });

  it('a Job completes (Complete, succeeded 1): its pod Succeeded on a kwok node', async (ctx) => {
    const c = controlPlane(ctx);
    const batch = c.kc.makeApiClient(k8s.BatchV1Api);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const began = Date.now();
    await batch.createNamespacedJob({
      namespace: NS,
      fieldManager: TEST,
      body: {
        metadata: { name: 'once' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'run', image: 'registry.invalid/job:1', command: ['true'] }],
            },
          },
        },
      },
    });
    const read = () => batch.readNamespacedJob({ name: 'once', namespace: NS });
    const { value: j } = await until(
      'Job once Complete',
      90,
      async () => {
        const j = await read();
        return j.status?.conditions?.some((x) => x.type === 'Complete' && x.status === 'True') ? j : undefined;
      },
      async () => JSON.stringify((await read()).status),
    );
    console.log(`Job Complete ${((Date.now() - began) / 1000).toFixed(1)} s after it was created`);
    expect(j.status?.succeeded).toBe(1);
    expect(j.status?.failed ?? 0).toBe(0);
    expect(j.status?.completionTime).toBeTruthy();
    expectStatusBy(j, ['kube-controller-manager'], 'Job');
    expect(managers(j).all).toEqual(['kube-controller-manager', TEST]);

    const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: `batch.kubernetes.io/job-name=once` }))
      .items;
    expect(pods).toHaveLength(1);
    const pod = pods[0]!;
    expect(pod.status?.phase).toBe('Succeeded');
    expect(pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    expect(c.nodes).toContain(pod.spec?.nodeName);
    expectStatusBy(pod, ['kwok'], 'Job pod');
    // The job controller tracked it and let go: no job-tracking finalizer left.
    expect(pod.metadata?.finalizers ?? []).toEqual([]);
  });

  it('and not everything is ready: an unschedulable pod stays Pending, failing Job pods fail the Job, a paused controller leaves a change unobserved', async (ctx) => {
    const c = controlPlane(ctx);
    const apps = c.kc.makeApiClient(k8s.AppsV1Api);
    const batch = c.kc.makeApiClient(k8s.BatchV1Api);
    const core = c.kc.makeApiClient(k8s.CoreV1Api);
    const began = Date.now();
    // A node selector no kwok node matches: the scheduler cannot place the pod, kwok never sees it.
    await apps.createNamespacedDeployment({
      namespace: NS,
      fieldManager: TEST,
      body: {
        metadata: { name: 'nowhere' },
        spec: {
          replicas: 1,
          selector: { matchLabels: labels('nowhere') },
          template: {
            metadata: { labels: labels('nowhere') },
            spec: { nodeSelector: { 'node-type': 'gpu' }, containers: [container] },
          },
        },
      },
    });
    // A Job whose pods kwok fails (exit 1), with one retry.
    await batch.createNamespacedJob({
      namespace: NS,
      fieldManager: TEST,
      body: {
        metadata: { name: 'fails' },
        spec: {
          backoffLimit: 1,
          template: {
            metadata: { labels: { [KWOK_FAIL_LABEL]: 'true' } },
            spec: {
              restartPolicy: 'Never',
              containers: [{ name: 'run', image: 'registry.invalid/job:1', command: ['false'] }],
            },
          },
        },
      },
    });
    const readJob = () => batch.readNamespacedJob({ name: 'fails', namespace: NS });
    const { value: j } = await until(
      'Job fails Failed',
      60,
      async () =>
        (await readJob()).status?.conditions?.some((x) => x.type === 'Failed' && x.status === 'True')
          ? readJob()
          : undefined,
      async () => JSON.stringify((await readJob()).status),
    );
    console.log(`Job with failing pods Failed ${((Date.now() - began) / 1000).toFixed(1)} s after it was created`);
    expect(j.status?.failed).toBe(2);
    expect(j.status?.succeeded ?? 0).toBe(0);
    expect(j.status?.conditions?.find((x) => x.type === 'Failed')).toMatchObject({
      reason: 'BackoffLimitExceeded',
      message: 'Job has reached the specified backoff limit',
    });
    expectStatusBy(j, ['kube-controller-manager'], 'failed Job');
    const jobPods = (
      await core.listNamespacedPod({ namespace: NS, labelSelector: 'batch.kubernetes.io/job-name=fails' })
    ).items;
    expect(
      jobPods.map((p) => `${p.status?.phase} ${p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode}`),
    ).toEqual(['Failed 1', 'Failed 1']);
    for (const p of jobPods) expectStatusBy(p, ['kwok'], `failed pod ${p.metadata!.name}`);

    // By now (more than 10 s on) the unschedulable pod has long had its chance.
    const d = await apps.readNamespacedDeployment({ name: 'nowhere', namespace: NS });
    expect(d.status?.readyReplicas ?? 0).toBe(0);
    expect(d.status?.conditions?.find((x) => x.type === 'Available')?.status).toBe('False');
    const [pod, ...more] = (
      await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/name=nowhere' })
    ).items;
    expect(more).toEqual([]);
    expect(pod!.status?.phase).toBe('Pending');
    expect(pod!.spec?.nodeName).toBeUndefined();
    expect(pod!.status?.conditions?.find((x) => x.type === 'PodScheduled')).toMatchObject({
      status: 'False',
      reason: 'Unschedulable',
    });
    expectStatusBy(pod!, ['kube-scheduler'], 'unschedulable pod');

    // The controller manager paused: a scale-up is not observed (generation ahead of
    // observedGeneration), then caught up once it resumes.
    const read = () => apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    const resume = c.pause('kube-controller-manager');
    let generation = 0;
    try {
      generation = (
        await apps.patchNamespacedDeployment(
          { name: 'web', namespace: NS, fieldManager: TEST, body: { spec: { replicas: 4 } } },
          k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
        )
      ).metadata!.generation!;
      await new Promise((r) => setTimeout(r, 1500));
      const stale = await read();
      expect(stale.status?.observedGeneration).toBeLessThan(generation);
      expect(stale.status?.replicas).toBe(3);
    } finally {
      resume();
    }
    const { seconds } = await until(
      'Deployment web at 4 ready replicas',
      60,
      async () => {
        const x = await read();
        return x.status?.observedGeneration === generation && x.status.readyReplicas === 4 ? x : undefined;
      },
      async () => JSON.stringify((await read()).status),
    );
    console.log(`the controller manager resumed: 4 ready replicas ${seconds.toFixed(1)} s later`);
  });
});
