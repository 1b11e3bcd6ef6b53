// The restarter Job of an erasure-coded env, played where no container runs (kwok's nodes):
// its kubectl command, exactly as rendered, run by the pinned kubectl (tools/install-kubectl.sh,
// the Kubernetes of the Job's image) and authenticated as the Job's ServiceAccount with a
// token from the TokenRequest API. What the container runtime would do is all that is
// simulated: the API server, its RBAC and the StatefulSet controller are real.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import type { Obj } from './scaffolded.ts';
import { REPO, tempDir, unavailable } from './tools.ts';

const KUBECTL = join(REPO, '.tools', 'bin', 'kubectl');

/** The pinned kubectl (tools/install-kubectl.sh), its version: or skip (locally) / fail (CI). */
export function needKubectl(ctx: { skip: (note?: string) => void }): { path: string; version: string } {
  const stamp = join(REPO, '.tools', 'bin', '.kubectl.version');
  if (existsSync(KUBECTL) && existsSync(stamp))
    return { path: KUBECTL, version: readFileSync(stamp, 'utf8').trim().split('-')[0]! };
  return unavailable(ctx, 'the pinned kubectl is not in .tools/bin: run `bash tools/install.sh` (needs Go)');
}

export interface Kubectl {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The pinned kubectl with a kubeconfig (as KUBECONFIG, so the args stay as given), stdin optional. */
export function kubectl(kubeconfig: string, args: string[], input?: string, home?: string): Kubectl {
  const r = spawnSync(KUBECTL, args, {
    input,
    encoding: 'utf8',
    timeout: 120_000,
    env: { PATH: process.env.PATH ?? '', HOME: home ?? tempDir('minio-gitops-kubectl-home-'), KUBECONFIG: kubeconfig },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A kubeconfig that authenticates as a ServiceAccount, with a token from the TokenRequest API. */
export async function serviceAccountKubeconfig(
  cp: { kc: k8s.KubeConfig; server: string },
  namespace: string,
  name: string,
): Promise<string> {
  const core = cp.kc.makeApiClient(k8s.CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 600 } },
  });
  const token = tr.status!.token;
  expect(token).toMatch(/^ey/);
  const file = join(tempDir('minio-gitops-sa-'), 'kubeconfig');
  writeFileSync(
    file,
    YAML.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'test',
          cluster: { server: cp.server, 'certificate-authority-data': cp.kc.getCurrentCluster()!.caData },
        },
      ],
      users: [{ name, user: { token } }],
      // In a pod, kubectl's default namespace is its ServiceAccount's (the restarter names none).
      contexts: [{ name: 'test', context: { cluster: 'test', user: name, namespace } }],
      'current-context': 'test',
    }),
  );
  return file;
}

/**
 * The restarter Job's kubectl command, from the build: its args as rendered, its HOME. Paths
 * under the pod's /tmp (an emptyDir the Job mounts there: asserted) live in a temp dir here.
 */
export function restarterCommand(objs: Obj[]): {
  args: string[][];
  image: string;
  run: (kubeconfig: string) => Kubectl;
} {
  const job = objs.find((o) => o.kind === 'Job' && o.metadata.name === 'minio-restarter');
  if (!job) throw new Error('no restarter Job in the build');
  const pod = job.spec.template.spec;
  expect(pod.serviceAccountName).toBe('minio-restarter');
  type Container = {
    image: string;
    args: string[];
    command?: string[];
    env?: { name: string; value: string }[];
    volumeMounts: { name: string; mountPath: string }[];
  };
  // The kubelet's order: the init containers one after the other, then the container.
  const containers = [...((pod.initContainers ?? []) as Container[]), ...(pod.containers as Container[])];
  expect(pod.containers).toHaveLength(1);
  for (const container of containers) {
    expect(container.command).toBeUndefined();
    const tmp = container.volumeMounts.find((m) => m.mountPath === '/tmp');
    expect(tmp, 'the Job mounts a writable /tmp').toBeDefined();
    expect(
      (pod.volumes as { name: string; emptyDir?: object }[]).find((v) => v.name === tmp!.name)?.emptyDir,
    ).toBeDefined();
    expect(container.env).toContainEqual({ name: 'HOME', value: '/tmp' });
  }
  expect(new Set(containers.map((c) => c.image)).size).toBe(1);
  const args = containers.map((c) => c.args);
  return {
    args,
    image: containers[0]!.image,
    run: (kubeconfig) => {
      const podTmp = tempDir('minio-gitops-restarter-tmp-');
      const results = [];
      for (const a of args) {
        const r = kubectl(
          kubeconfig,
          a.map((x) => x.replace(/^(--[a-z-]+=)\/tmp\//, `$1${podTmp}/`)),
          undefined,
          podTmp,
        );
        results.push(r);
        if (r.code !== 0) break; // a failed init container stops the pod
      }
      return {
        code: results.at(-1)!.code,
        stdout: results.map((r) => r.stdout).join(''),
        stderr: results.map((r) => r.stderr).join(''),
      };
    },
  };
}
