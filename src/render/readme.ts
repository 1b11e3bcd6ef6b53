// overlays/<env>/README.md: how to run and operate this env, written for its settings. The
// prose is in templates/readme/, one file a section; the code here chooses its parts and
// fills in the names, lists and commands.
import type { Options } from '../options.ts';
import { policyName } from './bootstrap.ts';
import { catalogImage, SELF_SIGNED_ISSUER } from '../options.ts';
import {
  API_PORT,
  APP,
  BASIC_AUTH_SECRET,
  BOOTSTRAP,
  CONSOLE_PORT,
  CONSOLE_SERVICE,
  consumerNamespaces,
  consumerObject,
  consumerSecret,
  INGRESS_TLS_SECRET,
  ROOT_SECRET,
  RUN_AS,
  s3Endpoint,
  sparkDefaultsName,
  TLS_SECRET,
} from './names.ts';
import { DEV_CREDENTIALS } from './secrets.ts';
import {
  CA_BUNDLE_KEY,
  caName,
  hasTrustStep,
  hasTruststore,
  ownsCa,
  TRUST_DIR,
  trustBundleName,
  trustJavaOptions,
  TRUSTSTORE_KEY,
  TRUSTSTORE_PASSWORD,
} from './trust.ts';
import { flinkKeys } from '../flink.ts';
import { RETAINED_CHECKPOINTS } from './flink.ts';
import { CATALOG_PORT, catalogUri } from './catalog.ts';
import { icebergPackages, SPARK_CONF_DIR } from './spark.ts';
import type { ConsumerSettings } from '../consumers.ts';
import { shellQuote as q } from './shell.ts';
import { serverPools } from './pools.ts';
import { CONFIG_LABEL, RESTARTER } from './restart.ts';
import { BASE_LABEL } from './workload.ts';
import { ZONE_KEY } from './spread.ts';
import { hasKms, KMS_KEY_NAME, KMS_SECRET, KMS_SECRET_KEY } from './kms.ts';
import { hasMetricsCredentials, METRICS_CREDENTIAL, METRICS_SECRET } from './metrics.ts';
import { AUDIT_SECRET, hasAudit } from './audit.ts';
import { METRICS_USER } from '../consumers.ts';
import { template } from './template.ts';

/** The README's sections, each a template of its own. */
const T = {
  head: template('readme/head.md'),
  prerequisites: template('readme/prerequisites.md'),
  apply: template('readme/apply.md'),
  endpoints: template('readme/endpoints.md'),
  hardening: template('readme/hardening.md'),
  credentials: template('readme/credentials.md'),
  data: template('readme/data.md'),
  consumers: template('readme/consumers.md'),
  storage: template('readme/storage.md'),
  tls: template('readme/tls.md'),
  image: template('readme/image.md'),
};

const code = (v: string) => `\`${v}\``;

function kinds(o: Options): Set<string> {
  return new Set(Object.values(o.settings.consumers).map((c) => c.kind));
}

