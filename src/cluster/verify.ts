// `verify --env NAME`: the original documents' checks (verify_minio, verify_minio_secret,
// verify_flink_env, the troubleshooting list) as one command against the live cluster.
// What to expect comes from the env's own build (its namespaces, workload, Job, Secrets,
// certificates, Flink objects) and its settings (the engine). Each check passes, fails
// with a diagnosis and the next command to run, or is skipped with why. Values of
// Secrets are never printed: only which keys exist.
import type { Options } from '../options.ts';
import { CONSUMER_SECRET_KEYS } from '../render/consumers.ts';
import { ARGOCD_NAMESPACE, FLUX_NAMESPACE } from '../render/gitops.ts';
import { hasTrustStep, hasTruststore, TRUSTSTORE_KEY, trustBundleName } from '../render/trust.ts';
import { flinkKeys } from '../flink.ts';
import { CONFIG_LABEL, outdatedServers, RESTARTER } from '../render/restart.ts';
import { BASE_LABEL } from '../render/workload.ts';
import { APP, BOOTSTRAP, consumerObject, consumerSecret, TLS_SECRET } from '../render/names.ts';
import type { Io } from '../report.ts';
import { ApiRefused, type Api, type Obj } from './kube.ts';

export type Status = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  check: string;
  status: Status;
  detail: string;
  diagnosis?: string;
  next?: string;
}

const pass = (check: string, detail: string): CheckResult => ({ check, status: 'pass', detail });
const skip = (check: string, detail: string): CheckResult => ({ check, status: 'skip', detail });
const failed = (check: string, detail: string, diagnosis: string, next: string): CheckResult => ({
  check,
  status: 'fail',
  detail,
  diagnosis,
  next,
});

function condition(
  o: Obj | undefined,
  type: string,
): { status?: string; reason?: string; message?: string } | undefined {
  return (
    o?.status?.conditions as { type: string; status?: string; reason?: string; message?: string }[] | undefined
  )?.find((c) => c.type === type);
}

interface Context {
  options: Options;
  objects: Obj[];
  api: Api;
  /** Whether the engine reports the bootstrap step done (a Job removed after its TTL is fine then). */
  bootstrapDone: boolean;
}

/** Runs a check; a read the server refuses (403, a missing API) fails it with the server's words. */
async function guard(check: string, run: () => Promise<CheckResult[]>): Promise<CheckResult[]> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof ApiRefused)) throw error;
    const forbidden = /forbidden/i.test(error.message);
    return [
      failed(
        check,
        error.message,
        forbidden
          ? 'the kubeconfig user may not read this: verify needs get/list on what the env deploys'
          : 'the cluster does not serve this API: its CRD or operator is missing',
        forbidden ? 'kubectl auth can-i --list' : 'kubectl api-resources',
      ),
    ];
  }
}

async function namespaces(c: Context): Promise<CheckResult[]> {
  const own = c.objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name);
  const consumers = [...new Set(Object.values(c.options.settings.consumers).map((x) => x.namespace))];
  const results: CheckResult[] = [];
  for (const ns of [...own, ...consumers]) {
    const check = `namespace ${ns}`;
    results.push(
      ...(await guard(check, async () => [
        (await c.api.read('v1', 'Namespace', ns))
          ? pass(check, 'exists')
          : own.includes(ns)
            ? failed(
                check,
                'does not exist',
                'the engine has not applied the env yet (or not to this cluster)',
                engineNext(c.options),
              )
            : failed(
                check,
                'does not exist',
                "the consumer's namespace belongs to its app and must exist before its Secret can be created",
                `kubectl create namespace ${ns}`,
              ),
      ])),
    );
  }
  return results;
}

/** What brings the env's objects, for a `next:` line. */
function engineNext(o: Options, step = ''): string {
  if (!o.global.repoURL) return `kubectl apply -k overlays/${o.env}${step ? `/${step}` : ''}`;
  if (o.global.gitops === 'argocd') return `argocd app sync minio-${o.env}`;
  // The servers' step is the Kustomization named after the env alone.
  return `flux reconcile kustomization minio-${o.env}${step && step !== 'minio' ? `-${step}` : ''} -n ${FLUX_NAMESPACE} --with-source`;
}

