// overlays/<env>/: everything of the env (its kustomization joins the three parts below)
// and its README. overlays/<env>/minio/ is the server: its namespace, credentials,
// certificates and ingress, and one patch file per concern (server, storage, TLS), so that
// changing one setting changes one file. Which base it builds on follows from the replica
// count. bootstrap/ and consumers/ are rendered by bootstrap.ts and consumers.ts.
import type { Options } from '../options.ts';
import type { GeneratedFile } from './files.ts';
import { kustomization, yamlFile } from './files.ts';
import { renderEnvReadme } from './readme.ts';
import {
  API_PORT,
  APP,
  BASIC_AUTH_SECRET,
  KEEP,
  CONSOLE_SERVICE,
  consumerNamespaces,
  DATA_CLAIM,
  INGRESS_TLS_SECRET,
  metadata,
  minioVolumes,
  ROOT_SECRET,
  PREREQUISITE,
  selectorLabels,
  serviceHosts,
  TLS_SECRET,
} from './names.ts';
import { serviceMonitor } from './base.ts';
import { fixedSalt, htpasswd } from './sealed.ts';
import { dataClaimTemplate, POOL_LABEL } from './workload.ts';
import { CONFIG_LABEL, restarterOverlay } from './restart.ts';
import { grownPools, serverPools, type Pool } from './pools.ts';
import { shortHash } from './hash.ts';
import { spreadConstraints } from './spread.ts';
import { METRICS_PATHS, METRICS_REFUSED, metricsAuthorization } from './metrics.ts';
import { kmsEnv, kmsSecretObjects } from './kms.ts';
import { auditEgressPolicy, auditEnv, auditSecretObjects } from './audit.ts';
import { ingressControllerPolicy, s3ClientsPolicy } from './network.ts';
import { DEV_CREDENTIALS, externalSecret, plainSecret } from './secrets.ts';
import { issuerRef, renderTrust } from './trust.ts';

/** Development credentials of plain mode: fixed, so the dev overlay is reproducible. */
const DEV_CONSOLE_USER = 'admin';

const SERVER_SELECTOR = 'app.kubernetes.io/name=minio,app.kubernetes.io/component=server';
/**
 * The StatefulSets a patch of an erasure-coded env goes to, by label (every pool's is the
 * base's minio, renamed: a name would match them all): the pod template's patches to every
 * pool, the first pool's own (its servers and claims) to the one without a pool number.
 */
const POOL_PATCHES: Record<string, string> = {
  'patch-server.yaml': SERVER_SELECTOR,
  'patch-tls.yaml': SERVER_SELECTOR,
  'patch-storage.yaml': `${SERVER_SELECTOR},!${POOL_LABEL}`,
  'patch-spread.yaml': `${SERVER_SELECTOR},!${POOL_LABEL}`,
};
const claimsFile = (statefulSet: string) => `persistentvolumeclaims-${statefulSet}.yaml`;

export function isDistributed(o: Options): boolean {
  return o.settings.replicas > 1;
}

/** The server object a patch targets: its apiVersion, kind and name. */
function serverRef(o: Options) {
  return { apiVersion: 'apps/v1', kind: isDistributed(o) ? 'StatefulSet' : 'Deployment', metadata: { name: APP } };
}

function podPatch(o: Options, podSpec: object, spec: object = {}) {
  return { ...serverRef(o), spec: { ...spec, template: { spec: podSpec } } };
}

/**
 * HostPath volumes are admitted only at the privileged Pod Security level, so a hostpath
 * env relaxes `enforce` on the base's Namespace; warn and audit stay at restricted. The
 * patch names the base's Namespace: the overlay's `namespace:` renames it afterwards.
 */
function privilegedNamespacePatch() {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: APP, labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } },
  };
}

/** What the servers' pod template holds in this env, before its config label. */
function serverPatchBody(o: Options) {
  const s = o.settings;
  const env: object[] = [{ name: 'MINIO_VOLUMES', value: minioVolumes(serverPools(o), s.tls, s.namespace) }];
  if (s.ingress)
    env.push({ name: 'MINIO_BROWSER_REDIRECT_URL', value: `${s.tls ? 'https' : 'http'}://${s.consoleHost}` });
  if (s.metricsAuth === 'public') env.push({ name: 'MINIO_PROMETHEUS_AUTH_TYPE', value: 'public' });
  env.push(...kmsEnv(o), ...auditEnv(o));
  return podPatch(o, { containers: [{ name: APP, env, resources: s.resources }] });
}

