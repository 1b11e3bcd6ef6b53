// The bucket bootstrap: one script (scripts/bootstrap-minio.sh, the only copy of the
// logic), a Job in base/bootstrap that runs it with the pinned mc image, and per env
// overlays/<env>/bootstrap/ with what it applies: bootstrap.conf plus the policy and
// lifecycle JSON it names, the consumers' credentials and the endpoint (and CA) to use.
//   Argo CD runs the Job as a PostSync hook (recreated on every sync, BeforeHookCreation);
//   Flux applies overlays/<env>/bootstrap as its own Kustomization after MinIO is Ready,
//   and recreates the Job when its inputs change (force) or after its TTL (a periodic re-run).
import { readFileSync } from 'node:fs';
import type { BucketSettings, ConsumerSettings } from '../consumers.ts';
import { grantBucket } from '../consumers.ts';
import type { GlobalSettings, Options } from '../options.ts';
import { kustomization, yamlFile, type GeneratedFile } from './files.ts';
import {
  API_PORT,
  APP,
  BOOTSTRAP,
  bootstrapSelector,
  consumerMirrorSecret,
  generatedHeader,
  RESTRICTED_CONTAINER,
  labels,
  ROOT_SECRET,
  RUN_AS,
  s3Endpoint,
  selectorLabels,
  syncWave,
  TLS_SECRET,
  WAVES,
} from './names.ts';
import { consumerCredentials, CREDENTIAL_KEYS, plainCredentialsChecksum } from './consumers.ts';
import { bucketEncryption } from './kms.ts';
import {
  hasMetricsCredentials,
  METRICS_CREDENTIAL,
  METRICS_POLICY,
  METRICS_SECRET,
  metricsCredentialObjects,
  metricsPolicy,
} from './metrics.ts';

export const SCRIPT_FILE = 'bootstrap-minio.sh';
const SCRIPT_CONFIG_MAP = 'minio-bootstrap-script';
const CONFIG_MAP = 'minio-bootstrap-config';
/** Where the Job's pod finds its inputs (the script's defaults). */
const CONFIG_DIR = '/config';
const CREDENTIALS_DIR = '/credentials';
const CA_FILE = '/etc/minio-bootstrap/ca/ca.crt';

const SCRIPT = readFileSync(new URL(`./${SCRIPT_FILE}`, import.meta.url), 'utf8');

/** The script as it is written to scripts/: the source with a generated-by note. */
export function scriptText(): string {
  const [shebang, ...rest] = SCRIPT.split('\n');
  const note = generatedHeader('shared by every env')
    .split('\n')
    .map((l) => `# ${l}`);
  return [shebang, ...note, '#', ...rest].join('\n');
}

/** The policy name of a consumer: the script removes minio-gitops-* policies nobody names. */
export function policyName(consumer: string): string {
  return `minio-gitops-${consumer}`;
}

const BUCKET_ACTIONS = ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'];
const OBJECT_ACTIONS = [
  's3:AbortMultipartUpload',
  's3:DeleteObject',
  's3:GetObject',
  's3:ListMultipartUploadParts',
  's3:PutObject',
];
const arn = (resource: string) => `arn:aws:s3:::${resource}`;

/**
 * A consumer's policy: read, write and delete objects in exactly its buckets (or
 * prefixes), list them, nothing else (no ListAllMyBuckets, no admin, no access keys). One action, one
 * resource and one condition value per statement: MinIO keeps statements in order but
 * prints the values of a list in any order, and the script compares the texts.
 */
export function consumerPolicy(c: ConsumerSettings): string {
  const statements: object[] = [];
  const allow = (action: string, resource: string, condition?: object) =>
    statements.push({
      Effect: 'Allow',
      Action: [action],
      Resource: [arn(resource)],
      ...(condition ? { Condition: condition } : {}),
    });
  for (const grant of [...c.buckets].sort()) {
    const bucket = grantBucket(grant);
    const prefix = grant.slice(bucket.length + 1);
    if (prefix === '') {
      for (const action of BUCKET_ACTIONS) allow(action, bucket);
    } else {
      // s3:prefix conditions are allowed on ListBucket only (MinIO rejects them elsewhere).
      allow('s3:GetBucketLocation', bucket);
      for (const value of [prefix, `${prefix}*`])
        allow('s3:ListBucket', bucket, { StringLike: { 's3:prefix': [value] } });
    }
    for (const action of OBJECT_ACTIONS) allow(action, `${bucket}/${prefix || ''}*`);
  }
  // Users may make access keys for themselves by default: such a key would outlive a
  // rotation of the consumer's secret. (A Deny on an admin action takes no Resource.)
  statements.push({ Effect: 'Deny', Action: ['admin:CreateServiceAccount'] });
  return `${JSON.stringify({ Version: '2012-10-17', Statement: statements })}\n`;
}