/** Ready as `kubectl rollout status` means it: the new spec observed, every replica updated and ready. */
async function workload(c: Context): Promise<CheckResult[]> {
  // MinIO's own (every pool's StatefulSet), by name and namespace: the build also holds the catalog servers' Deployments.
  const ns = c.options.settings.namespace;
  const servers = c.objects.filter(
    (o) =>
      (o.kind === 'Deployment' || o.kind === 'StatefulSet') &&
      o.metadata.namespace === ns &&
      (o.metadata.name === APP || o.metadata.name.startsWith(`${APP}-pool-`)),
  );
  return (await Promise.all(servers.map((w) => serverWorkload(c, w)))).flat();
}

async function serverWorkload(c: Context, w: Obj): Promise<CheckResult[]> {
  const ns = w.metadata.namespace!;
  const name = `${w.kind.toLowerCase()}/${w.metadata.name}`;
  const check = `MinIO ${name}`;
  return guard(check, async () => {
    const live = await c.api.read(w.apiVersion, w.kind, w.metadata.name, ns);
    if (!live)
      return [
        failed(
          check,
          'not found',
          'the servers are not deployed: nothing answers on the S3 port (clients see "connection refused")',
          engineNext(c.options, 'minio'),
        ),
      ];
    // The count the env configures, not the live spec: someone may have scaled it to 0.
    const want = w.spec?.replicas ?? 1;
    const s = live.status ?? {};
    const ready = s.readyReplicas ?? 0;
    const stale = (s.observedGeneration ?? 0) < (live.metadata.generation ?? 0);
    // An OnDelete StatefulSet's currentRevision never advances (kubernetes#73492, still so in
    // 1.36): its pods are all on the new template when updatedReplicas counts them all.
    const onDelete = live.spec?.updateStrategy?.type === 'OnDelete';
    const updating =
      (s.updatedReplicas ?? 0) < want ||
      (w.kind === 'StatefulSet' && !onDelete && s.updateRevision && s.currentRevision !== s.updateRevision);
    if ((live.spec?.replicas ?? 1) !== want) {
      return [
        failed(
          check,
          `${live.spec?.replicas ?? 1} replicas, the env configures ${want}`,
          'someone scaled it by hand; the engine will put it back on its next sync (self-heal)',
          engineNext(c.options, 'minio'),
        ),
      ];
    }
    if (!stale && !updating && ready >= want) return [pass(check, `${ready}/${want} replicas ready`)];
    const detail = stale
      ? 'a new version is not rolled out yet'
      : updating
        ? `rolling out: ${s.updatedReplicas ?? 0}/${want} updated, ${ready} ready`
        : `${ready}/${want} replicas ready`;
    if (w.kind === 'StatefulSet' && !stale && updating) return [stuckRollout(check, detail, live, w)];
    return [
      failed(
        check,
        detail,
        want > 1
          ? 'an erasure-coded set needs its servers to find each other; a pending or crashing server keeps the others waiting (a PVC not bound, a wrong certificate, or fewer free nodes than a pool has servers: spreading is enforced, add nodes or use --spread none)'
          : 'the server is not ready (a PVC not bound, a hostPath not owned by uid 1000, wrong credentials or certificate)',
        `kubectl -n ${ns} describe pods -l app.kubernetes.io/name=${APP} && kubectl -n ${ns} logs ${name} --tail=50`,
      ),
    ];
  });
}

/**
 * Servers on an old configuration: MinIO's servers start only beside peers of the same
 * configuration, so they must all restart at once. With OnDelete (this tool's StatefulSets)
 * the restarter Job does it; a StatefulSet still rolling one by one (applied by an earlier
 * version) is stuck at its first restarted server. Either way: delete every outdated server.
 */