/**
 * The env's part of the servers' configuration as one short hash: every patch of the pod
 * template, and the root credentials (MinIO reads them only at start). The pod template
 * carries it as CONFIG_LABEL (the base's own part is BASE_LABEL, workload.ts); the
 * restarter Job replaces every server whose labels differ.
 */
export function serverConfigHash(o: Options): string {
  const parts: unknown[] = [
    serverPatchBody(o),
    o.settings.tls ? tlsPatch(o) : null,
    isDistributed(o) ? null : storagePatch(o),
    o.rootChecksum ?? null,
  ];
  // Every pool's spreading (spread.ts), only when there is any: an env without keeps its hash.
  const spread = serverPools(o).map((p) => spreadConstraints(o, p));
  if (spread.some((c) => c.length > 0)) parts.push(spread);
  return shortHash(JSON.stringify(parts));
}

function serverPatch(o: Options, configHash: string) {
  const patch = serverPatchBody(o);
  return {
    ...patch,
    spec: { template: { metadata: { labels: { [CONFIG_LABEL]: configHash } }, ...patch.spec.template } },
  };
}

/**
 * A pool added after the first: overlays/<env>/minio/pool-N/, the base's StatefulSet
 * (base/server) renamed minio-pool-N, its number in its labels and selector, its own
 * servers and claim template. Built from the base, not copied: a change of the base (a run
 * for any env) reaches it; the overlay's patches of the pod template apply to it too.
 */
function addedPool(o: Options, pool: Pool): GeneratedFile[] {
  const dir = `overlays/${o.env}/minio/${poolDir(pool)}`;
  const scope = `env ${o.env}`;
  // The pool's number in its labels, its selector and its pods' labels (the preferred
  // anti-affinity stays the base's, over every server), and in its enforced spreading.
  const number = { [POOL_LABEL]: String(pool.number) };
  const patch = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: APP, labels: number },
    spec: {
      replicas: pool.servers,
      selector: { matchLabels: number },
      template: { metadata: { labels: number }, ...spreadSpec(o, pool) },
      volumeClaimTemplates: [dataClaimTemplate(pool.claimSize, o.settings.storageClass)],
    },
  };
  return [
    yamlFile(`${dir}/patch-pool.yaml`, patch, scope),
    kustomization(dir, scope, {
      resources: ['../../../../base/server'],
      nameSuffix: pool.statefulSet.slice(APP.length),
      patches: [{ path: 'patch-pool.yaml', target: { group: 'apps', version: 'v1', kind: 'StatefulSet' } }],
    }),
  ];
}
const poolDir = (pool: Pool) => `pool-${pool.number}`;

/** A pool's spreading as a pod template spec to patch in, or nothing (spread.ts). */
function spreadSpec(o: Options, pool: Pool): { spec?: object } {
  const constraints = spreadConstraints(o, pool);
  return constraints.length > 0 ? { spec: { topologySpreadConstraints: constraints } } : {};
}

/**
 * The claims of a pool whose size grew since its StatefulSet was made: the claim template
 * cannot change, so the engine patches the claims (named as the StatefulSet names them)
 * and the storage driver expands the volumes. Never pruned: they hold the data.
 */
function grownClaims(o: Options, pool: Pool) {
  const { spec } = dataClaimTemplate(pool.size, o.settings.storageClass);
  return Array.from({ length: pool.servers }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: `data-${pool.statefulSet}-${i}`, labels: selectorLabels, annotations: KEEP },
    spec,
  }));
}

function storagePatch(o: Options) {
  const s = o.settings;
  if (isDistributed(o)) {
    const first = serverPools(o)[0]!;
    return {
      ...serverRef(o),
      spec: { replicas: first.servers, volumeClaimTemplates: [dataClaimTemplate(first.claimSize, s.storageClass)] },
    };
  }
  const source =
    s.storage === 'hostpath'
      ? { hostPath: { path: s.hostPath, type: 'DirectoryOrCreate' } }
      : { persistentVolumeClaim: { claimName: DATA_CLAIM } };
  // `emptyDir: null` removes the base's placeholder source in the strategic merge.
  return podPatch(o, { volumes: [{ name: 'data', emptyDir: null, ...source }] });
}

