// Encryption at rest on a real MinIO: the servers run with the key of the build (the
// sealed Secret decrypted as Flux does), the rendered bootstrap gives each bucket default
// encryption, a consumer's object is stored encrypted, and only the same key reads it back
// after a restart. Plus the refusals that keep the key from being lost or broken.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kmsKeyProblem } from '../src/render/kms.ts';
import { startMinio } from './minio.ts';
import { expectRefused, git, run, snapshot } from './run.ts';
import { build, jobInputs, runBootstrap, scaffold, serverEnv } from './scaffolded.ts';
import { needTool, tempDir } from './tools.ts';

const CONFIG = `envs:
  lab:
    profile: prod
    replicas: 4
    tls: false
`;

describe('encryption at rest (real MinIO, the built key, the rendered bootstrap)', () => {
  it('the key is accepted, objects a consumer writes are encrypted, the bootstrap stays idempotent, and only the same key reads them after a restart', async (ctx) => {
    const out = scaffold(CONFIG, '--env', 'lab');
    const key = serverEnv(build(ctx, out, 'overlays/lab/minio')).MINIO_KMS_SECRET_KEY!;
    expect(kmsKeyProblem(key)).toBeUndefined();
    expect(Buffer.from(key.split(':')[1]!, 'base64')).toHaveLength(32);

    const m = await startMinio(ctx, { drives: 4, env: { MINIO_KMS_SECRET_KEY: key } });
    expect(JSON.parse(m.mc('admin', 'kms', 'key', 'status', 'root', '--json'))).toMatchObject({
      keyId: 'minio-kms',
      status: 'success',
    });
    const job = jobInputs(ctx, out, 'lab');
    const runs = [1, 2, 3].map(() => runBootstrap(m, job));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(runs[0]!.stdout).toMatch(/encryption flink: off -> SSE-S3/);
    expect(runs[0]!.stdout).toMatch(/encryption datalake: off -> SSE-S3/);
    expect(runs.slice(1).map((r) => r.stdout.match(/done: .*/)![0])).toEqual([
      'done: 0 change(s)',
      'done: 0 change(s)',
    ]);
    expect(runs[2]!.stdout).toMatch(/encryption flink: unchanged \(AES256\)/);

    // Flink's credentials, from the consumer Secret of the build; it writes a checkpoint file.
    const consumers = build(ctx, out, 'overlays/lab/consumers');
    const flink = consumers.find((o) => o.kind === 'Secret' && o.stringData?.['s3.access-key'] === 'flink')!
      .stringData!;
    m.mc('alias', 'set', 'flink', m.endpoint, flink['s3.access-key']!, flink['s3.secret-key']!);
    const file = join(tempDir(), 'chk');
    const content = `checkpoint ${Date.now()}\n`.repeat(1000);
    writeFileSync(file, content);
    m.mc('cp', file, 'flink/flink/checkpoints/job/chk-1/_metadata');
    const stat = JSON.parse(m.mc('stat', '--json', 'root/flink/checkpoints/job/chk-1/_metadata'));
    expect(stat.metadata['X-Amz-Server-Side-Encryption']).toBe('AES256');
    // The bytes on the drives are not the object's.
    const grep = (text: string) =>
      spawnSync('grep', ['-rlaF', text, m.dir], { encoding: 'utf8' })
        .stdout.split('\n')
        .filter((f) => f.includes('/drive'));
    expect(grep('checkpoint ')).toEqual([]);

    // A restart with the same key reads it back; with another key nothing is readable.
    await m.stop();
    const again = await startMinio(ctx, { drives: 4, dir: m.dir, env: { MINIO_KMS_SECRET_KEY: key } });
    expect(again.mc('cat', 'root/flink/checkpoints/job/chk-1/_metadata')).toBe(content);
    await again.stop();
    const other = `minio-kms:${Buffer.alloc(32, 7).toString('base64')}`;
    const lost = await startMinio(ctx, { drives: 4, dir: m.dir, env: { MINIO_KMS_SECRET_KEY: other } });
    const read = lost.tryMc('cat', 'root/flink/checkpoints/job/chk-1/_metadata');
    expect(read.code).not.toBe(0);
    expect(read.out).toMatch(/decrypt/);
  });

  it("without a KMS of its own the bootstrap leaves the buckets' encryption alone (a person's own KMS), unless a bucket says encryption: false", async (ctx) => {
    const out = scaffold(
      `${CONFIG}    kms: none\n    buckets:\n      flink: {}\n      datalake: {encryption: false}\n`,
      '--env',
      'lab',
    );
    const server = build(ctx, out, 'overlays/lab/minio').find((o) => o.kind === 'StatefulSet')!;
    expect(server.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name)).not.toContain(
      'MINIO_KMS_SECRET_KEY',
    );
    // A KMS the person set up outside the env's settings, and encryption set by hand on both buckets.
    const m = await startMinio(ctx, {
      drives: 4,
      env: { MINIO_KMS_SECRET_KEY: `minio-kms:${Buffer.alloc(32, 1).toString('base64')}` },
    });
    for (const bucket of ['flink', 'datalake']) {
      m.mc('mb', `root/${bucket}`);
      m.mc('encrypt', 'set', 'sse-s3', `root/${bucket}`);
    }
    const r = runBootstrap(m, jobInputs(ctx, out, 'lab'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/encryption flink/);
    expect(r.stdout).toMatch(/encryption datalake: AES256 -> off/);
    expect(JSON.parse(m.mc('encrypt', 'info', '--json', 'root/flink')).encryption).toEqual({ algorithm: 'AES256' });
    expect(m.tryMc('encrypt', 'info', '--json', 'root/datalake').code).not.toBe(0);
  });
});

