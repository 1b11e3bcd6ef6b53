// `apply --env NAME --server-dry-run`: every object the env builds goes to the API server
// as the engine sends it (server-side apply, strict field validation), with dryRun=All,
// and what the server rejects is reported per object. Workloads get one more check: a Pod
// from their pod template, dry-run created in their namespace, so Pod Security admission
// (which only warns about Deployments, Jobs and StatefulSets) enforces the namespace's
// level on the security contexts. Nothing is changed.
import type { Io } from '../report.ts';
import { id, statusMessage, type Api, type Obj } from './kube.ts';

export const FIELD_MANAGER = 'minio-gitops';
const QUERY = `dryRun=All&fieldManager=${FIELD_MANAGER}`;

export interface DryRunResult {
  object: string;
  result: 'accepted' | 'rejected' | 'skipped';
  message?: string;
}

const WORKLOADS = ['Deployment', 'StatefulSet', 'Job'];
const ENFORCE = 'pod-security.kubernetes.io/enforce';

/**
 * The Pod a workload's template makes. A StatefulSet's pods get a volume per claim
 * template, as its controller adds them. No service account: Pod Security does not look
 * at it, and the env's own may not exist before the engine applies it.
 */
function podFor(o: Obj): Obj {
  const claims = ((o.spec.volumeClaimTemplates ?? []) as { metadata: { name: string } }[]).map((t) => ({
    name: t.metadata.name,
    persistentVolumeClaim: { claimName: `${t.metadata.name}-${o.metadata.name}-0` },
  }));
  const { serviceAccountName: _sa, ...spec } = o.spec.template.spec;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${o.metadata.name}-pod-check`,
      namespace: o.metadata.namespace,
      labels: o.spec.template.metadata?.labels,
    },
    spec: { ...spec, volumes: [...(spec.volumes ?? []), ...claims] },
  };
}

/**
 * A Job the engines replace instead of updating (its template cannot change): Flux with
 * its force annotation, Argo CD as a hook deleted before it is created again.
 */
function replacedByEngine(o: Obj): boolean {
  const a = o.metadata.annotations ?? {};
  return (
    o.kind === 'Job' &&
    (a['kustomize.toolkit.fluxcd.io/force'] === 'enabled' ||
      a['argocd.argoproj.io/hook-delete-policy'] === 'BeforeHookCreation')
  );
}

/** Such a Job as the engine sends it: created anew (dry run, under another name, as the live one still holds its own). */
async function asReplacement(api: Api, o: Obj): Promise<DryRunResult> {
  const collection = await api.path(o.apiVersion, o.kind, undefined, o.metadata.namespace);
  const copy = { ...o, metadata: { ...o.metadata, name: `${o.metadata.name}-dry-run` } };
  const r = await api.request('POST', `${collection}?${QUERY}&fieldValidation=Strict`, copy);
  return r.status < 300
    ? {
        object: id(o),
        result: 'accepted',
        message: "replaced by the engine (a Job's template cannot change in place): accepted as a new Job",
      }
    : { object: id(o), result: 'rejected', message: statusMessage(r) };
}

export async function serverDryRun(api: Api, objects: Obj[]): Promise<DryRunResult[]> {
  const built = new Map(objects.filter((o) => o.kind === 'Namespace').map((o) => [o.metadata.name, o]));
  const live = new Map<string, Obj | undefined>();
  for (const ns of new Set([
    ...built.keys(),
    ...objects.map((o) => o.metadata.namespace).filter((n): n is string => Boolean(n)),
  ])) {
    live.set(ns, await api.read('v1', 'Namespace', ns));
  }
  const results: DryRunResult[] = [];
  const ordered = [...objects.filter((o) => o.kind === 'Namespace'), ...objects.filter((o) => o.kind !== 'Namespace')];
  for (const o of ordered) {
    const ns = o.metadata.namespace;
    if (ns && !live.get(ns)) {
      // The env's own namespace comes with the env; the others (the consumers', cert-manager's) do not.
      const why = built.has(ns)
        ? 'does not exist yet (the engine creates it first)'
        : "does not exist, and the env does not create it (the consumer's app or cert-manager owns it): create it first";
      results.push({ object: id(o), result: 'skipped', message: `namespace ${ns} ${why}; run again once it does` });
      continue;
    }
    const path = await api.path(o.apiVersion, o.kind, o.metadata.name, ns);
    if (path === null) {
      results.push({
        object: id(o),
        result: 'rejected',
        message: `the cluster does not serve ${o.apiVersion} ${o.kind}: install its CRD (or its operator) first`,
      });
      continue;
    }
    const r = await api.request(
      'PATCH',
      `${path}?${QUERY}&force=true&fieldValidation=Strict`,
      o,
      'application/apply-patch+yaml',
    );
    const result: DryRunResult =
      r.status < 300
        ? { object: id(o), result: 'accepted' }
        : replacedByEngine(o) && /field is immutable/.test(statusMessage(r))
          ? await asReplacement(api, o)
          : { object: id(o), result: 'rejected', message: statusMessage(r) };
    results.push(result);
    if (!WORKLOADS.includes(o.kind) || result.result !== 'accepted') continue;
    // The check runs at the namespace's live level; a build that relabels it is judged after.
    const was = live.get(ns!)?.metadata.labels?.[ENFORCE];
    const will = built.get(ns!)?.metadata.labels?.[ENFORCE];
    if (built.has(ns!) && was !== will) {
      results.push({
        object: `pod template of ${id(o)}`,
        result: 'skipped',
        message: `this build changes the Pod Security level of namespace ${ns} (enforce ${was ?? 'unset'} -> ${will ?? 'unset'}); run again once it is applied`,
      });
      continue;
    }
    const pod = await api.request(
      'POST',
      `/api/v1/namespaces/${encodeURIComponent(ns!)}/pods?${QUERY}&fieldValidation=Strict`,
      podFor(o),
    );
    results.push(
      pod.status < 300
        ? { object: `pod template of ${id(o)}`, result: 'accepted' }
        : { object: `pod template of ${id(o)}`, result: 'rejected', message: statusMessage(pod) },
    );
  }
  return results;
}

export function printDryRun(io: Io, env: string, server: string, results: DryRunResult[], json: boolean): number {
  const count = (what: DryRunResult['result']) => results.filter((r) => r.result === what).length;
  const summary = { accepted: count('accepted'), rejected: count('rejected'), skipped: count('skipped') };
  if (json) {
    io.out(`${JSON.stringify({ env, server, ...summary, results })}\n`);
  } else {
    const label = { accepted: 'ok      ', rejected: 'REJECTED', skipped: 'skipped ' };
    for (const r of results) io.out(`${label[r.result]}  ${r.object}${r.message ? `: ${r.message}` : ''}\n`);
    io.out(
      `env ${env} on ${server}: ${summary.accepted} accepted, ${summary.rejected} rejected, ${summary.skipped} skipped (server-side dry run: nothing was changed)\n`,
    );
  }
  return summary.rejected > 0 ? 1 : 0;
}
