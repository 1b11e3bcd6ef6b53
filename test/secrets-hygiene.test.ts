// Issue 12. The console's basic-auth line is salted (apr1, Apache's MD5-crypt), checked
// against the real implementations (OpenSSL's `passwd -apr1`, Apache's `htpasswd -v`, and
// nginx, the server that reads it in ingress-nginx), and a re-run keeps it while user and
// password stay. And every command the tool prints (an env's README, a run's next steps,
// warnings and key notes) takes each value as one shell word: the commands are run with
// stand-in programs through bash and sh, and what each one receives is compared.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import YAML from 'yaml';
import { generateIdentity, recipientOf } from '../src/age.ts';
import { parseFlags } from '../src/args.ts';
import { resolveOptions } from '../src/config.ts';
import { RUN_AS } from '../src/render/names.ts';
import { renderEnvReadme } from '../src/render/readme.ts';
import { apr1, consoleHtpasswd, fixedSalt, htpasswd, sealedSecretSpecs, verifyHtpasswd } from '../src/render/sealed.ts';
import { shellQuote } from '../src/render/shell.ts';
import { fingerprint, publicValues } from '../src/sealed.ts';
import { nextSteps, warnings } from '../src/report.ts';
import { run, snapshot } from './run.ts';
import { freePort, needTool, REPO, tempDir, unavailable } from './tools.ts';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const APR1_LINE = /^admin:\$apr1\$([./0-9A-Za-z]{8})\$[./0-9A-Za-z]{22}\n$/;
const SEED = 0x12c0ffee;

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  return { int, pick };
}