/** The title, what the env runs, and its settings as a table. */
function head(o: Options): string {
  const s = o.settings;
  const distributed = s.replicas > 1;
  const pools = serverPools(o);
  const servers = !distributed
    ? T.head('servers.standalone')
    : s.pools.length > 0
      ? T.head('servers.pools', { pools: s.pools.length + 1 })
      : T.head('servers.statefulset', { servers: s.replicas });
  const serverCount = distributed
    ? T.head('serverCount.erasure', {
        servers: pools.map((p) => p.servers).join(' + '),
        pools: s.pools.length > 0 ? T.head('serverCount.pools', { pools: s.pools.length + 1 }) : '',
      })
    : T.head('serverCount.standalone');
  const storage =
    s.storage === 'hostpath'
      ? T.head('storage.hostpath', { path: s.hostPath })
      : T.head('storage.pvc', {
          size: distributed ? T.head('storage.perServer', { sizes: pools.map((p) => p.size).join(' / ') }) : s.size,
          storageClass: s.storageClass || T.head('storage.defaultClass'),
        });
  const credentials =
    s.secrets === 'plain'
      ? T.head('credentials.plain')
      : s.secrets === 'sops'
        ? T.head('credentials.sops', { env: o.env, engine: T.head(`credentials.sops.${o.global.gitops}`) })
        : T.head('credentials.external', { kind: s.secretStoreKind, store: s.secretStore, key: s.remoteKey });
  const tls = s.tls
    ? T.head('tls.on', {
        issuer:
          s.issuer === SELF_SIGNED_ISSUER
            ? T.head('tls.privateCa', { ca: caName(o) })
            : T.head('tls.issuer', { kind: s.issuerKind, issuer: s.issuer }),
        trust: hasTruststore(o) ? T.head('tls.truststore') : '',
      })
    : T.head('tls.off');
  return T.head('head', {
    env: o.env,
    servers,
    namespace: s.namespace,
    profile: s.profile,
    serverCount,
    storage,
    credentials,
    tls,
    ingress: s.ingress ? T.head('ingress.on', { api: s.apiHost, console: s.consoleHost }) : T.head('ingress.off'),
    monitoring: T.head(s.monitoring ? 'monitoring.on' : 'monitoring.off'),
    image: o.global.image,
  });
}

/** What the cluster must have, each item for the settings that need it. */
function prerequisites(o: Options, ksops: boolean): string {
  const s = o.settings;
  const t = T.prerequisites;
  const k = kinds(o);
  const namespaces = consumerNamespaces(o);
  const items = [
    t(ksops ? 'kubectl.ksops' : 'kubectl'),
    ...(s.replicas > 1 && s.spread !== 'none' ? [spreadPrerequisite(o)] : []),
    ...(s.tls
      ? [
          t('cert-manager', {
            namespace: o.global.trustNamespace,
            ca: ownsCa(o) ? t('cert-manager.ca') : '',
          }),
        ]
      : []),
    ...(hasTruststore(o) ? [t('trust-manager', { namespace: o.global.trustNamespace })] : []),
    ...(s.secrets === 'sops' ? [t(`sops.${o.global.gitops}`)] : []),
    ...(s.secrets === 'external' ? [t('external-secrets', { kind: s.secretStoreKind, store: s.secretStore })] : []),
    ...(s.monitoring ? [t('monitoring')] : []),
    ...(s.ingress ? [t('ingress', { class: s.ingressClass, namespace: o.global.ingressNamespace })] : []),
    ...(namespaces.length > 0 ? [t('consumer-namespaces', { namespaces: namespaces.map(code).join(', ') })] : []),
    ...(k.has('flink-cmf') ? [t('flink-cmf')] : []),
    ...(k.has('flink-operator') ? [t('flink-operator')] : []),
    ...(k.has('iceberg-catalog')
      ? [
          t('iceberg-catalog', {
            storageClass: s.storageClass ? t('iceberg-catalog.storageClass', { storageClass: s.storageClass }) : '',
            image: catalogImage(o.global),
          }),
        ]
      : []),
  ];
  return t('section', { items: items.join('\n') });
}

/** Enforced spreading (spread.ts) needs a node per server of the largest pool. */
function spreadPrerequisite(o: Options): string {
  const t = T.prerequisites;
  return t('spread', {
    nodes: Math.max(...serverPools(o).map((p) => p.servers)),
    spread: o.settings.spread,
    zones: o.settings.spread === 'zone' ? t('spread.zones', { label: ZONE_KEY }) : '',
  });
}