function stuckRollout(check: string, detail: string, live: Obj, w: Obj): CheckResult {
  const ns = w.metadata.namespace!;
  const labels = (w.spec?.template?.metadata?.labels ?? {}) as Record<string, string>;
  const onDelete = live.spec?.updateStrategy?.type === 'OnDelete';
  // The servers whose base or env hash is not the template's (the restarter's two commands).
  const selectors = [BASE_LABEL, CONFIG_LABEL].flatMap((label) =>
    labels[label] ? [outdatedServers(label, labels[label])] : [],
  );
  const command = (
    selectors.length > 0 ? selectors : [`app.kubernetes.io/name=${APP},app.kubernetes.io/component=server`]
  )
    .map((selector) => `kubectl -n ${ns} delete pod -l '${selector}'`)
    .join(' && ');
  const diagnosis = onDelete
    ? `servers still run the old configuration: the restarter Job ${RESTARTER} replaces them all at once after the engine applies a change, and it has not run or failed (kubectl -n ${ns} logs job/${RESTARTER})`
    : "the rolling update is stuck: MinIO's servers refuse a peer with another configuration at start-up, so the first restarted server never becomes ready; restart them all at once";
  return failed(check, detail, diagnosis, command);
}

async function endpoints(c: Context): Promise<CheckResult[]> {
  const ns = c.options.settings.namespace;
  const check = `Service ${APP} endpoints`;
  return guard(check, async () => {
    const path = await c.api.path('discovery.k8s.io/v1', 'EndpointSlice', undefined, ns);
    const r = await c.api.request(
      'GET',
      `${path}?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${APP}`)}`,
    );
    if (r.status >= 400) throw new ApiRefused(String(r.body?.message ?? r.status));
    // EndpointSlice semantics: a missing "ready" condition means ready.
    const ready = ((r.body.items ?? []) as { endpoints?: { conditions?: { ready?: boolean } }[] }[])
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready !== false).length;
    if (ready > 0) return [pass(check, `${ready} ready endpoint(s) on port 9000`)];
    return [
      failed(
        check,
        'no ready endpoints',
        `clients get "connection refused" from ${APP}.${ns}.svc: no MinIO pod is ready behind the Service`,
        `kubectl -n ${ns} get pods -l app.kubernetes.io/name=${APP} -o wide`,
      ),
    ];
  });
}

async function bootstrapJob(c: Context): Promise<CheckResult[]> {
  const job = c.objects.find((o) => o.kind === 'Job' && o.metadata.name === BOOTSTRAP);
  if (!job) return [];
  const ns = job.metadata.namespace!;
  const check = `bootstrap Job ${BOOTSTRAP}`;
  const logs = `kubectl -n ${ns} logs job/${BOOTSTRAP}`;
  return guard(check, async () => {
    const live = await c.api.read('batch/v1', 'Job', BOOTSTRAP, ns);
    if (!live) {
      if (c.bootstrapDone)
        return [
          skip(
            check,
            `not there now: it is removed an hour after it finishes, and the ${c.options.global.gitops === 'argocd' ? 'Application is Synced and Healthy' : 'bootstrap Kustomization is Ready'} (it ran)`,
          ),
        ];
      return [
        failed(
          check,
          'not found',
          'the buckets and users may not exist yet (consumers then see 404 "bucket does not exist" or 403 "access denied")',
          engineNext(c.options, 'bootstrap'),
        ),
      ];
    }
    if ((live.status?.succeeded ?? 0) >= 1 || condition(live, 'Complete')?.status === 'True')
      return [pass(check, 'succeeded: buckets, policies and users are as configured')];
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
    return [
      failed(
        check,
        `running (${live.status?.active ?? 0} active, ${live.status?.failed ?? 0} failed attempts)`,
        'the Job has not finished; it waits for MinIO to be ready first',
        logs,
      ),
    ];
  });
}

async function consumerSecrets(c: Context): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [name, consumer] of Object.entries(c.options.settings.consumers)) {
    const secret = consumerSecret(c.options, name);
    const check = `Secret ${consumer.namespace}/${secret}`;
    results.push(
      ...(await guard(check, async () => {
        const live = await c.api.read('v1', 'Secret', secret, consumer.namespace);
        if (!live)
          return [
            failed(
              check,
              'not found',
              `consumer ${name} has no S3 credentials${c.options.settings.secrets === 'external' ? ' (its ExternalSecret has not synced)' : ''}`,
              `kubectl -n ${consumer.namespace} get secret,externalsecret`,
            ),
          ];
        const keys = Object.keys({ ...(live.data ?? {}), ...(live.stringData ?? {}) });
        const missing = CONSUMER_SECRET_KEYS.filter((k) => !keys.includes(k));
        if (missing.length === 0)
          return [pass(check, `keys ${CONSUMER_SECRET_KEYS.join(', ')} present (values not shown)`)];
        return [
          failed(
            check,
            `missing key(s) ${missing.join(', ')}`,
            `pods that read ${missing[0]} fail to start (CreateContainerConfigError: couldn't find key ${missing[0]} in Secret)`,
            `kubectl -n ${consumer.namespace} get secret ${secret} -o go-template='{{range $k, $v := .data}}{{$k}}{{"\\n"}}{{end}}'`,
          ),
        ];
      })),
    );
  }
  return results;
}