function standaloneClaim(o: Options) {
  const { spec } = dataClaimTemplate(o.settings.size, o.settings.storageClass);
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: metadata(DATA_CLAIM, 'server', { annotations: KEEP }),
    spec,
  };
}

function tlsPatch(o: Options) {
  const https = { httpGet: { scheme: 'HTTPS' } };
  return podPatch(o, {
    containers: [{ name: APP, startupProbe: https, livenessProbe: https, readinessProbe: https }],
    volumes: [
      {
        name: 'certs',
        emptyDir: null,
        // The layout MinIO reads from --certs-dir: public.crt, private.key, CAs/.
        secret: {
          secretName: TLS_SECRET,
          defaultMode: 0o440,
          items: [
            { key: 'tls.crt', path: 'public.crt' },
            { key: 'tls.key', path: 'private.key' },
            { key: 'ca.crt', path: 'CAs/ca.crt' },
          ],
        },
      },
    ],
  });
}

function certificate(name: string, dnsNames: string[], issuer: object) {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: metadata(name, 'tls', PREREQUISITE),
    spec: {
      secretName: name,
      duration: '2160h',
      renewBefore: '360h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      dnsNames,
      issuerRef: issuer,
    },
  };
}

/** The servers' certificate: in-cluster names only, from a CA-type issuer (it has ca.crt). */
function serverCertificate(o: Options) {
  return certificate(
    TLS_SECRET,
    serviceHosts(o.settings.namespace, isDistributed(o)),
    issuerRef(o, o.settings.issuer, o.settings.issuerKind),
  );
}

/** The ingress hosts' certificate: its own, so a public (ACME) issuer can sign it. */
function ingressCertificate(o: Options) {
  const s = o.settings;
  const issuer = s.ingressIssuer
    ? issuerRef(o, s.ingressIssuer, s.ingressIssuerKind)
    : issuerRef(o, s.issuer, s.issuerKind);
  return certificate(INGRESS_TLS_SECRET, [s.apiHost, s.consoleHost], issuer);
}

/** The name ingress-nginx verifies a Service's certificate for: its in-cluster name, one of the certificate's (serviceHosts). */
function backendTlsName(service: string, namespace: string): string {
  return `${service}.${namespace}.svc`;
}

/**
 * With TLS, ingress-nginx speaks https to the servers and verifies their certificate
 * (proxy_ssl_verify): against ca.crt of the servers' own Secret (ingress-nginx takes it
 * only as namespace/name, and only from the Ingress's namespace), for the Service's name,
 * sent as SNI too. Because that Secret also holds tls.crt and tls.key, ingress-nginx
 * presents them as its client certificate; MinIO requires none and serves the requests
 * as usual (test/ingress-backend.test.ts runs both through a real nginx).
 */
function backendTls(o: Options, service: string): Record<string, string> {
  const ns = o.settings.namespace;
  return {
    'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
    'nginx.ingress.kubernetes.io/proxy-ssl-verify': 'on',
    'nginx.ingress.kubernetes.io/proxy-ssl-secret': `${ns}/${TLS_SECRET}`,
    'nginx.ingress.kubernetes.io/proxy-ssl-name': backendTlsName(service, ns),
    'nginx.ingress.kubernetes.io/proxy-ssl-server-name': 'on',
  };
}

function ingress(
  o: Options,
  name: string,
  host: string,
  service: string,
  port: string,
  annotations: Record<string, string>,
  paths = ['/'],
) {
  const s = o.settings;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: metadata(name, 'ingress', {
      annotations: { ...annotations, ...(s.tls ? backendTls(o, service) : {}) },
    }),
    spec: {
      ingressClassName: s.ingressClass,
      ...(s.tls ? { tls: [{ hosts: [host], secretName: INGRESS_TLS_SECRET }] } : {}),
      rules: [
        {
          host,
          http: {
            paths: paths.map((path) => ({
              path,
              pathType: 'Prefix',
              backend: { service: { name: service, port: { name: port } } },
            })),
          },
        },
      ],
    },
  };
}

