// Metrics behind MinIO's bearer token, on a real MinIO: the server settings of the build,
// the metrics user made by the rendered bootstrap, the token from the (sealed) Secret the
// ServiceMonitor reads. And the public API Ingress routes no metrics path to the servers.
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { metricsToken } from '../src/render/metrics.ts';
import { startMinio, type Minio } from './minio.ts';
import { build, jobInputs, runBootstrap, scaffold, serverEnv } from './scaffolded.ts';

const CONFIG = `envs:
  lab:
    profile: prod
    replicas: 4
`;
const METRICS = [
  '/minio/v2/metrics/cluster',
  '/minio/v2/metrics/node',
  '/minio/v2/metrics/bucket',
  '/minio/metrics/v3',
  '/minio/prometheus/metrics',
];

/** GET a path of the test MinIO, with a bearer token or none: the status code. */
function get(m: Minio, path: string, token?: string): Promise<number> {
  const url = new URL(path, m.endpoint);
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  return new Promise((resolve, reject) => {
    const done = (res: { statusCode?: number; resume: () => void }) => (res.resume(), resolve(res.statusCode ?? 0));
    const req =
      url.protocol === 'https:'
        ? request(url, { headers, ca: readFileSync(m.ca!), timeout: 10_000 }, done)
        : httpRequest(url, { headers, timeout: 10_000 }, done);
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

describe('metrics behind the bearer token (real MinIO, rendered bootstrap and Secret)', () => {
  it('jwt by default: no token or another key is refused, the rendered token reads every metrics path, its user reads nothing else', async (ctx) => {
    const out = scaffold(CONFIG, '--env', 'lab');
    const minio = build(ctx, out, 'overlays/lab/minio');
    expect(serverEnv(minio)).toEqual({
      MINIO_PROMETHEUS_AUTH_TYPE: 'jwt',
      MINIO_KMS_SECRET_KEY: expect.stringMatching(/^minio-kms:/),
    });
    const m = await startMinio(ctx, { drives: 4, tls: true, env: serverEnv(minio) });
    const job = jobInputs(ctx, out, 'lab');
    const first = runBootstrap(m, job, ['--ca', m.ca!]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/user minio-metrics: credentials set/);
    expect(first.stdout).toMatch(/policy minio-gitops-metrics attached/);
    // Idempotent with the metrics user too.
    expect(runBootstrap(m, job, ['--ca', m.ca!]).stdout).toMatch(/done: 0 change\(s\)/);

    // The ServiceMonitor reads the token from the Secret the bootstrap build decrypts.
    const monitor = minio.find((o) => o.kind === 'ServiceMonitor')!;
    for (const endpoint of monitor.spec.endpoints)
      expect(endpoint.authorization).toEqual({
        type: 'Bearer',
        credentials: { name: 'minio-metrics-credentials', key: 'token' },
      });
    const secret = job.objs.find((o) => o.kind === 'Secret' && o.metadata.name === 'minio-metrics-credentials')!
      .stringData!;
    expect(secret['s3.access-key']).toBe('minio-metrics');
    expect(secret.token).toBe(metricsToken(secret['s3.access-key']!, secret['s3.secret-key']!));

    for (const path of METRICS) {
      expect(await get(m, path), `${path} without a token`).toBe(403);
      expect(
        await get(m, path, metricsToken('minio-metrics', 'another-secret-key-of-forty-characters!!')),
        `${path} with a token of another key`,
      ).toBe(403);
      expect(await get(m, path, secret.token), `${path} with the rendered token`).toBe(200);
    }
    // The token MinIO's own client makes for the same user is accepted the same way.
    m.mc('alias', 'set', 'metrics', m.endpoint, secret['s3.access-key']!, secret['s3.secret-key']!);
    const generated = /bearer_token: (\S+)/.exec(m.mc('admin', 'prometheus', 'generate', 'metrics'))![1]!;
    expect(await get(m, '/minio/v2/metrics/cluster', generated)).toBe(200);
    // Least privilege: the metrics user lists no bucket, reads no object, makes no access key.
    expect(m.tryMc('ls', 'metrics/').out).toMatch(/Access Denied/);
    expect(m.tryMc('ls', 'metrics/flink').code).not.toBe(0);
    expect(m.tryMc('admin', 'user', 'svcacct', 'add', 'metrics', 'minio-metrics').code).not.toBe(0);
  });

  it('public on request: the servers answer anyone, and no metrics user or token is rendered', async (ctx) => {
    const out = scaffold(CONFIG, '--env', 'lab', '--metrics-auth', 'public', '--tls', 'off');
    const minio = build(ctx, out, 'overlays/lab/minio');
    expect(serverEnv(minio)).toEqual({
      MINIO_PROMETHEUS_AUTH_TYPE: 'public',
      MINIO_KMS_SECRET_KEY: expect.stringMatching(/^minio-kms:/),
    });
    expect(
      minio.find((o) => o.kind === 'ServiceMonitor')!.spec.endpoints.every((e: object) => !('authorization' in e)),
    ).toBe(true);
    const m = await startMinio(ctx, { drives: 4, env: serverEnv(minio) });
    const job = jobInputs(ctx, out, 'lab');
    expect(job.objs.some((o) => o.metadata.name === 'minio-metrics-credentials')).toBe(false);
    expect(readFileSync(`${job.configDir}/bootstrap.conf`, 'utf8')).not.toMatch(/metrics/);
    expect(await get(m, '/minio/v2/metrics/cluster')).toBe(200);
  });

  // ingress-nginx merges the Ingresses of one host into one server and routes a request to
  // the longest matching Prefix path (Kubernetes' Ingress rules); the check follows that
  // model (no ingress controller runs here). Whatever the controller, the metrics paths'
  // backend is a Service without endpoints; ingress-nginx also refuses every client first.
  it.for([
    ['jwt', []],
    ['public', ['--metrics-auth', 'public']],
    ['a controller other than ingress-nginx', ['--ingress-class', 'traefik']],
  ] as const)('the public API Ingress sends no metrics path to the servers (%s)', ([, flags], ctx) => {
    const out = scaffold(CONFIG, '--env', 'lab', ...flags);
    const objs = build(ctx, out, 'overlays/lab/minio');
    const ingresses = objs.filter((o) => o.kind === 'Ingress');
    const host = 'minio.lab.local';
    type Path = { path: string; backend: { service: { name: string } } };
    const routes = ingresses.flatMap((i) =>
      i.spec.rules
        .filter((r: { host: string }) => r.host === host)
        .flatMap((r: { http: { paths: Path[] } }) => r.http.paths.map((p) => ({ ...p, ingress: i }))),
    );
    const route = (path: string) =>
      routes
        .filter((r) => path === r.path || path.startsWith(r.path.endsWith('/') ? r.path : `${r.path}/`))
        .sort((a, b) => b.path.length - a.path.length)[0]!;
    const services = new Map(objs.filter((o) => o.kind === 'Service').map((o) => [o.metadata.name, o]));
    for (const path of [...METRICS, '/minio/v2/metrics/resource', '/minio/metrics/v3/cluster/erasure-set']) {
      const r = route(path);
      expect(r.ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/denylist-source-range'], path).toBe(
        '0.0.0.0/0,::/0',
      );
      const backend = services.get(r.backend.service.name)!;
      expect(backend.spec.selector, `${path} -> Service ${r.backend.service.name}`).toBeUndefined();
      expect(objs.some((o) => o.kind === 'Endpoints' || o.kind === 'EndpointSlice')).toBe(false);
    }
    // S3 requests still reach the servers, health checks too.
    for (const path of ['/flink/checkpoints/x', '/minio/health/live', '/']) {
      const r = route(path);
      expect(
        r.ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/denylist-source-range'],
        path,
      ).toBeUndefined();
      expect(services.get(r.backend.service.name)!.spec.selector, path).toMatchObject({
        'app.kubernetes.io/name': 'minio',
      });
    }
  });
});
