// The trust bundle an env with TLS and a private CA distributes to its consumers, built by
// the real trust-manager (test/trust.ts) in a real kube-apiserver, and used by a real JVM
// (Java 17, as the consumers run) to reach a real MinIO over https.
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { startCluster, type Cluster } from './cluster.ts';
import { startMinio } from './minio.ts';
import { findTool, needTool, REPO, tempDir } from './tools.ts';
import { distributeTrust, needTrustManager } from './trust.ts';

const TRUST_NAMESPACE = 'cert-manager';

/** The Bundle the scaffolder renders for env "prod" with TLS on and a private CA. */
const bundle = {
  apiVersion: 'trust.cert-manager.io/v1alpha1',
  kind: 'Bundle',
  metadata: { name: 'minio-prod-trust' },
  spec: {
    sources: [{ useDefaultCAs: true }, { secret: { name: 'minio-prod-ca', key: 'tls.crt' } }],
    target: {
      configMap: { key: 'ca.crt' },
      additionalFormats: { pkcs12: { key: 'truststore.p12', password: 'changeit', profile: 'Modern2023' } },
      namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['analytics', 'el-demo'] }] },
    },
  },
};

/** An https GET from the JVM, through its default SSLContext (javax.net.ssl.* properties). */
const PROBE = `
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;
public class Probe {
  public static void main(String[] args) throws Exception {
    HttpsURLConnection c = (HttpsURLConnection) new URL(args[0]).openConnection();
    c.setConnectTimeout(10000);
    c.setReadTimeout(20000);
    try {
      System.out.println("HTTP " + c.getResponseCode());
    } catch (javax.net.ssl.SSLException e) {
      System.out.println(e);
      System.exit(2);
    }
  }
}
`;

/** The base64 bodies of a PEM bundle's certificates (order-free comparison). */
function pemBodies(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => m[1]!.replace(/\s+/g, ''));
}

function java(ctx: { skip: (note?: string) => void }): { java: string; keytool: string; version: string } {
  const path = spawnSync('sh', ['-c', 'command -v java && command -v keytool'], { encoding: 'utf8' });
  if (path.status !== 0) {
    const reason = 'java and keytool (a Java 17 JDK) are not on the PATH';
    if (process.env.CI) throw new Error(reason);
    console.warn(`skipped: ${reason}`);
    ctx.skip(reason);
  }
  const [javaBin = 'java', keytool = 'keytool'] = path.stdout.trim().split('\n');
  const version = spawnSync(javaBin, ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0] ?? '';
  return { java: javaBin, keytool, version };
}

let cluster: Cluster | undefined;
let setupError: string | undefined;
// One cluster for the file (a test's tempDir would go with its test).
const clusterDir = mkdtempSync(join(tmpdir(), 'minio-gitops-trust-cluster-'));

