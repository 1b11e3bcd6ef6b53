// clusters/<env>/: what points the GitOps engine at the env, applied once by hand
// (`kubectl apply -k clusters/<env>`) and then synced like everything else.
//   Argo CD: a scoped AppProject and an Application (an ApplicationSet for 2+ clusters) on
//            overlays/<env>; sync waves and the PostSync hook order the steps
//   Flux:    a GitRepository and one Kustomization per step, ordered by dependsOn:
//            overlays/<env>/trust (the private CA, the trust Bundle), then .../minio, then
//            .../bootstrap (the Job), then .../consumers
// Rendered only when the repository URL is known: an engine pointed at a placeholder
// would fail far from here.
import type { Options } from '../options.ts';
import type { GeneratedFile } from './files.ts';
import { kustomization, yamlFile } from './files.ts';
import { APP, consumerNamespaces, labels } from './names.ts';
import { grownPools } from './pools.ts';
import { hasTrustStep, hasTruststore, ownsCa } from './trust.ts';

export const ARGOCD_NAMESPACE = 'argocd';
export const FLUX_NAMESPACE = 'flux-system';
export const FLUX_SOURCE = 'minio-gitops';
/** The label Argo CD cluster Secrets carry to be picked by an env's ApplicationSet. */
export const CLUSTER_LABEL = 'minio-gitops.io/cluster';

interface GroupKind {
  group: string;
  kind: string;
}

/**
 * Every namespaced kind the env's overlay renders, for the AppProject's whitelist (never
 * `*`). test/gitops.test.ts checks it against a real kustomize build of the overlay.
 */
export function namespacedKinds(o: Options): GroupKind[] {
  const s = o.settings;
  const kinds: GroupKind[] = [
    { group: '', kind: 'ServiceAccount' },
    { group: '', kind: 'Service' },
    { group: 'apps', kind: s.replicas > 1 ? 'StatefulSet' : 'Deployment' },
    { group: 'networking.k8s.io', kind: 'NetworkPolicy' },
    { group: 'policy', kind: 'PodDisruptionBudget' },
  ];
  // The standalone server's claim, and the claims of an erasure-coded pool grown since it was made.
  if ((s.replicas === 1 && s.storage === 'pvc') || grownPools(o).length > 0)
    kinds.push({ group: '', kind: 'PersistentVolumeClaim' });
  // The restarter of the erasure-coded servers: its Role and RoleBinding (its Job is below).
  if (s.replicas > 1)
    kinds.push(
      { group: 'rbac.authorization.k8s.io', kind: 'Role' },
      { group: 'rbac.authorization.k8s.io', kind: 'RoleBinding' },
    );
  if (s.secrets !== 'external') kinds.push({ group: '', kind: 'Secret' });
  if (s.secrets === 'external') kinds.push({ group: 'external-secrets.io', kind: 'ExternalSecret' });
  if (s.tls) kinds.push({ group: 'cert-manager.io', kind: 'Certificate' });
  if (ownsCa(o)) kinds.push({ group: 'cert-manager.io', kind: 'Issuer' });
  if (s.ingress) kinds.push({ group: 'networking.k8s.io', kind: 'Ingress' });
  if (s.monitoring) kinds.push({ group: 'monitoring.coreos.com', kind: 'ServiceMonitor' });
  // The bootstrap Job and its ConfigMaps, and what the consumers get.
  kinds.push({ group: 'batch', kind: 'Job' }, { group: '', kind: 'ConfigMap' });
  const consumerKinds = new Set(Object.values(s.consumers).map((c) => c.kind));
  if (consumerKinds.has('flink-cmf')) kinds.push({ group: 'platform.confluent.io', kind: 'FlinkEnvironment' });
  if (consumerKinds.has('flink-operator')) kinds.push({ group: 'flink.apache.org', kind: 'FlinkDeployment' });
  // The Iceberg catalog server: its Deployment, volume, Service (the others are listed above).
  if (consumerKinds.has('iceberg-catalog'))
    kinds.push({ group: 'apps', kind: 'Deployment' }, { group: '', kind: 'PersistentVolumeClaim' });
  const seen = new Set<string>();
  return kinds.filter((k) => !seen.has(`${k.group}/${k.kind}`) && seen.add(`${k.group}/${k.kind}`));
}

