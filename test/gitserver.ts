// A git server for tests: git's own `git http-backend` (smart HTTP), run as a CGI program
// behind a small Node http server on 127.0.0.1 and a random port, serving the bare
// repositories under one directory, read-only for anonymous clients (http-backend refuses
// receive-pack without an authenticated user). Tests push to the bare repository on disk.
// Stopped when the test ends.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { tempDir, unavailable } from './tools.ts';

export interface GitServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** The clone URL of the bare repository `name` (a directory under the served root). */
  repoUrl: (name: string) => string;
  stop: () => Promise<void>;
}

/** git and its http-backend, or: skip the test (locally) / fail it (CI). */
export function needGit(ctx: { skip: (note?: string) => void }): { git: string; httpBackend: string } {
  const found = spawnSync('git', ['--exec-path'], { encoding: 'utf8' });
  if (found.status !== 0) unavailable(ctx, 'git is not on the PATH');
  const httpBackend = join(found.stdout.trim(), 'git-http-backend');
  if (spawnSync('test', ['-x', httpBackend]).status !== 0)
    unavailable(ctx, `git's http-backend is missing (${httpBackend})`);
  return { git: 'git', httpBackend };
}

/**
 * Runs one request through `git http-backend` (CGI: the request in the environment and on
 * stdin, the response as headers, a blank line and the body on stdout).
 */
function cgi(httpBackend: string, root: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // No user or system git configuration of the machine running the tests.
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    HOME: root,
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SOFTWARE: 'minio-gitops-test',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ''),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
    // gzip'd request bodies (git clients compress large negotiations) and protocol v2.
    ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
    ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
  };
  const backend = spawn(httpBackend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  backend.stderr.on('data', (d) => (stderr = `${stderr}${d}`.slice(-4000)));
  req.pipe(backend.stdin);
  backend.stdin.on('error', () => {}); // the backend may answer before reading everything
  let head = Buffer.alloc(0);
  let headersSent = false;
  backend.stdout.on('data', (chunk: Buffer) => {
    if (headersSent) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const crlf = head.indexOf('\r\n\r\n');
    const lf = head.indexOf('\n\n');
    const end = crlf >= 0 && (lf < 0 || crlf < lf) ? { at: crlf, len: 4 } : lf >= 0 ? { at: lf, len: 2 } : undefined;
    if (!end) return;
    let status = 200;
    for (const line of head.subarray(0, end.at).toString('latin1').split(/\r?\n/)) {
      const colon = line.indexOf(':');
      if (colon < 0) continue;
      const [name, value] = [line.slice(0, colon).trim(), line.slice(colon + 1).trim()];
      if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
      else res.setHeader(name, value);
    }
    res.statusCode = status;
    headersSent = true;
    res.write(head.subarray(end.at + end.len));
  });
  backend.on('close', (code) => {
    if (!headersSent) {
      res.statusCode = 500;
      res.end(`git http-backend exited with ${code}: ${stderr}`);
    } else {
      res.end();
    }
  });
}

/** Serves the bare repositories under `root` until the test ends. */
export async function startGitServer(ctx: { skip: (note?: string) => void }, root: string): Promise<GitServer> {
  const { httpBackend } = needGit(ctx);
  const server = createServer((req, res) => cgi(httpBackend, root, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
  onTestFinished(stop);
  return { url, repoUrl: (name) => `${url}/${name}`, stop };
}

/**
 * A bare repository `<root>/<name>` (what the server serves) and a clone of it, as a team's
 * repository and a person's work tree: a first commit on main, pushed. git runs without the
 * user's or system's configuration. `commit` commits everything in the work tree and pushes
 * it to main; `merge` merges a branch into main the way a pull request's merge does
 * (fast-forward), deletes the branch and pushes main. Both return main's new sha.
 */
export function gitRepository(
  root: string,
  name: string,
): {
  work: string;
  bare: string;
  git: (...args: string[]) => string;
  commit: (message: string) => string;
  merge: (branch: string) => string;
} {
  const bare = join(root, name);
  const work = tempDir('minio-gitops-work-');
  const home = tempDir('minio-gitops-githome-');
  const env = {
    ...process.env,
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
  };
  const git = (...args: string[]) =>
    execFileSync(
      'git',
      ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', '-c', 'init.defaultBranch=main', ...args],
      { cwd: work, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 },
    ).trim();
  mkdirSync(bare, { recursive: true });
  execFileSync('git', ['init', '--bare', '--quiet', '--initial-branch=main'], {
    cwd: bare,
    env,
    stdio: 'pipe',
    timeout: 60_000,
  });
  git('init', '--quiet');
  git('remote', 'add', 'origin', bare);
  writeFileSync(join(work, 'README.md'), '# storage\n');
  const commit = (message: string) => {
    git('add', '--all');
    git('commit', '--quiet', '--allow-empty', '-m', message);
    git('push', '--quiet', 'origin', 'HEAD:refs/heads/main');
    return git('rev-parse', 'HEAD');
  };
  const merge = (branch: string) => {
    git('checkout', '--quiet', 'main');
    git('merge', '--quiet', '--ff-only', branch);
    git('branch', '--quiet', '-d', branch);
    git('push', '--quiet', 'origin', 'main');
    return git('rev-parse', 'HEAD');
  };
  commit('start');
  return { work, bare, git, commit, merge };
}