beforeAll(async () => {
  const apiserver = findTool('kube-apiserver');
  const etcd = findTool('etcd');
  const crd = join(REPO, '.tools', 'crds', 'trust.cert-manager.io_bundles.yaml');
  if (!apiserver || !etcd || !existsSync(crd)) return;
  const started = Date.now();
  try {
    cluster = await startCluster(clusterDir, { etcd, apiserver }, { crdFiles: [crd] });
    console.log(`test cluster (etcd, kube-apiserver, the Bundle CRD) started in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    setupError = (error as Error).message;
  }
}, 120_000);

afterAll(() => {
  cluster?.stop();
  rmSync(clusterDir, { recursive: true, force: true });
});

function needCluster(ctx: { skip: (note?: string) => void }): Cluster {
  needTool(ctx, 'kube-apiserver');
  needTool(ctx, 'etcd');
  needTrustManager(ctx);
  if (!cluster) throw new Error(`the test cluster did not start: ${setupError}`);
  return cluster;
}

/** `keytool -list` of a PKCS12 truststore: its exit code, output, and the SHA-256 fingerprints it lists. */
function keytoolList(keytool: string, file: string, password?: string) {
  const args = ['-J-Xmx128m', '-list', '-storetype', 'PKCS12', '-keystore', file, ...(password === undefined ? [] : ['-storepass', password])];
  const r = spawnSync(keytool, args, { encoding: 'utf8', input: '', timeout: 60_000 });
  const output = `${r.stdout}${r.stderr}`;
  const fingerprints = [...output.matchAll(/Certificate fingerprint \(SHA-256\): ([0-9A-F:]+)/g)].map((x) => x[1]);
  const entries = Number(/Your keystore contains (\d+) entr/.exec(output)?.[1] ?? -1);
  return { code: r.status, output, fingerprints, entries, trusted: (output.match(/trustedCertEntry/g) ?? []).length };
}

/** Runs the probe on the JVM with the given -D options; returns its exit code and output. */
function probe(javaBin: string, dir: string, url: string, props: string[]) {
  const r = spawnSync(javaBin, ['-Xmx128m', ...props, join(dir, 'Probe.java'), url], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' } });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

async function readConfigMap(c: Cluster, namespace: string, name: string): Promise<k8s.V1ConfigMap | undefined> {
  const core = c.kc.makeApiClient(k8s.CoreV1Api);
  try {
    return await core.readNamespacedConfigMap({ name, namespace });
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

describe('trust-manager distributes the private CA to the consumers', () => {
  it('builds the PEM and the Modern2023 PKCS12 truststore that Java 17 trusts MinIO with, in the selected namespaces only', async (ctx) => {
    const c = needCluster(ctx);
    const jdk = java(ctx);
    const m = await startMinio(ctx, { drives: 1, tls: true });
    const caPem = readFileSync(m.ca!, 'utf8');
    const caKeyPem = readFileSync(join(dirname(m.ca!), 'ca.key'), 'utf8');
    const caFingerprint = new X509Certificate(caPem).fingerprint256;
    const systemCas = pemBodies(readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8'));
    const api = k8s.KubernetesObjectApi.makeApiClient(c.kc);
    // A namespace the selector does not match: it must get nothing.
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'unselected' } });

    const consumers = ['el-demo', 'analytics'];
    const got = await distributeTrust(ctx, c, { bundle, caPem, caKeyPem, caSecret: { name: 'minio-prod-ca', key: 'tls.crt' }, trustNamespace: TRUST_NAMESPACE, namespaces: consumers });

    // Synced, by trust-manager, for the Bundle's current generation.
    const live = (await c.kc.makeApiClient(k8s.CustomObjectsApi).getClusterCustomObject({ group: 'trust.cert-manager.io', version: 'v1alpha1', plural: 'bundles', name: 'minio-prod-trust' })) as {
      metadata: { generation: number; managedFields: { manager: string; subresource?: string }[] };
      status: { conditions: { type: string; status: string; reason: string; observedGeneration: number }[] };
    };
    expect(live.status.conditions.find((x) => x.type === 'Synced')).toMatchObject({ status: 'True', reason: 'Synced', observedGeneration: live.metadata.generation });
    expect(live.metadata.managedFields.filter((f) => f.subresource === 'status').map((f) => f.manager)).toEqual(['trust-manager']);

    // Nothing in the namespaces outside the selector (the trust namespace is one of them).
    expect(await readConfigMap(c, 'unselected', 'minio-prod-trust')).toBeUndefined();
    expect(await readConfigMap(c, TRUST_NAMESPACE, 'minio-prod-trust')).toBeUndefined();

    const dir = tempDir('minio-gitops-jvm-');
    writeFileSync(join(dir, 'Probe.java'), PROBE);
    const url = `${m.endpoint}/minio/health/live`;
    expect(url.startsWith('https://127.0.0.1:')).toBe(true);
    for (const ns of consumers) {
      const cm = (await readConfigMap(c, ns, 'minio-prod-trust'))!;
      expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Bundle', name: 'minio-prod-trust', controller: true });
      expect(Object.keys(cm.data ?? {})).toEqual(['ca.crt']);
      expect(Object.keys(cm.binaryData ?? {})).toEqual(['truststore.p12']);

      // The PEM: exactly the machine's public CAs (the default package) and the private CA.
      const pem = pemBodies(got[ns]!.pem);
      expect(pem).toContain(pemBodies(caPem)[0]);
      expect(pem.length).toBeGreaterThan(100);
      expect(new Set(pem)).toEqual(new Set([...systemCas, pemBodies(caPem)[0]]));

      // The PKCS12: keytool (Java 17) opens it with "changeit", and only with it.
      const p12 = join(dir, `${ns}.p12`);
      writeFileSync(p12, got[ns]!.p12);
      const list = keytoolList(jdk.keytool, p12, 'changeit');
      expect(list.code, list.output).toBe(0);
      expect(list.entries).toBe(new Set(pem).size);
      expect(list.trusted).toBe(list.entries);
      expect(list.fingerprints).toContain(caFingerprint);
      expect(list.fingerprints.length).toBeGreaterThan(100);
      const wrong = keytoolList(jdk.keytool, p12, 'not-changeit');
      expect(wrong.code, wrong.output).not.toBe(0);
      expect(wrong.output).toMatch(/password was incorrect/);

      // A JVM trusts MinIO's certificate with the truststore, and not without it.
      const ok = probe(jdk.java, dir, url, [`-Djavax.net.ssl.trustStore=${p12}`, '-Djavax.net.ssl.trustStorePassword=changeit']);
      expect(ok, jdk.version).toMatchObject({ code: 0, output: expect.stringContaining('HTTP 200') });
      const without = probe(jdk.java, dir, url, []);
      expect(without.code, without.output).toBe(2);
      expect(without.output).toMatch(/PKIX path building failed/);
    }
  }, 240_000);

  // Not what the scaffolder renders (it sets "changeit"), but what a Bundle without a
  // password gets: trust-manager's default PKCS12, with no MAC and no encryption.
  it("trust-manager's default, passwordless PKCS12 opens in Java 17 without any password", async (ctx) => {
    const c = needCluster(ctx);
    const jdk = java(ctx);
    const m = await startMinio(ctx, { drives: 1, tls: true });
    const caPem = readFileSync(m.ca!, 'utf8');
    const caKeyPem = readFileSync(join(dirname(m.ca!), 'ca.key'), 'utf8');
    const passwordless = {
      apiVersion: 'trust.cert-manager.io/v1alpha1',
      kind: 'Bundle',
      metadata: { name: 'minio-prod-trust-passwordless' },
      spec: {
        sources: [{ useDefaultCAs: true }, { secret: { name: 'minio-prod-ca', key: 'tls.crt' } }],
        target: { configMap: { key: 'ca.crt' }, additionalFormats: { pkcs12: { key: 'truststore.p12' } }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'el-demo' } } },
      },
    };
    const got = await distributeTrust(ctx, c, { bundle: passwordless, caPem, caKeyPem, caSecret: { name: 'minio-prod-ca', key: 'tls.crt' }, trustNamespace: TRUST_NAMESPACE, namespaces: ['el-demo'] });
    const dir = tempDir('minio-gitops-jvm-');
    writeFileSync(join(dir, 'Probe.java'), PROBE);
    const p12 = join(dir, 'truststore.p12');
    writeFileSync(p12, got['el-demo']!.p12);

    const list = keytoolList(jdk.keytool, p12); // no -storepass (and nothing typed at the prompt)
    expect(list.code, list.output).toBe(0);
    expect(list.fingerprints).toContain(new X509Certificate(caPem).fingerprint256);
    expect(list.trusted).toBeGreaterThan(100);
    const url = `${m.endpoint}/minio/health/live`;
    const ok = probe(jdk.java, dir, url, [`-Djavax.net.ssl.trustStore=${p12}`]); // no trustStorePassword
    expect(ok, jdk.version).toMatchObject({ code: 0, output: expect.stringContaining('HTTP 200') });
  }, 240_000);
});
