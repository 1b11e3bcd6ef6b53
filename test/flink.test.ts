// Proof that the rendered Flink wiring works: the scaffolder renders an env with a consumer
// of each Flink kind (a CMF FlinkEnvironment and an operator FlinkDeployment), the real
// bootstrap script makes their MinIO users from the rendered bootstrap/, and a real Flink
// 1.20.0 MiniCluster (test/flink.ts; the presto S3 plugin loaded as a plugin) runs a
// stateful RocksDB job with exactly each rendered flinkConfiguration and the environment
// the pod template gives it (the Secret's values): checkpoints complete under the rendered
// dir, num-retained holds, a savepoint, a cancel that keeps the checkpoints, restores from
// the latest checkpoint and the savepoint, a write to another bucket denied. Only the S3
// endpoint (the test MinIO) and the truststore's path are replaced. Over https the
// truststore is the one trust-manager builds from the rendered Bundle (test/trust.ts).
// The rendered keys of every supported Flink line are checked against that release's own
// option classes.
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.ts';
import { FLINK_LINES } from '../src/flink.ts';
import {
  type FlinkCheckResult,
  FLINK_KEY_VERSIONS,
  flinkKeyCheck,
  javaOptsToArgs,
  needFlink,
  POD_TRUSTSTORE,
  probeS3,
  runFlinkCheck,
} from './flink.ts';
import { startMinio, type Minio } from './minio.ts';
import { build, secretValues, serverEnv, jobInputs, runBootstrap, scaffold, type Obj } from './scaffolded.ts';
import { renderedTruststores } from './trust.ts';
import { tempDir } from './tools.ts';

// One consumer of each kind; the operator one keeps its state under a prefix of the bucket.
const CONFIG = `envs:
  lab:
    profile: dev
    consumers:
      flink: {namespace: el-demo, kind: flink-cmf, buckets: [flink], checkpointInterval: 2s}
      jobs: {namespace: streaming, kind: flink-operator, buckets: [flink/jobs/], checkpointInterval: 2s}
`;
/** The lab env's MinIO namespace (its default), which the consumers' objects carry in their names. */
const LAB_NAMESPACE = 'minio-lab';

type PodTemplate = {
  spec: {
    containers: {
      name: string;
      env: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
    }[];
  };
};

/** A consumer's rendered Flink configuration and pod template, by kind; its objects carry MinIO's namespace (`minio` in prod). */
function rendered(
  objs: Obj[],
  consumer: string,
  minioNamespace = LAB_NAMESPACE,
): { namespace: string; configuration: Record<string, string>; podTemplate: PodTemplate } {
  const o = objs.find(
    (x) =>
      (x.kind === 'FlinkEnvironment' || x.kind === 'FlinkDeployment') &&
      x.metadata.name === `${minioNamespace}-${consumer}`,
  )!;
  const spec = o.kind === 'FlinkEnvironment' ? o.spec.flinkApplicationDefaults.spec : o.spec;
  return { namespace: o.metadata.namespace!, configuration: spec.flinkConfiguration, podTemplate: spec.podTemplate };
}

/** The main container's environment as the kubelet resolves it: values, and secretKeyRefs from the rendered Secret. */
function podEnv(objs: Obj[], consumer: string, namespace: string, template: PodTemplate): Record<string, string> {
  const secret = secretValues(objs, namespace, `${LAB_NAMESPACE}-s3-credentials-${consumer}`);
  const ctr = template.spec.containers.find((c) => c.name === 'flink-main-container')!;
  return Object.fromEntries(
    ctr.env.map((e) => {
      if (e.valueFrom) {
        expect(e.valueFrom.secretKeyRef.name).toBe(`${LAB_NAMESPACE}-s3-credentials-${consumer}`);
        return [e.name, secret[e.valueFrom.secretKeyRef.key]!];
      }
      return [e.name, e.value!];
    }),
  );
}

