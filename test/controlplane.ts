// A real Kubernetes control plane for tests: the etcd + kube-apiserver of test/cluster.ts,
// plus kube-controller-manager and kube-scheduler (the same pinned Kubernetes, from
// tools/install-controlplane.sh) and kwok, which plays the nodes' kubelets. Workloads get
// their status from the real controllers: the scheduler binds pods to the kwok nodes, kwok
// marks them Running and Ready (and the pods of a Job Succeeded), and the controller manager
// computes Deployment, ReplicaSet, StatefulSet and Job status, creates each namespace's
// `default` ServiceAccount and `kube-root-ca.crt`, binds PersistentVolumeClaims, collects
// garbage. Storage: a default StorageClass `standard` (WaitForFirstConsumer, as most managed
// clusters' default is) whose provisioner is simulated by a kwok Stage: for a claim the
// PV controller hands to that provisioner (after the scheduler picked a node), it creates a
// PersistentVolume pre-bound to the claim, as an external provisioner does; the PV
// controller binds them. No container runs, no volume is mounted, no DNS or Service
// networking exists: kwok only writes statuses. A pod labelled KWOK_FAIL_LABEL=true fails
// instead (kwok's own chaos Stage: its containers exit 1, 1 to 2 s after it runs), so a
// Job can fail through the Job controller's real retries and backoff limit.
// Every server listens on 127.0.0.1 only: the controller manager and the scheduler serve
// nothing (--secure-port 0), kwok's own server is off.
//
// The API, for the test files:
// - needControlPlane(ctx): the binaries, or skip (locally) / fail (CI) the test;
// - startControlPlane(dir, opts): one control plane in `dir`; the caller calls stop();
// - fileControlPlane(opts): one for a whole test file, as fileCluster in test/cluster.ts;
// - statusWriters(o): who wrote an object's status subresource (its managedFields);
// - until(what, seconds, check, diagnose?, alive?): a bounded poll, for the tests' waits;
// - ControlPlane.pause(component): SIGSTOP a component (resume() sends SIGCONT), to see a
//   state the controllers would otherwise leave at once (a spec change not yet observed).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { startCluster, type Cluster } from './cluster.ts';
import { REPO, unavailable } from './tools.ts';

const TOOLS_BIN = join(REPO, '.tools', 'bin');
const KWOK_STAGES = join(REPO, '.tools', 'kwok', 'stages');
/** The Stage files tools/install-controlplane.sh copies from kwok's module. */
const STAGE_FILES = [
  'node-initialize.yaml',
  'node-heartbeat-with-lease.yaml',
  'pod-ready.yaml',
  'pod-complete.yaml',
  'pod-delete.yaml',
  'pod-container-running-failed.yaml',
];
const TOOLS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type ControlPlaneBin = Record<(typeof TOOLS)[number], string>;
/** The components startControlPlane runs beside etcd and kube-apiserver (the field managers of what they write). */
export const CONTROLLERS = ['kube-controller-manager', 'kube-scheduler', 'kwok'] as const;
export type Component = (typeof CONTROLLERS)[number];
/** A pod label: with the value "true", kwok fails the pod's containers (exit 1) once it runs. */
export const KWOK_FAIL_LABEL = 'pod-container-running-failed.stage.kwok.x-k8s.io';

/** What is missing of the control plane: binaries, or kwok's Stage files. */
function missingParts(): string[] {
  const stages = STAGE_FILES.filter((f) => !existsSync(join(KWOK_STAGES, f)));
  return [
    ...TOOLS.filter((t) => !existsSync(join(TOOLS_BIN, t))),
    ...(stages.length ? [`kwok Stages ${stages.join(', ')}`] : []),
  ];
}

/** The control plane's binaries, or undefined when one (or one of kwok's Stage files) is missing. */
export function controlPlaneBin(): ControlPlaneBin | undefined {
  if (missingParts().length > 0) return undefined;
  return Object.fromEntries(TOOLS.map((t) => [t, join(TOOLS_BIN, t)])) as ControlPlaneBin;
}

/** The control plane's binaries, or: skip the test (locally) / fail it (CI). */
export function needControlPlane(ctx: { skip: (note?: string) => void }): ControlPlaneBin {
  const bin = controlPlaneBin();
  if (bin) return bin;
  return unavailable(
    ctx,
    `the control plane is not available (missing: ${missingParts().join(', ')}): run \`bash tools/install.sh\` (needs Go)`,
  );
}

type Managed = { metadata?: { managedFields?: k8s.V1ManagedFieldsEntry[] } };
/**
 * Who wrote an object: the field managers in its managedFields, of its status subresource
 * (`status`) and of anything (`all`), each sorted. The components here write as
 * 'kube-controller-manager', 'kube-scheduler' and 'kwok' (CONTROLLERS); a test names
 * itself with the fieldManager of its writes.
 */
