// Finding the real tools the tests run: the pinned builds in .tools/bin (tools/install.sh,
// which `npm test` runs first) and kubectl from the PATH. Locally a missing tool skips the
// test with the reason; with CI set it fails the test instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { onTestFinished } from 'vitest';

export const REPO = resolve(import.meta.dirname, '..');
const TOOLS_BIN = join(REPO, '.tools', 'bin');

export type Tool =
  | 'kustomize'
  | 'psa-check'
  | 'kubectl'
  | 'sops'
  | 'minio'
  | 'mc'
  | 'shellcheck'
  | 'kube-apiserver'
  | 'etcd';

function onPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export function findTool(name: Tool): string | undefined {
  if (name === 'kubectl') return onPath('kubectl');
  const pinned = join(TOOLS_BIN, name);
  return existsSync(pinned) ? pinned : undefined;
}

/** Something a test needs is missing: skip the test (locally) or fail it (CI), saying why. */
export function unavailable(ctx: { skip: (note?: string) => void }, reason: string): never {
  if (process.env.CI) throw new Error(reason);
  console.warn(`skipped: ${reason}`);
  ctx.skip(reason);
  throw new Error('unreachable');
}

/** The tool's path, or: skip the test (locally) / fail it (CI) saying how to get the tool. */
export function needTool(ctx: { skip: (note?: string) => void }, name: Tool): string {
  const path = findTool(name);
  if (path) return path;
  const how = name === 'kubectl' ? 'install kubectl >= 1.27' : 'run `bash tools/install.sh` (needs Go)';
  return unavailable(ctx, `${name} is not available: ${how}`);
}

/**
 * The upstream CRDs that tools/install-crds.sh fetches pinned from the registries into
 * .tools/crds/<name>.yaml and are not there (the names are the last column of its CRD_PINS).
 */
export function missingCrds(): string[] {
  const script = readFileSync(join(REPO, 'tools', 'install-crds.sh'), 'utf8');
  const names = [...script.matchAll(/^(?:CRD_PINS=')?(?:go|maven) \S+ \S+ \S+ ([a-z0-9.-]+)'?$/gm)].map((m) => m[1]!);
  if (names.length === 0) throw new Error('tools/install-crds.sh lists no CRD');
  return names.filter((name) => !existsSync(join(REPO, '.tools', 'crds', `${name}.yaml`)));
}

/** The upstream CRDs in .tools/crds, or: skip the test (locally) / fail it (CI). */
export function needCrds(ctx: { skip: (note?: string) => void }): void {
  const missing = missingCrds();
  if (missing.length === 0) return;
  unavailable(
    ctx,
    `the upstream CRDs are not in .tools/crds (${missing.join(', ')}): run \`bash tools/install.sh\` (needs Go, Maven and unzip)`,
  );
}

/** A free TCP port on 127.0.0.1 (for the test servers, which listen there only). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** kustomize build with both the pinned standalone kustomize and kubectl's built-in one. */
export function kustomizeBuilders(ctx: {
  skip: (note?: string) => void;
}): { name: string; build: (dir: string) => string }[] {
  const kustomize = needTool(ctx, 'kustomize');
  const kubectl = needTool(ctx, 'kubectl');
  return [
    { name: 'kustomize', build: (dir) => execFileSync(kustomize, ['build', dir], { encoding: 'utf8' }) },
    { name: 'kubectl kustomize', build: (dir) => execFileSync(kubectl, ['kustomize', dir], { encoding: 'utf8' }) },
  ];
}

/** A temporary directory removed when the test ends. */
export function tempDir(prefix = 'minio-gitops-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