async function flinkObjects(c: Context): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const o of c.objects.filter((x) => x.kind === 'FlinkEnvironment' || x.kind === 'FlinkDeployment')) {
    const ns = o.metadata.namespace!;
    const check = `${o.kind} ${ns}/${o.metadata.name}`;
    const consumer =
      Object.keys(c.options.settings.consumers).find((n) => consumerObject(c.options, n) === o.metadata.name) ??
      o.metadata.name;
    const secret = consumerSecret(c.options, consumer);
    results.push(
      ...(await guard(check, async () => {
        const live = await c.api.read(o.apiVersion, o.kind, o.metadata.name, ns);
        if (!live)
          return [failed(check, 'not found', 'the Flink jobs get no S3 settings', engineNext(c.options, 'consumers'))];
        const spec = o.kind === 'FlinkEnvironment' ? live.spec?.flinkApplicationDefaults?.spec : live.spec;
        const config = (spec?.flinkConfiguration ?? {}) as Record<string, string>;
        const env =
          (
            (spec?.podTemplate?.spec?.containers ?? []) as {
              name: string;
              env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
            }[]
          ).find((x) => x.name === 'flink-main-container')?.env ?? [];
        const refs = env.filter((e) => e.valueFrom?.secretKeyRef);
        const wrong = refs.filter(
          (e) =>
            e.valueFrom!.secretKeyRef!.name !== secret ||
            !CONSUMER_SECRET_KEYS.includes(e.valueFrom!.secretKeyRef!.key),
        );
        if (String(config['s3.path.style.access']) !== 'true') {
          return [
            failed(
              check,
              's3.path.style.access is not true',
              `Flink asks for the bucket as a host name ("Inaccessible host: 'flink.minio...'"): MinIO needs path-style access`,
              engineNext(c.options, 'consumers'),
            ),
          ];
        }
        if (wrong.length > 0) {
          const e = wrong[0]!.valueFrom!.secretKeyRef!;
          return [
            failed(
              check,
              `${wrong[0]!.name} reads ${e.name}/${e.key}, not the consumer's Secret ${secret}`,
              'the pods fail to start (CreateContainerConfigError) or use other credentials',
              `kubectl -n ${ns} get ${o.kind.toLowerCase()} ${o.metadata.name} -o yaml`,
            ),
          ];
        }
        if (!refs.some((e) => e.name === 'AWS_ACCESS_KEY_ID')) {
          return [
            failed(
              check,
              'the pod template injects no AWS_ACCESS_KEY_ID',
              'Flink would write checkpoints without credentials: 403 "access denied"',
              `kubectl -n ${ns} get ${o.kind.toLowerCase()} ${o.metadata.name} -o yaml`,
            ),
          ];
        }
        // The presto plugin takes these literally, and then reads no environment.
        const literal = ['s3.access-key', 's3.secret-key'].find((k) => String(config[k] ?? '').includes('${'));
        if (literal) {
          return [
            failed(
              check,
              `${literal} is ${config[literal]}`,
              'Flink does not expand ${...}: the plugin sends it as the key (403 InvalidAccessKeyId) and ignores AWS_ACCESS_KEY_ID; remove s3.access-key and s3.secret-key from flinkConfiguration',
              engineNext(c.options, 'consumers'),
            ),
          ];
        }
        if (hasTruststore(c.options)) {
          const opts = String(config[flinkKeys(c.options.global.flinkVersion).jvmOptions] ?? '');
          const mounted = (
            (spec?.podTemplate?.spec?.containers ?? []) as {
              name: string;
              volumeMounts?: { name: string; mountPath: string }[];
            }[]
          )
            .find((x) => x.name === 'flink-main-container')
            ?.volumeMounts?.find((m) => opts.includes(`-Djavax.net.ssl.trustStore=${m.mountPath}/`));
          if (!mounted) {
            return [
              failed(
                check,
                `its JVMs do not load the truststore (${flinkKeys(c.options.global.flinkVersion).jvmOptions} and a mounted ${trustBundleName(c.options)})`,
                'over https with the private CA no checkpoint completes (PKIX path building failed, in the AWS SDK debug log only)',
                `kubectl -n ${ns} get ${o.kind.toLowerCase()} ${o.metadata.name} -o yaml`,
              ),
            ];
          }
        }
        return [
          pass(
            check,
            `S3 settings present; credentials injected from ${secret} (${refs.map((e) => e.name).join(', ')})`,
          ),
        ];
      })),
    );
  }
  return results;
}

