// A real MinIO server for tests (the pinned build from tools/install.sh): 127.0.0.1 on a
// random port, its drives in a temp directory, stopped when the test ends. Four drive
// directories make it erasure coded, so versioning works; `tls` serves https with a
// certificate from a CA the test makes with openssl.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { freePort, needTool, tempDir } from './tools.ts';

export const ROOT = { user: 'test-root-admin', password: 'test-root-password-0123456789' };

/** A private CA and a server certificate for 127.0.0.1 (openssl). */
export function makeCertificates(dir: string): { ca: string; certsDir: string } {
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
    '/CN=minio-gitops test CA',
  );
  ssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
  const certsDir = join(dir, 'certs');
  mkdirSync(certsDir);
  copyFileSync(join(dir, 'server.crt'), join(certsDir, 'public.crt'));
  copyFileSync(join(dir, 'server.key'), join(certsDir, 'private.key'));
  return { ca: join(dir, 'ca.crt'), certsDir };
}

export interface Minio {
  endpoint: string;
  /** Runs mc with the root alias `root` (and any alias added by `alias`); returns stdout. */
  mc: (...args: string[]) => string;
  /** Runs mc and reports the exit code and output instead of throwing. */
  tryMc: (...args: string[]) => { code: number | null; out: string };
  /** The environment the bootstrap script runs with (PATH with mc, root credentials). */
  env: Record<string, string>;
  ca?: string;
  /** The directory of its drives (and mc's config), for a restart on the same data (`dir`). */
  dir: string;
  /** Stops the server and waits until it has exited. */
  stop: () => Promise<void>;
}

export async function startMinio(
  ctx: { skip: (note?: string) => void },
  opts: { drives: number; tls?: boolean; env?: Record<string, string>; dir?: string },
): Promise<Minio> {
  const minio = needTool(ctx, 'minio');
  const mcPath = needTool(ctx, 'mc');
  const dir = opts.dir ?? tempDir('minio-gitops-s3-');
  const [port, consolePort] = [await freePort(), await freePort()];
  const args = ['server', '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${consolePort}`];
  let ca: string | undefined;
  if (opts.tls) {
    const certs = makeCertificates(dir);
    ca = certs.ca;
    args.push('--certs-dir', certs.certsDir);
  }
  args.push(opts.drives > 1 ? join(dir, `drive{1...${opts.drives}}`) : join(dir, 'drive'));
  // MINIO_CI_CD: drives on the root disk are allowed (test machines have one disk).
  const server = spawn(minio, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      MINIO_ROOT_USER: ROOT.user,
      MINIO_ROOT_PASSWORD: ROOT.password,
      MINIO_CI_CD: 'on',
      MINIO_BROWSER: 'off',
      AWS_EC2_METADATA_DISABLED: 'true',
      ...opts.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (d) => (stderr += String(d)));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  const stop = async () => {
    server.kill('SIGKILL');
    await exited;
  };
  onTestFinished(stop);

  const endpoint = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const mcConfig = join(dir, 'mc');
  mkdirSync(join(mcConfig, 'certs', 'CAs'), { recursive: true });
  if (ca) copyFileSync(ca, join(mcConfig, 'certs', 'CAs', 'ca.crt'));
  const mcEnv = { ...process.env, MC_CONFIG_DIR: mcConfig, MC_NO_COLOR: '1', MC_QUIET: '1' };
  const tryMc = (...a: string[]) => {
    const r = spawnSync(mcPath, a, { env: mcEnv, encoding: 'utf8' });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const mc = (...a: string[]) => {
    const r = tryMc(...a);
    if (r.code !== 0) throw new Error(`mc ${a.join(' ')} failed: ${r.out}`);
    return r.out;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (
      tryMc('alias', 'set', 'root', endpoint, ROOT.user, ROOT.password).code === 0 &&
      tryMc('ready', 'root').code === 0
    )
      break;
    if (server.exitCode !== null || Date.now() > deadline)
      throw new Error(`MinIO did not start: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const bin = join(mcPath, '..');
  return {
    endpoint,
    mc,
    tryMc,
    ca,
    dir,
    stop,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      MINIO_ROOT_USER: ROOT.user,
      MINIO_ROOT_PASSWORD: ROOT.password,
      HOME: dir,
    },
  };
}
