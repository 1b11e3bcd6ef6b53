// cert-manager trust-manager for tests: its real Bundle controller (the pinned build of
// tools/trust-manager, from tools/install-trust.sh) against the test cluster of
// test/cluster.ts, so a Bundle's ConfigMaps (PEM and PKCS12 truststore) are built exactly
// as in a cluster. The test stands in for cert-manager only: it writes the CA Secret that
// cert-manager would, in the trust namespace. Everything else (the Synced condition, the
// target ConfigMaps) is written by trust-manager.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { startCluster, type Cluster } from './cluster.ts';
import { build } from './scaffolded.ts';
import { needTool, REPO, tempDir, unavailable } from './tools.ts';

/** The machine's public CAs, as Debian's ca-certificates package writes them. */
const SYSTEM_CAS = '/etc/ssl/certs/ca-certificates.crt';

export interface TrustManager {
  bin: string;
  /** The Bundle CRD (trust.cert-manager.io/v1alpha1) of the same trust-manager version. */
  crd: string;
}

/** trust-manager and its Bundle CRD, or: skip the test (locally) / fail it (CI). */
export function needTrustManager(ctx: { skip: (note?: string) => void }): TrustManager {
  const bin = join(REPO, '.tools', 'bin', 'trust-manager');
  const crd = join(REPO, '.tools', 'crds', 'trust.cert-manager.io_bundles.yaml');
  if (!existsSync(bin) || !existsSync(crd))
    unavailable(ctx, 'trust-manager is not available: run `bash tools/install.sh` (needs Go)');
  if (!existsSync(SYSTEM_CAS))
    unavailable(
      ctx,
      `${SYSTEM_CAS} is missing: install the ca-certificates package (the default CA package is made from it)`,
    );
  return { bin, crd };
}

/** trust-manager's default CA package (its fspkg JSON format), made from this machine's public CAs. */
export function defaultPackage(dir: string): string {
  const bundle = readFileSync(SYSTEM_CAS, 'utf8');
  let version: string;
  try {
    version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'ca-certificates'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    version = `sha256-${createHash('sha256').update(bundle).digest('hex').slice(0, 16)}`;
  }
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'default-package.json');
  writeFileSync(file, JSON.stringify({ name: 'ca-certificates', bundle, version }));
  return file;
}

/** Server-side apply, as a GitOps engine applies (idempotent). */
async function apply(c: Cluster, o: object) {
  const api = k8s.KubernetesObjectApi.makeApiClient(c.kc);
  return api.patch(
    k8s.loadYaml<k8s.KubernetesObject>(JSON.stringify(o)),
    undefined,
    undefined,
    'test',
    true,
    k8s.PatchStrategy.ServerSideApply,
  );
}

type Condition = { type: string; status: string; reason?: string; message?: string; observedGeneration?: number };
type Bundle = {
  metadata: { name: string; generation?: number };
  spec: { target: { configMap?: { key: string }; additionalFormats?: { pkcs12?: { key: string } } } };
  status?: { conditions?: Condition[] };
};

/**
 * Distributes a trust bundle with the real trust-manager: creates the namespaces, the CA
 * Secret in the trust namespace (type kubernetes.io/tls when `caKeyPem` is given, as
 * cert-manager writes a CA's Secret, else Opaque with just `caSecret.key`), applies the
 * Bundle as given, runs trust-manager until the test ends, and waits (at most `seconds`)
 * until the Bundle is Synced and every one of `namespaces` has the target ConfigMap.
 * Returns each namespace's PEM (`data`) and PKCS12 (`binaryData`, decoded; empty when the
 * Bundle asks for no PKCS12).
 */
