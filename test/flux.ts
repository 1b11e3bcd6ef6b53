// Flux for tests: the real source-controller and kustomize-controller (pinned builds from
// tools/install-gitops.sh, in .tools/bin) run as processes against a test control plane
// with a kubeconfig, as they run in a cluster's flux-system namespace. Every listener is on
// 127.0.0.1: source-controller's artifact server on a free port, advertised there
// (--storage-adv-addr), so kustomize-controller fetches the artifacts over http from it;
// the health probes on free ports; metrics off. Stopped when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import type { Cluster } from './cluster.ts';
import { freePort, REPO, unavailable } from './tools.ts';

const TOOLS_BIN = join(REPO, '.tools', 'bin');
/** The CRDs of the controllers tools/install-gitops.sh builds, from the same module versions. */
export const GITOPS_CRDS = join(REPO, '.tools', 'gitops-crds');
export const FLUX_NAMESPACE = 'flux-system';

/** The CRD files (in .tools/gitops-crds) of the API groups given, e.g. 'source.toolkit.fluxcd.io'. */
export function gitopsCrds(...groups: string[]): string[] {
  if (!existsSync(GITOPS_CRDS)) return [];
  return readdirSync(GITOPS_CRDS)
    .filter((f) => f.endsWith('.yaml') && groups.some((g) => f.endsWith(`.${g}.yaml`)))
    .sort()
    .map((f) => join(GITOPS_CRDS, f));
}

/** The pinned versions the CRDs were copied from (.tools/gitops-crds/.version). */
export function gitopsVersions(): string {
  const file = join(GITOPS_CRDS, '.version');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : 'unknown';
}

export interface FluxBin {
  sourceController: string;
  kustomizeController: string;
  /** The source.toolkit.fluxcd.io and kustomize.toolkit.fluxcd.io CRDs of the same version. */
  crds: string[];
}

/** Flux's two controllers and their CRDs, or: skip the test (locally) / fail it (CI). */
export function needFlux(ctx: { skip: (note?: string) => void }): FluxBin {
  const bin = {
    sourceController: join(TOOLS_BIN, 'source-controller'),
    kustomizeController: join(TOOLS_BIN, 'kustomize-controller'),
  };
  const crds = gitopsCrds('source.toolkit.fluxcd.io', 'kustomize.toolkit.fluxcd.io');
  const missing = [
    ...Object.values(bin).filter((b) => !existsSync(b)),
    ...(crds.some((f) => f.includes('gitrepositories.')) && crds.some((f) => f.includes('kustomizations.'))
      ? []
      : [GITOPS_CRDS]),
  ];
  if (missing.length > 0)
    unavailable(
      ctx,
      `Flux is not available (missing: ${missing.join(', ')}): run \`bash tools/install.sh\` (needs Go)`,
    );
  return { ...bin, crds };
}

export interface Proc {
  name: string;
  proc: ChildProcess;
  /** The process's last output (stdout and stderr). */
  log: () => string;
  exited: () => string | undefined;
  stop: () => Promise<void>;
}

/**
 * Spawns a controller with its own HOME and working directory under `dir`, keeping the last
 * 40 kB of its output; stopped (SIGTERM, then SIGKILL after 5 s) when the test ends or the
 * test process exits.
 */
export function spawnController(
  name: string,
  bin: string,
  args: string[],
  dir: string,
  env: Record<string, string> = {},
): Proc {
  const home = join(dir, name);
  mkdirSync(home, { recursive: true });
  const proc = spawn(bin, args, {
    cwd: home,
    env: { PATH: process.env.PATH ?? '', HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const collect = (d: Buffer) => (out = `${out}${d}`.slice(-40_000));
  proc.stdout!.on('data', collect);
  proc.stderr!.on('data', collect);
  const exited = () =>
    proc.exitCode !== null || proc.signalCode !== null
      ? `${name} exited (${proc.exitCode ?? proc.signalCode})`
      : undefined;
  const kill = () => {
    if (!exited()) proc.kill('SIGKILL');
  };
  process.once('exit', kill);
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      process.off('exit', kill);
      if (exited()) return;
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    })());
  onTestFinished(stop);
  return { name, proc, log: () => out, exited, stop };
}

/** A kubeconfig for `user`, bound to cluster-admin (as Flux's install binds its controllers). */
export async function adminUser(cluster: Cluster, user: string): Promise<string> {
  const rbac = cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `${user}-admin` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
    },
  });
  return cluster.userKubeconfig(user);
}

/** Waits (at most `seconds`) for http://<addr>/readyz to answer 200, failing early when the process exits. */
async function ready(p: Proc, addr: string, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const gone = p.exited();
    if (gone) throw new Error(`${gone}: ${p.log().slice(-4000)}`);
    if (
      await fetch(`http://${addr}/readyz`, { signal: AbortSignal.timeout(5_000) }).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    if (Date.now() > deadline)
      throw new Error(`${p.name} was not ready (/readyz on ${addr}) in ${seconds} s: ${p.log().slice(-4000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface Flux {
  procs: Proc[];
  /** Where source-controller serves (and advertises) its artifacts. */
  storage: string;
  logs: () => string;
}

/**
 * Runs source-controller and kustomize-controller against `cluster` (each as its own user,
 * bound to cluster-admin), as Flux runs them in flux-system (RUNTIME_NAMESPACE), until the
 * test ends. `requeueDependency` is kustomize-controller's --requeue-dependency (upstream
 * 30s): how soon a Kustomization whose dependsOn is not Ready yet looks again.
 */
export async function startFlux(
  cluster: Cluster,
  bin: FluxBin,
  dir: string,
  opts: { requeueDependency?: string; seconds?: number } = {},
): Promise<Flux> {
  const seconds = opts.seconds ?? 60;
  const storagePort = await freePort();
  const storage = `127.0.0.1:${storagePort}`;
  const [sourceHealth, kustomizeHealth] = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
  // The kubeconfig through KUBECONFIG: Flux's flags (pflag) do not include controller-runtime's --kubeconfig.
  const env = { RUNTIME_NAMESPACE: FLUX_NAMESPACE };
  const storagePath = join(dir, 'source-controller', 'data'); // it must exist
  mkdirSync(storagePath, { recursive: true });
  const source = spawnController(
    'source-controller',
    bin.sourceController,
    [
      '--storage-path',
      storagePath,
      '--storage-addr',
      storage,
      '--storage-adv-addr',
      storage,
      '--health-addr',
      sourceHealth,
      '--metrics-addr',
      '0',
      '--enable-leader-election=false',
      '--log-level',
      'info',
    ],
    dir,
    { ...env, KUBECONFIG: await adminUser(cluster, 'source-controller') },
  );
  const kustomize = spawnController(
    'kustomize-controller',
    bin.kustomizeController,
    [
      '--health-addr',
      kustomizeHealth,
      '--metrics-addr',
      '0',
      '--enable-leader-election=false',
      '--requeue-dependency',
      opts.requeueDependency ?? '5s',
      '--log-level',
      'info',
    ],
    dir,
    { ...env, KUBECONFIG: await adminUser(cluster, 'kustomize-controller') },
  );
  const procs = [source, kustomize];
  const logs = () => procs.map((p) => `--- ${p.name}:\n${p.log().slice(-6000)}`).join('\n');
  await ready(source, sourceHealth, seconds);
  await ready(kustomize, kustomizeHealth, seconds);
  return { procs, storage, logs };
}