export function statusWriters(o: Managed): { status: string[]; all: string[] } {
  const fields = o.metadata?.managedFields ?? [];
  const names = (f: k8s.V1ManagedFieldsEntry[]) => [...new Set(f.map((x) => x.manager ?? ''))].sort();
  return { status: names(fields.filter((f) => f.subresource === 'status')), all: names(fields) };
}

export interface ControlPlane extends Cluster {
  /** The kwok nodes, Ready, labelled kubernetes.io/hostname=<name>. */
  nodes: string[];
  /** The default StorageClass (its provisioner is kwok's simulated one). */
  storageClass: string;
  /** Seconds from the call: the API server up (CRDs installed), and everything ready. */
  timings: { cluster: number; ready: number };
  /** The last lines each process wrote to stderr. */
  logs: () => string;
  /** Stops a component (SIGSTOP) until the returned function resumes it (SIGCONT); stop() kills it either way. */
  pause: (component: Component) => () => void;
}

/** The annotation kwok selects its nodes by (as kwok's documentation sets it). */
const KWOK_NODE = { key: 'kwok.x-k8s.io/node', value: 'fake' };
const PROVISIONER = 'kwok.x-k8s.io/volume';

/**
 * kwok Stages for the volumes: an external provisioner's part, simulated. A claim whose
 * StorageClass names PROVISIONER gets that annotation from the PV controller when it is to
 * be provisioned (for WaitForFirstConsumer, after the scheduler set the selected node);
 * the Stage then creates a PersistentVolume pre-bound to it (claimRef), on the selected
 * node, and the PV controller binds the two. A Released volume of this provisioner with
 * the Delete policy is deleted, as the provisioner would.
 */
function volumeStages(): string {
  return `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pvc-provision
spec:
  resourceRef:
    apiGroup: v1
    kind: PersistentVolumeClaim
  selector:
    matchAnnotations:
      volume.kubernetes.io/storage-provisioner: ${PROVISIONER}
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.spec.volumeName'
      operator: 'DoesNotExist'
  steps:
  - apply:
      template: |
        apiVersion: v1
        kind: PersistentVolume
        metadata:
          name: pvc-{{ .metadata.uid }}
          annotations:
            pv.kubernetes.io/provisioned-by: ${PROVISIONER}
        spec:
          accessModes: {{ toJson .spec.accessModes }}
          capacity:
            storage: {{ .spec.resources.requests.storage | Quote }}
          persistentVolumeReclaimPolicy: Delete
          storageClassName: {{ .spec.storageClassName | Quote }}
          volumeMode: {{ or .spec.volumeMode "Filesystem" | Quote }}
          claimRef:
            apiVersion: v1
            kind: PersistentVolumeClaim
            namespace: {{ .metadata.namespace | Quote }}
            name: {{ .metadata.name | Quote }}
            uid: {{ .metadata.uid | Quote }}
          hostPath:
            path: /var/lib/kwok-volumes/pvc-{{ .metadata.uid }}
            type: DirectoryOrCreate
          {{ with index .metadata.annotations "volume.kubernetes.io/selected-node" }}
          nodeAffinity:
            required:
              nodeSelectorTerms:
              - matchExpressions:
                - key: kubernetes.io/hostname
                  operator: In
                  values: [{{ . | Quote }}]
          {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pv-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: PersistentVolume
  selector:
    matchAnnotations:
      pv.kubernetes.io/provisioned-by: ${PROVISIONER}
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.spec.persistentVolumeReclaimPolicy'
      operator: 'In'
      values: ['Delete']
    - key: '.status.phase'
      operator: 'In'
      values: ['Released']
  steps:
  - delete: true
`;
}

/**
 * etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok in `dir`, with
 * `opts.nodes` (default 4) kwok nodes named kwok-node-0 ... and the default StorageClass.
 * `opts.crdFiles` as for startCluster (undefined: its default CRD directories). Resolves
 * when the nodes are Ready and the controller manager has made the `default` namespace's
 * ServiceAccount and root CA ConfigMap. The caller stops it (stop()) when its test ends.
 */