/**
 * The servers' CA in each consumer namespace, as trust-manager writes it: the Bundle
 * Synced, and its ConfigMap with the truststore the JVMs load (missing: Flink never
 * completes a checkpoint, Spark fails with "PKIX path building failed").
 */
async function trust(c: Context): Promise<CheckResult[]> {
  const o = c.options;
  if (!o.settings.tls) return [skip('consumer truststore', 'TLS is off in this env')];
  if (Object.keys(o.settings.consumers).length === 0) return [skip('consumer truststore', 'the env has no consumers')];
  if (!hasTruststore(o))
    return [
      skip(
        'consumer truststore',
        `truststore is ${o.settings.truststore}: the consumers' JVMs must trust the servers' CA by other means`,
      ),
    ];
  const name = trustBundleName(o);
  const bundleCheck = `trust-manager Bundle ${name}`;
  const results = await guard(bundleCheck, async () => {
    if ((await c.api.path('trust.cert-manager.io/v1alpha1', 'Bundle', name)) === null)
      return [
        failed(
          bundleCheck,
          'the cluster does not serve trust.cert-manager.io/v1alpha1',
          'trust-manager is not installed: the consumers get no truststore',
          `helm upgrade --install trust-manager oci://quay.io/jetstack/charts/trust-manager -n ${o.global.trustNamespace}`,
        ),
      ];
    const live = await c.api.read('trust.cert-manager.io/v1alpha1', 'Bundle', name);
    const synced = condition(live, 'Synced') as
      | { status?: string; message?: string; observedGeneration?: number }
      | undefined;
    const current =
      synced?.observedGeneration === undefined || synced.observedGeneration >= (live?.metadata.generation ?? 0);
    if (live && synced?.status === 'True' && current) return [pass(bundleCheck, 'Synced')];
    const detail = !live
      ? 'not found'
      : synced?.status === 'True'
        ? 'Synced for an older version of the Bundle: trust-manager has not caught up'
        : `not Synced${synced?.message ? `: ${synced.message}` : ''}`;
    return [
      failed(
        bundleCheck,
        detail,
        live
          ? `trust-manager cannot build it: its source Secret in ${o.global.trustNamespace} is missing (the CA not issued yet), or trust-manager has no default CA package (useDefaultCAs)`
          : 'the trust step was not applied',
        live ? `kubectl describe bundle ${name}` : engineNext(o, 'trust'),
      ),
    ];
  });
  for (const ns of [...new Set(Object.values(o.settings.consumers).map((x) => x.namespace))]) {
    const check = `truststore ${ns}/${name}`;
    results.push(
      ...(await guard(check, async () => {
        const live = await c.api.read('v1', 'ConfigMap', name, ns);
        const keys = Object.keys({ ...(live?.data ?? {}), ...(live?.binaryData ?? {}) });
        if (live && keys.includes(TRUSTSTORE_KEY)) return [pass(check, `${TRUSTSTORE_KEY} present`)];
        return [
          failed(
            check,
            live ? `no ${TRUSTSTORE_KEY} key` : 'not found',
            'the JVMs in this namespace do not trust the servers: Flink checkpoints never complete, Spark fails with "PKIX path building failed"',
            `kubectl describe bundle ${name}`,
          ),
        ];
      })),
    );
  }
  return results;
}

