// The audit log on a real MinIO: the servers run with the audit settings of the build (the
// token from the sealed Secret, the variables expanded as the kubelet does), and post one
// event per S3 call, with the caller's access key and the bearer token, to a receiver here.
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import YAML from 'yaml';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { startMinio } from './minio.ts';
import { expectRefused, run, snapshot } from './run.ts';
import { build, jobInputs, runBootstrap, scaffold, secretValues, serverEnv } from './scaffolded.ts';
import { tempDir } from './tools.ts';
import { until } from './controlplane.ts';

interface Received {
  authorization?: string;
  event: { api?: { name?: string; bucket?: string; object?: string }; accessKey?: string };
}

/** An HTTP receiver on 127.0.0.1 that keeps every audit event posted to it. */
async function receiver(): Promise<{ url: string; events: Received[] }> {
  const events: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      // One event per request, or several, one per line.
      for (const line of body.split('\n').filter((l) => l.trim() !== ''))
        events.push({ authorization: req.headers.authorization, event: JSON.parse(line) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/minio`, events };
}

const CONFIG = `envs:
  lab:
    profile: prod
    replicas: 4
    tls: false
`;

describe('the audit log (real MinIO posting to a receiver here)', () => {
  it('one event per S3 call, with the consumer access key and the sealed bearer token', async (ctx) => {
    const r = await receiver();
    const out = scaffold(CONFIG, '--env', 'lab', '--audit-webhook', r.url, '--kms', 'none');
    const objs = build(ctx, out, 'overlays/lab/minio');
    const env = serverEnv(objs);
    const token = secretValues(objs, 'minio-lab', 'minio-audit-webhook').token!;
    expect(token).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(env).toEqual({
      MINIO_PROMETHEUS_AUTH_TYPE: 'jwt',
      MINIO_AUDIT_WEBHOOK_ENABLE: 'on',
      MINIO_AUDIT_WEBHOOK_ENDPOINT: r.url,
      MINIO_AUDIT_WEBHOOK_AUTH_TOKEN: `Bearer ${token}`,
    });
    // The servers may reach the receiver's port, nothing else is opened.
    const egress = objs.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'minio-audit-webhook')!;
    expect(egress.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '127.0.0.1/32' } }], ports: [{ protocol: 'TCP', port: Number(new URL(r.url).port) }] },
    ]);

    const m = await startMinio(ctx, { drives: 4, env });
    const boot = runBootstrap(m, jobInputs(ctx, out, 'lab'));
    expect(boot.code, boot.stderr).toBe(0);
    const flink = build(ctx, out, 'overlays/lab/consumers').find(
      (o) => o.kind === 'Secret' && o.stringData?.['s3.access-key'] === 'flink',
    )!.stringData!;
    // Three signed S3 calls, no more: curl signs each one (SigV4), unlike mc, which adds its own.
    const file = join(tempDir(), 'object');
    writeFileSync(file, 'state\n');
    const s3 = (...args: string[]) => {
      const c = spawnSync(
        'curl',
        [
          '-sf',
          '--max-time',
          '10',
          '--aws-sigv4',
          'aws:amz:us-east-1:s3',
          '--user',
          `flink:${flink['s3.secret-key']}`,
          ...args,
        ],
        { encoding: 'utf8' },
      );
      expect(c.status, c.stderr).toBe(0);
    };
    const object = `${m.endpoint}/flink/checkpoints/job-1/chk-1/_metadata`;
    s3('-T', file, object);
    s3('-o', '/dev/null', object);
    s3('-I', object);
    const mine = () => r.events.filter((e) => e.event.accessKey === 'flink');
    await until(
      'three audit events from flink',
      20,
      async () => (mine().length >= 3 ? true : undefined),
      async () => JSON.stringify(r.events.slice(-5)),
    );
    await new Promise((resolve) => setTimeout(resolve, 1000)); // none more arrive
    expect(mine().map((e) => [e.event.api?.name, e.event.api?.bucket, e.event.api?.object])).toEqual([
      ['PutObject', 'flink', 'checkpoints/job-1/chk-1/_metadata'],
      ['GetObject', 'flink', 'checkpoints/job-1/chk-1/_metadata'],
      ['HeadObject', 'flink', 'checkpoints/job-1/chk-1/_metadata'],
    ]);
    expect(new Set(r.events.map((e) => e.authorization))).toEqual(new Set([`Bearer ${token}`]));
  });

  it.for([
    // A Service: its namespace, any port (the receiver pod's port is not the URL's).
    [
      'http://receiver.logging.svc:8080/minio',
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'logging' } } },
      undefined,
    ],
    [
      'https://receiver.logging.svc.cluster.local/minio',
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'logging' } } },
      undefined,
    ],
    ['https://[fd00::7]:9443/minio', { ipBlock: { cidr: 'fd00::7/128' } }, 9443],
    ['http://audit.example.com/minio', undefined, 80],
  ] as const)('the servers may reach %s, and only there when the URL says where', ([url, peer, port]) => {
    const out = scaffold(CONFIG, '--env', 'lab', '--audit-webhook', url, '--kms', 'none');
    const policy = YAML.parse(readFileSync(join(out, 'overlays/lab/minio/networkpolicy-audit-webhook.yaml'), 'utf8'));
    expect(policy.spec.egress).toEqual([
      { ...(peer ? { to: [peer] } : {}), ...(port ? { ports: [{ protocol: 'TCP', port }] } : {}) },
    ]);
  });

  it.for([
    ['ftp://audit.example.com/minio', 'another scheme'],
    ['https://user:secret-token@audit.example.com/minio', 'credentials in it'],
    ['https://audit.example.com/minio?token=secret-token', 'a query'],
    ['audit.example.com', 'no scheme'],
    ['https://audit.example.com:0/minio', 'port 0, which no NetworkPolicy can name'],
    ['https://audit.example.com/%zz', 'an escape MinIO refuses'],
    ['https://äudit.example.com/minio', 'a host MinIO refuses'],
    ['https://audit.example.com/$(MINIO_KMS_SECRET_KEY)', 'a reference the kubelet would expand'],
    ['http://-bad-.example.com/minio', 'a label that is no DNS label'],
    ['http://audit_log.example.com/minio', 'an underscore'],
    ['http://1.2.3/minio', 'an address URL and Go read differently'],
    ['http://Audit.example.com/minio', 'capitals'],
  ])('refuses an audit URL with %s (%s): one line, exit 2, nothing changed, no token echoed', ([url]) => {
    const out = tempDir();
    writeFileSync(join(out, 'scaffold.config.yaml'), CONFIG);
    const before = snapshot(out);
    const r = run(['--env', 'lab', '--out', out, '--audit-webhook', url!]);
    expectRefused(r, /^error: --audit-webhook is not an http or https URL without credentials or query; use e\.g\./);
    expect(r.stderr).not.toContain('secret-token');
    expect(snapshot(out)).toEqual(before);
  });
});
