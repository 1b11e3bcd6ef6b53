// Every combination of profile x storage x secrets x tls x replicas x (ingress+monitoring)
// is scaffolded, built by a real kustomize (standalone and kubectl's), and every object the
// build emits is checked: schemas (strict), Pod Security (the upstream evaluator), and the
// references between objects (selectors, Secrets, env vars, certificates).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli.ts';
import { kustomizeBuilders, needCrds, needTool, tempDir } from './tools.ts';
import { parseAllYaml, scratchProblems, validateObject, type Obj } from './validate.ts';
import { build, fluxDecrypt } from './scaffolded.ts';
import { allCombos, argv, refusal, type Combo } from './combos.ts';
import { SHORT_HASH } from '../src/render/hash.ts';

const combos = allCombos();
const valid = combos.filter((c) => !refusal(c));
const name = (c: Combo) =>
  Object.entries(c)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

async function scaffold(args: string[], out: string): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await main(args, out, { out: () => {}, err: (t) => (stderr += t) });
  return { code, stderr };
}

function find(objs: Obj[], kind: string, objName?: string): Obj[] {
  return objs.filter((o) => o.kind === kind && (objName === undefined || o.metadata.name === objName));
}

type PodSpec = {
  containers: {
    env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }[];
    args?: string[];
    livenessProbe: { httpGet: { scheme: string } };
  }[];
  volumes: Record<string, unknown>[];
};
type Workload = Obj & {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    serviceName?: string;
    volumeClaimTemplates?: { spec: { resources: { requests: { storage: string } } } }[];
  };
};

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function checkReferences(c: Combo, objs: Obj[]): void {
  const namespace = objs.find((o) => o.kind === 'Namespace')!;
  const ns = namespace.metadata.name;
  const labels = (namespace.metadata as unknown as { labels: Record<string, string> }).labels;
  expect(labels['pod-security.kubernetes.io/enforce']).toBe(c.storage === 'hostpath' ? 'privileged' : 'restricted');
  expect(labels['pod-security.kubernetes.io/warn']).toBe('restricted');
  // Everything is in MinIO's namespace but the consumers' own objects, which are in theirs,
  // and the private CA and the trust Bundle (in cert-manager's namespace, or cluster-wide).
  for (const o of objs) {
    if (o.kind === 'Namespace') continue;
    const meta = o.metadata as { namespace?: string; labels?: Record<string, string> };
    const consumerSide = meta.namespace === 'el-demo' || meta.namespace === 'analytics';
    if (consumerSide)
      expect(['consumer', 'credentials', 'catalog'], `${o.kind}/${o.metadata.name}`).toContain(
        meta.labels?.['app.kubernetes.io/component'],
      );
    else if (o.kind === 'ClusterIssuer' || o.kind === 'Bundle') expect(meta.namespace).toBeUndefined();
    else if (meta.namespace === 'cert-manager')
      expect([`Certificate/${ns}-ca`, `Issuer/${ns}-selfsigned`]).toContain(`${o.kind}/${o.metadata.name}`);
    else expect(meta.namespace, `${o.kind}/${o.metadata.name}`).toBe(ns);
  }
  const mine = objs.filter((o) => (o.metadata as { namespace?: string }).namespace === ns);

  const distributed = c.replicas !== '1';
  const [workload, ...others] = [...find(mine, 'Deployment'), ...find(mine, 'StatefulSet')] as Workload[];
  expect(others).toHaveLength(0);
  expect(workload!.kind).toBe(distributed ? 'StatefulSet' : 'Deployment');
  expect(workload!.spec.replicas).toBe(Number(c.replicas));
  const pod = workload!.spec.template;
  const container = pod.spec.containers[0]!;
  expect(matches(workload!.spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
  // Every Secret the servers read (root credentials, the KMS key, the audit token) is in the
  // build, as a Secret or as an ExternalSecret's target, with the key they read.
  for (const e of (
    container as unknown as { env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[] }
  ).env) {
    const ref = e.valueFrom?.secretKeyRef;
    if (!ref) continue;
    const secret = mine.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name) as unknown as
      | { stringData?: Record<string, string>; data?: Record<string, string> }
      | undefined;
    const external = mine.find(
      (o) =>
        o.kind === 'ExternalSecret' &&
        (o as unknown as { spec: { target: { name: string } } }).spec.target.name === ref.name,
    ) as unknown as { spec: { data: { secretKey: string }[] } } | undefined;
    const keys = secret
      ? Object.keys({ ...secret.stringData, ...secret.data })
      : (external?.spec.data.map((d) => d.secretKey) ?? []);
    expect(keys, `${e.name} reads ${ref.name}/${ref.key}`).toContain(ref.key);
  }

  // Every Service, PDB and the MinIO NetworkPolicy select the server pods.
  // (But the one the public Ingress sends the metrics paths to: it selects nothing.)
  for (const svc of find(mine, 'Service')) {
    const selector = (svc as unknown as { spec: { selector?: Record<string, string> } }).spec.selector;
    if (svc.metadata.name === 'minio-metrics-refused') expect(selector).toBeUndefined();
    else expect(matches(selector!, pod.metadata.labels), svc.metadata.name).toBe(true);
  }
  for (const pdb of find(objs, 'PodDisruptionBudget'))
    expect(matches((pdb as unknown as Workload).spec.selector.matchLabels, pod.metadata.labels)).toBe(true);
  const policy = find(objs, 'NetworkPolicy', 'minio')[0] as unknown as {
    spec: { podSelector: { matchLabels: Record<string, string> } };
  };
  expect(matches(policy.spec.podSelector.matchLabels, pod.metadata.labels)).toBe(true);
  expect(find(objs, 'NetworkPolicy', 'default-deny-all')[0]).toMatchObject({
    spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
  });

  // Each volume has exactly one source: the base's placeholders are gone.
  for (const volume of pod.spec.volumes)
    expect(
      Object.keys(volume).filter((k) => k !== 'name'),
      JSON.stringify(volume),
    ).toHaveLength(1);
  const volume = (n: string) => pod.spec.volumes.find((v) => v.name === n);
  if (distributed) {
    expect(workload!.spec.serviceName).toBe('minio-hl');
    expect(workload!.spec.volumeClaimTemplates?.[0]?.spec.resources.requests.storage).toBe(
      c.profile === 'prod' ? '8Gi' : '10Gi',
    );
    const headless = find(objs, 'Service', 'minio-hl')[0] as unknown as {
      spec: { clusterIP: string; publishNotReadyAddresses: boolean };
    };
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(volume('data')).toBeUndefined();
    checkRestarter(objs, ns, workload!, Number(c.replicas));
  } else if (c.storage === 'hostpath') {
    expect(volume('data')).toEqual({ name: 'data', hostPath: { path: '/mnt/disk1/data', type: 'DirectoryOrCreate' } });
  } else {
    expect(volume('data')).toEqual({ name: 'data', persistentVolumeClaim: { claimName: 'minio-data' } });
    expect(find(objs, 'PersistentVolumeClaim', 'minio-data')).toHaveLength(1);
  }

  // $(VAR) in env values must name a var defined before it; in args, any env var.
  const env = container.env ?? [];
  env.forEach((e, i) => {
    for (const [, ref] of (e.value ?? '').matchAll(/\$\(([A-Z_]+)\)/g))
      expect(
        env.slice(0, i).map((x) => x.name),
        `${e.name} uses $(${ref})`,
      ).toContain(ref);
  });
  for (const arg of container.args ?? [])
    for (const [, ref] of arg.matchAll(/\$\(([A-Z_]+)\)/g)) expect(env.map((x) => x.name)).toContain(ref);
  const volumes = env.find((e) => e.name === 'MINIO_VOLUMES')!.value!;
  expect(volumes).toBe(
    distributed
      ? `${c.tls === 'on' ? 'https' : 'http'}://minio-{0...${Number(c.replicas) - 1}}.minio-hl.${ns}.svc.cluster.local/data`
      : '/data',
  );

  // Every Secret a pod or an Ingress uses is produced by the overlay.
  const produced = new Set([
    ...find(objs, 'Secret').map((o) => o.metadata.name),
    ...find(objs, 'ExternalSecret').map(
      (o) => (o as unknown as { spec: { target: { name: string } } }).spec.target.name,
    ),
    ...find(objs, 'Certificate').map((o) => (o as unknown as { spec: { secretName: string } }).spec.secretName),
  ]);
  const used = [
    ...env.flatMap((e) => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef.name] : [])),
    ...pod.spec.volumes.flatMap((v) =>
      (v as { secret?: { secretName: string } }).secret
        ? [(v as { secret: { secretName: string } }).secret.secretName]
        : [],
    ),
    ...find(objs, 'Ingress').flatMap((i) => {
      const meta = i.metadata as { annotations?: Record<string, string> };
      const spec = (i as unknown as { spec: { tls?: { secretName: string }[] } }).spec;
      return [
        ...(spec.tls ?? []).map((t) => t.secretName),
        ...(meta.annotations?.['nginx.ingress.kubernetes.io/auth-secret']
          ? [meta.annotations['nginx.ingress.kubernetes.io/auth-secret']]
          : []),
      ];
    }),
  ];
  for (const secret of used) expect(produced, `secret ${secret} is used but not produced`).toContain(secret);
  expect(find(objs, c.secrets === 'external' ? 'ExternalSecret' : 'Secret', 'minio-root-credentials')).toHaveLength(1);
  if (c.secrets === 'external') expect(find(objs, 'Secret')).toHaveLength(0);

  // TLS: the certificate covers the service names, and the server and probes speak HTTPS.
  const scheme = c.tls === 'on' ? 'HTTPS' : 'HTTP';
  expect(container.livenessProbe.httpGet.scheme).toBe(scheme);
  const certificates = find(objs, 'Certificate', 'minio-tls') as unknown as {
    spec: { dnsNames: string[]; issuerRef: { name: string } };
  }[];
  expect(certificates).toHaveLength(c.tls === 'on' ? 1 : 0);
  if (c.tls === 'on') {
    expect(certificates[0]!.spec.dnsNames).toContain(`minio.${ns}.svc.cluster.local`);
    if (distributed) expect(certificates[0]!.spec.dnsNames).toContain(`*.minio-hl.${ns}.svc.cluster.local`);
    // The private CA: a ClusterIssuer whose CA Certificate lives in cert-manager's namespace.
    // Cluster-wide names carry MinIO's namespace, unique in the cluster.
    expect(certificates[0]!.spec.issuerRef).toMatchObject({ name: `${ns}-ca`, kind: 'ClusterIssuer' });
    expect(find(objs, 'ClusterIssuer', `${ns}-ca`)).toMatchObject([{ spec: { ca: { secretName: `${ns}-ca` } } }]);
    // Renewing the CA keeps its key: what it signed, and the truststores, stay valid.
    expect(find(objs, 'Certificate', `${ns}-ca`)).toMatchObject([
      {
        metadata: { namespace: 'cert-manager' },
        spec: { isCA: true, secretName: `${ns}-ca`, privateKey: { rotationPolicy: 'Never' } },
      },
    ]);
    expect(volume('certs')).toMatchObject({ secret: { secretName: 'minio-tls' } });
  } else {
    expect(volume('certs')).toEqual({ name: 'certs', emptyDir: { sizeLimit: '1Mi' } });
  }

  // Ingress and monitoring.
  // The API's, the console's, and the API host's metrics paths refused to every client.
  expect(
    find(objs, 'Ingress')
      .map((i) => i.metadata.name)
      .sort(),
  ).toEqual(c.extras === 'on' ? ['minio-api', 'minio-api-metrics', 'minio-console'] : []);
  const monitors = find(objs, 'ServiceMonitor') as unknown as {
    spec: { selector: { matchLabels: Record<string, string> }; endpoints: { scheme: string }[] };
  }[];
  expect(monitors).toHaveLength(c.extras === 'on' ? 1 : 0);
  if (monitors[0]) {
    const selected = find(objs, 'Service').filter((s) =>
      matches(
        monitors[0]!.spec.selector.matchLabels,
        (s.metadata as unknown as { labels: Record<string, string> }).labels,
      ),
    );
    expect(selected.map((s) => s.metadata.name)).toEqual(['minio']);
    expect(monitors[0].spec.endpoints.map((e) => e.scheme)).toEqual([scheme.toLowerCase(), scheme.toLowerCase()]);
    // Every scrape sends the metrics user's token, from a Secret the env has.
    for (const e of monitors[0].spec.endpoints as unknown as { authorization: unknown }[])
      expect(e.authorization).toEqual({
        type: 'Bearer',
        credentials: { name: 'minio-metrics-credentials', key: 'token' },
      });
  }

  // Images are pinned.
  for (const ctr of [...find(objs, 'Deployment'), ...find(objs, 'StatefulSet')].flatMap(
    (w) => (w as Workload).spec.template.spec.containers,
  ) as unknown as { image: string }[])
    expect(ctr.image).toMatch(/^[^:]+(:(?!latest$)[\w][\w.-]*|@sha256:[0-9a-f]{64})$/);

  checkBootstrap(c, objs, ns, produced, pod.metadata.labels);
  checkConsumers(c, objs, ns, produced);
}

