// The MinIO server workload: one pod template, wrapped as a standalone Deployment or an
// erasure-coded StatefulSet. Env-specific values (storage, TLS, replicas, resources) are
// placeholders here that the overlay patches; the base stays the same for every env.
import type { V1Deployment, V1PodTemplateSpec, V1StatefulSet } from '@kubernetes/client-node';
import type { GlobalSettings } from '../options.ts';
import { shortHash } from './hash.ts';
import {
  API_PORT,
  APP,
  CERTS_DIR,
  CONSOLE_PORT,
  DATA_DIR,
  HEADLESS_SERVICE,
  labels,
  metadata,
  minioVolumes,
  RESTRICTED_CONTAINER,
  ROOT_SECRET,
  RUN_AS,
  selectorLabels,
} from './names.ts';

/**
 * The server's scratch space on the node: /tmp at most `tmp`, and the container's
 * ephemeral-storage (its log, /tmp and the certs directory) requested and limited; the
 * limit leaves room for /tmp full plus the log, so the kubelet evicts a server only when
 * something writes far more than it should.
 */
export const SERVER_SCRATCH = { tmp: '512Mi', request: '256Mi', limit: '1Gi' } as const;

/** The replica count the distributed base starts with (the smallest erasure set). */
export const BASE_DISTRIBUTED_REPLICAS = 4;

const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
  httpGet: { path, port: 'api', scheme: 'HTTP' },
  periodSeconds,
  timeoutSeconds: 5,
  failureThreshold,
});

/**
 * The pod template of the servers, labelled with a hash of itself (BASE_LABEL): it is
 * shared by every env, so when a run for one env changes it (the image), every env's
 * servers see the change in their label and every env's restarter, in the base too, in
 * its arguments (restart.ts).
 */
function podTemplate(global: GlobalSettings, replicas: number, extraVolumes: object[]): V1PodTemplateSpec {
  const template = unlabelledPodTemplate(global, replicas, extraVolumes);
  const hash = shortHash(JSON.stringify(template));
  return { ...template, metadata: { labels: { ...template.metadata!.labels, [BASE_LABEL]: hash } } };
}

function unlabelledPodTemplate(global: GlobalSettings, replicas: number, extraVolumes: object[]): V1PodTemplateSpec {
  const [nodeLabelKey, nodeLabelValue] = global.storageNodeLabel.split('=') as [string, string];
  return {
    metadata: { labels: labels('server') },
    spec: {
      serviceAccountName: APP,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: RUN_AS,
        runAsGroup: RUN_AS,
        fsGroup: RUN_AS,
        fsGroupChangePolicy: 'OnRootMismatch',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      affinity: {
        // Spread servers over nodes, and prefer the nodes labelled for storage.
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                labelSelector: { matchLabels: selectorLabels },
                topologyKey: 'kubernetes.io/hostname',
              },
            },
          ],
        },
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 50,
              preference: { matchExpressions: [{ key: nodeLabelKey, operator: 'In', values: [nodeLabelValue] }] },
            },
          ],
        },
      },
      containers: [
        {
          name: APP,
          image: global.image,
          imagePullPolicy: 'IfNotPresent',
          args: [
            'server',
            '--address',
            `:${API_PORT}`,
            '--console-address',
            `:${CONSOLE_PORT}`,
            '--certs-dir',
            CERTS_DIR,
            '$(MINIO_VOLUMES)',
          ],
          env: [
            // Every overlay sets the real value (its namespace, replicas and scheme).
            { name: 'MINIO_VOLUMES', value: minioVolumes([{ statefulSet: APP, servers: replicas }], false, APP) },
            { name: 'MINIO_ROOT_USER', valueFrom: { secretKeyRef: { name: ROOT_SECRET, key: 'rootUser' } } },
            { name: 'MINIO_ROOT_PASSWORD', valueFrom: { secretKeyRef: { name: ROOT_SECRET, key: 'rootPassword' } } },
            // Metrics need a bearer token (MinIO's default, said here): an env may opt out (overlay.ts).
            { name: 'MINIO_PROMETHEUS_AUTH_TYPE', value: 'jwt' },
          ],
          ports: [
            { name: 'api', containerPort: API_PORT, protocol: 'TCP' },
            { name: 'console', containerPort: CONSOLE_PORT, protocol: 'TCP' },
          ],
          startupProbe: probe('/minio/health/live', 5, 60),
          livenessProbe: probe('/minio/health/live', 10, 6),
          readinessProbe: probe('/minio/health/ready', 10, 3),
          // The overlay sets cpu and memory (the env's `resources`); ephemeral-storage stays
          // this, merged in: what the server writes on the node besides its drives is its log
          // (the kubelet keeps about 50Mi of rotated log per container) and /tmp (below).
          resources: {
            requests: { cpu: '100m', memory: '256Mi', 'ephemeral-storage': SERVER_SCRATCH.request },
            limits: { cpu: '1', memory: '1Gi', 'ephemeral-storage': SERVER_SCRATCH.limit },
          },
          securityContext: RESTRICTED_CONTAINER,
          volumeMounts: [
            { name: 'data', mountPath: DATA_DIR },
            { name: 'certs', mountPath: CERTS_DIR },
            { name: 'tmp', mountPath: '/tmp' },
          ],
        },
      ],
      volumes: [
        ...extraVolumes,
        // Replaced by the TLS patch with the certificate; empty and writable otherwise,
        // because the server creates its CAs directory there at start.
        { name: 'certs', emptyDir: { sizeLimit: '1Mi' } },
        // Scratch for the server's temporary files and for tools run in its pod.
        { name: 'tmp', emptyDir: { sizeLimit: SERVER_SCRATCH.tmp } },
      ],
    },
  } as V1PodTemplateSpec;
}

