// The restarter of an erasure-coded env: every server restarts together when their
// configuration changes. MinIO's servers check each other at start-up (the binary, the
// command line and every MINIO_* setting but the root credentials must match at least half
// of the peers), so a rolling update that restarts one server with a new image, scheme or
// setting stops at that server: it never becomes ready. The StatefulSets therefore update
// OnDelete, and their pods carry two hashes: of the base's pod template (BASE_LABEL, shared
// by every env: the image) and of the env's own patches and root credentials (CONFIG_LABEL).
// This Job, applied with them, deletes every server pod whose hashes differ, all at once:
// the StatefulSet controller starts them again (Parallel) from the new template, and they
// agree. It lives in the base with the base's hash, so a change of the base (made by a run
// for any env) changes every env's Job; the overlay patches in the env's hash.
// Kubernetes' own kubectl image (kubectl on a distroless go-runner base, no shell): one
// kubectl command per hash, in the pod's own namespace (in-cluster kubectl's default). It
// may list the env's pods and delete the servers, by name, nothing else; it reaches only
// the API server. Argo CD runs it after each sync (a PostSync hook, before the bucket
// bootstrap); Flux applies it with the StatefulSets and recreates it when a hash changes
// (force). With nothing outdated it deletes nothing.
import type { GlobalSettings, Options } from '../options.ts';
import { APP, metadata, RESTRICTED_CONTAINER, syncWave, WAVES } from './names.ts';
import { BASE_LABEL } from './workload.ts';

export const RESTARTER = 'minio-restarter';
/** The pod-template label holding the hash of the env's patches of the servers. */
export const CONFIG_LABEL = 'minio-gitops.io/config';
/** The restarter's containers: one per hash (the base's first, as an init container). */
export const OUTDATED_BASE = 'outdated-base';
export const OUTDATED_CONFIG = 'outdated-config';
/** A non-root uid for kubectl (the image itself would run as root). */
const KUBECTL_UID = 65532;
const SERVERS = `app.kubernetes.io/name=${APP},app.kubernetes.io/instance=${APP},app.kubernetes.io/component=server`;

/** The selector of the servers whose `label` is not `hash`: what the restarter deletes. */
export function outdatedServers(label: string, hash: string): string {
  return `${SERVERS},${label}!=${hash}`;
}

/** The kubectl arguments of one of the Job's containers. */
export function restartArgs(selector: string): string[] {
  // --wait=false: the Job needs no watch on the pods (least RBAC); the StatefulSet
  // controller recreates them once they are gone. --ignore-not-found: the other container
  // may have deleted a pod already.
  return ['delete', 'pod', '--selector', selector, '--ignore-not-found', '--wait=false', '--cache-dir=/tmp/kube-cache'];
}

/** Every server pod's name: the only pods the Job may delete. */
function serverPodNames(pools: { statefulSet: string; servers: number }[]): string[] {
  return pools.flatMap((p) => Array.from({ length: p.servers }, (_, i) => `${p.statefulSet}-${i}`));
}

const selector = { 'app.kubernetes.io/name': RESTARTER, 'app.kubernetes.io/instance': APP };

function kubectl(global: GlobalSettings, name: string, args: string[]) {
  return {
    name,
    image: global.kubectlImage,
    imagePullPolicy: 'IfNotPresent',
    args,
    env: [{ name: 'HOME', value: '/tmp' }],
    // ephemeral-storage: only its log is on the node's disk (/tmp is in memory).
    resources: {
      requests: { cpu: '10m', memory: '32Mi', 'ephemeral-storage': '16Mi' },
      limits: { cpu: '200m', memory: '128Mi', 'ephemeral-storage': '64Mi' },
    },
    securityContext: RESTRICTED_CONTAINER,
    volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
  };
}

function job(global: GlobalSettings, baseHash: string) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata(RESTARTER, 'restarter', {
      annotations: {
        // Argo CD: after every sync (MinIO healthy), before the bucket bootstrap (wave 2).
        'argocd.argoproj.io/hook': 'PostSync',
        'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
        ...syncWave(WAVES.consumers),
        // Flux: the hashes are in the Job's template, which cannot change in place.
        'kustomize.toolkit.fluxcd.io/force': 'enabled',
      },
    }),
    spec: {
      backoffLimit: 3,
      activeDeadlineSeconds: 300,
      template: {
        metadata: {
          labels: {
            ...selector,
            'app.kubernetes.io/component': 'restarter',
            'app.kubernetes.io/part-of': 'minio-gitops',
          },
        },
        spec: {
          serviceAccountName: RESTARTER,
          enableServiceLinks: false,
          restartPolicy: 'Never',
          securityContext: {
            runAsNonRoot: true,
            runAsUser: KUBECTL_UID,
            runAsGroup: KUBECTL_UID,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          initContainers: [kubectl(global, OUTDATED_BASE, restartArgs(outdatedServers(BASE_LABEL, baseHash)))],
          // Every overlay sets the env's hash; until then this selects no pod.
          containers: [kubectl(global, OUTDATED_CONFIG, restartArgs(`${SERVERS},${CONFIG_LABEL}=set-by-the-overlay`))],
          volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } }],
        },
      },
    },
  };
}

/** The restarter's shared objects, by file name, for base/distributed/. */
export function restarterBase(global: GlobalSettings, baseHash: string): Record<string, object> {
  return {
    'serviceaccount-restarter.yaml': {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: metadata(RESTARTER, 'restarter'),
    },
    // The API server only: its Service's port (443) or, after the Service's DNAT that most
    // network plugins apply policies after, its own (6443 on most clusters). No DNS: kubectl
    // finds the API server by the KUBERNETES_SERVICE_HOST variable.
    'networkpolicy-restarter.yaml': {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata(RESTARTER, 'network'),
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Ingress', 'Egress'],
        egress: [
          {
            ports: [
              { protocol: 'TCP', port: 443 },
              { protocol: 'TCP', port: 6443 },
            ],
          },
        ],
      },
    },
    'job-restart.yaml': job(global, baseHash),
  };
}

/** The env's part, by file name, for overlays/<env>/minio/: its RBAC (its servers' names), and its hash. */
export function restarterOverlay(
  o: Options,
  configHash: string,
  pools: { statefulSet: string; servers: number }[],
): { resources: Record<string, object>; patch: object } {
  return {
    resources: {
      'role-restarter.yaml': {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: metadata(RESTARTER, 'restarter'),
        rules: [
          // kubectl lists by the selector, then deletes each pod by name.
          { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
          { apiGroups: [''], resources: ['pods'], verbs: ['delete'], resourceNames: serverPodNames(pools) },
        ],
      },
      'rolebinding-restarter.yaml': {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: metadata(RESTARTER, 'restarter'),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: RESTARTER },
        subjects: [{ kind: 'ServiceAccount', name: RESTARTER, namespace: o.settings.namespace }],
      },
    },
    patch: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: RESTARTER },
      spec: {
        template: {
          spec: {
            containers: [{ name: OUTDATED_CONFIG, args: restartArgs(outdatedServers(CONFIG_LABEL, configHash)) }],
          },
        },
      },
    },
  };
}