/** The cluster-scoped kinds: the namespace, and the private CA's ClusterIssuer and the trust Bundle. */
export function clusterKinds(o: Options): GroupKind[] {
  return [
    { group: '', kind: 'Namespace' },
    ...(ownsCa(o) ? [{ group: 'cert-manager.io', kind: 'ClusterIssuer' }] : []),
    ...(hasTruststore(o) ? [{ group: 'trust.cert-manager.io', kind: 'Bundle' }] : []),
  ];
}

const appName = (o: Options) => `${APP}-${o.env}`;

function syncPolicy() {
  return {
    automated: { prune: true, selfHeal: true },
    syncOptions: ['CreateNamespace=true', 'ServerSideApply=true', 'PruneLast=true'],
    retry: { limit: 5, backoff: { duration: '10s', factor: 2, maxDuration: '3m' } },
  };
}

function appSource(o: Options) {
  return { repoURL: o.global.repoURL, targetRevision: o.global.revision, path: `${o.repoPath}overlays/${o.env}` };
}

function appProject(o: Options) {
  const s = o.settings;
  // MinIO's namespace, the consumers' (their Secrets and Flink/Spark objects), and the
  // trust namespace where the env's private CA lives.
  const namespaces = [s.namespace, ...consumerNamespaces(o), ...(ownsCa(o) ? [o.global.trustNamespace] : [])];
  const targets: object[] =
    s.clusters.length > 0 ? s.clusters.map((name) => ({ name })) : [{ server: 'https://kubernetes.default.svc' }];
  const destinations = targets.flatMap((t) => namespaces.map((namespace) => ({ ...t, namespace })));
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'AppProject',
    metadata: { name: appName(o), namespace: ARGOCD_NAMESPACE, labels: labels('gitops') },
    spec: {
      description: `MinIO, env ${o.env} (minio-gitops): this repository, this namespace, these kinds only`,
      sourceRepos: [o.global.repoURL],
      destinations,
      clusterResourceWhitelist: clusterKinds(o),
      namespaceResourceWhitelist: namespacedKinds(o),
    },
  };
}

/** An Application's spec: the env's project and overlay, synced to `destination`. */
function appSpec(o: Options, destination: object) {
  return { project: appName(o), source: appSource(o), destination, syncPolicy: syncPolicy() };
}

function application(o: Options) {
  const s = o.settings;
  const destination =
    s.clusters.length === 1
      ? { name: s.clusters[0], namespace: s.namespace }
      : { server: 'https://kubernetes.default.svc', namespace: s.namespace };
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    // No resources finalizer: deleting the Application must not delete MinIO and its volumes.
    metadata: { name: appName(o), namespace: ARGOCD_NAMESPACE, labels: labels('gitops') },
    spec: appSpec(o, destination),
  };
}

function applicationSet(o: Options) {
  const s = o.settings;
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'ApplicationSet',
    metadata: { name: appName(o), namespace: ARGOCD_NAMESPACE, labels: labels('gitops') },
    spec: {
      goTemplate: true,
      goTemplateOptions: ['missingkey=error'],
      // The clusters whose Argo CD cluster Secret carries the label with one of these names.
      generators: [
        { clusters: { selector: { matchExpressions: [{ key: CLUSTER_LABEL, operator: 'In', values: s.clusters }] } } },
      ],
      // Never delete Applications or their resources because a generator stopped matching.
      syncPolicy: { applicationsSync: 'create-update', preserveResourcesOnDeletion: true },
      template: {
        metadata: { name: `${appName(o)}-{{.name}}`, labels: labels('gitops') },
        // By name, as the AppProject lists the clusters (a label value must equal the name).
        spec: appSpec(o, { name: '{{.name}}', namespace: s.namespace }),
      },
    },
  };
}

/** Flux takes http(s) and ssh URLs only: scp-like git@host:path becomes ssh://git@host/path. */
export function fluxURL(url: string): string {
  const scp = /^([^@\s]+@[^:\s]+):(.+)$/.exec(url);
  return scp && !url.includes('://') ? `ssh://${scp[1]}/${scp[2]}` : url;
}

