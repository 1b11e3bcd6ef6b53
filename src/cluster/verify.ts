// `verify --env NAME`: the original documents' checks (verify_minio, verify_minio_secret,
// verify_flink_env, the troubleshooting list) as one command against the live cluster.
// What to expect comes from the env's own build (its namespaces, workload, Job, Secrets,
// certificates, Flink objects) and its settings (the engine). Each check passes, fails
// with a diagnosis and the next command to run, or is skipped with why. Values of
// Secrets are never printed: only which keys exist.
import type { Options } from '../options.ts';
import { consumerSecret } from '../render/consumers.ts';
import { APP, BOOTSTRAP, TLS_SECRET } from '../render/names.ts';
import { ARGOCD_NAMESPACE, FLUX_NAMESPACE } from '../render/gitops.ts';
import type { Io } from '../report.ts';
import { apiMessage, isNotFound, k8s } from './kube.ts';

export type Status = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  check: string;
  status: Status;
  detail: string;
  diagnosis?: string;
  next?: string;
}

type Obj = k8s.KubernetesObject & { spec?: any; status?: any; data?: Record<string, string>; stringData?: Record<string, string> };

const pass = (check: string, detail: string): CheckResult => ({ check, status: 'pass', detail });
const skip = (check: string, detail: string): CheckResult => ({ check, status: 'skip', detail });
const failed = (check: string, detail: string, diagnosis: string, next: string): CheckResult => ({ check, status: 'fail', detail, diagnosis, next });

function condition(o: Obj | undefined, type: string): { status?: string; reason?: string; message?: string } | undefined {
  return (o?.status?.conditions as { type: string; status?: string; reason?: string; message?: string }[] | undefined)?.find((c) => c.type === type);
}

interface Context {
  options: Options;
  objects: Obj[];
  api: k8s.KubernetesObjectApi;
  /** Reads a live object; undefined when it does not exist. */
  read: (apiVersion: string, kind: string, name: string, namespace?: string) => Promise<Obj | undefined>;
}

async function namespaces(c: Context): Promise<CheckResult[]> {
  const names = c.objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata!.name!);
  const consumerNs = [...new Set(Object.values(c.options.settings.consumers).map((x) => x.namespace))];
  const results: CheckResult[] = [];
  for (const ns of [...names, ...consumerNs]) {
    const live = await c.read('v1', 'Namespace', ns);
    results.push(
      live
        ? pass(`namespace ${ns}`, 'exists')
        : failed(
            `namespace ${ns}`,
            'does not exist',
            names.includes(ns) ? 'the engine has not applied the env yet (or not to this cluster)' : `the consumer's namespace belongs to its app and must exist before its Secret can be created`,
            names.includes(ns) ? `kubectl get kustomizations,applications -A | grep minio-${c.options.env}` : `kubectl create namespace ${ns}`,
          ),
    );
  }
  return results;
}

async function workload(c: Context): Promise<CheckResult[]> {
  const w = c.objects.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  if (!w) return [];
  const ns = w.metadata!.namespace!;
  const name = `${w.kind!.toLowerCase()}/${w.metadata!.name}`;
  const live = await c.read(w.apiVersion!, w.kind!, w.metadata!.name!, ns);
  if (!live) return [failed(`MinIO ${name}`, 'not found', 'the servers are not deployed: nothing answers on the S3 port (clients see "connection refused")', `kubectl -n ${ns} get events --sort-by=.lastTimestamp`)];
  const want = live.spec?.replicas ?? 1;
  const ready = live.status?.readyReplicas ?? 0;
  if (ready >= want) return [pass(`MinIO ${name}`, `${ready}/${want} replicas ready`)];
  return [
    failed(
      `MinIO ${name}`,
      `${ready}/${want} replicas ready`,
      want > 1 ? 'an erasure-coded set needs its servers to find each other; a pending or crashing server keeps the others waiting (a PVC not bound, a hostPath not owned by uid 1000, a wrong certificate)' : 'the server is not ready (a PVC not bound, a hostPath not owned by uid 1000, wrong credentials or certificate)',
      `kubectl -n ${ns} describe pods -l app.kubernetes.io/name=${APP} && kubectl -n ${ns} logs ${name} --tail=50`,
    ),
  ];
}