export async function startControlPlane(
  dir: string,
  opts: { bin?: ControlPlaneBin; nodes?: number; crdFiles?: string[]; seconds?: number } = {},
): Promise<ControlPlane> {
  const bin = opts.bin ?? controlPlaneBin();
  if (!bin) throw new Error('the control plane is not available: run `bash tools/install.sh` (needs Go)');
  const began = Date.now();
  const cluster = await startCluster(
    dir,
    { etcd: bin.etcd, apiserver: bin['kube-apiserver'] },
    opts.crdFiles ? { crdFiles: opts.crdFiles } : undefined,
  );
  const clusterSeconds = (Date.now() - began) / 1000;
  const pki = join(dir, 'pki'); // where startCluster keeps the CA, sa.key and the client certificates
  const procs: { name: string; proc: ChildProcess }[] = [];
  const logs: Record<string, string> = {};
  const allLogs = () =>
    Object.entries(logs)
      .map(([name, text]) => `--- ${name}:\n${text.slice(-4000)}`)
      .join('\n');
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    for (const { proc } of procs.reverse())
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    cluster.stop();
  };
  // A safety net: no process outlives the test process.
  process.once('exit', stop);
  const run = (name: string, args: string[], env: Record<string, string> = {}) => {
    const home = join(dir, name);
    mkdirSync(home, { recursive: true });
    const proc = spawn(bin[name as keyof ControlPlaneBin], args, {
      cwd: home,
      env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    logs[name] = '';
    proc.stderr!.on('data', (d) => (logs[name] = `${logs[name]}${d}`.slice(-20000)));
    procs.push({ name, proc });
  };

  try {
    const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    // The API server ready (its RBAC bootstrap roles made), else the components' first lists are forbidden.
    const health = new k8s.Health(cluster.kc);
    const readyBy = Date.now() + 60_000;
    while (!(await health.readyz({}).catch(() => false))) {
      if (Date.now() > readyBy) throw new Error('kube-apiserver was not ready (/readyz) in 60 s');
      await new Promise((r) => setTimeout(r, 200));
    }
    const storage = cluster.kc.makeApiClient(k8s.StorageV1Api);
    const rbac = cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);

    // Each component with its own client certificate, as kubeadm sets them up: the
    // controller manager's and the scheduler's users have their bootstrap RBAC roles; kwok
    // (a stand-in for every kubelet, and the volume provisioner) is bound to cluster-admin.
    const kcm = cluster.userKubeconfig('system:kube-controller-manager');
    const scheduler = cluster.userKubeconfig('system:kube-scheduler');
    const kwok = cluster.userKubeconfig('kwok');
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'kwok' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'kwok' }],
      },
    });

    // The cluster's default StorageClass, as an admin (or the cloud) sets it up.
    const storageClass = 'standard';
    await storage.createStorageClass({
      body: {
        metadata: { name: storageClass, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
        provisioner: PROVISIONER,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'WaitForFirstConsumer',
      },
    });

    // The nodes, as each kubelet registers its own; kwok keeps their status from then on.
    const nodes = Array.from({ length: opts.nodes ?? 4 }, (_, i) => `kwok-node-${i}`);
    for (const name of nodes) {
      await core.createNode({
        body: {
          metadata: {
            name,
            annotations: { [KWOK_NODE.key]: KWOK_NODE.value },
            labels: {
              'kubernetes.io/hostname': name,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': 'amd64',
              type: 'kwok',
            },
          },
        },
      });
    }

    run('kube-controller-manager', [
      '--kubeconfig',
      kcm,
      // One service account per controller, as kubeadm runs it.
      '--use-service-account-credentials=true',
      '--service-account-private-key-file',
      join(pki, 'sa.key'),
      '--root-ca-file',
      join(pki, 'ca.crt'),
      '--cluster-signing-cert-file',
      join(pki, 'ca.crt'),
      '--cluster-signing-key-file',
      join(pki, 'ca.key'),
      '--controllers',
      '*',
      '--leader-elect=false',
      '--bind-address',
      '127.0.0.1',
      '--secure-port',
      '0',
    ]);
    run('kube-scheduler', [
      '--kubeconfig',
      scheduler,
      '--leader-elect=false',
      '--bind-address',
      '127.0.0.1',
      '--secure-port',
      '0',
    ]);
    const stages = STAGE_FILES.map((f) => join(KWOK_STAGES, f));
    mkdirSync(join(dir, 'kwok'), { recursive: true });
    // The nodes' capacity as a kubelet reports it, local ephemeral storage included: kwok's
    // default has none, and the scheduler would then refuse every pod that requests some.
    const initialize = readFileSync(join(KWOK_STAGES, 'node-initialize.yaml'), 'utf8');
    const withStorage = initialize.replace(/^( +)pods: 1M$/gm, '$1pods: 1M\n$1ephemeral-storage: 1Ti');
    if (withStorage.split('ephemeral-storage: 1Ti').length !== 3)
      throw new Error(
        `kwok's node-initialize.yaml has not the default capacity and allocatable this test extends (pods: 1M): ${KWOK_STAGES}`,
      );
    writeFileSync(join(dir, 'kwok', 'node-initialize.yaml'), withStorage);
    stages[STAGE_FILES.indexOf('node-initialize.yaml')] = join(dir, 'kwok', 'node-initialize.yaml');
    writeFileSync(join(dir, 'kwok', 'volume-stages.yaml'), volumeStages());
    stages.push(join(dir, 'kwok', 'volume-stages.yaml'));
    // HOME is kwok's own directory, so no ~/.kwok/kwok.yaml of the user's is read.
    run('kwok', [
      '--kubeconfig',
      kwok,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector',
      `${KWOK_NODE.key}=${KWOK_NODE.value}`,
      '--node-lease-duration-seconds',
      '40',
      ...stages.flatMap((f) => ['--config', f]),
    ]);

    const deadline = Date.now() + (opts.seconds ?? 90) * 1000;
    let state = 'nothing read yet';
    for (;;) {
      const exited = procs.find(({ proc }) => proc.exitCode !== null || proc.signalCode !== null);
      if (exited)
        throw new Error(`${exited.name} exited (${exited.proc.exitCode ?? exited.proc.signalCode}): ${allLogs()}`);
      try {
        const ready = (await core.listNode()).items.filter((n) =>
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ).length;
        const sa = await core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }).then(
          () => true,
          () => false,
        );
        const ca = await core.readNamespacedConfigMap({ name: 'kube-root-ca.crt', namespace: 'default' }).then(
          () => true,
          () => false,
        );
        state = `${ready}/${nodes.length} nodes Ready, default ServiceAccount ${sa ? 'made' : 'missing'}, kube-root-ca.crt ${ca ? 'made' : 'missing'}`;
        if (ready === nodes.length && sa && ca) break;
      } catch (error) {
        state = (error as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`the control plane was not ready in time (${state}): ${allLogs()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const pause = (component: Component) => {
      const { proc } = procs.find((p) => p.name === component)!;
      proc.kill('SIGSTOP');
      let resumed = false;
      return () => {
        if (resumed || stopped) return;
        resumed = true;
        proc.kill('SIGCONT');
      };
    };
    return {
      ...cluster,
      stop,
      nodes,
      storageClass,
      timings: { cluster: clusterSeconds, ready: (Date.now() - began) / 1000 },
      logs: allLogs,
      pause,
    };
  } catch (error) {
    stop();
    throw error;
  }
}

type Ctx = { skip: (note?: string) => void };

/**
 * One control plane for a whole test file, as fileCluster (test/cluster.ts) gives a plain
 * cluster: started before the file's tests when its tools are there and `opts.available()`,
 * stopped after them. The returned function gives it to a test, after needControlPlane and
 * `opts.need(ctx)` have skipped (locally) or failed (CI) the test when something is missing.
 */
export function fileControlPlane(opts: {
  prefix: string;
  available?: () => boolean;
  need?: (ctx: Ctx) => void;
  crdFiles?: () => string[];
  nodes?: number;
  started?: (cp: ControlPlane) => void | Promise<void>;
}): (ctx: Ctx) => ControlPlane {
  let cp: ControlPlane | undefined;
  let setupError: string | undefined;
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  beforeAll(async () => {
    const bin = controlPlaneBin();
    if (!bin || !(opts.available?.() ?? true)) return;
    try {
      cp = await startControlPlane(dir, { bin, nodes: opts.nodes, crdFiles: opts.crdFiles?.() });
      console.log(
        `control plane: API server up in ${cp.timings.cluster.toFixed(1)} s, controllers and ${cp.nodes.length} kwok nodes ready in ${cp.timings.ready.toFixed(1)} s`,
      );
      await opts.started?.(cp);
    } catch (error) {
      setupError = (error as Error).message;
    }
  }, 180_000);
  afterAll(() => {
    cp?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return (ctx) => {
    needControlPlane(ctx);
    opts.need?.(ctx);
    if (!cp) throw new Error(`the control plane did not start: ${setupError}`);
    return cp;
  };
}

/**
 * Polls `check` (bounded in count and time) until it returns a value; on timeout the last
 * state and `diagnose()`. `alive` throws when a process it depends on has exited: no use
 * waiting then.
 */
export async function until<T>(
  what: string,
  seconds: number,
  check: () => Promise<T | undefined>,
  diagnose: () => Promise<string> = async () => '',
  alive: () => void = () => {},
): Promise<T> {
  const began = Date.now();
  let last = '';
  for (let i = 0; i < seconds * 4 + 1; i++) {
    try {
      alive();
    } catch (error) {
      throw new Error(`${what}: ${(error as Error).message}\n${await diagnose().catch((e) => String(e))}`, {
        cause: error,
      });
    }
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() - began > seconds * 1000) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `${what}: not reached in ${seconds} s${last ? ` (last error: ${last})` : ''}\n${await diagnose().catch((e) => String(e))}`,
  );
}