function gitRepository(o: Options) {
  return {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: FLUX_SOURCE, namespace: FLUX_NAMESPACE, labels: labels('gitops') },
    spec: {
      interval: '5m',
      url: fluxURL(o.global.repoURL),
      ref: { branch: o.global.revision },
      // ssh needs a deploy key: the Secret `flux bootstrap` creates.
      ...(fluxURL(o.global.repoURL).startsWith('ssh://') ? { secretRef: { name: 'flux-system' } } : {}),
    },
  };
}

/** One Flux Kustomization: a step of the env, applied after `dependsOn`. */
/**
 * Ready for an erasure-coded server only with every server ready on the current template.
 * Flux's built-in check (kstatus) takes an OnDelete StatefulSet as ready at once, so the step
 * would be Ready, and the bucket bootstrap start, while the restarter is still replacing the
 * servers; a CEL check of the StatefulSet's own counts replaces it (its currentRevision is
 * no help: Kubernetes never advances it for OnDelete, kubernetes#73492).
 */
const STATEFULSET_READY = {
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  current:
    'has(status.observedGeneration) && status.observedGeneration == metadata.generation && has(status.readyReplicas) && status.readyReplicas == spec.replicas && has(status.updatedReplicas) && status.updatedReplicas == spec.replicas',
};

function fluxKustomization(
  o: Options,
  step: { name: string; path: string; dependsOn?: string; wait: boolean; statefulSets?: boolean },
) {
  return {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: step.name, namespace: FLUX_NAMESPACE, labels: labels('gitops') },
    spec: {
      interval: '10m',
      retryInterval: '1m',
      timeout: '10m',
      sourceRef: { kind: 'GitRepository', name: FLUX_SOURCE },
      path: `./${o.repoPath}${step.path}`,
      prune: true,
      ...(step.dependsOn ? { dependsOn: [{ name: step.dependsOn }] } : {}),
      wait: step.wait,
      ...(step.statefulSets ? { healthCheckExprs: [STATEFULSET_READY] } : {}),
      ...(o.settings.secrets === 'sops' ? { decryption: { provider: 'sops', secretRef: { name: 'sops-age' } } } : {}),
    },
  };
}

function fluxKustomizations(o: Options): Record<string, object> {
  const server = appName(o);
  const bootstrap = `${server}-bootstrap`;
  const trust = `${server}-trust`;
  return {
    // The CA first: the servers' certificate is issued by it.
    ...(hasTrustStep(o)
      ? {
          'kustomization-minio-trust.yaml': fluxKustomization(o, {
            name: trust,
            path: `overlays/${o.env}/trust`,
            wait: true,
          }),
        }
      : {}),
    // Ready only when every object is: the servers, their certificates and secrets.
    'kustomization-minio.yaml': fluxKustomization(o, {
      name: server,
      path: `overlays/${o.env}/minio`,
      ...(hasTrustStep(o) ? { dependsOn: trust } : {}),
      wait: true,
      statefulSets: o.settings.replicas > 1,
    }),
    // Ready when the Job has completed: the buckets and users exist.
    'kustomization-minio-bootstrap.yaml': fluxKustomization(o, {
      name: bootstrap,
      path: `overlays/${o.env}/bootstrap`,
      dependsOn: server,
      wait: true,
    }),
    // Flink and Spark objects have no status Flux can wait on: applied in order, not awaited.
    ...(Object.keys(o.settings.consumers).length > 0
      ? {
          'kustomization-minio-consumers.yaml': fluxKustomization(o, {
            name: `${server}-consumers`,
            path: `overlays/${o.env}/consumers`,
            dependsOn: bootstrap,
            wait: false,
          }),
        }
      : {}),
  };
}

export function renderGitops(o: Options): GeneratedFile[] {
  if (!o.global.repoURL) return [];
  const dir = `clusters/${o.env}`;
  const scope = `env ${o.env}, ${o.global.gitops}`;
  const files: Record<string, object> =
    o.global.gitops === 'argocd'
      ? {
          'appproject.yaml': appProject(o),
          ...(o.settings.clusters.length > 1
            ? { 'applicationset.yaml': applicationSet(o) }
            : { 'application.yaml': application(o) }),
        }
      : { 'gitrepository.yaml': gitRepository(o), ...fluxKustomizations(o) };
  return [
    ...Object.entries(files).map(([name, obj]) => yamlFile(`${dir}/${name}`, obj, scope)),
    kustomization(dir, scope, { resources: Object.keys(files) }),
  ];
}
