// `apply --env NAME --server-dry-run`: every object the env builds goes to the API server
// as a server-side apply with dryRun=All, and what it rejects is reported per object.
// Workloads get one more check: a Pod made from their pod template, dry-run created in
// their namespace, so Pod Security admission (which only warns about Deployments, Jobs
// and StatefulSets) enforces the namespace's level on the security contexts.
import type { Io } from '../report.ts';
import { apiMessage, id, k8s } from './kube.ts';

export const FIELD_MANAGER = 'minio-gitops';

export interface DryRunResult {
  object: string;
  accepted: boolean;
  message?: string;
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'Job'];

/** The Pod a workload's template would make (named after the workload, never created). */
function podFor(o: k8s.KubernetesObject): k8s.V1Pod {
  const spec = (o as unknown as { spec: { template: k8s.V1PodTemplateSpec; volumeClaimTemplates?: k8s.V1PersistentVolumeClaim[] } }).spec;
  // A StatefulSet's pods get a volume per claim template, as its controller adds them.
  const claims = (spec.volumeClaimTemplates ?? []).map((t) => ({ name: t.metadata!.name!, persistentVolumeClaim: { claimName: `${t.metadata!.name}-${o.metadata!.name}-0` } }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${o.metadata!.name}-pod-check`, namespace: o.metadata!.namespace, labels: spec.template.metadata?.labels },
    spec: { ...spec.template.spec!, volumes: [...(spec.template.spec!.volumes ?? []), ...claims] },
  };
}

export async function serverDryRun(kc: k8s.KubeConfig, objects: k8s.KubernetesObject[]): Promise<DryRunResult[]> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const results: DryRunResult[] = [];
  // Namespaces first, as an engine applies them (their dry run persists nothing, though:
  // objects in a namespace that does not exist yet are reported as such).
  const ordered = [...objects.filter((o) => o.kind === 'Namespace'), ...objects.filter((o) => o.kind !== 'Namespace')];
  for (const o of ordered) {
    try {
      await api.patch(o, undefined, 'All', FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
      results.push({ object: id(o), accepted: true });
    } catch (error) {
      results.push({ object: id(o), accepted: false, message: apiMessage(error) });
      continue;
    }
    if (WORKLOADS.includes(o.kind!)) {
      try {
        await api.create(podFor(o), undefined, 'All', FIELD_MANAGER);
        results.push({ object: `pod template of ${id(o)}`, accepted: true });
      } catch (error) {
        results.push({ object: `pod template of ${id(o)}`, accepted: false, message: apiMessage(error) });
      }
    }
  }
  return results;
}

export function printDryRun(io: Io, env: string, server: string, results: DryRunResult[], json: boolean): number {
  const rejected = results.filter((r) => !r.accepted);
  if (json) {
    io.out(`${JSON.stringify({ env, server, accepted: results.length - rejected.length, rejected: rejected.length, results })}\n`);
  } else {
    for (const r of results) io.out(r.accepted ? `ok        ${r.object}\n` : `REJECTED  ${r.object}: ${r.message}\n`);
    io.out(`env ${env} on ${server}: ${results.length - rejected.length} accepted, ${rejected.length} rejected (server-side dry run: nothing was changed)\n`);
  }
  return rejected.length > 0 ? 1 : 0;
}
