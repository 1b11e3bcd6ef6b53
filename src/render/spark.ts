// An iceberg-spark consumer's wiring: a ConfigMap <MinIO namespace>-<consumer>-spark-defaults to mount as
// the driver's Spark conf directory (/opt/spark/conf), holding
//   spark-defaults.conf  the Iceberg catalog `iceberg` on S3FileIO, the jars it needs
//                        (spark.jars.packages), and with TLS the truststore for the driver
//                        and every executor JVM (each needs its own -D options)
//   pod-template.yaml    the driver and executor pods on Kubernetes: the credentials from
//                        the consumer's Secret and the truststore volume
// Spark reads the credentials from the environment (the AWS SDK's default chain); with
// the env's own catalog server it writes the data files itself, with its own user.
import type { BucketSettings, ConsumerSettings } from '../consumers.ts';
import { warehouseLocation } from '../consumers.ts';
import type { Options } from '../options.ts';
import { SPARK_LINES } from '../options.ts';
import { catalogUri } from './catalog.ts';
import { consumerSecret, metadata, sparkDefaultsName, RESTRICTED_CONTAINER, S3_REGION, s3Endpoint } from './names.ts';
import { toYaml } from '../yaml.ts';
import { TRUST_MOUNT, trustJavaOptions, trustVolume } from './trust.ts';

/** Where the ConfigMap is mounted: Spark's conf directory in the official images. */
export const SPARK_CONF_DIR = '/opt/spark/conf';
/** The official images' user (spark, uid and gid 185): a name there, so the kubelet needs the number. */
const SPARK_UID = 185;
// Ivy's cache for spark.jars.packages: the images' spark user has no home (/nonexistent).
const IVY_DIR = '/tmp/.ivy2';
export const SPARK_CATALOG = 'iceberg';
/**
 * The driver's and executors' ephemeral-storage (Spark sets their cpu and memory and keeps
 * the template's other resources). On the node's disk: shuffle files and spills (the
 * emptyDir volumes Spark adds for spark.local.dir), the jars of spark.jars.packages in the
 * Ivy cache, and the logs. A job that shuffles more raises the limit in its own template.
 */
const SPARK_SCRATCH = { requests: { 'ephemeral-storage': '1Gi' }, limits: { 'ephemeral-storage': '16Gi' } };

/** The Maven coordinates of the Iceberg runtime for the Spark line, and the AWS bundle S3FileIO needs. */
export function icebergPackages(o: Options): string[] {
  const { sparkVersion: spark, icebergVersion: iceberg } = o.global;
  return [
    `org.apache.iceberg:iceberg-spark-runtime-${spark}_${SPARK_LINES[spark]}:${iceberg}`,
    `org.apache.iceberg:iceberg-aws-bundle:${iceberg}`,
  ];
}

/**
 * What `warehouse` means to the catalog: for a REST server its own name for a warehouse
 * (the env's server defines its one warehouse itself: none), an S3 URL for jdbc and hadoop.
 */
function warehouse(c: ConsumerSettings, buckets: Record<string, BucketSettings>): string | undefined {
  if (c.catalog === 'rest') return c.warehouse;
  const at = warehouseLocation(c, buckets);
  return `s3://${at.bucket}/${at.prefix}`;
}

/** spark-defaults.conf for an Iceberg catalog named `iceberg` on S3FileIO. */
export function sparkDefaults(o: Options, name: string, c: ConsumerSettings): string {
  const cat = `spark.sql.catalog.${SPARK_CATALOG}`;
  const uri = c.catalogServer ? catalogUri(o, c.catalogServer) : c.catalogUri;
  const wh = warehouse(c, o.settings.buckets);
  const java = trustJavaOptions(o).join(' ');
  const lines: [string, string | undefined][] = [
    ['spark.jars.packages', icebergPackages(o).join(',')],
    ['spark.jars.ivy', IVY_DIR],
    ['spark.sql.extensions', 'org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions'],
    [cat, 'org.apache.iceberg.spark.SparkCatalog'],
    [`${cat}.type`, c.catalog],
    [`${cat}.uri`, uri],
    [`${cat}.warehouse`, wh],
    [`${cat}.io-impl`, 'org.apache.iceberg.aws.s3.S3FileIO'],
    [`${cat}.s3.endpoint`, s3Endpoint(o)],
    [`${cat}.s3.path-style-access`, 'true'],
    [`${cat}.client.region`, S3_REGION],
    ['spark.sql.defaultCatalog', SPARK_CATALOG],
    ['spark.driver.extraJavaOptions', java || undefined],
    ['spark.executor.extraJavaOptions', java || undefined],
    ['spark.kubernetes.driver.podTemplateFile', `${SPARK_CONF_DIR}/pod-template.yaml`],
    ['spark.kubernetes.executor.podTemplateFile', `${SPARK_CONF_DIR}/pod-template.yaml`],
  ];
  const header = [
    `# Iceberg on MinIO for consumer ${name} (minio-gitops). Mount this ConfigMap at ${SPARK_CONF_DIR}.`,
    `# Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the Secret ${consumerSecret(o, name)}`,
    '# (the AWS SDK default chain); on Kubernetes pod-template.yaml gives them to driver and executors.',
  ];
  return `${[...header, ...lines.filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${v}`)].join('\n')}\n`;
}

/** The driver and executor pods: credentials, truststore, a restricted security context. */
export function sparkPodTemplate(o: Options, name: string) {
  const trusted = trustJavaOptions(o).length > 0;
  const env = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'].map((key) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: consumerSecret(o, name), key } },
  }));
  const { readOnlyRootFilesystem: _, ...container } = RESTRICTED_CONTAINER; // Spark writes its work dirs
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { labels: { 'app.kubernetes.io/part-of': 'minio-gitops' } },
    spec: {
      // runAsNonRoot with a user name in the image fails (the kubelet cannot verify it): give the number.
      securityContext: {
        runAsNonRoot: true,
        runAsUser: SPARK_UID,
        runAsGroup: SPARK_UID,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'spark',
          env,
          resources: SPARK_SCRATCH,
          securityContext: container,
          ...(trusted ? { volumeMounts: [TRUST_MOUNT] } : {}),
        },
      ],
      ...(trusted ? { volumes: [trustVolume(o)] } : {}),
    },
  };
}

export function sparkConfigMap(o: Options, name: string, c: ConsumerSettings, meta: Record<string, unknown>) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: metadata(sparkDefaultsName(o, name), 'consumer', meta),
    data: { 'pod-template.yaml': toYaml(sparkPodTemplate(o, name)), 'spark-defaults.conf': sparkDefaults(o, name, c) },
  };
}