/** The overlay's parts in order, the commands that apply them by hand, and the checks. */
function applySection(o: Options, ksops: boolean): string[] {
  const s = o.settings;
  const t = T.apply;
  const ns = q(s.namespace);
  const overlay = q(`overlays/${o.env}`);
  const applyPart = (part: string) => t(ksops ? 'apply.ksops' : 'apply', { dir: q(`overlays/${o.env}/${part}`) });
  const trust = [
    ownsCa(o) ? t('trust.ca', { namespace: o.global.trustNamespace }) : '',
    hasTruststore(o) ? t('trust.bundle') : '',
  ];
  const commands = [
    t(ksops ? 'review.ksops' : 'review', { overlay }),
    ...(hasTrustStep(o) ? [applyPart('trust')] : []),
    ...(s.replicas > 1 ? [t('restarter', { namespace: ns, job: RESTARTER })] : []),
    applyPart('minio'),
    // rollout status knows no OnDelete StatefulSet: wait for each pool's servers to be on the
    // new template (the restarter replaces them), then ready.
    ...(s.replicas > 1
      ? serverPools(o).flatMap((p) =>
          ['updatedReplicas', 'readyReplicas'].map((field) =>
            t('wait.pool', {
              namespace: ns,
              statefulSet: q(`statefulset/${p.statefulSet}`),
              field,
              servers: p.servers,
            }),
          ),
        )
      : [t('wait.deployment', { namespace: ns, deployment: q(`deployment/${APP}`) })]),
    applyPart('bootstrap'),
    t('wait.bootstrap', { namespace: ns, job: q(`job/${BOOTSTRAP}`) }),
    applyPart('consumers'),
  ];
  const byHand = s.secrets !== 'sops' ? '' : t(ksops ? 'gitops.ksops' : 'gitops.sealed');
  return [
    t('section', {
      env: o.env,
      trust: hasTrustStep(o) ? t('trust', { contents: trust.filter(Boolean).join('; ') }) : '',
      commands: commands.join('\n'),
    }),
    '',
    ...(ksops ? [t('ksops'), ''] : []),
    t('check', { env: q(o.env) }),
    '',
    t('gitops', { env: o.env, byHand }),
    '',
  ];
}

/** Where the API, the console and the metrics are, and who may reach them. */
function endpointsSection(o: Options): string[] {
  const s = o.settings;
  const t = T.endpoints;
  const scheme = s.tls ? 'https' : 'http';
  const auth =
    s.metricsAuth === 'public'
      ? t('metrics.public')
      : t('metrics.jwt', {
          serviceMonitor: hasMetricsCredentials(o)
            ? t('metrics.jwt.serviceMonitor', { user: METRICS_USER, secret: METRICS_SECRET })
            : '',
        });
  const endpoints = [
    t('s3', { url: `${scheme}://${APP}.${s.namespace}.svc.cluster.local:${API_PORT}` }),
    t('console', { namespace: q(s.namespace), service: q(`svc/${CONSOLE_SERVICE}`), port: CONSOLE_PORT, scheme }),
    ...(s.ingress ? [t('outside', { scheme, api: s.apiHost, console: s.consoleHost })] : []),
    t('metrics', {
      port: API_PORT,
      auth,
      ingress: s.ingress ? t('metrics.ingress') : '',
      monitoring: s.monitoring ? t('metrics.monitoring') : '',
    }),
  ];
  const ingress = { apiPort: API_PORT, consolePort: CONSOLE_PORT, namespace: o.global.ingressNamespace };
  return [
    t('section', {
      endpoints: endpoints.join('\n'),
      apiPort: API_PORT,
      consumerNamespaces: consumerNamespaces(o).map(code).join(', ') || t('network.none'),
      prometheus: s.monitoring ? t('network.prometheus', { namespace: o.global.monitoringNamespace }) : '',
      ingress: s.ingress ? t('network.ingress', ingress) : '',
      env: o.env,
    }),
    '',
  ];
}