function expectProof(r: FlinkCheckResult, m: Minio, configuration: Record<string, string>): void {
  const dir = configuration['execution.checkpointing.dir']!;
  const retained = Number(configuration['execution.checkpointing.num-retained']);
  expect(r.effective).toMatchObject({
    checkpointDir: dir,
    numRetained: retained,
    intervalMs: 2000,
    incremental: true,
    retention: 'RETAIN_ON_CANCELLATION',
  });
  expect(r.fileSystem.class).toContain('PluginFileSystemFactory');
  expect(r.fileSystem.prestoOnClasspath).toBe(false);
  expect(r.job.stateBackend).toBe('EmbeddedRocksDBStateBackend');
  expect(r.job.checkpoints.length).toBeGreaterThanOrEqual(retained + 2);
  expect(r.job.retainedWhileRunning).toHaveLength(retained);
  expect(r.afterCancel.retained).toHaveLength(retained);
  expect(r.job.sharedFilesOverInlineThreshold).toBeGreaterThan(0);
  expect(r.job.latestCheckpointKeyedHandles).toContain('IncrementalRemoteKeyedStateHandle');
  expect(r.savepoint.path.startsWith(`${configuration['execution.checkpointing.savepoint-dir']}/`)).toBe(true);
  expect(r.restores.map((x) => x.from)).toEqual(['checkpoint', 'savepoint']);
  for (const x of r.restores) {
    expect(x.violations).toBe(0);
    expect(x.sourceOffset).toBeGreaterThan(0);
    expect(x.records).toBeGreaterThan(0);
  }
  expect(r.control.violations).toBeGreaterThan(0); // a fresh state would be caught
  expect(r.denied.message).toMatch(/Access ?Denied|403/);
  // What Flink wrote is in the bucket under the rendered dir, seen with MinIO's root credentials.
  const path = dir.replace(/^s3p:\/\//, 'root/');
  const listing = m.mc('ls', '--recursive', `${path}/${r.job.jobId}/`);
  for (const id of r.afterCancel.retained) expect(listing).toContain(`chk-${id}/_metadata`);
  expect(listing).toContain('shared/');
  expect(m.mc('ls', '--recursive', 'root/datalake/')).not.toContain('probe');
}

function report(label: string, r: FlinkCheckResult, wallMs: number): void {
  const ckpt = (l: { id: number; durationMs: number }[]) => l.map((c) => `#${c.id} ${c.durationMs} ms`).join(', ');
  console.log(
    [
      `flink ${label}: harness ${r.totalMs} ms, test ${wallMs} ms`,
      `  checkpoints: ${ckpt(r.job.checkpoints)}; retained ${r.afterCancel.retained.join(',')}; shared/ ${r.job.sharedFiles} files; savepoint in ${r.savepoint.durationMs} ms`,
      ...r.restores.map(
        (x) => `  restore from ${x.from}: offset ${x.sourceOffset}, ${x.records} records, ${x.violations} violations`,
      ),
      ...(r.expiryDemo
        ? [
            `  expiry demo: restore after deleting ${r.expiryDemo.deletedFile} -> ${r.expiryDemo.error.at(-1)?.slice(0, 160)}`,
          ]
        : []),
    ].join('\n'),
  );
}

/** Scaffolds the lab env, starts MinIO and runs the rendered bootstrap: the consumers' users exist. */
async function bootstrappedLab(ctx: { skip: (note?: string) => void }, tls: boolean) {
  needFlink(ctx);
  // With TLS the env has the prod profile: sealed credentials (decrypted as Flux does), TLS,
  // the rest of prod (the KMS key too: the buckets are encrypted at rest).
  const out = scaffold(tls ? CONFIG.replace('profile: dev', 'profile: prod') : CONFIG, '--env', 'lab');
  const m = await startMinio(ctx, { drives: 4, tls, env: serverEnv(build(ctx, out, 'overlays/lab/minio')) });
  const job = jobInputs(ctx, out, 'lab');
  const r = runBootstrap(m, job, tls ? ['--ca', m.ca!] : []);
  expect(r.code, r.stderr).toBe(0);
  return { m, out, objs: build(ctx, out, 'overlays/lab/consumers') };
}

describe('Flink on the rendered configuration (real Flink 1.20.0 MiniCluster, real MinIO and bootstrap)', () => {
  it('http: each kind checkpoints, retains, savepoints, restores; the other bucket is denied; deleting a shared file breaks the restore', async (ctx) => {
    const t0 = Date.now();
    const { m, objs } = await bootstrappedLab(ctx, false);
    for (const consumer of ['flink', 'jobs']) {
      const { namespace, configuration, podTemplate } = rendered(objs, consumer);
      expect(configuration['env.java.opts.all']).toBeUndefined();
      const env = podEnv(objs, consumer, namespace, podTemplate);
      expect(env.ENABLE_BUILT_IN_PLUGINS).toBe('flink-s3-fs-presto-1.20.0.jar');
      const { ENABLE_BUILT_IN_PLUGINS: _, ...awsEnv } = env;
      expect(Object.keys(awsEnv).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_REGION', 'AWS_SECRET_ACCESS_KEY']);
      const conf: Record<string, string> = { ...configuration, 's3.endpoint': m.endpoint };
      const r = await runFlinkCheck(ctx, {
        flinkConfiguration: conf,
        env: awsEnv,
        javaOptions: [],
        deniedPath: 's3p://datalake/denied-probe',
        expiryDemo: consumer === 'flink',
      });
      expectProof(r, m, configuration);
      if (consumer === 'flink') {
        // Why the scaffolder refuses an expiry on checkpoints: a shared file gone, no restore.
        expect(r.expiryDemo?.readError).toMatch(/NoSuchKey|404|FileNotFound/);
        expect(r.expiryDemo?.error.join('\n')).toMatch(/Could not restore keyed state backend|NoSuchKey|FileNotFound/);
      }
      report(`http ${consumer}`, r, Date.now() - t0);
    }
  }, 600_000);

  it('https with the private CA (prod profile, sealed credentials): each kind works with the truststore trust-manager builds from the rendered Bundle, and not without it', async (ctx) => {
    const t0 = Date.now();
    const { m, out, objs } = await bootstrappedLab(ctx, true);
    // Each consumer's own namespace's truststore: a namespace the Bundle misses has none.
    const stores = await renderedTruststores(ctx, out, 'lab', m.ca!);
    for (const consumer of ['flink', 'jobs']) {
      const { namespace, configuration, podTemplate } = rendered(objs, consumer);
      const store = stores[namespace];
      expect(store, `truststore of ${namespace}`).toBeDefined();
      const { ENABLE_BUILT_IN_PLUGINS: _, ...awsEnv } = podEnv(objs, consumer, namespace, podTemplate);
      // The pod mounts the Bundle's ConfigMap where the rendered JVM options look.
      const mount = (
        podTemplate.spec.containers[0] as unknown as { volumeMounts: { name: string; mountPath: string }[] }
      ).volumeMounts.find((v) => v.name === 'minio-trust')!;
      expect(`${mount.mountPath}/truststore.p12`).toBe(POD_TRUSTSTORE);
      const conf: Record<string, string> = { ...configuration, 's3.endpoint': m.endpoint };
      expect(conf['s3.endpoint']).toMatch(/^https:/);
      const javaOptions = javaOptsToArgs(conf['env.java.opts.all'], store);
      expect(javaOptions).toEqual([
        `-Djavax.net.ssl.trustStore=${store}`,
        '-Djavax.net.ssl.trustStorePassword=changeit',
      ]);
      if (consumer === 'flink') {
        // Without the truststore the JVM does not trust MinIO: TLS is really in play.
        const untrusted = probeS3(ctx, {
          flinkConfiguration: conf,
          env: awsEnv,
          javaOptions: [],
          path: `${conf['execution.checkpointing.dir']}/`,
        });
        expect(untrusted.ok).toBe(false);
        expect(untrusted.error).toMatch(/PKIX|SSLHandshake|certificat/i);
      }
      const r = await runFlinkCheck(ctx, {
        flinkConfiguration: conf,
        env: awsEnv,
        javaOptions,
        deniedPath: 's3p://datalake/denied-probe',
      });
      expectProof(r, m, configuration);
      report(`https ${consumer}`, r, Date.now() - t0);
    }
  }, 600_000);

  it("renders for every supported Flink line only keys that line's own option classes know as current", async (ctx) => {
    needFlink(ctx);
    // One checked release per supported line, and no supported line without one.
    expect(FLINK_KEY_VERSIONS.map((v) => v.split('.').slice(0, 2).join('.'))).toEqual([...FLINK_LINES]);
    for (const version of FLINK_KEY_VERSIONS) {
      const out = tempDir();
      let stderr = '';
      const code = await main(['--env', 'prod', '--flink-version', version, '--no-commit'], out, {
        out: () => {},
        err: (t) => (stderr += t),
      });
      expect(code, stderr).toBe(0);
      const objs = build(ctx, out, 'overlays/prod/consumers');
      const keys = Object.keys(rendered(objs, 'flink', 'minio').configuration).filter((k) => !k.startsWith('s3.'));
      const status = await flinkKeyCheck(ctx, version, keys);
      for (const k of keys)
        expect({ version, key: k, status: status[k]?.status }).toEqual({ version, key: k, status: 'current' });
    }
    // The checker tells old names apart, so it can fail.
    const r120 = await flinkKeyCheck(ctx, '1.20.0', ['state.checkpoints.dir', 'no.such.flink.key']);
    expect(r120['state.checkpoints.dir']).toMatchObject({
      status: 'deprecated',
      primary: 'execution.checkpointing.dir',
    });
    expect(r120['no.such.flink.key']?.status).toBe('unknown');
  }, 300_000);
});
