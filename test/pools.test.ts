// Server pools with the real (pinned) MinIO: why the scaffolder refuses to raise a pool's
// server count and adds a pool instead. MinIO fixes an erasure set's size when it formats
// the drives (format.json names every drive of the set): it cannot re-stripe existing data
// over more drives, so restarting a 4-server deployment as 8 servers of one pool cannot
// boot. It grows by adding a server pool: a second argument in MINIO_VOLUMES, formatted on
// its own, while the first pool keeps its data where it is.
//
// The test takes MINIO_VOLUMES from a real run and kustomize build (a prod env, then the
// same with `--pools 4x8Gi,4x8Gi`; the refused naive value from the tool's own minioVolumes)
// and maps it to drive directories the way the tests map one pool (a server's /data is one
// drive directory; the servers of a pool become the ellipsis MinIO expands), so it breaks
// when the rendering changes. Then, on one set of directories:
//   1. the first pool (4 servers) is formatted and filled (small objects and a multipart one);
//   2. the naive layout (one pool of 8) does not start: MinIO refuses the drives, health is
//      never 200, the bucket cannot be listed, and the old drives are left as they were;
//   3. the layout after adding a pool (4 + 4) starts as the same deployment, serves every
//      old object byte for byte, takes new writes and reports 2 pools, 8 drives online.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { DATA_DIR, HEADLESS_SERVICE, minioVolumes, poolStatefulSet, type PoolRef } from '../src/render/names.ts';
import { ROOT } from './minio.ts';
import { run } from './run.ts';
import { build } from './scaffolded.ts';
import { freePort, needTool, tempDir } from './tools.ts';

const NAMESPACE = 'minio';
const BUCKET = 'pools-test';
const FIRST_POOL: PoolRef[] = [{ statefulSet: poolStatefulSet(0), servers: 4 }];
const NAIVE: PoolRef[] = [{ statefulSet: poolStatefulSet(0), servers: 8 }];
const TWO_POOLS: PoolRef[] = [...FIRST_POOL, { statefulSet: poolStatefulSet(1), servers: 4 }];

/**
 * A rendered MINIO_VOLUMES as local drive directories, one pattern per pool, in order:
 * `scheme://NAME-{0...N}.minio-hl.NS.svc.cluster.local/data` becomes `<root>/NAME-{0...N}/data`
 * (server NAME-i's /data is the directory NAME-i/data; MinIO expands the ellipsis).
 */
function localVolumes(rendered: string, root: string, namespace: string): string[] {
  const dot = (s: string) => s.replaceAll('.', '\\.');
  const pool = new RegExp(
    `^https?://([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)-\\{0\\.\\.\\.(\\d+)\\}\\.${dot(HEADLESS_SERVICE)}\\.${dot(namespace)}\\.svc\\.cluster\\.local${dot(DATA_DIR)}$`,
  );
  return rendered.split(' ').map((arg) => {
    const m = pool.exec(arg);
    if (!m)
      throw new Error(
        `MINIO_VOLUMES argument is not a pool of the expected form: ${JSON.stringify(arg)} (in ${JSON.stringify(rendered)})`,
      );
    return join(root, `${m[1]}-{0...${m[2]}}`, DATA_DIR);
  });
}

/** The drive directories a local pool pattern stands for. */
function expand(pattern: string): string[] {
  const m = /^(.*)\{0\.\.\.(\d+)\}(.*)$/.exec(pattern);
  if (!m) throw new Error(`no ellipsis in ${pattern}`);
  return Array.from({ length: Number(m[2]) + 1 }, (_, i) => `${m[1]}${i}${m[3]}`);
}