/**
 * The API host's metrics paths, never served, whatever the metrics' own auth: a second
 * Ingress for the host holds them, and the longer prefix wins (ingress-nginx merges the
 * two into one server; other controllers order rules by length too). Its backend is a
 * Service without endpoints, so any controller answers 503; ingress-nginx refuses every
 * client address first (403). Prometheus scrapes the servers inside the cluster.
 */
function metricsRefusal(o: Options): Record<string, object> {
  const refusing = ingress(o, `${APP}-api-metrics`, o.settings.apiHost, METRICS_REFUSED, 'api', {}, METRICS_PATHS);
  const annotations = { 'nginx.ingress.kubernetes.io/denylist-source-range': '0.0.0.0/0,::/0' };
  return {
    'ingress-api-metrics.yaml': { ...refusing, metadata: metadata(`${APP}-api-metrics`, 'ingress', { annotations }) },
    'service-metrics-refused.yaml': {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(METRICS_REFUSED, 'ingress'),
      spec: { ports: [{ name: 'api', port: API_PORT, protocol: 'TCP' }] },
    },
  };
}

function ingresses(o: Options): Record<string, object> {
  const s = o.settings;
  return {
    'ingress-api.yaml': ingress(o, `${APP}-api`, s.apiHost, APP, 'api', {
      // Objects of any size, streamed: no body limit and no request buffering.
      'nginx.ingress.kubernetes.io/proxy-body-size': '0',
      'nginx.ingress.kubernetes.io/proxy-request-buffering': 'off',
    }),
    ...metricsRefusal(o),
    'ingress-console.yaml': ingress(o, CONSOLE_SERVICE, s.consoleHost, CONSOLE_SERVICE, 'console', {
      'nginx.ingress.kubernetes.io/auth-type': 'basic',
      'nginx.ingress.kubernetes.io/auth-secret': BASIC_AUTH_SECRET,
      'nginx.ingress.kubernetes.io/auth-realm': 'MinIO console',
      'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600',
    }),
  };
}

function credentials(o: Options): Record<string, object> {
  const s = o.settings;
  if (s.secrets === 'sops') return {}; // sealed/<env>/, a resource of its own
  if (s.secrets === 'plain') {
    // The dev password is fixed and public (in the env's README), so the htpasswd line's
    // salt follows from user and password (fixedSalt) instead of being random: a random salt
    // would hide nothing here and would change the file on every run; this keeps it byte-stable.
    const auth = htpasswd(
      DEV_CONSOLE_USER,
      DEV_CREDENTIALS.rootPassword,
      fixedSalt(DEV_CONSOLE_USER, DEV_CREDENTIALS.rootPassword),
    );
    return {
      'secret-root-credentials.yaml': plainSecret(ROOT_SECRET, DEV_CREDENTIALS),
      ...(s.ingress ? { 'secret-console-basic-auth.yaml': plainSecret(BASIC_AUTH_SECRET, { auth }) } : {}),
      ...kmsSecretObjects(o),
      ...auditSecretObjects(o),
    };
  }
  return {
    'externalsecret-root-credentials.yaml': externalSecret(o, ROOT_SECRET, {
      rootUser: 'rootUser',
      rootPassword: 'rootPassword',
    }),
    ...(s.ingress
      ? { 'externalsecret-console-basic-auth.yaml': externalSecret(o, BASIC_AUTH_SECRET, { auth: 'consoleBasicAuth' }) }
      : {}),
    ...kmsSecretObjects(o),
    ...auditSecretObjects(o),
  };
}

/** The env's scrape: https with the servers' CA, and the metrics user's bearer token. */
function serviceMonitorPatch(o: Options) {
  const { apiVersion, kind, metadata: meta, spec } = serviceMonitor(o.global);
  const tls = o.settings.tls
    ? {
        scheme: 'https',
        tlsConfig: {
          ca: { secret: { name: TLS_SECRET, key: 'ca.crt' } },
          serverName: `${APP}.${o.settings.namespace}.svc`,
        },
      }
    : {};
  const authorization = metricsAuthorization(o);
  if (!o.settings.tls && !authorization) return undefined;
  // Lists of custom resources are replaced whole by a patch, so every endpoint is here.
  return {
    apiVersion,
    kind,
    metadata: { name: meta.name },
    spec: { endpoints: spec.endpoints.map((e) => ({ ...e, ...tls, ...(authorization ? { authorization } : {}) })) },
  };
}