async function endpoints(c: Context): Promise<CheckResult[]> {
  const ns = c.options.settings.namespace;
  let slices: Obj[];
  try {
    slices = (await c.api.list('discovery.k8s.io/v1', 'EndpointSlice', ns, undefined, undefined, undefined, undefined, `kubernetes.io/service-name=${APP}`)).items as Obj[];
  } catch (error) {
    return [failed(`Service ${APP} endpoints`, apiMessage(error), 'the endpoints could not be read', `kubectl -n ${ns} get endpointslices -l kubernetes.io/service-name=${APP}`)];
  }
  const ready = slices.flatMap((s) => ((s as any).endpoints ?? []) as { conditions?: { ready?: boolean } }[]).filter((e) => e.conditions?.ready !== false).length;
  if (ready > 0) return [pass(`Service ${APP} endpoints`, `${ready} ready endpoint(s) on port 9000`)];
  return [
    failed(
      `Service ${APP} endpoints`,
      'no ready endpoints',
      `clients get "connection refused" from ${APP}.${ns}.svc: no MinIO pod is ready behind the Service`,
      `kubectl -n ${ns} get pods -l app.kubernetes.io/name=${APP} -o wide`,
    ),
  ];
}

async function bootstrapJob(c: Context): Promise<CheckResult[]> {
  const job = c.objects.find((o) => o.kind === 'Job' && o.metadata?.name === BOOTSTRAP);
  if (!job) return [];
  const ns = job.metadata!.namespace!;
  const live = await c.read('batch/v1', 'Job', BOOTSTRAP, ns);
  const check = `bootstrap Job ${BOOTSTRAP}`;
  const logs = `kubectl -n ${ns} logs job/${BOOTSTRAP}`;
  if (!live) {
    return [
      failed(
        check,
        'not found',
        `the buckets and users may not exist (consumers then see 404 "bucket does not exist" or 403 "access denied"): Argo CD runs the Job after a sync, Flux creates it again within its interval after the TTL (1h) removed it`,
        c.options.global.gitops === 'flux' ? `flux reconcile kustomization minio-${c.options.env}-bootstrap -n ${FLUX_NAMESPACE}` : `argocd app sync minio-${c.options.env}`,
      ),
    ];
  }
  if ((live.status?.succeeded ?? 0) >= 1 || condition(live, 'Complete')?.status === 'True') return [pass(check, 'succeeded: buckets, policies and users are as configured')];
  const failure = condition(live, 'Failed');
  if (failure?.status === 'True') {
    return [
      failed(
        check,
        `failed (${failure.reason ?? 'Failed'}${failure.message ? `: ${failure.message}` : ''})`,
        '"access denied" in its log: the root credentials in the Secret differ from the server\'s; "x509"/"certificate": the CA; "connection refused": MinIO not ready; a missing credentials file: a consumer Secret',
        logs,
      ),
    ];
  }
  return [failed(check, `running (${live.status?.active ?? 0} active, ${live.status?.failed ?? 0} failed attempts)`, 'the Job has not finished; it waits for MinIO to be ready first', logs)];
}

async function consumerSecrets(c: Context): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const expected = ['s3.endpoint', 's3.access-key', 's3.secret-key', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];
  for (const [name, consumer] of Object.entries(c.options.settings.consumers)) {
    const secret = consumerSecret(name);
    const check = `Secret ${consumer.namespace}/${secret}`;
    const live = await c.read('v1', 'Secret', secret, consumer.namespace);
    if (!live) {
      results.push(failed(check, 'not found', `consumer ${name} has no S3 credentials${c.options.settings.secrets === 'external' ? ' (its ExternalSecret has not synced)' : ''}`, `kubectl -n ${consumer.namespace} get secret,externalsecret`));
      continue;
    }
    const keys = Object.keys({ ...(live.data ?? {}), ...(live.stringData ?? {}) });
    const missing = expected.filter((k) => !keys.includes(k));
    results.push(
      missing.length === 0
        ? pass(check, `keys ${expected.join(', ')} present (values not shown)`)
        : failed(check, `missing key(s) ${missing.join(', ')}`, `pods that read ${missing[0]} fail to start (CreateContainerConfigError: couldn't find key ${missing[0]} in Secret)`, `kubectl -n ${consumer.namespace} get secret ${secret} -o jsonpath='{.data}' | grep -o '"[^"]*":' # key names only`),
    );
  }
  return results;
}