type Job = Obj & {
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        containers: { image: string; env: { name: string; value?: string }[] }[];
        volumes: {
          name: string;
          configMap?: { name: string };
          secret?: { secretName: string };
          projected?: { sources: { secret: { name: string; items: { key: string; path: string }[] } }[] };
        }[];
      };
    };
  };
};
type Policy = {
  spec: {
    podSelector: { matchLabels: Record<string, string> };
    ingress?: {
      from: {
        podSelector?: { matchLabels: Record<string, string> };
        namespaceSelector?: { matchExpressions: { values: string[] }[] };
      }[];
    }[];
  };
};

/** Keys of a produced Secret: stringData of a plain (or decrypted) one, data entries of an ExternalSecret. */
function secretKeys(objs: Obj[], namespace: string, secret: string): string[] {
  const inNs = objs.filter((o) => (o.metadata as { namespace?: string }).namespace === namespace);
  const plain = inNs.find((o) => o.kind === 'Secret' && o.metadata.name === secret) as unknown as
    | { stringData?: Record<string, string> }
    | undefined;
  if (plain) return Object.keys(plain.stringData ?? {});
  const external = inNs.find(
    (o) =>
      o.kind === 'ExternalSecret' &&
      (o as unknown as { spec: { target: { name: string } } }).spec.target.name === secret,
  ) as unknown as
    | { spec: { data: { secretKey: string }[]; target: { template?: { data?: Record<string, string> } } } }
    | undefined;
  return external
    ? [...external.spec.data.map((d) => d.secretKey), ...Object.keys(external.spec.target.template?.data ?? {})]
    : [];
}