/** A bucket's lifecycle as `mc ilm rule export` prints it (so equal text = equal rules). */
export function lifecycleJson(b: BucketSettings): string {
  const ids = new Set<string>();
  const rules = b.lifecycle.map((r, i) => {
    // Readable and unique (MinIO refuses two rules with one ID): a.b/ and a-b/ would clash.
    let id = `expire-${r.prefix.replace(/\/$/, '').replace(/[^A-Za-z0-9-]/g, '-')}`;
    if (ids.has(id)) id = `${id}-${i + 1}`;
    ids.add(id);
    return { Expiration: { Days: r.expireDays }, ID: id, Filter: { Prefix: r.prefix }, Status: 'Enabled' };
  });
  return `${JSON.stringify({ Rules: rules })}\n`;
}

/** bootstrap.conf and the JSON files it names: the whole desired state, as files. */
export function bootstrapConfig(o: Options): Record<string, string> {
  const s = o.settings;
  const files: Record<string, string> = {};
  const lines = [
    '# What scripts/bootstrap-minio.sh makes true on the server, one statement per line.',
    `# ${generatedHeader(`env ${o.env}`).replace(/\n/g, '\n# ')}`,
  ];
  for (const [name, b] of Object.entries(s.buckets)) {
    lines.push(`bucket ${name}`);
    for (const p of b.prefixes) lines.push(`prefix ${name} ${p}`);
    if (b.lifecycle.length > 0) {
      files[`lifecycle-${name}.json`] = lifecycleJson(b);
      lines.push(`lifecycle ${name} lifecycle-${name}.json`);
    } else lines.push(`lifecycle ${name} none`);
    lines.push(`versioning ${name} ${b.versioning ? 'on' : 'off'}`);
    lines.push(`quota ${name} ${b.quota || 'none'}`);
    const encryption = bucketEncryption(o, b);
    if (encryption) lines.push(`encryption ${name} ${encryption}`);
  }
  for (const [name, c] of Object.entries(s.consumers)) {
    files[`policy-${name}.json`] = consumerPolicy(c);
    lines.push(`policy ${policyName(name)} policy-${name}.json`);
    lines.push(`user ${name} ${policyName(name)}`);
  }
  if (hasMetricsCredentials(o)) {
    files[`policy-${METRICS_CREDENTIAL}.json`] = metricsPolicy();
    lines.push(`policy ${METRICS_POLICY} policy-${METRICS_CREDENTIAL}.json`);
    lines.push(`user ${METRICS_CREDENTIAL} ${METRICS_POLICY}`);
  }
  files['bootstrap.conf'] = `${lines.join('\n')}\n`;
  return files;
}

function job(global: GlobalSettings) {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: BOOTSTRAP,
      labels: labels('bootstrap'),
      annotations: {
        // Argo CD: run after every sync, once MinIO is healthy; the old Job goes first.
        'argocd.argoproj.io/hook': 'PostSync',
        'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
        ...syncWave(WAVES.bootstrap),
        // Flux: a Job's template cannot change in place, so a changed input recreates it.
        'kustomize.toolkit.fluxcd.io/force': 'enabled',
      },
    },
    spec: {
      backoffLimit: 3,
      activeDeadlineSeconds: 900,
      // Kept an hour for its logs; Flux then creates it again: a periodic re-apply.
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: {
          labels: {
            ...bootstrapSelector,
            'app.kubernetes.io/component': 'bootstrap',
            'app.kubernetes.io/part-of': 'minio-gitops',
          },
        },
        spec: {
          serviceAccountName: BOOTSTRAP,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          restartPolicy: 'Never',
          // fsGroup: the credentials and the CA are mounted 0440, readable through the group.
          securityContext: {
            runAsNonRoot: true,
            runAsUser: RUN_AS,
            runAsGroup: RUN_AS,
            fsGroup: RUN_AS,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'mc',
              image: global.mcImage,
              imagePullPolicy: 'IfNotPresent',
              command: ['/bin/sh', `/scripts/${SCRIPT_FILE}`],
              args: ['--config', CONFIG_DIR, '--credentials', CREDENTIALS_DIR],
              env: [
                // Every overlay sets the real endpoint (its namespace and scheme).
                { name: 'MINIO_ENDPOINT', value: `http://${APP}:${API_PORT}` },
                { name: 'MINIO_ROOT_USER', valueFrom: { secretKeyRef: { name: ROOT_SECRET, key: 'rootUser' } } },
                {
                  name: 'MINIO_ROOT_PASSWORD',
                  valueFrom: { secretKeyRef: { name: ROOT_SECRET, key: 'rootPassword' } },
                },
                { name: 'HOME', value: '/tmp' },
                { name: 'TMPDIR', value: '/tmp' },
              ],
              // ephemeral-storage: only its log is on the node's disk (/tmp is in memory).
              resources: {
                requests: { cpu: '50m', memory: '64Mi', 'ephemeral-storage': '16Mi' },
                limits: { cpu: '500m', memory: '256Mi', 'ephemeral-storage': '64Mi' },
              },
              securityContext: RESTRICTED_CONTAINER,
              volumeMounts: [
                { name: 'script', mountPath: '/scripts', readOnly: true },
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            { name: 'script', configMap: { name: SCRIPT_CONFIG_MAP } },
            { name: 'config', configMap: { name: CONFIG_MAP } },
            { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
          ],
        },
      },
    },
  };
}