async function flinkObjects(c: Context): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const o of c.objects.filter((x) => x.kind === 'FlinkEnvironment' || x.kind === 'FlinkDeployment')) {
    const ns = o.metadata!.namespace!;
    const check = `${o.kind} ${ns}/${o.metadata!.name}`;
    const live = await c.read(o.apiVersion!, o.kind!, o.metadata!.name!, ns);
    if (!live) {
      results.push(failed(check, 'not found', 'the Flink jobs get no S3 settings', `kubectl -n ${ns} get ${o.kind!.toLowerCase()}s`));
      continue;
    }
    const spec = o.kind === 'FlinkEnvironment' ? live.spec?.flinkApplicationDefaults?.spec : live.spec;
    const config = (spec?.flinkConfiguration ?? {}) as Record<string, string>;
    const env = ((spec?.podTemplate?.spec?.containers ?? []) as { name: string; env?: { name: string; valueFrom?: { secretKeyRef?: { name: string } } }[] }[])
      .find((x) => x.name === 'flink-main-container')?.env ?? [];
    const injected = env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => e.name);
    if (String(config['s3.path.style.access']) !== 'true') {
      results.push(failed(check, 's3.path.style.access is not true', `Flink asks for the bucket as a host name ("Inaccessible host: 'flink.minio...'"): MinIO needs path-style access`, `re-run npx zx scaffold.ts --env ${c.options.env} and let the engine sync`));
    } else if (!injected.includes('S3_ACCESS_KEY') && !injected.includes('AWS_ACCESS_KEY_ID')) {
      results.push(failed(check, 'the pod template injects no S3 credentials', 'Flink would write checkpoints without credentials: 403 "access denied"', `kubectl -n ${ns} get ${o.kind!.toLowerCase()} ${o.metadata!.name} -o yaml`));
    } else {
      results.push(pass(check, `S3 settings present; credentials injected from the Secret (${injected.join(', ')})`));
    }
  }
  return results;
}

async function readyConditions(c: Context, kind: string, what: string, diagnosis: string, next: (o: Obj) => string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const o of c.objects.filter((x) => x.kind === kind)) {
    const ns = o.metadata!.namespace!;
    const check = `${kind} ${ns}/${o.metadata!.name}`;
    const live = await c.read(o.apiVersion!, kind, o.metadata!.name!, ns);
    const ready = condition(live, 'Ready');
    if (live && ready?.status === 'True') results.push(pass(check, what));
    else results.push(failed(check, live ? `not Ready${ready?.message ? `: ${ready.message}` : ''}` : 'not found', diagnosis, next(o)));
  }
  return results;
}