describe('the KMS key: bad input and loss, one line, exit 2, nothing changed', () => {
  const prepared = (flags: string[] = []) => {
    const out = tempDir();
    const keyFile = join(tempDir(), 'keys.txt');
    git(out, 'init', '-q');
    writeFileSync(join(out, 'scaffold.config.yaml'), CONFIG);
    const env = { SOPS_AGE_KEY_FILE: keyFile };
    const first = run(['--env', 'lab', '--out', out, ...flags], env);
    expect(first.code, first.stderr).toBe(0);
    return { out, env };
  };

  it('encryption: true on a bucket of an env without a KMS', () => {
    const out = tempDir();
    writeFileSync(
      join(out, 'scaffold.config.yaml'),
      `${CONFIG}    kms: none\n    buckets:\n      flink: {encryption: true}\n      datalake: {}\n`,
    );
    const before = snapshot(out);
    expectRefused(
      run(['--env', 'lab', '--out', out]),
      /^error: env lab: bucket flink has encryption: true, and the env's MinIO has no KMS .*; add --kms static, or set encryption: false/,
    );
    expect(snapshot(out)).toEqual(before);
  });

  it('--rotate kms, and --rotate all leaves the key as it is', () => {
    const { out, env } = prepared();
    const before = snapshot(out);
    expectRefused(
      run(['--env', 'lab', '--out', out, '--rotate', 'kms'], env),
      /^error: --rotate kms: the KMS key cannot be replaced/,
    );
    expect(snapshot(out)).toEqual(before);
    const all = run(['--env', 'lab', '--out', out, '--rotate', 'all'], env);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/generated new credentials: root, console, flink, spark, iceberg, metrics \(/);
    expect(readFileSync(join(out, 'sealed/lab/minio-kms-key.yaml'), 'utf8')).toBe(
      before['sealed/lab/minio-kms-key.yaml']!.content,
    );
  });

  it.for([
    [
      ['--kms', 'none'],
      /^error: env lab: --kms none turns encryption at rest off, and without the same key every object the key encrypted, and every MinIO user made since, would be unreadable; keep it, or move the data/,
    ],
    [
      ['--secrets', 'external'],
      /^error: env lab: --secrets external takes the KMS key from the external store instead of sealed\/lab\/minio-kms-key\.yaml, and without the same key/,
    ],
  ] as const)('an env with a key keeps it: %s is refused unless the person says so', ([flags, message]) => {
    const { out, env } = prepared();
    const before = snapshot(out);
    expectRefused(run(['--env', 'lab', '--out', out, ...flags], env), message);
    expect(snapshot(out)).toEqual(before);
    const acknowledged = run(['--env', 'lab', '--out', out, ...flags, '--leave-data-behind'], env);
    expect(acknowledged.code, acknowledged.stderr).toBe(0);
    expect(acknowledged.stderr).toMatch(/would be unreadable \(--leave-data-behind\)/);
  });

  it('a sealed key file that is gone is not replaced by a new key', () => {
    const { out, env } = prepared();
    rmSync(join(out, 'sealed/lab/minio-kms-key.yaml'));
    const before = snapshot(out);
    expectRefused(
      run(['--env', 'lab', '--out', out], env),
      /^error: sealed\/lab\/minio-kms-key\.yaml is gone, and a new key would leave every object the old one encrypted unreadable; restore it with git/,
    );
    expect(snapshot(out)).toEqual(before);
  });

  it('a key gone with its lines in the record, or with the whole record, is not replaced either: the servers still read it', () => {
    const { out, env } = prepared();
    rmSync(join(out, 'sealed/lab/minio-kms-key.yaml'));
    const record = join(out, 'scaffold.lock.yaml');
    writeFileSync(
      record,
      readFileSync(record, 'utf8')
        .split('\n')
        .filter((l) => !l.includes('minio-kms-key.yaml'))
        .join('\n'),
    );
    const before = snapshot(out);
    expectRefused(run(['--env', 'lab', '--out', out], env), /^error: sealed\/lab\/minio-kms-key\.yaml is gone/);
    expect(snapshot(out)).toEqual(before);
    rmSync(record);
    git(out, 'commit', '-qam', 'the record and the key file deleted');
    expectRefused(
      run(['--env', 'lab', '--out', out, '--force'], env),
      /^error: sealed\/lab\/minio-kms-key\.yaml is gone/,
    );
  });

  it('a key removed from its file (with sops) is not made anew', (ctx) => {
    const sops = needTool(ctx, 'sops');
    const { out, env } = prepared();
    const file = join(out, 'sealed/lab/minio-kms-key.yaml');
    execFileSync(sops, ['unset', file, '["stringData"]["kmsSecretKey"]'], { env: { ...process.env, ...env } });
    git(out, 'commit', '-qam', 'the key removed');
    const before = snapshot(out);
    expectRefused(
      run(['--env', 'lab', '--out', out], env),
      /^error: sealed\/lab\/minio-kms-key\.yaml: its kmsSecretKey is missing; restore the file with git/,
    );
    expect(snapshot(out)).toEqual(before);
  });

  it('a key edited (with sops) into one MinIO would refuse', (ctx) => {
    const sops = needTool(ctx, 'sops');
    const { out, env } = prepared();
    const file = join(out, 'sealed/lab/minio-kms-key.yaml');
    execFileSync(sops, ['set', file, '["stringData"]["kmsSecretKey"]', '"minio-kms:c2hvcnQ="'], {
      env: { ...process.env, ...env },
    });
    git(out, 'commit', '-qam', 'edit the key');
    const before = snapshot(out);
    expectRefused(
      run(['--env', 'lab', '--out', out], env),
      /^error: sealed\/lab\/minio-kms-key\.yaml: its kmsSecretKey is not minio-kms: followed by 32 bytes in base64/,
    );
    expect(snapshot(out)).toEqual(before);
  });
});