/** The env's Iceberg REST catalog servers, ready as `kubectl rollout status` means it. */
async function catalogServers(c: Context): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const [name, consumer] of Object.entries(c.options.settings.consumers).filter(
    ([, x]) => x.kind === 'iceberg-catalog',
  )) {
    const deployment = consumerObject(c.options, name);
    const check = `Iceberg catalog deployment ${consumer.namespace}/${deployment}`;
    results.push(
      ...(await guard(check, async () => {
        const live = await c.api.read('apps/v1', 'Deployment', deployment, consumer.namespace);
        if (!live)
          return [
            failed(
              check,
              'not found',
              'Spark gets "Connection refused" from the REST catalog',
              engineNext(c.options, 'consumers'),
            ),
          ];
        const s = live.status ?? {};
        if (
          (s.observedGeneration ?? 0) >= (live.metadata.generation ?? 0) &&
          (s.updatedReplicas ?? 0) >= 1 &&
          (s.readyReplicas ?? 0) >= 1
        )
          return [pass(check, '1/1 ready')];
        return [
          failed(
            check,
            `${s.readyReplicas ?? 0}/1 ready`,
            'the catalog server is not ready (its volume not bound, or it cannot reach MinIO)',
            `kubectl -n ${consumer.namespace} describe pods -l app.kubernetes.io/instance=${deployment} && kubectl -n ${consumer.namespace} logs deployment/${deployment} --tail=50`,
          ),
        ];
      })),
    );
  }
  return results;
}

async function readyConditions(
  c: Context,
  kind: string,
  what: string,
  diagnosis: string,
  next: (o: Obj) => string,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const o of c.objects.filter((x) => x.kind === kind)) {
    const ns = o.metadata.namespace!;
    const check = `${kind} ${ns}/${o.metadata.name}`;
    results.push(
      ...(await guard(check, async () => {
        const live = await c.api.read(o.apiVersion, kind, o.metadata.name, ns);
        const ready = condition(live, 'Ready');
        if (live && ready?.status === 'True') return [pass(check, what)];
        return [
          failed(
            check,
            live ? `not Ready${ready?.message ? `: ${ready.message}` : ''}` : 'not found',
            diagnosis,
            next(o),
          ),
        ];
      })),
    );
  }
  return results;
}