/**
 * Erasure-coded servers restart together: the StatefulSet updates OnDelete, and the
 * restarter Job deletes the servers whose configuration label is not the template's, as
 * its own ServiceAccount, which may list pods and delete the servers by name, nothing else.
 */
function checkRestarter(objs: Obj[], ns: string, workload: Workload, replicas: number): void {
  const spec = workload.spec as unknown as { updateStrategy: { type: string }; podManagementPolicy: string };
  expect(spec.updateStrategy).toEqual({ type: 'OnDelete' });
  expect(spec.podManagementPolicy).toBe('Parallel');
  const labels = workload.spec.template.metadata.labels;
  const hashes = ['minio-gitops.io/base', 'minio-gitops.io/config'].map((l) => [l, labels[l]!] as const);
  for (const [, hash] of hashes) expect(hash).toMatch(SHORT_HASH);
  type Container = { name: string; image: string; args: string[] };
  const job = find(objs, 'Job', 'minio-restarter')[0] as unknown as {
    spec: {
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          serviceAccountName: string;
          automountServiceAccountToken?: boolean;
          initContainers: Container[];
          containers: Container[];
        };
      };
    };
  };
  const pod = job.spec.template;
  expect(pod.spec.serviceAccountName).toBe('minio-restarter');
  expect(pod.spec.automountServiceAccountToken).not.toBe(false);
  // One kubectl command per hash (the base's first), each deleting the servers whose label differs, in the pod's own namespace.
  const commands = [...pod.spec.initContainers, ...pod.spec.containers];
  expect(commands.map((c) => c.name)).toEqual(['outdated-base', 'outdated-config']);
  for (const [i, c] of commands.entries()) {
    expect(c.args.slice(0, 2)).toEqual(['delete', 'pod']);
    expect(c.args).not.toContain('--namespace');
    const selector = c.args[c.args.indexOf('--selector') + 1]!;
    const [label, hash] = hashes[i]!;
    expect(selector.split(',')).toContain(`${label}!=${hash}`);
    // The selector's equality terms pick the server pods, never the Job's own.
    const terms = Object.fromEntries(
      selector
        .split(',')
        .filter((t) => !t.includes('!='))
        .map((t) => t.split('=') as [string, string]),
    );
    expect(matches(terms, labels)).toBe(true);
    expect(matches(terms, pod.metadata.labels)).toBe(false);
  }
  expect(find(objs, 'ServiceAccount', 'minio-restarter')).toHaveLength(1);
  const role = find(objs, 'Role', 'minio-restarter')[0] as unknown as {
    rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[];
  };
  expect(role.rules).toEqual([
    { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    {
      apiGroups: [''],
      resources: ['pods'],
      verbs: ['delete'],
      resourceNames: Array.from({ length: replicas }, (_, i) => `minio-${i}`),
    },
  ]);
  expect(find(objs, 'RoleBinding', 'minio-restarter')[0]).toMatchObject({
    subjects: [{ kind: 'ServiceAccount', name: 'minio-restarter', namespace: ns }],
  });
  const policy = find(objs, 'NetworkPolicy', 'minio-restarter')[0] as unknown as Policy & {
    spec: { egress: object[]; ingress?: object[] };
  };
  expect(matches(policy.spec.podSelector.matchLabels, pod.metadata.labels)).toBe(true);
  expect(policy.spec.ingress).toBeUndefined();
  expect(policy.spec.egress).toEqual([
    {
      ports: [
        { protocol: 'TCP', port: 443 },
        { protocol: 'TCP', port: 6443 },
      ],
    },
  ]);
}