/** What the env does beyond the basics, and how to turn each off (docs/hardening.md has the detail). */
function hardeningSection(o: Options): string[] {
  const s = o.settings;
  const t = T.hardening;
  const items = [
    hasKms(o) ? t('kms', { secret: KMS_SECRET, key: t(s.secrets === 'plain' ? 'kms.dev' : 'kms.keep') }) : t('kms.off'),
    hasAudit(o) ? t('audit', { webhook: s.auditWebhook, secret: AUDIT_SECRET }) : t('audit.off'),
    ...(s.tls && s.ingress ? [t('backends')] : []),
    t('scratch'),
  ];
  return [t('section', { items: items.join('\n') }), ''];
}

/** The credentials of each way of keeping them: where they are, how to read, rotate and restore them. */
function credentialsSection(o: Options): string[] {
  const s = o.settings;
  const t = T.credentials;
  const heading = [t('heading'), ''];
  if (s.secrets === 'sops') return [...heading, ...sopsSection(o)];
  if (s.secrets === 'plain') {
    return [
      ...heading,
      t('plain', { secret: ROOT_SECRET, user: DEV_CREDENTIALS.rootUser, password: DEV_CREDENTIALS.rootPassword }),
      '',
      ...(s.ingress ? [t('plain.console', { secret: BASIC_AUTH_SECRET }), ''] : []),
    ];
  }
  const ns = q(s.namespace);
  return [
    ...heading,
    t('external', { secret: ROOT_SECRET, kind: s.secretStoreKind, store: s.secretStore, key: s.remoteKey }),
    ...(s.ingress ? [t('external.console')] : []),
    ...(hasKms(o) ? [t('external.kms', { property: KMS_SECRET_KEY, keyName: KMS_KEY_NAME })] : []),
    ...(hasAudit(o) ? [t('external.audit')] : []),
    ...(hasMetricsCredentials(o)
      ? ['', t('external.metrics', { key: `${s.remoteKey}/${METRICS_CREDENTIAL}`, user: METRICS_USER })]
      : []),
    '',
    s.replicas > 1
      ? t('external.restart.servers', {
          namespace: ns,
          selector: q(`app.kubernetes.io/name=${APP},app.kubernetes.io/component=server`),
        })
      : t('external.restart.server', { namespace: ns, deployment: q(`deployment/${APP}`) }),
    '',
  ];
}

function sopsSection(o: Options): string[] {
  const s = o.settings;
  const t = T.credentials;
  const dir = `sealed/${o.env}`;
  const kmsFile = `${dir}/${KMS_SECRET}.yaml`;
  const rotatable = [s.ingress && 'console', hasMetricsCredentials(o) && 'metrics', hasAudit(o) && 'audit']
    .filter(Boolean)
    .map((name) => `${name}, `)
    .join('');
  return [
    t('sops', {
      console: s.ingress ? t('sops.console') : '',
      dir,
      root: q(`${dir}/${ROOT_SECRET}.yaml`),
      env: q(o.env),
      rotatable,
      restarter: s.replicas > 1 ? t('sops.restarter') : '',
    }),
    '',
    ...(hasKms(o) ? [t('sops.kms', { file: kmsFile, fileArg: q(kmsFile) }), ''] : []),
    o.global.gitops === 'flux' ? t('sops.flux') : t('sops.argocd', { dir, overlay: q(`overlays/${o.env}`) }),
    '',
    t('sops.no-key'),
    '',
  ];
}