/** MINIO_VOLUMES of a real run and build: a prod env (plain http) as first made, then after `--pools 4x8Gi,4x8Gi`. */
function renderedVolumes(ctx: { skip: (note?: string) => void }): string[] {
  const out = tempDir('minio-gitops-pools-env-');
  const volumes = () => {
    const sts = build(ctx, out, 'overlays/prod/minio').find(
      (o) => o.kind === 'StatefulSet' && o.metadata.name === 'minio',
    )!;
    return (sts.spec.template.spec.containers[0].env as { name: string; value?: string }[]).find(
      (e) => e.name === 'MINIO_VOLUMES',
    )!.value!;
  };
  const scaffold = (...args: string[]) => {
    const r = run([
      '--env',
      'prod',
      '--secrets',
      'external',
      '--tls',
      'off',
      '--ingress',
      'off',
      '--no-commit',
      ...args,
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
  };
  scaffold();
  const first = volumes();
  scaffold('--pools', '4x8Gi,4x8Gi');
  return [first, volumes()];
}

it('maps the rendered MINIO_VOLUMES to one local drive pattern per pool, in order', () => {
  const root = '/tmp/x';
  expect(localVolumes(minioVolumes(TWO_POOLS, false, NAMESPACE), root, NAMESPACE)).toEqual([
    '/tmp/x/minio-{0...3}/data',
    '/tmp/x/minio-pool-2-{0...3}/data',
  ]);
  expect(localVolumes(minioVolumes(TWO_POOLS, true, NAMESPACE), root, NAMESPACE)).toEqual(
    localVolumes(minioVolumes(TWO_POOLS, false, NAMESPACE), root, NAMESPACE),
  );
  expect(localVolumes(minioVolumes(NAIVE, false, NAMESPACE), root, NAMESPACE)).toEqual(['/tmp/x/minio-{0...7}/data']);
  expect(expand('/tmp/x/minio-pool-2-{0...3}/data')).toEqual([0, 1, 2, 3].map((i) => `/tmp/x/minio-pool-2-${i}/data`));
  expect(() => localVolumes('http://minio-{0...3}.other.minio.svc.cluster.local/data', root, NAMESPACE)).toThrow(
    /expected form/,
  );
});

interface Server {
  endpoint: string;
  proc: ChildProcess;
  log: () => string;
  exited: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startServer(minio: string, volumes: string[], home: string): Promise<Server> {
  const [port, consolePort] = [await freePort(), await freePort()];
  // MINIO_CI_CD: drives on the root disk are allowed (test machines have one disk).
  const proc = spawn(
    minio,
    ['server', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`, ...volumes],
    {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        MINIO_ROOT_USER: ROOT.user,
        MINIO_ROOT_PASSWORD: ROOT.password,
        MINIO_CI_CD: 'on',
        MINIO_BROWSER: 'off',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  proc.stdout!.on('data', (d) => (log += String(d)));
  proc.stderr!.on('data', (d) => (log += String(d)));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  onTestFinished(async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await exited;
  });
  return { endpoint: `http://127.0.0.1:${port}`, proc, log: () => log, exited };
}

const running = (s: Server) => s.proc.exitCode === null && s.proc.signalCode === null;

/** SIGTERM, and wait (bounded) for the process to go. */
async function stop(s: Server): Promise<void> {
  if (!running(s)) return;
  s.proc.kill('SIGTERM');
  const gone = await Promise.race([s.exited.then(() => true), sleep(20_000).then(() => false)]);
  if (!gone) {
    s.proc.kill('SIGKILL');
    throw new Error('MinIO did not exit within 20 s of SIGTERM');
  }
}

/** The status of the cluster health check, or 'refused' when nothing answers. */
async function health(s: Server): Promise<number | 'refused'> {
  try {
    const r = await fetch(`${s.endpoint}/minio/health/cluster`, { signal: AbortSignal.timeout(2_000) });
    return r.status;
  } catch {
    return 'refused';
  }
}

async function waitHealthy(s: Server, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await health(s)) === 200) return;
    if (!running(s) || Date.now() > deadline)
      throw new Error(`MinIO is not healthy (running: ${running(s)}): ${s.log().slice(-2000)}`);
    await sleep(250);
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Every file under the drives (relative path -> sha256), but MinIO's scratch space: each
 * start moves .minio.sys/tmp to .minio.sys/tmp-old/<uuid> and empties that in the background.
 */
function fingerprint(drives: string[], root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      const rel = relative(root, p);
      if (/(^|\/)\.minio\.sys\/tmp(-old)?(\/|$)/.test(rel)) continue;
      if (e.isDirectory()) walk(p);
      else out[rel] = sha256(readFileSync(p));
    }
  };
  for (const d of drives) walk(d);
  return out;
}

it('adds a server pool where re-striping the first pool cannot boot (real MinIO)', {
  timeout: 180_000,
}, async (ctx) => {
  const minio = needTool(ctx, 'minio');
  const mcPath = needTool(ctx, 'mc');
  const dir = tempDir('minio-gitops-pools-');
  const drives = join(dir, 'drives');
  const src = join(dir, 'src');
  mkdirSync(drives);
  mkdirSync(join(src, 'small'), { recursive: true });
  const t0 = Date.now();
  const lap = (what: string) => console.log(`pools: ${what} at ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const mcEnv = {
    ...process.env,
    MC_CONFIG_DIR: join(dir, 'mc'),
    MC_NO_COLOR: '1',
    MC_QUIET: '1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const tryMc = (...a: string[]) => {
    const r = spawnSync(mcPath, a, { env: mcEnv, timeout: 60_000, maxBuffer: 256 << 20 });
    return {
      code: r.status,
      stdout: r.stdout ?? Buffer.alloc(0),
      out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`,
    };
  };
  const mc = (...a: string[]) => {
    const r = tryMc(...a);
    if (r.code !== 0) throw new Error(`mc ${a.join(' ')} failed: ${r.out}`);
    return r.stdout;
  };
  const adminInfo = () => JSON.parse(String(mc('admin', 'info', '--json', 'root')));
  const listKeys = () =>
    String(mc('ls', '--recursive', '--json', `root/${BUCKET}`))
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l).key as string)
      .sort();

  // The values the tool renders: a prod env as first made, then with a pool added (the
  // naive layout is what --replicas 8 would render, which the tool refuses).
  const rendered = renderedVolumes(ctx);
  expect(rendered).toEqual([minioVolumes(FIRST_POOL, false, NAMESPACE), minioVolumes(TWO_POOLS, false, NAMESPACE)]);
  const firstPool = localVolumes(rendered[0]!, drives, NAMESPACE);
  const naive = localVolumes(minioVolumes(NAIVE, false, NAMESPACE), drives, NAMESPACE);
  const twoPools = localVolumes(rendered[1]!, drives, NAMESPACE);
  expect(firstPool).toHaveLength(1);
  expect(twoPools).toHaveLength(2);
  expect(twoPools[0]).toBe(firstPool[0]); // the first pool keeps its drives, in the same order
  const firstDrives = expand(firstPool[0]!);
  const secondDrives = expand(twoPools[1]!);

  // 1. The first pool: format, fill, stop.
  const original: Record<string, string> = {};
  for (let i = 1; i <= 20; i++) {
    const body = randomBytes(1024 + ((i * 397) % 7168));
    const key = `small/obj-${String(i).padStart(2, '0')}`;
    writeFileSync(join(src, key), body);
    original[key] = sha256(body);
  }
  const big = randomBytes(17_000_000); // over mc's 16 MiB part size: a multipart upload
  writeFileSync(join(src, 'big.bin'), big);
  original['big.bin'] = sha256(big);

  const first = await startServer(minio, firstPool, dir);
  await waitHealthy(first, 60_000);
  expect(first.log()).toMatch(/Formatting 1st pool, 1 set\(s\), 4 drives per set/);
  mc('alias', 'set', 'root', first.endpoint, ROOT.user, ROOT.password, '--api', 's3v4');
  mc('mb', `root/${BUCKET}`);
  mc('cp', '--recursive', `${src}/`, `root/${BUCKET}/`);
  expect(JSON.parse(String(mc('stat', '--json', `root/${BUCKET}/big.bin`))).etag).toMatch(/^[0-9a-f]{32}-\d+$/);
  expect(listKeys()).toEqual(Object.keys(original).sort());
  const deploymentID = adminInfo().info.deploymentID as string;
  expect(deploymentID).toMatch(/^[0-9a-f-]{36}$/);
  await stop(first);
  expect(first.proc.exitCode).toBe(0);
  lap('first pool written and stopped');

  // 2. The naive layout: one pool of 8 over the same directories (minio-0..3 hold the data,
  // minio-4..7 are new). Locally, one process sees every drive and exits at once; in a
  // cluster each server waits for the others forever. Either way it never serves.
  const before = fingerprint(firstDrives, drives);
  expect(Object.keys(before).length).toBeGreaterThan(20);
  const bad = await startServer(minio, naive, dir);
  mc('alias', 'set', 'root', bad.endpoint, ROOT.user, ROOT.password, '--api', 's3v4');
  const seen: (number | 'refused')[] = [];
  const badDeadline = Date.now() + 40_000;
  let listed: ReturnType<typeof tryMc> | undefined;
  for (let i = 0; i < 80 && Date.now() < badDeadline; i++) {
    const status = await health(bad);
    seen.push(status);
    if (status === 200) break;
    if (i === 2) listed = tryMc('ls', `root/${BUCKET}`);
    if (!running(bad)) break;
    await sleep(500);
  }
  listed ??= tryMc('ls', `root/${BUCKET}`);
  const stillRunning = running(bad);
  if (stillRunning) bad.proc.kill('SIGKILL');
  await bad.exited;
  console.log(
    `pools: naive layout: health ${[...new Set(seen)].join(',')}; exit ${bad.proc.exitCode ?? bad.proc.signalCode}; MinIO said:\n${bad.log().trim()}`,
  );
  expect(seen).not.toContain(200);
  expect(listed.code).not.toBe(0);
  expect(listed.out).toMatch(/connection refused|not initialized|503|Service Unavailable/i);
  // What the pinned MinIO answers: it finds the first pool's format.json (4 drives) and refuses.
  expect(stillRunning).toBe(false);
  expect(bad.proc.exitCode).not.toBe(0);
  expect(bad.log()).toMatch(
    /Unable to initialize backend: .*minio-0\/data drive is already being used in another erasure deployment\. \(Number of drives specified: 8 but the number of drives found in the 1st drive's format\.json: 4\)/,
  );
  // It left the first pool's drives as they were (only the scratch space .minio.sys/tmp and
  // tmp-old changed) and formatted none of the new ones: so the pools layout below runs on
  // the very same directories, no copy from before the attempt is needed.
  expect(fingerprint(firstDrives, drives)).toEqual(before);
  for (const d of expand(naive[0]!).slice(4)) expect(existsSync(join(d, '.minio.sys', 'format.json'))).toBe(false);
  lap('naive layout refused');

  // 3. The layout after adding a pool: the first pool as it was, then a new one.
  const pools = await startServer(minio, twoPools, dir);
  await waitHealthy(pools, 60_000);
  expect(pools.log()).toMatch(/Formatting 2nd pool, 1 set\(s\), 4 drives per set/);
  expect(pools.log()).not.toMatch(/Formatting 1st pool/);
  mc('alias', 'set', 'root', pools.endpoint, ROOT.user, ROOT.password, '--api', 's3v4');
  const info = adminInfo().info;
  expect(info.deploymentID).toBe(deploymentID);
  expect(info.backend).toMatchObject({
    backendType: 'Erasure',
    onlineDisks: 8,
    offlineDisks: 0,
    totalSets: [1, 1],
    totalDrivesPerSet: [4, 4],
  });
  const reported = (info.servers as { drives: { path: string; state: string; pool_index: number }[] }[]).flatMap(
    (s) => s.drives,
  );
  expect(reported.every((d) => d.state === 'ok')).toBe(true);
  const inPool = (n: number) =>
    reported
      .filter((d) => d.pool_index === n)
      .map((d) => d.path)
      .sort();
  expect(inPool(0)).toEqual(firstDrives);
  expect(inPool(1)).toEqual(secondDrives);

  // Every old object, byte for byte, and nothing else.
  expect(listKeys()).toEqual(Object.keys(original).sort());
  const dl = join(dir, 'download');
  mc('cp', '--recursive', `root/${BUCKET}/`, `${dl}/`);
  for (const [key, sum] of Object.entries(original)) expect(sha256(readFileSync(join(dl, key))), key).toBe(sum);
  // They stay on the first pool (adding a pool moves nothing).
  for (const key of Object.keys(original)) {
    for (const d of firstDrives) expect(existsSync(join(d, BUCKET, key, 'xl.meta')), `${key} on ${d}`).toBe(true);
    for (const d of secondDrives) expect(existsSync(join(d, BUCKET, key)), `${key} on ${d}`).toBe(false);
  }

  // New writes, read back.
  const added: Record<string, string> = {};
  mkdirSync(join(dir, 'new'));
  for (let i = 1; i <= 10; i++) {
    const body = randomBytes(2048 + i * 100);
    const key = `new/obj-${String(i).padStart(2, '0')}`;
    writeFileSync(join(dir, key), body);
    mc('cp', join(dir, key), `root/${BUCKET}/${key}`);
    added[key] = sha256(body);
  }
  for (const [key, sum] of Object.entries(added)) expect(sha256(mc('cat', `root/${BUCKET}/${key}`)), key).toBe(sum);
  expect(listKeys()).toEqual([...Object.keys(original), ...Object.keys(added)].sort());
  expect(statSync(join(firstDrives[0]!, '.minio.sys', 'format.json')).isFile()).toBe(true);
  expect(secondDrives.every((d) => existsSync(join(d, '.minio.sys', 'format.json')))).toBe(true);
  await stop(pools);
  lap('two pools verified and stopped');
});