function checkBootstrap(
  c: Combo,
  objs: Obj[],
  ns: string,
  produced: Set<string>,
  serverLabels: Record<string, string>,
): void {
  const [job, ...more] = find(objs, 'Job', 'minio-bootstrap') as Job[];
  expect(more).toHaveLength(0);
  // Besides it, only the restarter of erasure-coded servers.
  expect(
    find(objs, 'Job')
      .map((j) => j.metadata.name)
      .sort(),
  ).toEqual(c.replicas === '1' ? ['minio-bootstrap'] : ['minio-bootstrap', 'minio-restarter']);
  const pod = job!.spec.template;
  // The credentials and the CA are mounted 0440: readable by the pod's group only.
  expect(
    (pod.spec as unknown as { securityContext: { runAsUser: number; fsGroup: number } }).securityContext,
  ).toMatchObject({ runAsUser: 1000, fsGroup: 1000 });
  expect(job!.metadata).toMatchObject({
    annotations: {
      'argocd.argoproj.io/hook': 'PostSync',
      'argocd.argoproj.io/hook-delete-policy': 'BeforeHookCreation',
    },
  });
  // No Service may route to the Job: its labels are not the server's.
  expect(matches(serverLabels, pod.metadata.labels)).toBe(false);
  const env = Object.fromEntries(pod.spec.containers[0]!.env.map((e) => [e.name, e.value]));
  expect(env.MINIO_ENDPOINT).toBe(`${c.tls === 'on' ? 'https' : 'http'}://minio.${ns}.svc.cluster.local:9000`);
  expect(env.MINIO_CA_FILE).toBe(c.tls === 'on' ? '/etc/minio-bootstrap/ca/ca.crt' : undefined);
  const configMaps = new Map(
    find(objs, 'ConfigMap').map((o) => [o.metadata.name, (o as unknown as { data: Record<string, string> }).data]),
  );
  for (const v of pod.spec.volumes) {
    if (v.configMap) expect(configMaps.has(v.configMap.name), `ConfigMap ${v.configMap.name}`).toBe(true);
    if (v.secret) expect(produced).toContain(v.secret.secretName);
    for (const source of v.projected?.sources ?? []) {
      expect(produced).toContain(source.secret.name);
      expect(secretKeys(objs, ns, source.secret.name)).toEqual(
        expect.arrayContaining(source.secret.items.map((i) => i.key)),
      );
    }
  }
  // bootstrap.conf names only files the ConfigMap holds; each consumer has its credentials.
  const config = configMaps.get(pod.spec.volumes.find((v) => v.name === 'config')!.configMap!.name)!;
  for (const [, file] of config['bootstrap.conf']!.matchAll(/^(?:policy|lifecycle) \S+ (\S+\.json)$/gm))
    expect(Object.keys(config)).toContain(file);
  const users = [...config['bootstrap.conf']!.matchAll(/^user (\S+) /gm)].map((m) => m[1]);
  // With monitoring (extras), the metrics user too, whose token the ServiceMonitor sends.
  const named = c.extras === 'on' ? ['flink', 'spark', 'iceberg', 'metrics'] : ['flink', 'spark', 'iceberg'];
  expect(users).toEqual(named);
  const projected = pod.spec.volumes
    .find((v) => v.name === 'credentials')!
    .projected!.sources.flatMap((s) => s.secret.items.map((i) => i.path));
  expect(projected.sort()).toEqual(named.flatMap((n) => [`${n}/s3.access-key`, `${n}/s3.secret-key`]).sort());
  // The Job reaches the servers, and they let it in.
  const policy = find(objs, 'NetworkPolicy', 'minio-bootstrap')[0] as unknown as Policy;
  expect(matches(policy.spec.podSelector.matchLabels, pod.metadata.labels)).toBe(true);
  const server = find(objs, 'NetworkPolicy', 'minio')[0] as unknown as Policy;
  expect(
    server.spec.ingress!.some((rule) =>
      rule.from.some((f) => f.podSelector && matches(f.podSelector.matchLabels, pod.metadata.labels)),
    ),
  ).toBe(true);
}

