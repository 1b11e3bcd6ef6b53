// The live-cluster edge: the kubeconfig, the env's objects as the engine would apply them,
// and API errors as one line. Only the cluster commands (verify, apply, console) import
// this file, so the scaffold path never loads @kubernetes/client-node.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { availableIdentities } from '../age-keys.ts';
import { fail } from '../errors.ts';
import { unwrapDataKey, type SopsMetadata } from '../sops.ts';

export { k8s };

/** The kubeconfig (--kubeconfig, else KUBECONFIG, else ~/.kube/config) at --context. */
export function loadKubeConfig(file: string | undefined, context: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (error) {
    fail(`cannot read the kubeconfig ${file ?? process.env.KUBECONFIG ?? '~/.kube/config'} (${(error as Error).message.split('\n')[0]}); pass --kubeconfig FILE`);
  }
  if (kc.getContexts().length === 0) fail(`no kubeconfig with a context found (${file ?? process.env.KUBECONFIG ?? '~/.kube/config'}); pass --kubeconfig FILE`);
  if (context) {
    if (!kc.getContextObject(context)) fail(`--context ${context} is not in the kubeconfig; use one of: ${kc.getContexts().map((c) => c.name).join(', ')}`);
    kc.setCurrentContext(context);
  }
  return kc;
}

/** What an API error says, in one line (the Status message when there is one). */
export function apiMessage(error: unknown): string {
  const e = error as { code?: number; body?: unknown; message?: string; cause?: { code?: string } };
  if (e?.cause?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(e?.message))) return 'connection refused';
  let body = e?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      /* not JSON: use the message */
    }
  }
  const message = (body as { message?: string } | undefined)?.message ?? e?.message ?? String(error);
  return message.split('\n')[0]!;
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number })?.code === 404;
}

/**
 * Everything overlays/<env> builds (kubectl's kustomize, as a user runs it), with sealed
 * Secrets decrypted by the available age key, as Flux does after its build.
 */
export async function builtObjects(root: string, env: string): Promise<k8s.KubernetesObject[]> {
  const dir = join(root, 'overlays', env);
  if (!existsSync(join(dir, 'kustomization.yaml'))) fail(`${dir} has no kustomization.yaml: env ${env} is not rendered in ${root}; run \`npx zx scaffold.ts --env ${env}\` first, or pass --out`);
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) fail(`kubectl is needed to build ${dir} (${r.error.message}); install kubectl >= 1.27`);
  if (r.status !== 0) fail(`kubectl kustomize ${dir} failed: ${r.stderr.trim().split('\n').pop()}`);
  const objects = k8s.loadAllYaml(r.stdout).filter(Boolean) as (k8s.KubernetesObject & { sops?: SopsMetadata })[];
  const sealed = objects.filter((o) => o.sops);
  if (sealed.length === 0) return objects;
  const identities = availableIdentities();
  const { decryptSops } = await import('sops-age');
  const out: k8s.KubernetesObject[] = [];
  for (const o of objects) {
    if (!o.sops) {
      out.push(o);
      continue;
    }
    const found = unwrapDataKey(o.sops, identities);
    if (!found) fail(`${o.kind}/${o.metadata?.name} is sealed and no available age key opens it (SOPS_AGE_KEY_FILE or ~/.config/sops/age/keys.txt); load the key`);
    // Flux checks no MAC after its build (the build reorders keys); neither does this.
    const plain = (await decryptSops(JSON.stringify(o), { fileType: 'json', secretKey: found.identity })) as Record<string, unknown>;
    delete plain.sops;
    out.push(k8s.loadYaml(JSON.stringify(plain)));
  }
  return out;
}

export const id = (o: k8s.KubernetesObject) => `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