function table(head: string, rows: [string, string][]): string[] {
  return [head, ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
}

/** The object that wires a consumer, as the consumers table names it. */
function consumerWorkload(o: Options, name: string, c: ConsumerSettings): string {
  const object = c.kind === 'iceberg-spark' ? sparkDefaultsName(o, name) : consumerObject(o, name);
  return T.data(`workload.${c.kind}`, { name: object });
}

/** Buckets, consumers, the bootstrap Job and what the consumers get. */
function dataSection(o: Options): string[] {
  const s = o.settings;
  const t = T.data;
  const buckets = Object.entries(s.buckets).map(([name, b]): [string, string] => [
    code(name),
    [
      b.prefixes.length > 0
        ? t('bucket.prefixes', { prefixes: b.prefixes.map(code).join(', ') })
        : t('bucket.noPrefixes'),
      ...b.lifecycle.map((r) => t('bucket.expiry', { prefix: r.prefix, days: r.expireDays })),
      t(b.versioning ? 'bucket.versioning.on' : 'bucket.versioning.off'),
      b.quota ? t('bucket.quota', { quota: b.quota }) : t('bucket.noQuota'),
      t('bucket.private'),
    ].join('; '),
  ]);
  const consumers = Object.entries(s.consumers).map(([name, c]): [string, string] => [
    code(name),
    t('consumer', {
      kind: c.kind,
      namespace: c.namespace,
      workload: consumerWorkload(o, name, c),
      user: c.user,
      policy: policyName(name),
      buckets: c.buckets.map(code).join(', '),
      secret: consumerSecret(o, name),
    }),
  ]);
  const rotation =
    s.secrets === 'sops'
      ? t('rotation.sops', { envArg: q(o.env), env: o.env })
      : s.secrets === 'external'
        ? t('rotation.external', {
            key: s.remoteKey,
            kind: s.secretStoreKind,
            store: s.secretStore,
            namespace: q(s.namespace),
            job: q(BOOTSTRAP),
          })
        : t('rotation.plain');
  return [
    ...table(t('buckets'), buckets),
    '',
    ...table(t('consumers'), consumers),
    '',
    t('bootstrap', {
      namespace: s.namespace,
      job: BOOTSTRAP,
      namespaceArg: q(s.namespace),
      jobRef: q(`job/${BOOTSTRAP}`),
      jobArg: q(BOOTSTRAP),
      endpoint: q(s3Endpoint(o)),
      config: q(`overlays/${o.env}/bootstrap`),
      ca: s.tls ? t('bootstrap.ca') : '',
      rotation,
    }),
    '',
    ...consumersSection(o),
  ];
}

/** How each kind of consumer is wired, what it needs, and how it trusts the servers. */
function consumersSection(o: Options): string[] {
  const s = o.settings;
  const t = T.consumers;
  const k = kinds(o);
  const byKind = (kind: string) =>
    Object.entries(s.consumers)
      .filter(([, c]) => c.kind === kind)
      .map(([n]) => n);
  const trust = hasTruststore(o);
  const out: string[] = [];
  if (k.has('flink-cmf') || k.has('flink-operator')) {
    const keys = flinkKeys(o.global.flinkVersion);
    out.push(
      t('flink', {
        version: o.global.flinkVersion,
        intervalKey: keys.interval,
        retained: RETAINED_CHECKPOINTS,
        retentionKey: keys.retention,
      }),
      '',
    );
  }
  const catalogs = byKind('iceberg-catalog');
  if (catalogs.length > 0) {
    out.push(
      t('catalog', {
        catalogs: catalogs.map(code).join(', '),
        image: catalogImage(o.global),
        port: CATALOG_PORT,
        uris: catalogs.map((n) => code(catalogUri(o, n))).join(', '),
      }),
      '',
    );
  }
  if (k.has('iceberg-spark')) {
    out.push(
      t('spark', {
        configMaps: byKind('iceberg-spark')
          .map((n) => code(sparkDefaultsName(o, n)))
          .join(', '),
        confDir: SPARK_CONF_DIR,
        packages: icebergPackages(o).map(code).join(', '),
        truststore: trust ? t('spark.truststore') : '',
        mount: trust ? t('spark.mount', { configMap: trustBundleName(o), dir: TRUST_DIR }) : '',
        sparkVersion: o.global.sparkVersion,
        icebergVersion: o.global.icebergVersion,
      }),
      '',
    );
  }
  if (s.tls) {
    const how = trust
      ? t('tls.truststore', {
          bundle: trustBundleName(o),
          pemKey: CA_BUNDLE_KEY,
          truststoreKey: TRUSTSTORE_KEY,
          password: TRUSTSTORE_PASSWORD,
          dir: TRUST_DIR,
          javaOptions: trustJavaOptions(o).join(' '),
          flinkKey: flinkKeys(o.global.flinkVersion).jvmOptions,
        })
      : t('tls.none');
    out.push(t('tls', { trust: how }), '');
  }
  return out.length > 0 ? [t('heading'), '', ...out] : [];
}

/** Spreading over nodes, as the Storage section's item. */
function spreadItem(o: Options): string {
  const s = o.settings;
  const t = T.storage;
  const env = q(o.env);
  if (s.spread === 'none') return t('spread.none', { env });
  return t('spread', {
    spread: s.spread,
    zones: s.spread === 'zone' ? t('spread.zones') : '',
    env,
    zoneToo: s.spread === 'host' ? t('spread.zoneToo') : '',
  });
}

/** Preparing a hostPath directory, or the pools of an erasure-coded env and how to change them. */
function storageSection(o: Options): string[] {
  const s = o.settings;
  const t = T.storage;
  if (s.storage === 'hostpath') return [t('hostpath', { path: s.hostPath, uid: RUN_AS, pathArg: q(s.hostPath) }), ''];
  if (s.replicas === 1) return [];
  const pools = serverPools(o);
  return [
    t('pools', {
      pools: pools.map((p) => t('pool', { statefulSet: p.statefulSet, servers: p.servers, size: p.size })).join(', '),
      env: q(o.env),
      morePools: [...pools.map((p) => `${p.servers}x${p.size}`), `4x${s.size}`].join(','),
      spread: spreadItem(o),
      restarter: RESTARTER,
      baseLabel: BASE_LABEL,
      configLabel: CONFIG_LABEL,
    }),
    '',
  ];
}

/** The servers' certificate, its issuer and how clients trust it, and the ingress hosts' certificate. */
function tlsSection(o: Options): string[] {
  const s = o.settings;
  const t = T.tls;
  const trustNamespace = o.global.trustNamespace;
  const issuer =
    s.issuer === SELF_SIGNED_ISSUER
      ? t('issuer.privateCa', {
          ca: caName(o),
          trustNamespace,
          namespace: q(s.namespace),
          secret: q(TLS_SECRET),
          consumers: hasTruststore(o) ? t('issuer.privateCa.consumers') : '',
        })
      : t('issuer.own', {
          kind: s.issuerKind,
          issuer: s.issuer,
          consumers: hasTruststore(o) ? t('issuer.own.consumers', { caSecret: s.caSecret, trustNamespace }) : '',
        });
  const ingressIssuer = !s.ingressIssuer
    ? t('ingress.same')
    : s.ingressIssuer === SELF_SIGNED_ISSUER
      ? t('ingress.privateCa', { ca: caName(o) })
      : t('ingress.issuer', { kind: s.ingressIssuerKind, issuer: s.ingressIssuer });
  return [
    t('section', { secret: TLS_SECRET, servers: s.replicas > 1 ? t('servers') : '', issuer }),
    ...(s.ingress ? [t('ingress', { secret: INGRESS_TLS_SECRET, issuer: ingressIssuer })] : []),
    '',
  ];
}

export function renderEnvReadme(o: Options): string {
  const s = o.settings;
  // Argo CD + SOPS: the sealed Secrets come from KSOPS generators, an exec plugin that
  // kubectl's kustomize does not run (`kubectl apply -k` fails), so each part is built with
  // kustomize and ksops and piped to kubectl.
  const ksops = s.secrets === 'sops' && o.global.gitops === 'argocd';
  return [
    head(o),
    '',
    prerequisites(o, ksops),
    '',
    ...applySection(o, ksops),
    ...endpointsSection(o),
    ...hardeningSection(o),
    ...credentialsSection(o),
    ...dataSection(o),
    ...storageSection(o),
    ...(s.tls ? tlsSection(o) : []),
    T.image('section', { image: o.global.image }),
    '',
  ].join('\n');
}