type Container = {
  name: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
};
type Template = {
  spec: {
    containers: Container[];
    volumes?: {
      name: string;
      configMap?: { name: string; items?: { key: string }[] };
      persistentVolumeClaim?: { claimName: string };
    }[];
  };
};

/** A pod template's Secret keys exist, and its truststore volume is the Bundle's ConfigMap, mounted where the JVM options point. */
function checkPodTemplate(
  c: Combo,
  objs: Obj[],
  namespace: string,
  what: string,
  template: Template,
  javaOptions: string | undefined,
): void {
  const ns = objs.find((o) => o.kind === 'Namespace')!.metadata.name;
  for (const ctr of template.spec.containers) {
    for (const e of ctr.env ?? [])
      if (e.valueFrom)
        expect(secretKeys(objs, namespace, e.valueFrom.secretKeyRef.name), `${what} ${e.name}`).toContain(
          e.valueFrom.secretKeyRef.key,
        );
  }
  const trust = template.spec.volumes?.find((v) => v.name === 'minio-trust');
  if (c.tls === 'off') {
    expect(trust, what).toBeUndefined();
    expect(javaOptions, what).toBeUndefined();
    return;
  }
  expect(trust, what).toEqual({
    name: 'minio-trust',
    configMap: { name: `${ns}-trust`, items: [{ key: 'truststore.p12', path: 'truststore.p12' }] },
  });
  const mount = template.spec.containers[0]!.volumeMounts!.find((m) => m.name === 'minio-trust')!;
  expect(javaOptions, what).toBe(
    `-Djavax.net.ssl.trustStore=${mount.mountPath}/truststore.p12 -Djavax.net.ssl.trustStorePassword=changeit`,
  );
}