async function engine(c: Context): Promise<CheckResult[]> {
  const o = c.options;
  if (!o.global.repoURL) return [skip('GitOps engine', `clusters/${o.env}/ is not rendered (no repository URL), so there is no Application or Kustomization to check`)];
  if (o.global.gitops === 'argocd') {
    const name = `minio-${o.env}`;
    const check = `Argo CD Application ${ARGOCD_NAMESPACE}/${name}`;
    if (o.settings.clusters.length > 1) return [skip(check, `an ApplicationSet deploys env ${o.env} to ${o.settings.clusters.length} clusters; check each Application`)];
    let live: Obj | undefined;
    try {
      live = await c.read('argoproj.io/v1alpha1', 'Application', name, ARGOCD_NAMESPACE);
    } catch (error) {
      return [failed(check, apiMessage(error), 'Argo CD is not installed in this cluster (no argoproj.io API)', 'kubectl get crd applications.argoproj.io')];
    }
    if (!live) return [failed(check, 'not found', `clusters/${o.env}/ was not applied`, `kubectl apply -k clusters/${o.env}`)];
    const sync = live.status?.sync?.status;
    const health = live.status?.health?.status;
    if (sync === 'Synced' && health === 'Healthy') return [pass(check, 'Synced and Healthy')];
    return [failed(check, `${sync ?? 'unknown'} / ${health ?? 'unknown'}`, 'the Application is not Synced and Healthy: see its conditions and the resources that are not', `argocd app get ${name}`)];
  }
  const results: CheckResult[] = [];
  const steps = [`minio-${o.env}`, `minio-${o.env}-bootstrap`, ...(Object.keys(o.settings.consumers).length > 0 ? [`minio-${o.env}-consumers`] : [])];
  for (const name of steps) {
    const check = `Flux Kustomization ${FLUX_NAMESPACE}/${name}`;
    let live: Obj | undefined;
    try {
      live = await c.read('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', name, FLUX_NAMESPACE);
    } catch (error) {
      return [failed(check, apiMessage(error), 'Flux is not installed in this cluster (no kustomize.toolkit.fluxcd.io API)', 'flux check')];
    }
    const ready = condition(live, 'Ready');
    if (live && ready?.status === 'True') results.push(pass(check, 'Ready'));
    else results.push(failed(check, live ? `not Ready${ready?.message ? `: ${ready.message}` : ''}` : 'not found', live ? 'Flux could not apply this step (or a step it depends on is not Ready)' : `clusters/${o.env}/ was not applied`, live ? `flux get kustomizations -n ${FLUX_NAMESPACE}` : `kubectl apply -k clusters/${o.env}`));
  }
  return results;
}

/** Every check, in the order a person would look. */
export async function runChecks(kc: k8s.KubeConfig, options: Options, objects: Obj[]): Promise<CheckResult[]> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const read = async (apiVersion: string, kind: string, name: string, namespace?: string) => {
    try {
      return (await api.read({ apiVersion, kind, metadata: { name, namespace } })) as Obj;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const c: Context = { options, objects, api, read };
  const s = options.settings;
  return [
    ...(await namespaces(c)),
    ...(await workload(c)),
    ...(await endpoints(c)),
    ...(s.tls
      ? await readyConditions(c, 'Certificate', 'Ready', 'cert-manager has not issued it: MinIO cannot start TLS (and clients fail with x509 errors)', (o) => `kubectl -n ${o.metadata!.namespace} describe certificate ${o.metadata!.name}`)
      : [skip(`Certificate ${TLS_SECRET}`, 'TLS is off in this env')]),
    ...(s.secrets === 'external'
      ? await readyConditions(c, 'ExternalSecret', 'synced', 'External Secrets could not read the store (a missing key or property, or the store is not Ready)', (o) => `kubectl -n ${o.metadata!.namespace} describe externalsecret ${o.metadata!.name}`)
      : [skip('ExternalSecrets', `secrets mode is ${s.secrets}`)]),
    ...(await bootstrapJob(c)),
    ...(await consumerSecrets(c)),
    ...(await flinkObjects(c)),
    ...(await engine(c)),
  ];
}

export function printChecks(io: Io, env: string, results: CheckResult[], json: boolean): number {
  const failures = results.filter((r) => r.status === 'fail');
  if (json) {
    io.out(`${JSON.stringify({ env, ok: failures.length === 0, checks: results })}\n`);
  } else {
    for (const r of results) {
      io.out(`${r.status === 'fail' ? 'FAIL' : r.status}  ${r.check}: ${r.detail}\n`);
      if (r.status === 'fail') io.out(`      why: ${r.diagnosis}\n      next: ${r.next}\n`);
    }
    const passed = results.filter((r) => r.status === 'pass').length;
    io.out(`env ${env}: ${passed} passed, ${failures.length} failed, ${results.length - passed - failures.length} skipped\n`);
  }
  return failures.length > 0 ? 1 : 0;
}
