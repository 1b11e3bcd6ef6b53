// The consumers' side, in their own namespaces (overlays/<env>/consumers/, a kustomization
// without `namespace:` so each object keeps its own): each consumer's credentials Secret
// and what wires it to S3 —
//   flink-cmf, flink-operator  a FlinkEnvironment or FlinkDeployment (flink.ts)
//   iceberg-spark              a ConfigMap with spark-defaults.conf and a pod template (spark.ts)
//   iceberg-catalog            the env's Iceberg REST catalog server (catalog.ts)
// The same credentials sit in the MinIO namespace for the bootstrap Job (a mirror Secret):
// a Secret cannot be read across namespaces.
import type { ConsumerSettings } from '../consumers.ts';
import type { Options } from '../options.ts';
import { catalogObjects } from './catalog.ts';
import { kustomization, yamlFile, type GeneratedFile } from './files.ts';
import { flinkDeployment, flinkEnvironment } from './flink.ts';
import { consumerMirrorSecret, consumerSecret, S3_REGION, s3Endpoint, syncWave, WAVES } from './names.ts';
import { externalSecret, plainSecret } from './secrets.ts';
import { sparkConfigMap } from './spark.ts';
import { shortHash } from './hash.ts';

/** The two values the bootstrap Job's copy holds (and mounts as files of these names). */
export const CREDENTIAL_KEYS = ['s3.access-key', 's3.secret-key'] as const;

/** The keys that carry the secret key: what external mode reads from the store. */
const SECRET_VALUE_KEYS = ['s3.secret-key', 'AWS_SECRET_ACCESS_KEY'];

/**
 * A consumer's Secret: the seed's keys (s3.access-key, s3.secret-key, s3.endpoint) and
 * the same credentials under the AWS SDK's names, which the pods get. One place for every mode.
 */
export function consumerSecretValues(endpoint: string, user: string, secret: string): Record<string, string> {
  return {
    's3.access-key': user,
    's3.secret-key': secret,
    's3.endpoint': endpoint,
    AWS_ACCESS_KEY_ID: user,
    AWS_SECRET_ACCESS_KEY: secret,
    AWS_REGION: S3_REGION,
  };
}

/** Every key a consumer's Secret has (verify checks them). */
export const CONSUMER_SECRET_KEYS = Object.keys(consumerSecretValues('', '', ''));

/** Plain (dev) credentials: fixed, so the dev overlay is reproducible. */
export function devConsumerCredentials(consumer: string, c: ConsumerSettings) {
  return { 's3.access-key': c.user, 's3.secret-key': `dev-${consumer}-password-change-me` };
}

const CONSUMER_WAVE = { annotations: syncWave(WAVES.consumers) };
const MIRROR_WAVE = { annotations: syncWave(WAVES.prerequisites) };

/**
 * The consumers' credentials objects for plain and external mode (sops mode seals them
 * in sealed/<env>/{bootstrap,consumers}/): file name -> object.
 */
export function consumerCredentials(o: Options, side: 'bootstrap' | 'consumers'): Record<string, object> {
  const s = o.settings;
  const out: Record<string, object> = {};
  for (const [name, c] of Object.entries(s.consumers)) {
    const secretName = side === 'bootstrap' ? consumerMirrorSecret(name) : consumerSecret(o, name);
    const meta = side === 'bootstrap' ? MIRROR_WAVE : { namespace: c.namespace, ...CONSUMER_WAVE };
    if (s.secrets === 'plain') {
      const v = devConsumerCredentials(name, c);
      out[`secret-${name}.yaml`] = plainSecret(
        secretName,
        side === 'bootstrap' ? v : consumerSecretValues(s3Endpoint(o), v['s3.access-key'], v['s3.secret-key']),
        meta,
      );
    } else if (s.secrets === 'external') {
      // The store holds the secret only: the user (access key) is the configured one, so
      // the checks on it (one user per consumer, not the root user) hold in this mode too.
      const all =
        side === 'bootstrap'
          ? { 's3.access-key': c.user, 's3.secret-key': '' }
          : consumerSecretValues(s3Endpoint(o), c.user, '');
      const fromStore = Object.fromEntries(
        Object.keys(all)
          .filter((k) => SECRET_VALUE_KEYS.includes(k))
          .map((k) => [k, 'secretKey']),
      );
      const fixed = Object.fromEntries(Object.entries(all).filter(([k]) => !SECRET_VALUE_KEYS.includes(k)));
      out[`externalsecret-${name}.yaml`] = externalSecret(
        o,
        secretName,
        fromStore,
        `${s.remoteKey}/${name}`,
        meta,
        fixed,
      );
    }
  }
  return out;
}

/** A fingerprint of the consumers' plain credentials, so a change re-runs the Job. */
export function plainCredentialsChecksum(o: Options): string {
  if (o.settings.secrets !== 'plain') return '';
  const all = Object.entries(o.settings.consumers).map(([name, c]) => [name, devConsumerCredentials(name, c)]);
  return shortHash(JSON.stringify(all));
}

/** What wires one consumer to S3, by kind: file name -> object. */
function wiring(o: Options, name: string, c: ConsumerSettings): Record<string, object> {
  const meta = { namespace: c.namespace, ...CONSUMER_WAVE };
  switch (c.kind) {
    case 'flink-cmf':
      return { [`flinkenvironment-${name}.yaml`]: flinkEnvironment(o, name, c, meta) };
    case 'flink-operator':
      return { [`flinkdeployment-${name}.yaml`]: flinkDeployment(o, name, c, meta) };
    case 'iceberg-spark':
      return { [`configmap-${name}-spark-defaults.yaml`]: sparkConfigMap(o, name, c, meta) };
    case 'iceberg-catalog':
      return catalogObjects(o, name, c);
  }
}

export function renderConsumers(o: Options): GeneratedFile[] {
  const s = o.settings;
  if (Object.keys(s.consumers).length === 0) return [];
  const dir = `overlays/${o.env}/consumers`;
  const scope = `env ${o.env}, consumers`;
  const objects: Record<string, object> = { ...consumerCredentials(o, 'consumers') };
  for (const [name, c] of Object.entries(s.consumers)) Object.assign(objects, wiring(o, name, c));
  return [
    ...Object.entries(objects).map(([file, obj]) => yamlFile(`${dir}/${file}`, obj, scope)),
    // No `namespace:` here: every object names its consumer's namespace.
    kustomization(dir, scope, {
      resources: [...(s.secrets === 'sops' ? [`../../../sealed/${o.env}/consumers`] : []), ...Object.keys(objects)],
    }),
  ];
}