function checkConsumers(c: Combo, objs: Obj[], ns: string, produced: Set<string>): void {
  const endpoint = `${c.tls === 'on' ? 'https' : 'http'}://minio.${ns}.svc.cluster.local:9000`;
  for (const [consumer, namespace] of [
    ['flink', 'el-demo'],
    ['spark', 'analytics'],
    ['iceberg', 'analytics'],
  ] as const) {
    // Named after MinIO's namespace: envs on one cluster can share consumer namespaces.
    expect(produced).toContain(`${ns}-s3-credentials-${consumer}`);
    expect(secretKeys(objs, namespace, `${ns}-s3-credentials-${consumer}`)).toEqual(
      expect.arrayContaining([
        's3.access-key',
        's3.secret-key',
        's3.endpoint',
        'AWS_ACCESS_KEY_ID',
        'AWS_SECRET_ACCESS_KEY',
        'AWS_REGION',
      ]),
    );
  }
  // The trust Bundle: the env's CA plus the public CAs, into exactly the consumers' namespaces.
  const bundle = find(objs, 'Bundle')[0] as unknown as
    | {
        metadata: { name: string };
        spec: {
          sources: object[];
          target: {
            additionalFormats: { pkcs12: object };
            namespaceSelector: { matchExpressions: { values: string[] }[] };
          };
        };
      }
    | undefined;
  if (c.tls === 'on') {
    expect(bundle!.metadata.name).toBe(`${ns}-trust`);
    expect(bundle!.spec.sources).toEqual([{ useDefaultCAs: true }, { secret: { name: `${ns}-ca`, key: 'tls.crt' } }]);
    expect(bundle!.spec.target.additionalFormats.pkcs12).toEqual({
      key: 'truststore.p12',
      password: 'changeit',
      profile: 'Modern2023',
    });
    expect(bundle!.spec.target.namespaceSelector.matchExpressions[0]!.values).toEqual(['analytics', 'el-demo']);
  } else {
    expect(bundle).toBeUndefined();
  }

  const flink = find(objs, 'FlinkEnvironment', `${ns}-flink`)[0] as unknown as {
    metadata: { namespace: string };
    spec: {
      kubernetesNamespace: string;
      flinkApplicationDefaults: { spec: { flinkConfiguration: Record<string, string>; podTemplate: Template } };
    };
  };
  expect(flink.metadata.namespace).toBe('el-demo');
  expect(flink.spec.kubernetesNamespace).toBe('el-demo');
  const flinkConfig = flink.spec.flinkApplicationDefaults.spec.flinkConfiguration;
  expect(flinkConfig).toMatchObject({
    'execution.checkpointing.dir': 's3p://flink/checkpoints',
    'execution.checkpointing.savepoint-dir': 's3p://flink/savepoints',
    'execution.checkpointing.interval': '60s',
    'execution.checkpointing.externalized-checkpoint-retention': 'RETAIN_ON_CANCELLATION',
    's3.endpoint': endpoint,
    's3.path.style.access': 'true',
  });
  // No credentials in the configuration (the plugin would take a ${...} literally).
  expect(JSON.stringify(flinkConfig)).not.toMatch(/\$\{|access-key|secret-key/);
  checkPodTemplate(
    c,
    objs,
    'el-demo',
    'FlinkEnvironment',
    flink.spec.flinkApplicationDefaults.spec.podTemplate,
    flinkConfig['env.java.opts.all'],
  );

  const spark = find(objs, 'ConfigMap', `${ns}-spark-spark-defaults`)[0] as unknown as {
    metadata: { namespace: string };
    data: Record<string, string>;
  };
  expect(spark.metadata.namespace).toBe('analytics');
  const conf = Object.fromEntries(
    spark.data['spark-defaults.conf']!.split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]),
  );
  expect(conf).toMatchObject({
    'spark.sql.catalog.iceberg.s3.endpoint': endpoint,
    'spark.sql.catalog.iceberg.uri': `http://${ns}-iceberg.analytics.svc.cluster.local:8181`,
    'spark.jars.packages':
      'org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:1.10.1,org.apache.iceberg:iceberg-aws-bundle:1.10.1',
  });
  // The env's catalog server defines its warehouse itself.
  expect(conf['spark.sql.catalog.iceberg.warehouse']).toBeUndefined();
  expect(conf['spark.driver.extraJavaOptions']).toBe(conf['spark.executor.extraJavaOptions']);
  expect(conf['spark.jars.ivy']).toBe('/tmp/.ivy2'); // the images' spark user has no home
  const sparkPod = parseAllYaml(spark.data['pod-template.yaml']!)[0] as Obj &
    Template & { spec: { securityContext: object } };
  expect(validateObject(sparkPod)).toEqual([]);
  // The official images name their user (spark): runAsNonRoot needs the number from us.
  expect(sparkPod.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 185, runAsGroup: 185 });
  checkPodTemplate(c, objs, 'analytics', 'Spark pod template', sparkPod, conf['spark.executor.extraJavaOptions']);

  // The catalog server: its Service is what Spark's URI names, its objects reference each other.
  const [catalog] = find(objs, 'Deployment', `${ns}-iceberg`) as Workload[];
  expect(catalog!.metadata).toMatchObject({ namespace: 'analytics' });
  // Iceberg's own server, of the release of Spark's jars.
  expect((catalog!.spec.template.spec.containers[0] as unknown as { image: string }).image).toBe(
    'docker.io/apache/iceberg-rest-fixture:1.10.1',
  );
  const catalogPod = catalog!.spec.template as unknown as Template & { metadata: { labels: Record<string, string> } };
  const service = find(objs, 'Service', `${ns}-iceberg`)[0] as unknown as {
    metadata: { namespace: string };
    spec: { selector: Record<string, string>; ports: { port: number }[] };
  };
  expect(service.metadata.namespace).toBe('analytics');
  expect(matches(service.spec.selector, catalogPod.metadata.labels)).toBe(true);
  expect(conf['spark.sql.catalog.iceberg.uri']).toMatch(new RegExp(`:${service.spec.ports[0]!.port}$`));
  const volumes = catalogPod.spec.volumes!;
  expect(
    find(objs, 'PersistentVolumeClaim', volumes.find((v) => v.name === 'data')!.persistentVolumeClaim!.claimName),
  ).toHaveLength(1);
  const catalogEnv = Object.fromEntries(catalogPod.spec.containers[0]!.env!.map((e) => [e.name, e.value]));
  checkPodTemplate(c, objs, 'analytics', 'catalog', catalogPod, catalogEnv.JAVA_TOOL_OPTIONS);
  expect(catalogEnv).toMatchObject({
    CATALOG_WAREHOUSE: 's3://datalake/warehouse/',
    CATALOG_S3_ENDPOINT: endpoint,
    CATALOG_URI: 'jdbc:sqlite:/var/lib/iceberg/catalog.db',
  });
  const catalogPolicy = find(objs, 'NetworkPolicy', `${ns}-iceberg`)[0] as unknown as Policy & {
    spec: { egress: { to?: { namespaceSelector: { matchLabels: Record<string, string> } }[] }[] };
  };
  expect(matches(catalogPolicy.spec.podSelector.matchLabels, catalogPod.metadata.labels)).toBe(true);
  expect(catalogPolicy.spec.ingress![0]!.from[0]!.namespaceSelector!.matchExpressions[0]!.values).toEqual([
    'analytics',
  ]);
  expect(catalogPolicy.spec.egress[1]!.to![0]!.namespaceSelector.matchLabels).toEqual({
    'kubernetes.io/metadata.name': ns,
  });

  // Only the consumer namespaces (and Prometheus, with monitoring) reach the S3 port; the
  // ingress controller only with an ingress.
  const clients = find(objs, 'NetworkPolicy', 'minio-s3-clients')[0] as unknown as Policy;
  expect(clients.spec.ingress![0]!.from[0]!.namespaceSelector!.matchExpressions[0]!.values).toEqual([
    'analytics',
    'el-demo',
    ...(c.extras === 'on' ? ['monitoring'] : []),
  ]);
  expect(find(objs, 'NetworkPolicy', 'minio-ingress-controller')).toHaveLength(c.extras === 'on' ? 1 : 0);
  const server = find(objs, 'NetworkPolicy', 'minio')[0] as unknown as Policy;
  expect(JSON.stringify(server.spec.ingress)).not.toContain('namespaceSelector');
}

