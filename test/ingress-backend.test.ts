// The Ingresses verify MinIO's certificate. The prod env is scaffolded and built (kustomize);
// its private CA and the servers' Certificate are issued by the real cert-manager controller
// in a real kube-apiserver; a real MinIO serves with the issued key and certificate; and a
// real nginx proxies to it with the directives ingress-nginx writes for the Ingresses'
// proxy-ssl-* annotations (its nginx.tmpl: proxy_ssl_trusted_certificate from ca.crt of the
// proxy-ssl-secret, proxy_ssl_ciphers/protocols/verify_depth at their defaults,
// proxy_ssl_verify, proxy_ssl_name, proxy_ssl_server_name, and proxy_ssl_certificate(_key)
// from the same Secret's tls.crt and tls.key). The upstream is named as ingress-nginx names
// it (upstream_balancer), so without proxy_ssl_name nginx would check that name.
// nginx passes S3 (signed, via mc) and the console through to the issued MinIO, and refuses
// a MinIO with another CA's certificate, and the right MinIO for a name not in its certificate.
import { request } from 'node:https';
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { main } from '../src/cli.ts';
import { needCertManager } from './certmanager.ts';
import { fileCluster } from './cluster.ts';
import { until } from './controlplane.ts';
import { adminUser, gitopsCrds, spawnController } from './flux.ts';
import { ROOT, startMinio } from './minio.ts';
import { build, type Obj } from './scaffolded.ts';
import { freePort, needTool, REPO, tempDir, unavailable } from './tools.ts';

type Skip = { skip: (note?: string) => void };
const A = 'nginx.ingress.kubernetes.io/';
const CERT_MANAGER_NAMESPACE = 'cert-manager';

/** The pinned nginx of tools/install-basic-auth.sh (Debian's, with the ssl module), or: skip (locally) / fail (CI). */
function needNginx(ctx: Skip): string {
  const pinned = join(REPO, '.tools', 'bin', 'nginx');
  return existsSync(pinned)
    ? pinned
    : unavailable(
        ctx,
        'nginx is not available: run `bash tools/install-basic-auth.sh` (Debian packages, pinned, into .tools)',
      );
}

const needCluster = fileCluster({
  prefix: 'minio-gitops-ingress-cluster-',
  available: () =>
    existsSync(join(REPO, '.tools', 'bin', 'cert-manager-controller')) && gitopsCrds('cert-manager.io').length > 0,
  need: (ctx) => void needCertManager(ctx),
  crdFiles: () => gitopsCrds('cert-manager.io'),
  started: (s) => console.log(`test cluster (etcd, kube-apiserver, cert-manager's CRDs) started in ${s.toFixed(1)} s`),
});