/** The Job reaches the S3 port of the servers (and DNS), nothing else, and takes no traffic. */
function networkPolicy() {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: BOOTSTRAP, labels: labels('network') },
    spec: {
      podSelector: { matchLabels: bootstrapSelector },
      policyTypes: ['Ingress', 'Egress'],
      egress: [
        {
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        { to: [{ podSelector: { matchLabels: selectorLabels } }], ports: [{ protocol: 'TCP', port: API_PORT }] },
      ],
    },
  };
}

export function renderBootstrapBase(global: GlobalSettings): GeneratedFile[] {
  const scope = 'shared by every env';
  const objects = {
    'serviceaccount.yaml': {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: BOOTSTRAP, labels: labels('bootstrap') },
      automountServiceAccountToken: false,
    },
    'job.yaml': job(global),
    'networkpolicy.yaml': networkPolicy(),
  };
  return [
    { path: `scripts/${SCRIPT_FILE}`, content: scriptText() },
    // A directory with its own kustomization: kustomize reads no file outside a root.
    kustomization('scripts', scope, {
      configMapGenerator: [{ name: SCRIPT_CONFIG_MAP, files: [SCRIPT_FILE], options: { labels: labels('bootstrap') } }],
    }),
    ...Object.entries(objects).map(([name, obj]) => yamlFile(`base/bootstrap/${name}`, obj, scope)),
    kustomization('base/bootstrap', scope, { resources: ['../../scripts', ...Object.keys(objects)] }),
  ];
}

/** The env's Job inputs: endpoint, CA (TLS), and each consumer's credentials as files. */
function jobPatch(o: Options) {
  const s = o.settings;
  const env: object[] = [{ name: 'MINIO_ENDPOINT', value: s3Endpoint(o) }];
  const mounts: object[] = [];
  const volumes: object[] = [];
  // Each consumer's credentials, and the metrics user's, under the name bootstrap.conf gives it.
  const sources = Object.keys(s.consumers).map((name) => [name, consumerMirrorSecret(name)] as const);
  if (hasMetricsCredentials(o)) sources.push([METRICS_CREDENTIAL, METRICS_SECRET]);
  if (sources.length > 0) {
    mounts.push({ name: 'credentials', mountPath: CREDENTIALS_DIR, readOnly: true });
    volumes.push({
      name: 'credentials',
      projected: {
        defaultMode: 0o440,
        sources: sources.map(([name, secret]) => ({
          secret: {
            name: secret,
            items: CREDENTIAL_KEYS.map((key) => ({ key, path: `${name}/${key}` })),
          },
        })),
      },
    });
  }
  if (s.tls) {
    // The servers' CA (ca.crt of their certificate), which the script gives to mc.
    env.push({ name: 'MINIO_CA_FILE', value: CA_FILE });
    mounts.push({ name: 'ca', mountPath: CA_FILE.slice(0, CA_FILE.lastIndexOf('/')), readOnly: true });
    volumes.push({
      name: 'ca',
      secret: { secretName: TLS_SECRET, defaultMode: 0o440, items: [{ key: 'ca.crt', path: 'ca.crt' }] },
    });
  }
  // Changed credentials change the pod template, so Flux recreates the Job (force) and the
  // new secrets reach MinIO before the consumers get them (dependsOn).
  const checksum = o.sealedChecksum || plainCredentialsChecksum(o);
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: BOOTSTRAP },
    spec: {
      template: {
        ...(checksum ? { metadata: { annotations: { 'minio-gitops.io/credentials-checksum': checksum } } } : {}),
        spec: { containers: [{ name: 'mc', env, volumeMounts: mounts }], volumes },
      },
    },
  };
}

export function renderBootstrapOverlay(o: Options): GeneratedFile[] {
  const s = o.settings;
  const dir = `overlays/${o.env}/bootstrap`;
  const scope = `env ${o.env}, bucket bootstrap`;
  const config = bootstrapConfig(o);
  const credentials = { ...consumerCredentials(o, 'bootstrap'), ...metricsCredentialObjects(o) };
  const sealed = s.secrets === 'sops' && (Object.keys(s.consumers).length > 0 || hasMetricsCredentials(o));
  return [
    ...Object.entries(config).map(([name, content]) => ({ path: `${dir}/${name}`, content })),
    ...Object.entries(credentials).map(([name, obj]) => yamlFile(`${dir}/${name}`, obj, scope)),
    yamlFile(`${dir}/patch-job.yaml`, jobPatch(o), scope),
    kustomization(dir, scope, {
      namespace: s.namespace,
      resources: [
        '../../../base/bootstrap',
        ...(sealed ? [`../../../sealed/${o.env}/bootstrap`] : []),
        ...Object.keys(credentials),
      ],
      configMapGenerator: [
        { name: CONFIG_MAP, files: Object.keys(config).sort(), options: { labels: labels('bootstrap') } },
      ],
      patches: [{ path: 'patch-job.yaml' }],
    }),
  ];
}