export function deployment(global: GlobalSettings): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(APP, 'server'),
    spec: {
      replicas: 1,
      // One server owns its volume: never run the old and the new pod side by side.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selectorLabels },
      // The data volume is a placeholder that every overlay replaces (hostPath or PVC).
      template: podTemplate(global, 1, [{ name: 'data', emptyDir: { sizeLimit: '1Gi' } }]),
    },
  };
}

/** The pod-template label holding a hash of the base's pod template (shared by every env). */
export const BASE_LABEL = 'minio-gitops.io/base';

/** The base's pod template hash, for the restarter and the record. */
export function baseTemplateHash(global: GlobalSettings, distributed: boolean): string {
  return podTemplateOf(global, distributed).metadata!.labels![BASE_LABEL]!;
}

/** The label that tells the pods of a pool added to the first apart (its StatefulSet's selector). */
export const POOL_LABEL = 'minio-gitops.io/pool';

/**
 * The servers of one pool. Erasure-coded servers wait for each other, so they start all at
 * once (Parallel). They never roll one by one: at start-up each server checks that at least
 * half of its peers run the same binary, command line and MINIO_* settings, so one server
 * restarted with a new configuration never becomes ready and a rolling update stops there.
 * OnDelete, and the restarter Job (restart.ts) replaces every server together instead.
 * Every pool's StatefulSet is this one: the first pool's as it is (named minio, selected by
 * the two selector labels, as it always was), a pool added later renamed and carrying its
 * number in its selector (POOL_LABEL, overlay.ts).
 */
export function statefulSet(global: GlobalSettings): V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(APP, 'server'),
    spec: {
      replicas: BASE_DISTRIBUTED_REPLICAS,
      serviceName: HEADLESS_SERVICE,
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'OnDelete' },
      selector: { matchLabels: selectorLabels },
      template: podTemplate(global, BASE_DISTRIBUTED_REPLICAS, []),
      volumeClaimTemplates: [dataClaimTemplate('8Gi', '')],
    },
  };
}

export function dataClaimTemplate(size: string, storageClass: string) {
  return {
    metadata: { name: 'data', labels: selectorLabels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      ...(storageClass ? { storageClassName: storageClass } : {}),
      resources: { requests: { storage: size } },
    },
  };
}

/** The base's pod template of the servers, standalone or erasure coded. */
export function podTemplateOf(global: GlobalSettings, distributed: boolean): V1PodTemplateSpec {
  return (distributed ? statefulSet(global) : deployment(global)).spec!.template;
}