async function engine(c: Context): Promise<CheckResult[]> {
  const o = c.options;
  if (!o.global.repoURL)
    return [
      skip(
        'GitOps engine',
        `clusters/${o.env}/ is not rendered (no repository URL), so there is no Application or Kustomization to check`,
      ),
    ];
  if (o.global.gitops === 'argocd') {
    const name = `minio-${o.env}`;
    const check = `Argo CD Application ${ARGOCD_NAMESPACE}/${name}`;
    if (o.settings.clusters.length > 1)
      return [
        skip(
          check,
          `an ApplicationSet deploys env ${o.env} to ${o.settings.clusters.length} clusters; run verify against each cluster's context`,
        ),
      ];
    if ((await c.api.path('argoproj.io/v1alpha1', 'Application', name, ARGOCD_NAMESPACE)) === null)
      return [
        failed(
          check,
          'the cluster does not serve argoproj.io/v1alpha1',
          'Argo CD is not installed in this cluster (or this is not the cluster it runs in)',
          'kubectl get crd applications.argoproj.io',
        ),
      ];
    return guard(check, async () => {
      const live = await c.api.read('argoproj.io/v1alpha1', 'Application', name, ARGOCD_NAMESPACE);
      if (!live)
        return [failed(check, 'not found', `clusters/${o.env}/ was not applied`, `kubectl apply -k clusters/${o.env}`)];
      const sync = live.status?.sync?.status;
      const health = live.status?.health?.status;
      if (sync === 'Synced' && health === 'Healthy') {
        c.bootstrapDone = true;
        return [pass(check, 'Synced and Healthy')];
      }
      return [
        failed(
          check,
          `${sync ?? 'unknown'} / ${health ?? 'unknown'}`,
          'the Application is not Synced and Healthy: see its conditions and the resources that are not',
          `argocd app get ${name}`,
        ),
      ];
    });
  }
  const steps = [
    ...(hasTrustStep(o) ? [`minio-${o.env}-trust`] : []),
    `minio-${o.env}`,
    `minio-${o.env}-bootstrap`,
    ...(Object.keys(o.settings.consumers).length > 0 ? [`minio-${o.env}-consumers`] : []),
  ];
  if ((await c.api.path('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', steps[0]!, FLUX_NAMESPACE)) === null) {
    return [
      failed(
        `Flux Kustomization ${FLUX_NAMESPACE}/${steps[0]}`,
        'the cluster does not serve kustomize.toolkit.fluxcd.io/v1',
        'Flux is not installed in this cluster',
        'flux check',
      ),
    ];
  }
  const results: CheckResult[] = [];
  for (const name of steps) {
    const check = `Flux Kustomization ${FLUX_NAMESPACE}/${name}`;
    results.push(
      ...(await guard(check, async () => {
        const live = await c.api.read('kustomize.toolkit.fluxcd.io/v1', 'Kustomization', name, FLUX_NAMESPACE);
        const ready = condition(live, 'Ready');
        if (live && ready?.status === 'True') {
          if (name.endsWith('-bootstrap')) c.bootstrapDone = true;
          return [pass(check, 'Ready')];
        }
        return [
          failed(
            check,
            live ? `not Ready${ready?.message ? `: ${ready.message}` : ''}` : 'not found',
            live
              ? 'Flux could not apply this step (or a step it depends on is not Ready)'
              : `clusters/${o.env}/ was not applied`,
            live ? `flux get kustomizations -n ${FLUX_NAMESPACE}` : `kubectl apply -k clusters/${o.env}`,
          ),
        ];
      })),
    );
  }
  return results;
}

/** Every check, in the order a person would look (the engine is read first, shown last). */
export async function runChecks(api: Api, options: Options, objects: Obj[]): Promise<CheckResult[]> {
  const c: Context = { options, objects, api, bootstrapDone: false };
  const s = options.settings;
  const engineResults = await engine(c);
  return [
    ...(await namespaces(c)),
    ...(await workload(c)),
    ...(await endpoints(c)),
    ...(s.tls
      ? await readyConditions(
          c,
          'Certificate',
          'Ready',
          'cert-manager has not issued it: MinIO cannot start TLS (and clients fail with x509 errors)',
          (o) => `kubectl -n ${o.metadata.namespace} describe certificate ${o.metadata.name}`,
        )
      : [skip(`Certificate ${TLS_SECRET}`, 'TLS is off in this env')]),
    ...(s.secrets === 'external'
      ? await readyConditions(
          c,
          'ExternalSecret',
          'synced',
          'External Secrets could not read the store (a missing key or property, or the store is not Ready)',
          (o) => `kubectl -n ${o.metadata.namespace} describe externalsecret ${o.metadata.name}`,
        )
      : [skip('ExternalSecrets', `secrets mode is ${s.secrets}`)]),
    ...(await bootstrapJob(c)),
    ...(await consumerSecrets(c)),
    ...(await trust(c)),
    ...(await flinkObjects(c)),
    ...(await catalogServers(c)),
    ...engineResults,
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
    io.out(
      `env ${env}: ${passed} passed, ${failures.length} failed, ${results.length - passed - failures.length} skipped\n`,
    );
  }
  return failures.length > 0 ? 1 : 0;
}