function podSecurityViolations(psaCheck: string, objs: Obj[]): string[] {
  // Every workload's pod template, and the Spark pod template shipped in a ConfigMap.
  const sparkPods = objs.filter(
    (o) => o.kind === 'ConfigMap' && (o as unknown as { data?: Record<string, string> }).data?.['pod-template.yaml'],
  );
  const pods = [
    ...objs
      .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet' || o.kind === 'Job')
      .map((o) => ({ name: `${o.kind}/${o.metadata.name}`, level: 'restricted', ...(o as Workload).spec.template })),
    ...sparkPods.map((o) => {
      const { metadata, spec } = parseAllYaml(
        (o as unknown as { data: Record<string, string> }).data['pod-template.yaml']!,
      )[0] as { metadata: object; spec: object };
      return { name: `pod template in ConfigMap/${o.metadata.name}`, level: 'restricted', metadata, spec };
    }),
  ];
  try {
    execFileSync(psaCheck, { input: JSON.stringify(pods), encoding: 'utf8' });
    return [];
  } catch (error) {
    const e = error as { status: number; stdout: string; stderr: string };
    if (e.status !== 1) throw new Error(`psa-check failed: ${e.stderr}`);
    return e.stdout.trim().split('\n');
  }
}

describe('option combinations', () => {
  it(`refuses exactly the invalid ones (${combos.length - valid.length} of ${combos.length}), with one line and exit 2`, async () => {
    for (const c of combos.filter((x) => refusal(x))) {
      const out = tempDir();
      const { code, stderr } = await scaffold(argv(c), out);
      expect(code, name(c)).toBe(2);
      expect(stderr).toMatch(refusal(c)!);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it.for(valid.map((c) => [name(c), c] as const))(
    '%s builds, validates and passes Pod Security',
    async ([, c], ctx) => {
      const builders = kustomizeBuilders(ctx);
      const psaCheck = needTool(ctx, 'psa-check');
      needCrds(ctx);
      const out = tempDir();
      const { code, stderr } = await scaffold(argv(c), out);
      expect(code, stderr).toBe(0);

      const sops = c.secrets === 'sops' ? needTool(ctx, 'sops') : '';
      const builds = builders.map((b) => ({
        name: b.name,
        objs: parseAllYaml(b.build(`${out}/overlays/${c.profile}`)) as Obj[],
      }));
      if (sops) {
        const scratch = tempDir();
        for (const build of builds) build.objs = build.objs.map((o) => fluxDecrypt(sops, o, scratch));
      }
      const key = (o: Obj) => `${o.kind}/${o.metadata.name}`;
      const sorted = (objs: Obj[]) => [...objs].sort((a, b) => key(a).localeCompare(key(b)));
      // Both kustomizes must agree object for object.
      expect(
        isDeepStrictEqual(sorted(builds[0]!.objs), sorted(builds[1]!.objs)),
        'kustomize and kubectl kustomize disagree',
      ).toBe(true);
      const objs = builds[0]!.objs;

      expect(objs.flatMap(validateObject)).toEqual([]);
      // Bounded scratch space: every emptyDir has a sizeLimit, every container ephemeral-storage requests and limits.
      expect(scratchProblems(objs)).toEqual([]);
      checkReferences(c, objs);

      const violations = podSecurityViolations(psaCheck, objs);
      if (c.storage === 'hostpath') {
        // The one allowed exception: the hostPath volume, in a namespace labelled privileged.
        expect(violations.length).toBeGreaterThan(0);
        for (const v of violations) expect(v).toMatch(/hostPath.*"data"|"data".*hostPath/);
      } else {
        expect(violations).toEqual([]);
      }
    },
  );
});

describe('envs on one cluster', () => {
  it('envs with the default consumers render no object another env renders differently (GitOps manifests included)', async (ctx) => {
    needTool(ctx, 'kustomize');
    const out = tempDir();
    const envs: [string, string][] = [
      ['dev', 'dev'],
      ['prod', 'prod'],
      ['staging', 'prod'],
      ['qa', 'prod'],
      ['lab', 'dev'],
    ];
    for (const [env, profile] of envs) {
      const { code, stderr } = await scaffold(
        ['--env', env, '--profile', profile, '--repo-url', 'https://git.example.com/platform/minio.git', '--no-commit'],
        out,
      );
      expect(code, stderr).toBe(0);
    }
    const seen = new Map<string, { env: string; obj: Obj }>();
    const fights: string[] = [];
    for (const [env] of envs) {
      for (const obj of [...build(ctx, out, `overlays/${env}`), ...build(ctx, out, `clusters/${env}`)]) {
        const key = `${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
        const other = seen.get(key);
        if (other && !isDeepStrictEqual(other.obj, obj)) fights.push(`${key} (${other.env}, ${env})`);
        seen.set(key, { env, obj });
      }
    }
    expect(fights).toEqual([]);
    // They do meet: each env has its Secret and its FlinkEnvironment in el-demo.
    const inConsumerNamespace = [...seen.keys()].filter((k) => k.includes(' el-demo/')).sort();
    expect(inConsumerNamespace).toHaveLength(envs.length * 2);
    expect(inConsumerNamespace).toContain('FlinkEnvironment el-demo/minio-staging-flink');
    // The one object two envs share is the same object: Flux's source of the repository.
    expect([...seen.values()].filter((v) => v.obj.kind === 'GitRepository')).toHaveLength(1);
  });
});

describe('non-default settings', () => {
  it('own issuers: a CA issuer for the servers, an ACME issuer for the ingress hosts; ServiceMonitor labels', async (ctx) => {
    const [builder] = kustomizeBuilders(ctx);
    needCrds(ctx);
    const out = tempDir();
    writeFileSync(join(out, 'scaffold.config.yaml'), 'serviceMonitorLabels:\n  release: prometheus\n');
    const args = [
      '--env',
      'prod',
      '--secrets',
      'external',
      '--issuer',
      'corp-ca',
      '--issuer-kind',
      'ClusterIssuer',
      '--ca-secret',
      'corp-ca-key',
      '--ingress-issuer',
      'letsencrypt',
      '--ingress-issuer-kind',
      'ClusterIssuer',
    ];
    const { code, stderr } = await scaffold(args, out);
    expect(code, stderr).toBe(0);
    const objs = parseAllYaml(builder!.build(`${out}/overlays/prod`)) as Obj[];
    expect(objs.flatMap(validateObject)).toEqual([]);
    type Cert = { spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string; kind: string } } };
    const [server, ingressCert] = ['minio-tls', 'minio-ingress-tls'].map(
      (n) => find(objs, 'Certificate', n)[0] as unknown as Cert,
    );
    expect(server!.spec.issuerRef).toMatchObject({ name: 'corp-ca', kind: 'ClusterIssuer' });
    expect(server!.spec.dnsNames).toContain('minio.minio.svc.cluster.local');
    expect(server!.spec.dnsNames).not.toContain('minio.prod.local');
    expect(ingressCert!.spec).toMatchObject({
      dnsNames: ['minio.prod.local', 'minio-console.prod.local'],
      issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' },
    });
    for (const ing of find(objs, 'Ingress'))
      expect((ing as unknown as { spec: { tls: { secretName: string }[] } }).spec.tls[0]!.secretName).toBe(
        'minio-ingress-tls',
      );
    expect(find(objs, 'Issuer')).toEqual([]); // no private CA when both issuers are given
    expect(find(objs, 'ClusterIssuer')).toEqual([]);
    // The consumers trust the person's CA, read from the Secret they named.
    expect((find(objs, 'Bundle')[0] as unknown as { spec: { sources: object[] } }).spec.sources).toEqual([
      { useDefaultCAs: true },
      { secret: { name: 'corp-ca-key', key: 'tls.crt' } },
    ]);
    expect(
      (find(objs, 'ServiceMonitor')[0]!.metadata as unknown as { labels: Record<string, string> }).labels.release,
    ).toBe('prometheus');
  });
});

describe('the checks themselves', () => {
  it('flag an unknown field, a bad enum and a Pod Security violation', (ctx) => {
    const psaCheck = needTool(ctx, 'psa-check');
    needCrds(ctx);
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: {
        selector: { matchLabels: { a: 'b' } },
        template: {
          metadata: { labels: { a: 'b' } },
          spec: { containers: [{ name: 'c', image: 'i:1', imagePullPolicy: 'Sometimes', bogus: true }] },
        },
      },
    } as unknown as Obj;
    const problems = validateObject(deployment);
    expect(problems.join('\n')).toMatch(/containers\[0\]\.bogus: unknown field/);
    expect(problems.join('\n')).toMatch(/imagePullPolicy/);
    const cert = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'c' },
      spec: { secretName: 's', issuerRef: { name: 'i' }, dnsName: ['x'] },
    } as unknown as Obj;
    expect(validateObject(cert).join('\n')).toMatch(/\.spec\.dnsName: unknown field/);
    expect(podSecurityViolations(psaCheck, [deployment])).not.toEqual([]);
  });

  it('flag unbounded scratch space: an emptyDir without sizeLimit, a container without ephemeral-storage, in every kind of pod spec', () => {
    const bounded = { requests: { 'ephemeral-storage': '16Mi' }, limits: { 'ephemeral-storage': '64Mi' } };
    const spec = (resources: object | undefined, emptyDir: object) => ({
      containers: [{ name: 'c', image: 'i:1', ...(resources ? { resources } : {}) }],
      volumes: [{ name: 'tmp', emptyDir }],
    });
    const objs = (s: object) =>
      [
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { template: { spec: s } } },
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: { name: 'cj' },
          spec: { jobTemplate: { spec: { template: { spec: s } } } },
        },
        {
          apiVersion: 'flink.apache.org/v1beta1',
          kind: 'FlinkDeployment',
          metadata: { name: 'f' },
          spec: { taskManager: { podTemplate: { spec: s } } },
        },
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'cm' },
          data: { 'pod-template.yaml': JSON.stringify({ apiVersion: 'v1', kind: 'Pod', spec: s }) },
        },
      ] as unknown as Obj[];
    expect(scratchProblems(objs(spec(bounded, { sizeLimit: '32Mi' })))).toEqual([]);
    expect(scratchProblems(objs(spec(bounded, {})))).toHaveLength(4);
    expect(scratchProblems(objs(spec(undefined, { sizeLimit: '32Mi' })))).toHaveLength(8);
    expect(
      scratchProblems(
        objs(
          spec(
            { requests: { 'ephemeral-storage': '1Gi' }, limits: { 'ephemeral-storage': '64Mi' } },
            { sizeLimit: '32Mi' },
          ),
        ),
      )[0],
    ).toMatch(/above its limit/);
    expect(scratchProblems(objs(spec(bounded, { sizeLimit: '1Gi' })))[0]).toMatch(/may hold more than/);
    // A memory-backed emptyDir counts against memory, not the disk.
    expect(scratchProblems(objs(spec(bounded, { medium: 'Memory', sizeLimit: '1Gi' })))).toEqual([]);
  });
});