export function renderOverlay(o: Options): GeneratedFile[] {
  const s = o.settings;
  const top = `overlays/${o.env}`;
  const dir = `${top}/minio`;
  const scope = `env ${o.env}`;
  const distributed = isDistributed(o);
  const pools = serverPools(o);
  const configHash = serverConfigHash(o);
  const restarter = distributed ? restarterOverlay(o, configHash, pools) : undefined;

  const s3Clients = [
    ...new Set([...consumerNamespaces(o), ...(s.monitoring ? [o.global.monitoringNamespace] : [])]),
  ].sort();
  const resources: Record<string, object> = {
    ...(s3Clients.length > 0 ? { 'networkpolicy-s3-clients.yaml': s3ClientsPolicy(s3Clients) } : {}),
    ...(s.ingress ? { 'networkpolicy-ingress-controller.yaml': ingressControllerPolicy(o.global) } : {}),
    ...auditEgressPolicy(o),
    ...(!distributed && s.storage === 'pvc' ? { 'persistentvolumeclaim.yaml': standaloneClaim(o) } : {}),
    ...credentials(o),
    ...(s.tls ? { 'certificate.yaml': serverCertificate(o) } : {}),
    ...(s.ingress ? ingresses(o) : {}),
    ...(s.ingress && s.tls ? { 'certificate-ingress.yaml': ingressCertificate(o) } : {}),
    ...restarter?.resources,
  };
  const claims = grownPools(o);
  const firstSpread = distributed ? spreadSpec(o, pools[0]!).spec : undefined;
  const patches: Record<string, object> = {
    ...(s.storage === 'hostpath' ? { 'patch-namespace.yaml': privilegedNamespacePatch() } : {}),
    'patch-server.yaml': serverPatch(o, configHash),
    'patch-storage.yaml': storagePatch(o),
    // The first pool's spreading; each added pool's is in its own patch-pool.yaml.
    ...(firstSpread ? { 'patch-spread.yaml': podPatch(o, firstSpread) } : {}),
    ...(s.tls ? { 'patch-tls.yaml': tlsPatch(o) } : {}),
    ...(restarter ? { 'patch-restarter.yaml': restarter.patch } : {}),
  };
  const scrape = s.monitoring ? serviceMonitorPatch(o) : undefined;
  if (scrape) patches['patch-servicemonitor.yaml'] = scrape;
  const hasConsumers = Object.keys(s.consumers).length > 0;
  const trust = renderTrust(o);
  return [
    ...trust,
    ...Object.entries({ ...resources, ...patches }).map(([name, obj]) => yamlFile(`${dir}/${name}`, obj, scope)),
    ...claims.map((p) => yamlFile(`${dir}/${claimsFile(p.statefulSet)}`, grownClaims(o, p), scope)),
    ...pools.slice(1).flatMap((p) => addedPool(o, p)),
    // Everything of the env in one build: what Argo CD syncs (waves and the PostSync hook
    // order it); Flux applies the three directories as three steps.
    kustomization(top, scope, {
      resources: [...(trust.length > 0 ? ['trust'] : []), 'minio', 'bootstrap', ...(hasConsumers ? ['consumers'] : [])],
    }),
    kustomization(dir, scope, {
      namespace: s.namespace,
      resources: [
        `../../../base/${distributed ? 'distributed' : 'standalone'}`,
        ...(s.secrets === 'sops' ? [`../../../sealed/${o.env}`] : []),
        ...Object.keys(resources),
        ...claims.map((p) => claimsFile(p.statefulSet)),
        ...pools.slice(1).map(poolDir),
      ],
      ...(s.monitoring ? { components: ['../../../base/components/monitoring'] } : {}),
      patches: Object.keys(patches).map((path) => {
        if (!distributed || !POOL_PATCHES[path]) return { path };
        return {
          path,
          target: { group: 'apps', version: 'v1', kind: 'StatefulSet', labelSelector: POOL_PATCHES[path] },
        };
      }),
    }),
    { path: `${top}/README.md`, content: renderEnvReadme(o) },
  ];
}
