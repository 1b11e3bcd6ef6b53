// A real Kubernetes API server for tests: etcd and kube-apiserver (pinned builds from
// tools/install.sh) on 127.0.0.1, random ports, certificates made with openssl, a
// kubeconfig for an admin client certificate, and the CRDs the output uses. Stopped when
// the test (or the file, for a shared one) ends. No controller runs here: test/controlplane.ts
// adds kube-controller-manager, kube-scheduler and kwok's nodes on top of it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { findTool, freePort, needTool, REPO } from './tools.ts';

function certificates(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=minio-gitops test cluster CA',
  );
  const signed = (name: string, subject: string, ext: string) => {
    ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    );
    writeFileSync(join(dir, `${name}.ext`), ext);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  };
  signed('apiserver', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  // system:masters: every permission, as a cluster admin's kubeconfig has.
  signed('admin', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\n');
  ssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key');
  ssl('pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
}

export interface Cluster {
  kubeconfig: string;
  kc: k8s.KubeConfig;
  server: string;
  stop: () => void;
  /** A kubeconfig for a user with a client certificate and no RBAC grants at all. */
  userKubeconfig: (user: string) => string;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  procs: ChildProcess[],
  logs: () => string,
  seconds = 90,
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (procs.some((p) => p.exitCode !== null) || Date.now() > deadline)
      throw new Error(`${what} did not start: ${logs().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * etcd + kube-apiserver in `dir`, with the CRDs of .tools/crds (the upstream ones, pinned, from
 * tools/install.sh) and test/crds (ours) installed,
 * or, when `opts.crdFiles` is given, exactly those CRD files.
 */
export async function startCluster(
  dir: string,
  bin: { etcd: string; apiserver: string },
  opts?: { crdFiles?: string[] },
): Promise<Cluster> {
  mkdirSync(join(dir, 'pki'), { recursive: true });
  const pki = join(dir, 'pki');
  certificates(pki);
  const [client, peer, secure] = [await freePort(), await freePort(), await freePort()];
  let logs = '';
  const collect = (p: ChildProcess, name: string) =>
    p.stderr?.on('data', (d) => (logs = `${logs}${name}: ${d}`.slice(-20000)));

  const etcd = spawn(
    bin.etcd,
    [
      '--name',
      'test',
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peer}`,
      '--initial-cluster',
      `test=http://127.0.0.1:${peer}`,
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  collect(etcd, 'etcd');
  await waitFor(
    'etcd',
    async () => (await fetch(`http://127.0.0.1:${client}/health`)).ok,
    [etcd],
    () => logs,
  );

  const apiserver = spawn(
    bin.apiserver,
    [
      '--etcd-servers',
      `http://127.0.0.1:${client}`,
      '--bind-address',
      '127.0.0.1',
      '--advertise-address',
      '127.0.0.1',
      '--secure-port',
      String(secure),
      '--tls-cert-file',
      join(pki, 'apiserver.crt'),
      '--tls-private-key-file',
      join(pki, 'apiserver.key'),
      '--client-ca-file',
      join(pki, 'ca.crt'),
      '--service-account-key-file',
      join(pki, 'sa.pub'),
      '--service-account-signing-key-file',
      join(pki, 'sa.key'),
      '--service-account-issuer',
      'https://kubernetes.default.svc',
      '--service-cluster-ip-range',
      '10.96.0.0/16',
      '--authorization-mode',
      'RBAC',
      // As kubeadm and the managed clusters run it: privileged pods are a Pod Security matter.
      '--allow-privileged=true',
      // The default admission plugins, PodSecurity and ServiceAccount among them. (With no
      // controller-manager, tests make a namespace's "default" ServiceAccount themselves.)
      '--cert-dir',
      join(dir, 'certs'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  collect(apiserver, 'kube-apiserver');
  const stop = () => {
    apiserver.kill('SIGKILL');
    etcd.kill('SIGKILL');
  };

  const server = `https://127.0.0.1:${secure}`;
  const kubeconfig = join(dir, 'kubeconfig');
  const b64 = (f: string) => readFileSync(join(pki, f)).toString('base64');
  writeFileSync(
    kubeconfig,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': b64('ca.crt') } }],
      users: [
        { name: 'admin', user: { 'client-certificate-data': b64('admin.crt'), 'client-key-data': b64('admin.key') } },
      ],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
      'current-context': 'test',
    }),
  );
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  try {
    await waitFor(
      'kube-apiserver',
      async () =>
        (await core.listNamespace()).items.length >= 0 && (await core.readNamespace({ name: 'default' })) !== undefined,
      [etcd, apiserver],
      () => logs,
    );
    await installCrds(kc, opts?.crdFiles);
  } catch (error) {
    stop();
    throw error;
  }
  const userKubeconfig = (user: string) => {
    execFileSync(
      'openssl',
      [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${user}.key`,
        '-out',
        `${user}.csr`,
        '-subj',
        `/CN=${user}`,
      ],
      { cwd: pki, stdio: 'pipe' },
    );
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        `${user}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${user}.crt`,
        '-days',
        '1',
      ],
      { cwd: pki, stdio: 'pipe' },
    );
    const file = join(dir, `kubeconfig-${user}`);
    writeFileSync(
      file,
      YAML.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': b64('ca.crt') } }],
        users: [
          {
            name: user,
            user: { 'client-certificate-data': b64(`${user}.crt`), 'client-key-data': b64(`${user}.key`) },
          },
        ],
        contexts: [{ name: 'test', context: { cluster: 'test', user } }],
        'current-context': 'test',
      }),
    );
    return file;
  };
  return { kubeconfig, kc, server, stop, userKubeconfig };
}

async function installCrds(kc: k8s.KubeConfig, crdFiles?: string[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  // The upstream CRDs tools/install.sh fetches from the registries (tools/install-crds.sh;
  // trust-manager's Bundle from tools/install-trust.sh), and ours.
  const dirs = [join(REPO, '.tools', 'crds'), join(REPO, 'test', 'crds')];
  const files =
    crdFiles ??
    dirs.flatMap((dir) =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join(dir, f)),
    );
  const names: string[] = [];
  for (const file of files) {
    // loadYaml types the object, so the client sends every field (x-kubernetes-*, ...).
    const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(file, 'utf8'));
    await api.create(crd);
    names.push(crd.metadata!.name!);
  }
  for (const name of names) {
    await waitFor(
      `CRD ${name}`,
      async () =>
        ((await ext.readCustomResourceDefinition({ name })).status?.conditions ?? []).some(
          (c) => c.type === 'Established' && c.status === 'True',
        ),
      [],
      () => '',
      30,
    );
  }
}

type Ctx = { skip: (note?: string) => void };

/**
 * One cluster for a whole test file (a test's own tempDir would go with that test):
 * started before the file's tests when `available()`, stopped after them. The returned
 * function gives it to a test, after `need(ctx)` has skipped (locally) or failed (CI)
 * the test when a tool is missing.
 */
export function fileCluster(opts: {
  prefix: string;
  available: () => boolean;
  need: (ctx: Ctx) => void;
  crdFiles?: () => string[];
  started?: (seconds: number) => void;
}): (ctx: Ctx) => Cluster {
  let cluster: Cluster | undefined;
  let setupError: string | undefined;
  const dir = mkdtempSync(join(tmpdir(), opts.prefix));
  beforeAll(async () => {
    const [apiserver, etcd] = [findTool('kube-apiserver'), findTool('etcd')];
    if (!apiserver || !etcd || !opts.available()) return;
    const began = Date.now();
    try {
      cluster = await startCluster(dir, { etcd, apiserver }, opts.crdFiles ? { crdFiles: opts.crdFiles() } : undefined);
      opts.started?.((Date.now() - began) / 1000);
    } catch (error) {
      setupError = (error as Error).message;
    }
  }, 120_000);
  afterAll(() => {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return (ctx) => {
    needTool(ctx, 'kube-apiserver');
    needTool(ctx, 'etcd');
    opts.need(ctx);
    if (!cluster) throw new Error(`the test cluster did not start: ${setupError}`);
    return cluster;
  };
}