/** openssl from the PATH, or: skip the test (locally) / fail it (CI). */
function needOpenssl(ctx: { skip: (note?: string) => void }): string {
  const found = spawnSync('sh', ['-c', 'command -v openssl'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : unavailable(ctx, 'openssl is not available: install OpenSSL');
}

/** The pinned htpasswd or nginx of tools/install-basic-auth.sh, or: skip the test (locally) / fail it (CI). */
function needBasicAuthTool(ctx: { skip: (note?: string) => void }, name: 'htpasswd' | 'nginx'): string {
  const pinned = join(REPO, '.tools', 'bin', name);
  return existsSync(pinned)
    ? pinned
    : unavailable(
        ctx,
        `${name} is not available: run \`bash tools/install-basic-auth.sh\` (Debian packages, pinned, into .tools)`,
      );
}

/** `openssl passwd -apr1` of each password with one salt (one process; one password a line on stdin). */
function opensslApr1(openssl: string, salt: string, passwords: string[]): string[] {
  const out = execFileSync(openssl, ['passwd', '-apr1', '-salt', salt, '-stdin'], {
    input: passwords.map((p) => `${p}\n`).join(''),
    encoding: 'utf8',
  });
  return out.split('\n').slice(0, -1);
}

/** Apache's own check: `htpasswd -vb FILE USER PASSWORD` exits 0 for a match, 3 for a mismatch. */
function htpasswdVerifies(htpasswdBin: string, line: string, user: string, password: string): boolean {
  const file = join(tempDir('minio-gitops-htpasswd-'), 'auth');
  writeFileSync(file, line);
  const r = spawnSync(htpasswdBin, ['-vb', file, user, password], { encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 3) throw new Error(`htpasswd -v failed: ${r.stderr}`);
  return r.status === 0;
}

/**
 * A real nginx on 127.0.0.1 (a free port, a temp prefix, stopped when the test ends) that
 * guards a page with `auth_basic_user_file` holding `line`, as ingress-nginx does with the
 * Secret's `auth`: returns the HTTP status for a user and password.
 */
async function nginxGuard(nginx: string, line: string): Promise<(user: string, password: string) => Promise<number>> {
  const dir = tempDir('minio-gitops-nginx-');
  const port = await freePort();
  mkdirSync(join(dir, 'www'));
  mkdirSync(join(dir, 'tmp'));
  writeFileSync(join(dir, 'www', 'index.html'), 'console\n');
  writeFileSync(join(dir, 'auth'), line);
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      'daemon off;',
      'master_process off;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log info;`,
      'events { worker_connections 16; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/tmp;`),
      `  server { listen 127.0.0.1:${port}; location / { root ${dir}/www; auth_basic "MinIO console"; auth_basic_user_file ${dir}/auth; } }`,
      '}',
    ].join('\n'),
  );
  const child = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], {
    stdio: 'ignore',
  });
  onTestFinished(() => {
    child.kill('SIGTERM');
  });
  const status = async (user: string, password: string) => {
    const r = await fetch(`http://127.0.0.1:${port}/`, {
      headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
      signal: AbortSignal.timeout(5000),
    });
    await r.text();
    return r.status;
  };
  for (let i = 0; i < 50; i++) {
    try {
      await status('probe', 'probe');
      return status;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(
    `nginx did not listen on 127.0.0.1:${port}: ${existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''}`,
  );
}

/** The prod options and its console Secret's spec, as the scaffolder builds them. */
function consoleSpec() {
  const { options } = resolveOptions(null, parseFlags(['--env', 'prod']));
  const spec = sealedSecretSpecs(options).find((s) => s.credential === 'console');
  if (!spec) throw new Error('prod has no console Secret');
  return spec;
}

describe('apr1 (src/render/sealed.ts) against OpenSSL and Apache', () => {
  it('gives byte for byte what `openssl passwd -apr1 -salt SALT` gives, for seeded random passwords and salts', (ctx) => {
    const openssl = needOpenssl(ctx);
    const rng = seeded(SEED);
    const alphabet = [...`${ITOA64} !"#$%&'()*+,-:;<=>?@[\\]^_\`{|}~\t`, 'é', 'ß', '日', '本', '😀', '✓'];
    const lengths = [0, 1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 48, 64, 100];
    let compared = 0;
    const started = performance.now();
    for (let s = 0; s < 30; s++) {
      const salt =
        s === 0
          ? '.'
          : s === 1
            ? '//zz..ZZ'
            : Array.from({ length: 1 + rng.int(8) }, () => rng.pick([...ITOA64])).join('');
      const passwords = Array.from({ length: 20 }, (_, i) => {
        const length = i < lengths.length ? lengths[i]! : rng.int(120);
        let p = Array.from({ length }, () => rng.pick(alphabet)).join('');
        while (Buffer.byteLength(p) > 200) p = p.slice(0, -1); // openssl passwd truncates at 256 bytes
        return p;
      });
      const theirs = opensslApr1(openssl, salt, passwords);
      expect(theirs).toHaveLength(passwords.length);
      passwords.forEach((p, i) => expect(apr1(p, salt), `password ${JSON.stringify(p)}, salt ${salt}`).toBe(theirs[i]));
      compared += passwords.length;
    }
    console.log(
      `apr1: ${compared} passwords (seed ${SEED.toString(16)}) equal to openssl passwd -apr1 in ${Math.round(performance.now() - started)} ms`,
    );
    expect(compared).toBe(600);
    expect(() => apr1('x', '')).toThrow(/salt/);
    expect(() => apr1('x', '123456789')).toThrow(/salt/);
    expect(() => apr1('x', 'a$b')).toThrow(/salt/);
  });

  it('reads what `htpasswd -nbm` writes (Apache, its own salt), and `htpasswd -vb` accepts what it writes', (ctx) => {
    const htpasswdBin = needBasicAuthTool(ctx, 'htpasswd');
    const rng = seeded(SEED + 1);
    for (let i = 0; i < 12; i++) {
      const password = Array.from({ length: 1 + rng.int(60) }, () => rng.pick([...`${ITOA64}!#%&*-_=+ é`])).join('');
      const apache = execFileSync(htpasswdBin, ['-nbm', 'admin', password], { encoding: 'utf8' }).trim();
      const salt = /^admin:\$apr1\$([^$]+)\$/.exec(apache)![1]!;
      expect(`admin:${apr1(password, salt)}`).toBe(apache);
      expect(verifyHtpasswd(`${apache}\n`, 'admin', password)).toBe(true);
      const ours = htpasswd('admin', password);
      expect(htpasswdVerifies(htpasswdBin, ours, 'admin', password)).toBe(true);
      expect(htpasswdVerifies(htpasswdBin, ours, 'admin', `${password}x`)).toBe(false);
    }
  });

  it('nginx (its own apr1 code, as in ingress-nginx) lets the right password in and no other', async (ctx) => {
    const nginx = needBasicAuthTool(ctx, 'nginx');
    const password = 'Zq3vX9yLmN0pR7sT2uV5wX8yZ1aB4cD6eF9gH2jK';
    const status = await nginxGuard(nginx, htpasswd('admin', password));
    expect(await status('admin', password)).toBe(200);
    expect(await status('admin', `${password.slice(0, -1)}L`)).toBe(401);
    expect(await status('root', password)).toBe(401);
  });
});

describe('the console Secret keeps a salted line while it verifies', () => {
  it('keeps a line that verifies, replaces one that does not (another password, user, or an unsalted {SHA} line); each new one has a new salt', () => {
    const line = htpasswd('admin', 'password-one');
    expect(line).toMatch(APR1_LINE);
    expect(verifyHtpasswd(line, 'admin', 'password-one')).toBe(true);
    expect(verifyHtpasswd(line, 'admin', 'password-two')).toBe(false);
    expect(verifyHtpasswd(line, 'root', 'password-one')).toBe(false);
    expect(verifyHtpasswd(line.trimEnd(), 'admin', 'password-one')).toBe(false); // not the line as written
    expect(consoleHtpasswd('admin', 'password-one', line)).toBe(line);
    const sha = 'admin:{SHA}Vf64I4wvcM6YE5QYjTsIkpr6GtI=\n';
    for (const kept of [sha, htpasswd('admin', 'password-two'), htpasswd('root', 'password-one'), undefined, 42]) {
      const made = consoleHtpasswd('admin', 'password-one', kept);
      expect(made).toMatch(APR1_LINE);
      expect(made).not.toBe(kept);
      expect(verifyHtpasswd(made, 'admin', 'password-one')).toBe(true);
    }
    const salts = new Set(Array.from({ length: 50 }, () => APR1_LINE.exec(htpasswd('admin', 'same'))![1]));
    expect(salts.size).toBe(50);
  });

  it("the console spec's derived auth keeps the file's line while it verifies (valuesFor passes the kept values), and auth is no public value (not fingerprinted)", () => {
    const spec = consoleSpec();
    expect(spec.generated).toEqual({ password: 'password' });
    const kept = { user: 'admin', password: 'a-password', auth: htpasswd('admin', 'a-password') };
    expect(spec.derived({ user: 'admin', password: 'a-password' }, kept)).toEqual({ auth: kept.auth });
    expect(spec.derived({ user: 'admin', password: 'another' }, kept).auth).not.toBe(kept.auth);
    expect(Object.keys(publicValues(spec))).toEqual(['user']);
    expect(Object.keys(fingerprint(spec))).toEqual(['user']);
  });
});

/** A key file of the test's own (never ~/.config/sops/age/keys.txt). */
function ageKey(dir: string) {
  const identity = generateIdentity();
  const file = join(dir, 'team.txt');
  writeFileSync(file, `${identity}\n`, { mode: 0o600 });
  return { file, recipient: recipientOf(identity) };
}

function decrypt(sops: string, file: string, keyFile: string): Record<string, string> {
  return JSON.parse(
    execFileSync(sops, ['decrypt', '--output-type', 'json', file], {
      encoding: 'utf8',
      env: { ...process.env, SOPS_AGE_KEY_FILE: keyFile },
    }),
  ).stringData;
}

function saltOf(auth: string): string {
  return APR1_LINE.exec(auth)![1]!;
}

describe('a real run', () => {
  it('prod: the sealed console Secret holds a salted apr1 line that verifies; a re-run keeps the file byte for byte; --rotate console makes a new password and salt', async (ctx) => {
    const sops = needTool(ctx, 'sops');
    const openssl = needOpenssl(ctx);
    const out = tempDir();
    const key = ageKey(tempDir());
    const env = { SOPS_AGE_KEY_FILE: key.file };
    const started = performance.now();
    const first = run(['--env', 'prod', '--age-recipient', key.recipient, '--no-commit', '--out', out], env);
    expect(first.code, first.stderr).toBe(0);
    const file = join(out, 'sealed/prod/minio-console-basic-auth.yaml');
    const values = decrypt(sops, file, key.file);
    expect(Object.keys(values).sort()).toEqual(['auth', 'password', 'user']);
    expect(values.user).toBe('admin');
    expect(values.auth).toMatch(APR1_LINE);
    expect(verifyHtpasswd(values.auth!, 'admin', values.password!)).toBe(true);
    expect(opensslApr1(openssl, saltOf(values.auth!), [values.password!])[0]).toBe(
      values.auth!.slice('admin:'.length, -1),
    );
    expect(readFileSync(file, 'utf8')).not.toContain('apr1'); // encrypted: the line is only in the decrypted values

    const before = snapshot(out);
    const again = run(['--env', 'prod', '--no-commit', '--out', out], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 created, 0 updated, 0 deleted/);
    expect(snapshot(out)).toEqual(before); // bytes and modification times

    const rotated = run(['--env', 'prod', '--rotate', 'console', '--no-commit', '--out', out], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const after = decrypt(sops, file, key.file);
    expect(after.password).not.toBe(values.password);
    expect(saltOf(after.auth!)).not.toBe(saltOf(values.auth!));
    expect(verifyHtpasswd(after.auth!, 'admin', after.password!)).toBe(true);
    expect(verifyHtpasswd(after.auth!, 'admin', values.password!)).toBe(false);
    console.log(`prod: three runs and the checks in ${Math.round(performance.now() - started)} ms`);

    // The real checkers, when installed (tools/install-basic-auth.sh).
    const htpasswdBin = needBasicAuthTool(ctx, 'htpasswd');
    expect(htpasswdVerifies(htpasswdBin, after.auth!, 'admin', after.password!)).toBe(true);
    expect(htpasswdVerifies(htpasswdBin, after.auth!, 'admin', values.password!)).toBe(false);
    const status = await nginxGuard(needBasicAuthTool(ctx, 'nginx'), after.auth!);
    expect(await status('admin', after.password!)).toBe(200);
    expect(await status('admin', values.password!)).toBe(401);
  });

  it('prod: an unsalted {SHA} line of an earlier version, or a password edited with sops, gets a new apr1 line once; then the file stays', (ctx) => {
    const sops = needTool(ctx, 'sops');
    const out = tempDir();
    const key = ageKey(tempDir());
    const env = { SOPS_AGE_KEY_FILE: key.file };
    expect(run(['--env', 'prod', '--age-recipient', key.recipient, '--no-commit', '--out', out], env).code).toBe(0);
    const file = join(out, 'sealed/prod/minio-console-basic-auth.yaml');
    const { password } = decrypt(sops, file, key.file);
    const sha = `admin:{SHA}${createHash('sha1').update(password!).digest('base64')}\n`; // what earlier versions wrote
    const sopsSet = (k: string, v: string) =>
      execFileSync(sops, ['set', file, `["stringData"]["${k}"]`, JSON.stringify(v)], {
        env: { ...process.env, ...env },
      });

    sopsSet('auth', sha);
    expect(decrypt(sops, file, key.file).auth).toBe(sha);
    expect(run(['--env', 'prod', '--check', '--out', out], env).code).toBe(1); // drift: the line must be salted
    expect(run(['--env', 'prod', '--no-commit', '--out', out], env).code).toBe(0);
    const migrated = decrypt(sops, file, key.file);
    expect(migrated.password).toBe(password);
    expect(migrated.auth).toMatch(APR1_LINE);
    expect(verifyHtpasswd(migrated.auth!, 'admin', password!)).toBe(true);
    const settled = readFileSync(file, 'utf8');
    expect(run(['--env', 'prod', '--no-commit', '--out', out], env).stdout).toMatch(/0 created, 0 updated, 0 deleted/);
    expect(readFileSync(file, 'utf8')).toBe(settled);
    expect(run(['--env', 'prod', '--check', '--out', out], env).code).toBe(0);

    sopsSet('password', 'a-password-chosen-by-a-person');
    expect(run(['--env', 'prod', '--no-commit', '--out', out], env).code).toBe(0);
    const edited = decrypt(sops, file, key.file);
    expect(edited.password).toBe('a-password-chosen-by-a-person');
    expect(verifyHtpasswd(edited.auth!, 'admin', 'a-password-chosen-by-a-person')).toBe(true);
    expect(saltOf(edited.auth!)).not.toBe(saltOf(migrated.auth!));
  });

  it("dev: the plain Secret's line has a salt that follows from the public dev password, so the file is byte-stable; it verifies", (ctx) => {
    const openssl = needOpenssl(ctx);
    const render = () => {
      const out = tempDir();
      const r = run(['--env', 'dev', '--ingress', 'on', '--no-commit', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(join(out, 'overlays/dev/minio/secret-console-basic-auth.yaml'), 'utf8');
    };
    const [a, b] = [render(), render()];
    expect(a).toBe(b);
    const auth = (YAML.parse(a) as { stringData: { auth: string } }).stringData.auth.trimEnd();
    const salt = fixedSalt('admin', 'dev-password-change-me');
    expect(salt).toMatch(/^[./0-9A-Za-z]{8}$/);
    expect(auth).toBe(`admin:${opensslApr1(openssl, salt, ['dev-password-change-me'])[0]}`);
    expect(verifyHtpasswd(`${auth}\n`, 'admin', 'dev-password-change-me')).toBe(true);
  });
});

// ---- Task 2: printed commands take each value as one word ----------------------------

const STUBS = ['kubectl', 'kustomize', 'git', 'npx', 'sops', 'mkdir', 'chown', 'flux'];

/**
 * Runs a command line with stand-ins for the programs it calls (each records the words it
 * gets), in `shell` (bash, and sh: dash on Debian), in a scratch directory; returns the
 * records, sorted (a pipeline's two sides record in either order).
 */
function argvOf(shell: 'bash' | 'sh', command: string, env: Record<string, string | undefined> = {}): string[][] {
  const dir = tempDir('minio-gitops-argv-');
  const script = [
    '_rec() { f=$(mktemp "$REC/r.XXXXXX") && printf "%s\\0" "$@" > "$f"; }',
    ...STUBS.map((s) => `${s}() { _rec ${s} "$@"; }`),
    command,
  ].join('\n');
  const r = spawnSync(shell, ['-c', script], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: '/nonexistent', ...env, REC: dir },
  });
  expect(r.status, `${shell}: ${command}\n${r.stderr}`).toBe(0);
  expect(r.stderr).toBe('');
  return readdirSync(dir)
    .filter((f) => f.startsWith('r.'))
    .map((f) => readFileSync(join(dir, f), 'utf8').split('\0').slice(0, -1))
    .sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
}

function syntaxOk(command: string) {
  for (const shell of ['bash', 'sh']) {
    const r = spawnSync(shell, ['-n', '-c', command], { encoding: 'utf8' });
    expect(r.status, `${shell} -n: ${command}\n${r.stderr}`).toBe(0);
  }
}

/** Both shells give the program these words. */
function expectWords(command: string, expected: string[][], env: Record<string, string | undefined> = {}) {
  syntaxOk(command);
  const sorted = [...expected].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  for (const shell of ['bash', 'sh'] as const)
    expect(argvOf(shell, command, env), `${shell}: ${command}`).toEqual(sorted);
}

/** The ```sh blocks of a README and the inline code spans that start with a command. */
function readmeCommands(text: string): { blocks: string[]; inline: string[] } {
  const blocks = [...text.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  const prose = text.replace(/^```[\s\S]*?^```$/gm, '');
  const inline = [...prose.matchAll(/`([^`\n]+)`/g)]
    .map((m) => m[1]!)
    .filter((c) => /^(kubectl|kustomize|npx|sops|git|mkdir|flux|MINIO_ROOT_USER=)\s/.test(c));
  return { blocks, inline };
}

describe('shellQuote (src/render/shell.ts)', () => {
  it('gives back every value as one word through bash and sh: seeded random values from the characters shells treat specially', () => {
    const rng = seeded(SEED + 2);
    const nasty = [...'abcXYZ019_./:=@%+,- \t\n\'"`$\\!*?[]{}()<>|&;~#^', 'é', '日', '😀'];
    const values = [
      '',
      "'",
      "''",
      "it's",
      'a b',
      '-n',
      '--x=y z',
      '$(touch pwned)',
      '`touch pwned`',
      '~',
      '*',
      '#not a comment',
      '!!',
      'plain-value_1.2/x:y=z@host%2B,+',
    ];
    for (let i = 0; i < 300; i++) values.push(Array.from({ length: 1 + rng.int(24) }, () => rng.pick(nasty)).join(''));
    for (const shell of ['bash', 'sh']) {
      const r = spawnSync(shell, ['-c', `printf '%s\\0' ${values.map(shellQuote).join(' ')}`], {
        encoding: 'utf8',
        cwd: tempDir(),
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(values);
    }
    // Only what needs it is quoted: the rendered commands of plain values stay as they were.
    for (const plain of [
      'minio',
      'overlays/prod/minio',
      'clusters/prod',
      '/mnt/disk1/data',
      'scaffold/prod',
      'https://minio.minio.svc.cluster.local:9000',
      '--path=a/b',
    ])
      expect(shellQuote(plain)).toBe(plain);
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('a b')).toBe("'a b'");
  });
});

describe('the commands a run prints, with values that need quoting', () => {
  it('prod in a repository subdirectory with a space, from a branch with shell characters, a new key file with a space: next steps and key notes', (_ctx) => {
    const base = tempDir();
    const repo = join(base, 'team repo');
    mkdirSync(repo);
    // The branch the person is on is theirs to name (the tool's own, --branch, is plain).
    const previous = "main'$(id)&;`id`";
    const branch = 'scaffold/prod';
    expect(spawnSync('git', ['check-ref-format', '--branch', previous]).status).toBe(0);
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        encoding: 'utf8',
      });
    git('init', '-q', `--initial-branch=${previous}`);
    git('commit', '-q', '--allow-empty', '-m', 'start');
    const out = join(repo, 'deploy dir', 'minio');
    const keyFile = join(base, 'key dir', "it's keys.txt");
    const r = run(
      ['--env', 'prod', '--gitops', 'flux', '--repo-url', 'https://git.example.com/team/storage.git', '--out', out],
      { SOPS_AGE_KEY_FILE: keyFile },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(keyFile)).toBe(true);
    const lines = r.stdout.split('\n');
    const line = (re: RegExp) => {
      const found = lines.find((l) => re.test(l));
      expect(found, `${re} in\n${r.stdout}`).toBeDefined();
      return found!.trim();
    };

    expectWords(line(/^\s+git push -u origin /), [['git', 'push', '-u', 'origin', branch]]);
    expectWords(line(/^\s+git checkout /), [['git', 'checkout', previous]]);
    const apply = line(/kubectl apply -k /);
    expectWords(/\((kubectl apply -k [^)]*)\)/.exec(apply)![1]!, [['kubectl', 'apply', '-k', 'clusters/prod']]);
    // Flux's --path is relative to the repository root: the output's subdirectory is part of it.
    expectWords(`flux bootstrap git ${/flux bootstrap \.\.\. (--path=.*)\)$/.exec(apply)![1]!}`, [
      ['flux', 'bootstrap', 'git', '--path=deploy dir/minio/clusters/prod'],
    ]);
    expectWords(line(/^\s+Flux:\s+kubectl /).replace(/^Flux:\s+/, ''), [
      ['kubectl', '-n', 'flux-system', 'create', 'secret', 'generic', 'sops-age', `--from-file=age.agekey=${keyFile}`],
    ]);
    expectWords(line(/^\s+Argo CD:\s+kubectl /).replace(/^Argo CD:\s+/, ''), [
      ['kubectl', '-n', 'argocd', 'create', 'secret', 'generic', 'sops-age', `--from-file=keys.txt=${keyFile}`],
    ]);

    // The env's README: every sh block and command span parses in both shells; the age key
    // file of the Flux line is one word, wherever sops would find it.
    const readme = readFileSync(join(out, 'overlays/prod/README.md'), 'utf8');
    const { blocks, inline } = readmeCommands(readme);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(inline.length).toBeGreaterThanOrEqual(5);
    for (const c of [...blocks, ...inline]) syntaxOk(c);
    for (const block of blocks)
      for (const shell of ['bash', 'sh'] as const) expect(argvOf(shell, block).length).toBeGreaterThan(0);
    const fluxLine = readme
      .split('\n')
      .find((l) => l.startsWith('kubectl -n flux-system create secret generic sops-age'))!;
    const withKey = (path: string) => [
      ['kubectl', '-n', 'flux-system', 'create', 'secret', 'generic', 'sops-age', `--from-file=age.agekey=${path}`],
    ];
    expectWords(fluxLine, withKey('/home/a person/.config/sops/age/keys.txt'), { HOME: '/home/a person' });
    expectWords(fluxLine, withKey('/x dg/sops/age/keys.txt'), { HOME: '/home/a person', XDG_CONFIG_HOME: '/x dg' });
    expectWords(fluxLine, withKey(keyFile), { SOPS_AGE_KEY_FILE: keyFile });
    console.log(
      `printed commands checked: ${blocks.length} README sh blocks, ${inline.length} README command spans, 6 next-step and key lines`,
    );
  });

  it('next steps for any branch names git accepts (given to nextSteps directly: --branch itself takes plain names only)', () => {
    const { options } = resolveOptions(
      null,
      parseFlags(['--env', 'prod', '--gitops', 'flux', '--repo-url', 'https://git.example.com/team/storage.git']),
    );
    const o = { ...options, repoPath: "deploy dir/it's/" };
    const [branch, previousBranch] = ["scaffold/it's-$(id)&;`id`", 'main"$HOME!{x}'];
    for (const b of [branch, previousBranch])
      expect(spawnSync('git', ['check-ref-format', '--branch', b]).status, b).toBe(0);
    const summary = {
      env: 'prod',
      root: '/x',
      created: ['clusters/prod/kustomization-minio.yaml'],
      updated: [],
      deleted: ['clusters/prod/kustomization-minio-trust.yaml'],
      unchanged: 0,
      branch,
      previousBranch,
      commit: 'abc1234',
      pushed: false,
      notes: [],
      warnings: [],
      secrets: [],
    };
    const steps = nextSteps(o, summary);
    expectWords(steps[0]!, [['git', 'push', '-u', 'origin', branch]]);
    expectWords(steps[1]!, [['git', 'checkout', previousBranch]]);
    expectWords(`flux bootstrap git ${/flux bootstrap \.\.\. (--path=.*)\)$/.exec(steps[2]!)![1]!}`, [
      ['flux', 'bootstrap', 'git', "--path=deploy dir/it's/clusters/prod"],
    ]);
    expectWords(steps[3]!.replace(/^once merged: /, ''), [
      ['kubectl', '-n', 'flux-system', 'delete', 'kustomization', 'minio-prod-trust'],
    ]);
    expect(steps).toHaveLength(4);
  });

  it("Argo CD: the README's key line takes the key file as one word", () => {
    const out = tempDir();
    const key = ageKey(tempDir());
    const r = run(
      ['--env', 'prod', '--gitops', 'argocd', '--age-recipient', key.recipient, '--no-commit', '--out', out],
      { SOPS_AGE_KEY_FILE: key.file },
    );
    expect(r.code, r.stderr).toBe(0);
    const readme = readFileSync(join(out, 'overlays/prod/README.md'), 'utf8');
    for (const c of Object.values(readmeCommands(readme)).flat()) syntaxOk(c);
    const argoLine = readme.split('\n').find((l) => l.startsWith('kubectl -n argocd create secret generic sops-age'))!;
    expectWords(
      argoLine,
      [
        [
          'kubectl',
          '-n',
          'argocd',
          'create',
          'secret',
          'generic',
          'sops-age',
          '--from-file=keys.txt=/home/a person/.config/sops/age/keys.txt',
        ],
      ],
      { HOME: '/home/a person' },
    );
  });

  it("dev: the hostPath warning and the README's mkdir and chown take the path as one word (a path the config check would refuse, given to the renderers directly)", () => {
    // The config admits only [A-Za-z0-9._/-] in hostPath, which needs no quoting; the
    // renderers quote it anyway, as every other value.
    const { options } = resolveOptions(null, parseFlags(['--env', 'dev']));
    const hostPath = "/mnt/it's $HOME;&(x)*`id`";
    const o = { ...options, settings: { ...options.settings, hostPath } };
    const expected = [
      ['mkdir', '-p', hostPath],
      ['chown', `${RUN_AS}:${RUN_AS}`, hostPath],
    ];
    const warning = warnings(o)
      .map((w) => /\(on the node: (.*)\); its namespace/.exec(w)?.[1])
      .find(Boolean);
    expect(warning, warnings(o).join('\n')).toBeDefined();
    expectWords(warning!, expected);
    const readme = renderEnvReadme(o);
    const { blocks } = readmeCommands(readme);
    for (const c of blocks) syntaxOk(c);
    const block = blocks.find((b) => b.startsWith('mkdir -p'));
    expect(block, readme).toBeDefined();
    expectWords(block!, expected);
    // And a real run with the default path: every command of the dev README parses.
    const out = tempDir();
    const r = run(['--env', 'dev', '--no-commit', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    for (const c of Object.values(readmeCommands(readFileSync(join(out, 'overlays/dev/README.md'), 'utf8'))).flat())
      syntaxOk(c);
  });
});