/** An https GET to 127.0.0.1:port trusting only `ca`, for the name `servername` (SNI and the check): the status. */
function httpsStatus(port: number, path: string, ca: string, servername: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** A MinIO on 127.0.0.1 serving with `certs` (public.crt, private.key, CAs/) as its --certs-dir; stopped when the test ends. */
async function startIssuedMinio(
  ctx: Skip,
  certs: string,
  ca: string,
  name: string,
): Promise<{ api: number; console: number }> {
  const minio = needTool(ctx, 'minio');
  const dir = tempDir('minio-gitops-issued-');
  const [api, consolePort] = [await freePort(), await freePort()];
  const server = spawn(
    minio,
    [
      'server',
      '--address',
      `127.0.0.1:${api}`,
      '--console-address',
      `127.0.0.1:${consolePort}`,
      '--certs-dir',
      certs,
      join(dir, 'drive'),
    ],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        MINIO_ROOT_USER: ROOT.user,
        MINIO_ROOT_PASSWORD: ROOT.password,
        MINIO_CI_CD: 'on',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  server.stderr.on('data', (d) => (stderr = `${stderr}${d}`.slice(-5000)));
  onTestFinished(() => void server.kill('SIGKILL'));
  const alive = () => {
    if (server.exitCode !== null) throw new Error(`MinIO exited (${server.exitCode}): ${stderr}`);
  };
  await until(
    'the MinIO with the issued certificate answers /minio/health/live over https',
    60,
    async () => ((await httpsStatus(api, '/minio/health/live', ca, name)) === 200 ? true : undefined),
    async () => stderr,
    alive,
  );
  await until(
    'its console answers over https',
    60,
    async () => ((await httpsStatus(consolePort, '/', ca, name)) === 200 ? true : undefined),
    async () => stderr,
    alive,
  );
  return { api, console: consolePort };
}

interface Backend {
  /** The server block's name in the test, and the port nginx listens on for it. */
  name: string;
  port: number;
  /** The MinIO port it proxies to. */
  upstream: number;
  annotations: Record<string, string>;
}

/**
 * The location directives ingress-nginx's nginx.tmpl writes for an Ingress's annotations
 * (backend-protocol and proxy-ssl-*; proxyssl's defaults for those not given), with the
 * files it makes from the proxy-ssl-secret: ca.crt, and tls.crt plus tls.key in one PEM.
 */
function ingressNginxProxy(b: Backend, files: { ca: string; pem: string }): string[] {
  const a = (key: string) => b.annotations[`${A}${key}`];
  const scheme = a('backend-protocol') === 'HTTPS' ? 'https' : 'http';
  const lines = [
    `proxy_pass ${scheme}://upstream_balancer_${b.name};`,
    'proxy_set_header Host $http_host;',
    'proxy_http_version 1.1;',
  ];
  if (a('proxy-ssl-secret')) {
    lines.push(
      `proxy_ssl_trusted_certificate ${files.ca};`,
      `proxy_ssl_ciphers ${a('proxy-ssl-ciphers') ?? 'DEFAULT'};`,
      `proxy_ssl_protocols ${a('proxy-ssl-protocols') ?? 'TLSv1 TLSv1.1 TLSv1.2'};`,
      `proxy_ssl_verify ${a('proxy-ssl-verify') ?? 'off'};`,
      `proxy_ssl_verify_depth ${a('proxy-ssl-verify-depth') ?? '1'};`,
    );
  }
  if (a('proxy-ssl-name')) lines.push(`proxy_ssl_name ${a('proxy-ssl-name')};`);
  lines.push(`proxy_ssl_server_name ${a('proxy-ssl-server-name') ?? 'off'};`);
  if (a('proxy-ssl-secret'))
    lines.push(`proxy_ssl_certificate ${files.pem};`, `proxy_ssl_certificate_key ${files.pem};`);
  return lines;
}

/** A real nginx on 127.0.0.1 with one server block per backend; stopped when the test ends. Returns its error log's reader. */
async function startNginx(
  nginx: string,
  backends: Backend[],
  files: { ca: string; pem: string },
): Promise<() => string> {
  const dir = tempDir('minio-gitops-nginx-');
  mkdirSync(join(dir, 'tmp'));
  const conf = [
    'daemon off;',
    'master_process off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    'events { worker_connections 64; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/tmp;`),
    ...backends.flatMap((b) => [
      `  upstream upstream_balancer_${b.name} { server 127.0.0.1:${b.upstream}; }`,
      `  server { listen 127.0.0.1:${b.port}; location / {`,
      ...ingressNginxProxy(b, files).map((l) => `    ${l}`),
      '  } }',
    ]),
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), conf);
  const test = spawnSync(nginx, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    encoding: 'utf8',
  });
  expect(test.status, `nginx -t:\n${test.stderr}\n${conf}`).toBe(0);
  const child = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: 'ignore',
  });
  onTestFinished(() => void child.kill('SIGTERM'));
  const log = () => (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '');
  await until(
    'nginx listens',
    10,
    async () =>
      (await fetch(`http://127.0.0.1:${backends[0]!.port}/`, { signal: AbortSignal.timeout(5000) }).then(() => true)) ||
      undefined,
    async () => log(),
    () => {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode})`);
    },
  );
  return log;
}

const statusVia = async (port: number, path: string) => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
  await r.text();
  return r.status;
};

describe('the Ingresses verify the servers’ certificate (ingress-nginx proxy-ssl-*)', () => {
  it('prod: the cert-manager-issued certificate covers proxy-ssl-name; a real nginx with the rendered settings passes S3 and the console to that MinIO, and refuses another CA’s server and a name not in the certificate', async (ctx) => {
    const began = Date.now();
    const cluster = needCluster(ctx);
    const cm = needCertManager(ctx);
    const nginx = needNginx(ctx);
    const mcBin = needTool(ctx, 'mc');

    // What the scaffolder renders for prod (TLS, ingress), built as the cluster gets it.
    const out = tempDir('minio-gitops-out-');
    let stderr = '';
    const code = await main(['--env', 'prod', '--secrets', 'external', '--no-commit'], out, {
      out: () => {},
      err: (t) => (stderr += t),
    });
    expect(code, stderr).toBe(0);
    const minioObjs = build(ctx, out, 'overlays/prod/minio');
    const trustObjs = build(ctx, out, 'overlays/prod/trust');
    const ingresses = minioObjs.filter((o) => o.kind === 'Ingress') as (Obj & {
      metadata: { namespace: string; annotations: Record<string, string> };
    })[];
    const routed = (i: Obj) =>
      (
        i.spec.rules as {
          http: { paths: { path: string; backend: { service: { name: string; port: { name: string } } } }[] };
        }[]
      )[0]!.http.paths;
    const byName = (n: string) => ingresses.find((i) => i.metadata.name === n)!;
    // The Ingresses that reach the servers (the metrics paths' one reaches none: test/metrics.test.ts).
    const proxied = ingresses.filter((i) => i.metadata.name !== 'minio-api-metrics');
    expect(proxied.map((i) => i.metadata.name).sort()).toEqual(['minio-api', 'minio-console']);
    const [api, consoleIngress] = [byName('minio-api'), byName('minio-console')];
    expect(routed(api).map((p) => p.path)).toContain('/');
    expect(routed(consoleIngress).map((p) => p.path)).toContain('/');
    const serverCert = minioObjs.find((o) => o.kind === 'Certificate' && o.metadata.name === 'minio-tls')!;
    const ns = serverCert.metadata.namespace!;
    for (const ing of proxied) {
      const a = ing.metadata.annotations;
      expect(a, ing.metadata.name).toMatchObject({
        [`${A}backend-protocol`]: 'HTTPS',
        [`${A}proxy-ssl-verify`]: 'on',
        [`${A}proxy-ssl-server-name`]: 'on',
      });
      // namespace/name, the Ingress's own namespace (ingress-nginx refuses others), a Secret the servers' Certificate writes.
      expect(a[`${A}proxy-ssl-secret`]).toBe(`${ing.metadata.namespace}/${serverCert.spec.secretName}`);
      // A name of the certificate, and the one of the Service the Ingress routes to.
      expect(serverCert.spec.dnsNames).toContain(a[`${A}proxy-ssl-name`]);
      for (const p of routed(ing)) expect(a[`${A}proxy-ssl-name`]).toBe(`${p.backend.service.name}.${ns}.svc`);
    }
    console.log(
      `rendered: ${proxied.map((i) => `${i.metadata.name} proxy-ssl-name=${i.metadata.annotations[`${A}proxy-ssl-name`]}`).join(', ')}; proxy-ssl-secret=${api.metadata.annotations[`${A}proxy-ssl-secret`]}`,
    );

    // The real cert-manager issues the env's CA and the servers' certificate from the rendered objects.
    const objects = k8s.KubernetesObjectApi.makeApiClient(cluster.kc);
    for (const name of [CERT_MANAGER_NAMESPACE, ns])
      await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const dir = tempDir('minio-gitops-cert-manager-');
    const controller = spawnController(
      'cert-manager',
      cm.controller,
      [
        '--kubeconfig',
        await adminUser(cluster, 'cert-manager'),
        '--cluster-resource-namespace',
        CERT_MANAGER_NAMESPACE,
      ],
      dir,
    );
    for (const o of [...trustObjs.filter((x) => x.apiVersion.startsWith('cert-manager.io/')), serverCert])
      await objects.create(o as k8s.KubernetesObject);
    const core = cluster.kc.makeApiClient(k8s.CoreV1Api);
    const issuing = Date.now();
    const secret = await until(
      `cert-manager issues ${ns}/${serverCert.spec.secretName}`,
      90,
      async () => {
        const s = await core.readNamespacedSecret({ name: serverCert.spec.secretName, namespace: ns });
        return s.data?.['ca.crt'] && s.data['tls.crt'] && s.data['tls.key'] ? s.data : undefined;
      },
      async () => controller.log().slice(-3000),
      () => {
        const gone = controller.exited();
        if (gone) throw new Error(gone);
      },
    );
    console.log(
      `cert-manager issued the CA and ${ns}/${serverCert.spec.secretName} in ${((Date.now() - issuing) / 1000).toFixed(1)} s`,
    );
    const pem = (key: string) => Buffer.from(secret[key]!, 'base64').toString('utf8');
    const [caPem, certPem, keyPem] = [pem('ca.crt'), pem('tls.crt'), pem('tls.key')];
    const [ca, cert] = [new X509Certificate(caPem), new X509Certificate(certPem)];
    expect(cert.checkIssued(ca) && cert.verify(ca.publicKey), 'the CA in ca.crt signed tls.crt').toBe(true);
    for (const ing of proxied)
      expect(cert.checkHost(ing.metadata.annotations[`${A}proxy-ssl-name`]!), ing.metadata.name).toBeTruthy();
    expect(cert.checkHost('minio.prod.local'), 'an ingress host is not a server name').toBeUndefined();

    // A MinIO serving with the issued certificate (MinIO's --certs-dir layout, as the TLS patch mounts the Secret).
    const files = tempDir('minio-gitops-issued-certs-');
    mkdirSync(join(files, 'certs', 'CAs'), { recursive: true });
    writeFileSync(join(files, 'certs', 'public.crt'), certPem);
    writeFileSync(join(files, 'certs', 'private.key'), keyPem, { mode: 0o600 });
    writeFileSync(join(files, 'certs', 'CAs', 'ca.crt'), caPem);
    const apiName = api.metadata.annotations[`${A}proxy-ssl-name`]!;
    const issued = await startIssuedMinio(ctx, join(files, 'certs'), caPem, apiName);
    // And one with a certificate from another CA (for 127.0.0.1 and localhost).
    const other = await startMinio(ctx, { drives: 1, tls: true });
    const otherPort = Number(new URL(other.endpoint).port);

    // ingress-nginx's files from the Secret: ca.crt, and tls.crt + tls.key in one PEM.
    writeFileSync(join(files, 'ca.crt'), caPem);
    writeFileSync(join(files, 'client.pem'), `${certPem}${keyPem}`, { mode: 0o600 });
    const apiAnnotations = api.metadata.annotations;
    const { [`${A}proxy-ssl-name`]: _name, ...withoutName } = apiAnnotations;
    const backends: Backend[] = [
      { name: 'api', port: await freePort(), upstream: issued.api, annotations: apiAnnotations },
      {
        name: 'console',
        port: await freePort(),
        upstream: issued.console,
        annotations: consoleIngress.metadata.annotations,
      },
      { name: 'other_ca', port: await freePort(), upstream: otherPort, annotations: apiAnnotations },
      // As a controller whose annotations-risk-level is below High would take it: proxy-ssl-name ignored.
      { name: 'no_name', port: await freePort(), upstream: issued.api, annotations: withoutName },
    ];
    const log = await startNginx(nginx, backends, { ca: join(files, 'ca.crt'), pem: join(files, 'client.pem') });
    const [viaApi, viaConsole, viaOther, viaNoName] = backends.map((b) => b.port) as [number, number, number, number];

    expect(await statusVia(viaApi, '/minio/health/live'), log()).toBe(200);
    expect(await statusVia(viaConsole, '/'), log()).toBe(200);
    // Signed S3 requests through nginx (which presents the server's certificate as its client certificate).
    const mcDir = tempDir('minio-gitops-mc-');
    const mc = (...args: string[]) =>
      spawnSync(mcBin, args, {
        encoding: 'utf8',
        env: { ...process.env, MC_CONFIG_DIR: mcDir, MC_NO_COLOR: '1', AWS_EC2_METADATA_DISABLED: 'true' },
        timeout: 60_000,
      });
    for (const args of [
      ['alias', 'set', 'via', `http://127.0.0.1:${viaApi}`, ROOT.user, ROOT.password],
      ['mb', 'via/through-the-ingress'],
      ['ls', 'via'],
    ]) {
      const r = mc(...args);
      expect(r.status, `mc ${args.join(' ')}: ${r.stdout}${r.stderr}\n${log()}`).toBe(0);
    }
    expect(mc('ls', 'via').stdout).toContain('through-the-ingress/');

    expect(await statusVia(viaOther, '/minio/health/live')).toBe(502);
    expect(log()).toMatch(
      new RegExp(`upstream SSL certificate verify error: .* upstream: "https://127\\.0\\.0\\.1:${otherPort}/`),
    );
    expect(await statusVia(viaNoName, '/minio/health/live')).toBe(502);
    expect(log()).toMatch(
      new RegExp(
        `upstream SSL certificate does not match "upstream_balancer_no_name" .* upstream: "https://127\\.0\\.0\\.1:${issued.api}/`,
      ),
    );
    console.log(
      `nginx passed S3 and the console to the issued MinIO, refused the other CA's and the unnamed check; ${((Date.now() - began) / 1000).toFixed(1)} s in all`,
    );
  }, 240_000);
});