export async function distributeTrust(
  ctx: { skip: (note?: string) => void },
  cluster: Cluster,
  opts: {
    bundle: object;
    caPem: string;
    caKeyPem?: string;
    caSecret: { name: string; key: string };
    trustNamespace: string;
    namespaces: string[];
    seconds?: number;
  },
): Promise<Record<string, { pem: string; p12: Buffer }>> {
  const tm = needTrustManager(ctx);
  const bundle = opts.bundle as Bundle;
  const name = bundle.metadata.name;
  const pemKey = bundle.spec.target.configMap?.key;
  const p12Key = bundle.spec.target.additionalFormats?.pkcs12?.key;
  if (!pemKey) throw new Error(`Bundle ${name} has no target.configMap.key: only ConfigMap targets are read back`);

  for (const ns of new Set([opts.trustNamespace, ...opts.namespaces]))
    await apply(cluster, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const data: Record<string, string> = opts.caKeyPem
    ? { 'tls.crt': opts.caPem, 'tls.key': opts.caKeyPem, 'ca.crt': opts.caPem }
    : {};
  data[opts.caSecret.key] = opts.caPem;
  await apply(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: opts.caSecret.name, namespace: opts.trustNamespace },
    type: opts.caKeyPem ? 'kubernetes.io/tls' : 'Opaque',
    stringData: data,
  });
  await apply(cluster, bundle);

  const dir = tempDir('minio-gitops-trust-');
  const started = Date.now();
  const proc = spawn(
    tm.bin,
    [
      '--kubeconfig',
      cluster.kubeconfig,
      '--trust-namespace',
      opts.trustNamespace,
      '--default-package-location',
      defaultPackage(dir),
    ],
    {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let logs = '';
  proc.stderr.on('data', (d) => (logs = `${logs}${d}`.slice(-20000)));
  onTestFinished(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });

  const custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
  const deadline = Date.now() + (opts.seconds ?? 60) * 1000;
  let state = 'nothing read yet';
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`trust-manager exited with ${proc.exitCode}: ${logs.slice(-3000)}`);
    try {
      const b = (await custom.getClusterCustomObject({
        group: 'trust.cert-manager.io',
        version: 'v1alpha1',
        plural: 'bundles',
        name,
      })) as Bundle;
      const synced = b.status?.conditions?.find((c) => c.type === 'Synced');
      state = `Bundle ${name} Synced: ${JSON.stringify(synced)}`;
      if (synced?.status === 'True' && synced.observedGeneration === b.metadata.generation) {
        const out: Record<string, { pem: string; p12: Buffer }> = {};
        for (const namespace of opts.namespaces) {
          const cm = await core.readNamespacedConfigMap({ name, namespace }).catch(() => undefined);
          const pem = cm?.data?.[pemKey];
          const p12 = p12Key ? cm?.binaryData?.[p12Key] : '';
          if (pem === undefined || p12 === undefined) break;
          out[namespace] = { pem, p12: Buffer.from(p12, 'base64') };
        }
        if (Object.keys(out).length === opts.namespaces.length) {
          console.log(
            `trust-manager synced Bundle ${name} to ${opts.namespaces.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          );
          return out;
        }
        state += '; target ConfigMaps not all there yet';
      }
    } catch (error) {
      state = `reading Bundle ${name}: ${(error as Error).message}`;
    }
    if (Date.now() > deadline)
      throw new Error(`trust-manager did not sync Bundle ${name} in time (${state}): ${logs.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The truststores the consumer namespaces get in the cluster, built the way the cluster
 * builds them: a real kube-apiserver, the env's rendered Bundle (a kustomize build of
 * overlays/<env>/trust), the CA Secret it names (the test's CA, standing in for the one
 * cert-manager makes) and the real trust-manager. Returns each selected namespace's
 * PKCS12 file.
 */
export async function renderedTruststores(
  ctx: { skip: (note?: string) => void },
  out: string,
  env: string,
  caFile: string,
): Promise<Record<string, string>> {
  const tm = needTrustManager(ctx);
  const [etcd, apiserver] = [needTool(ctx, 'etcd'), needTool(ctx, 'kube-apiserver')];
  const bundle = build(ctx, out, `overlays/${env}/trust`).find((o) => o.kind === 'Bundle')!;
  const source = (bundle.spec.sources as { secret?: { name: string; key: string } }[]).find((s) => s.secret)!.secret!;
  const namespaces = bundle.spec.target.namespaceSelector.matchExpressions[0].values as string[];
  const cluster = await startCluster(tempDir('minio-gitops-cluster-'), { etcd, apiserver }, { crdFiles: [tm.crd] });
  onTestFinished(() => cluster.stop());
  const caKey = caFile.replace(/\.crt$/, '.key');
  const trust = await distributeTrust(ctx, cluster, {
    bundle,
    caPem: readFileSync(caFile, 'utf8'),
    ...(existsSync(caKey) ? { caKeyPem: readFileSync(caKey, 'utf8') } : {}),
    caSecret: source,
    trustNamespace: 'cert-manager',
    namespaces,
  });
  const dir = tempDir('minio-gitops-truststore-');
  return Object.fromEntries(
    Object.entries(trust).map(([namespace, { p12 }]) => {
      const file = join(dir, `${namespace}.p12`);
      writeFileSync(file, p12);
      return [namespace, file];
    }),
  );
}
