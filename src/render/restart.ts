// The restarter of an erasure-coded env: every server restarts together when their
// configuration changes. MinIO's servers check each other at start-up (the binary, the
// command line and every MINIO_* setting but the root credentials must match at least half
// of the peers), so a rolling update that restarts one server with a new image, scheme or
// setting stops at that server: it never becomes ready. The StatefulSets therefore update
// OnDelete, their pods carry a hash of the configuration (CONFIG_LABEL), and this Job,
// applied with them, deletes every server pod whose hash differs, all at once: the
// StatefulSet controller starts them again (Parallel) from the new template, and they agree.
// The Job is one kubectl command in Kubernetes' own kubectl image (no shell): it may list
// the env's pods and delete the servers, by name, and nothing else; it reaches only the API
// server. Argo CD runs it after each sync (a PostSync hook, before the bucket bootstrap);
// Flux applies it with the StatefulSets and recreates it when the hash changes (force).
// With nothing outdated it deletes nothing.
import type { Options } from '../options.ts';
import { APP, labels, metadata, RESTRICTED_CONTAINER, syncWave, WAVES } from './names.ts';

export const RESTARTER = 'minio-restarter';
/** The pod-template label holding the servers' configuration hash. */
export const CONFIG_LABEL = 'minio-gitops.io/config';
/** The uid of the kubectl image's user (distroless nonroot). */
const KUBECTL_UID = 65532;

/** The selector of the servers whose configuration is not `hash`: what the restarter deletes. */
export function outdatedServers(hash: string): string {
  return `app.kubernetes.io/name=${APP},app.kubernetes.io/instance=${APP},app.kubernetes.io/component=server,${CONFIG_LABEL}!=${hash}`;
}

/** The kubectl arguments of the Job (also what `verify` tells a person to run). */
export function restartArgs(namespace: string, hash: string): string[] {
  // --wait=false: the Job needs no watch on the pods (least RBAC); the StatefulSet
  // controller recreates them once they are gone.
  return ['delete', 'pod', '--namespace', namespace, '--selector', outdatedServers(hash), '--wait=false', '--cache-dir=/tmp/kube-cache'];
}

/** Every server pod's name: the only pods the Job may delete. */
function serverPodNames(pools: { statefulSet: string; servers: number }[]): string[] {
  return pools.flatMap((p) => Array.from({ length: p.servers }, (_, i) => `${p.statefulSet}-${i}`));
}

const selector = { 'app.kubernetes.io/name': RESTARTER, 'app.kubernetes.io/instance': APP };

function job(o: Options, hash: string) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata(RESTARTER, 'restarter', {
      annotations: {
        // Argo CD: after every sync (MinIO healthy), before the bucket bootstrap (wave 2).
        'argocd.argoproj.io/hook': 'PostSync',
        'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
        ...syncWave(WAVES.consumers),
        // Flux: the hash is in the Job's template, which cannot change in place.
        'kustomize.toolkit.fluxcd.io/force': 'enabled',
      },
    }),
    spec: {
      backoffLimit: 3,
      activeDeadlineSeconds: 300,
      template: {
        metadata: { labels: { ...selector, 'app.kubernetes.io/component': 'restarter', 'app.kubernetes.io/part-of': 'minio-gitops' } },
        spec: {
          serviceAccountName: RESTARTER,
          enableServiceLinks: false,
          restartPolicy: 'Never',
          securityContext: { runAsNonRoot: true, runAsUser: KUBECTL_UID, runAsGroup: KUBECTL_UID, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'kubectl',
              image: o.global.kubectlImage,
              imagePullPolicy: 'IfNotPresent',
              args: restartArgs(o.settings.namespace, hash),
              env: [{ name: 'HOME', value: '/tmp' }],
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '200m', memory: '128Mi' } },
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } }],
        },
      },
    },
  };
}

/** The restarter's objects, by file name, for overlays/<env>/minio/. */
export function restarter(o: Options, hash: string, pools: { statefulSet: string; servers: number }[]): Record<string, object> {
  return {
    'serviceaccount-restarter.yaml': { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(RESTARTER, 'restarter') },
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
        egress: [{ ports: [{ protocol: 'TCP', port: 443 }, { protocol: 'TCP', port: 6443 }] }],
      },
    },
    'job-restart.yaml': job(o, hash),
  };
}
