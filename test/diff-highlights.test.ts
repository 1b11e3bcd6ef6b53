// The comparison and highlight rules of `diff`, on objects written out here: one case per
// rule, each with the change that must not be flagged beside it. The whole command, on
// real repositories and builds, is test/diff.test.ts.
import { describe, expect, it } from 'vitest';
import type { Obj } from '../src/cluster/objects.ts';
import { compareBuilds, REDACTED } from '../src/diff/compare.ts';
import { highlights, quantity } from '../src/diff/highlights.ts';

const obj = (
  apiVersion: string,
  kind: string,
  name: string,
  rest: Record<string, unknown> = {},
  namespace: string | null = 'minio',
): Obj =>
  ({
    apiVersion,
    kind,
    metadata: { name, ...(namespace ? { namespace } : {}), ...((rest.metadata as object) ?? {}) },
    ...Object.fromEntries(Object.entries(rest).filter(([k]) => k !== 'metadata')),
  }) as Obj;

function flagged(before: Obj[], after: Obj[], engine?: 'flux' | 'argocd'): string[] {
  return highlights(compareBuilds(before, after).changes, { before, after, ...(engine ? { engine } : {}) }).map(
    (h) => `${h.category}: ${h.object}: ${h.message}`,
  );
}

const pvc = (size: string, extra: Record<string, unknown> = {}) =>
  obj('v1', 'PersistentVolumeClaim', 'data', {
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } }, ...extra },
  });
const servers = (replicas: number, vct = '8Gi', annotations: Record<string, string> = {}) =>
  obj('apps/v1', 'StatefulSet', 'minio', {
    metadata: { annotations },
    spec: {
      replicas,
      serviceName: 'minio-hl',
      selector: { matchLabels: { app: 'minio' } },
      template: {
        spec: {
          containers: [{ name: 'minio', image: 'quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z', args: ['server'] }],
        },
      },
      volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: vct } } } }],
    },
  });
const job = (image: string, annotations: Record<string, string> = {}) =>
  obj('batch/v1', 'Job', 'minio-bootstrap', {
    metadata: { annotations },
    spec: { backoffLimit: 3, template: { spec: { containers: [{ name: 'mc', image }] } } },
  });

describe('diff highlights', () => {
  it('prune: a removed object is deleted, unless prune is disabled for it (Flux or Argo CD)', () => {
    const ns = obj('v1', 'Namespace', 'minio', {}, null);
    expect(flagged([ns], [])).toEqual([
      "prune: Namespace minio: deleted from the cluster by the engine's prune, and its data with it",
    ]);
    for (const annotations of [
      { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' },
      { 'argocd.argoproj.io/sync-options': 'ServerSideApply=true,Prune=false' },
    ]) {
      expect(flagged([obj('v1', 'Namespace', 'minio', { metadata: { annotations } }, null)], [])).toEqual([
        expect.stringMatching(/left in the cluster \(prune is disabled for it\)/),
      ]);
    }
  });

  it('immutable fields: a Job re-created by the engine, a Job that is not, a StatefulSet claim template, selectors, a Service IP, an immutable ConfigMap, a roleRef', () => {
    expect(
      flagged(
        [job('mc:1', { 'kustomize.toolkit.fluxcd.io/force': 'enabled' })],
        [job('mc:2', { 'kustomize.toolkit.fluxcd.io/force': 'enabled' })],
      ),
    ).toEqual([expect.stringMatching(/spec\.template changes, .*Flux re-creates it/)]);
    expect(
      flagged(
        [job('mc:1', { 'argocd.argoproj.io/hook': 'Sync' })],
        [job('mc:2', { 'argocd.argoproj.io/hook': 'Sync' })],
      ),
    ).toEqual([expect.stringMatching(/Argo CD re-creates it \(a hook\)/)]);
    expect(flagged([job('mc:1')], [job('mc:2')])).toEqual([
      expect.stringMatching(/API server refuses to update: the sync fails until the object is deleted/),
    ]);
    // Both engines' annotations (the base carries both): the env's engine is named.
    const both = { 'kustomize.toolkit.fluxcd.io/force': 'enabled', 'argocd.argoproj.io/hook': 'PostSync' };
    expect(flagged([job('mc:1', both)], [job('mc:2', both)], 'argocd')).toEqual([
      expect.stringMatching(/Argo CD re-creates it \(a hook\)/),
    ]);
    expect(flagged([job('mc:1', both)], [job('mc:2', both)], 'flux')).toEqual([
      expect.stringMatching(/Flux re-creates it/),
    ]);
    const typed = (type: string) => obj('v1', 'Secret', 't', { type, stringData: { a: 'x' } });
    expect(flagged([typed('Opaque')], [typed('kubernetes.io/tls')])).toEqual([
      expect.stringMatching(/^immutable: Secret minio\/t: type changes/),
    ]);
    // backoffLimit may change in place
    const j = job('mc:1');
    expect(flagged([j], [{ ...j, spec: { ...j.spec, backoffLimit: 5 } }])).toEqual([]);
    expect(flagged([servers(4, '8Gi')], [servers(4, '8Gi', {})])).toEqual([]);
    const sts = flagged([servers(4, '8Gi')], [servers(4, '16Gi')]);
    expect(sts).toContainEqual(
      expect.stringMatching(
        /^immutable: StatefulSet minio\/minio: spec\.volumeClaimTemplates changes, which the API server refuses.*--cascade=orphan/,
      ),
    );
    expect(sts).toContainEqual(
      'volume: StatefulSet minio/minio: claim template data grows 8Gi → 16Gi: its StorageClass must allow volume expansion (allowVolumeExpansion: true)',
    );
    const deploy = (app: string) =>
      obj('apps/v1', 'Deployment', 'web', { spec: { replicas: 1, selector: { matchLabels: { app } }, template: {} } });
    expect(flagged([deploy('a')], [deploy('b')])).toEqual([expect.stringMatching(/spec\.selector changes/)]);
    const svc = (clusterIP?: string) =>
      obj('v1', 'Service', 'minio-hl', { spec: { ...(clusterIP ? { clusterIP } : {}), ports: [{ port: 9000 }] } });
    expect(flagged([svc()], [svc('None')])).toEqual([expect.stringMatching(/spec\.clusterIP changes/)]);
    const cm = (v: string, immutable: boolean) => obj('v1', 'ConfigMap', 'c', { immutable, data: { a: v } });
    expect(flagged([cm('1', true)], [cm('2', true)])).toEqual([
      expect.stringMatching(/^immutable: ConfigMap minio\/c: data changes/),
    ]);
    expect(flagged([cm('1', false)], [cm('2', false)])).toEqual([]);
    const rb = (role: string) =>
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'r', {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role },
        subjects: [],
      });
    expect(flagged([rb('a')], [rb('b')])).toEqual([expect.stringMatching(/roleRef changes/)]);
  });

  it('volumes: growth needs an expandable class, a shrink is refused; other claim fields are immutable', () => {
    expect(flagged([pvc('8Gi')], [pvc('20Gi')])).toEqual([
      'volume: PersistentVolumeClaim minio/data: the volume grows 8Gi → 20Gi: its StorageClass must allow volume expansion (allowVolumeExpansion: true)',
    ]);
    expect(flagged([pvc('8Gi')], [pvc('8000Mi')])).toEqual([
      'volume: PersistentVolumeClaim minio/data: the volume shrinks 8Gi → 8000Mi: Kubernetes refuses to shrink a volume',
    ]);
    expect(flagged([pvc('8Gi')], [pvc('8Gi', { storageClassName: 'fast' })])).toEqual([
      expect.stringMatching(/spec\.storageClassName changes, which the API server refuses/),
    ]);
    // A StatefulSet's claim the repository starts to hold (growth of an erasure-coded pool): it exists already.
    const claim = { ...pvc('16Gi'), metadata: { name: 'data-minio-0', namespace: 'minio' } } as Obj;
    const sets = [servers(4, '8Gi')];
    expect(
      highlights(compareBuilds(sets, [...sets, claim]).changes, { before: sets, after: [...sets, claim] }).map(
        (h) => h.message,
      ),
    ).toEqual([
      expect.stringMatching(
        /^the claim of StatefulSet minio\/minio exists in the cluster already: the engine sets its request to 16Gi \(its template asks 8Gi\)/,
      ),
    ]);
    const other = { ...claim, metadata: { name: 'data-minio-x', namespace: 'minio' } } as Obj;
    expect(
      highlights(compareBuilds(sets, [...sets, other]).changes, { before: sets, after: [...sets, other] }),
    ).toEqual([]);
    expect(quantity('1.5Gi')).toBe(1.5 * 2 ** 30);
    expect(quantity('10G')).toBe(1e10);
    expect(Number.isNaN(quantity('ten'))).toBe(true);
  });

  it('servers: the replicas of a MinIO set, a new pool, a pool removed; other StatefulSets are not MinIO', () => {
    expect(flagged([servers(4)], [servers(8)])).toEqual([
      expect.stringMatching(/^servers: StatefulSet minio\/minio: the servers of an erasure-coded set change \(4 → 8\)/),
    ]);
    const pool2 = { ...servers(4), metadata: { name: 'minio-pool-2', namespace: 'minio' } } as Obj;
    expect(flagged([servers(4)], [servers(4), pool2])).toEqual([
      expect.stringMatching(/^servers: StatefulSet minio\/minio-pool-2: a new set of 4 MinIO servers/),
    ]);
    expect(flagged([servers(4), pool2], [servers(4)])).toEqual(
      expect.arrayContaining([expect.stringMatching(/^servers: .*decommissioned first/)]),
    );
    // A first deployment restarts nothing.
    expect(flagged([], [servers(4)])).toEqual([]);
    const other = servers(1);
    other.spec.template.spec.containers[0].image = 'postgres:17';
    expect(flagged([other], [{ ...other, spec: { ...other.spec, replicas: 3 } }])).toEqual([]);
  });

  it('Pod Security: weaker and stricter levels are named', () => {
    const ns = (level?: string) =>
      obj(
        'v1',
        'Namespace',
        'minio',
        { metadata: { labels: level ? { 'pod-security.kubernetes.io/enforce': level } : {} } },
        null,
      );
    expect(flagged([ns('restricted')], [ns('baseline')])).toEqual([
      'pod-security: Namespace minio: Pod Security enforce restricted → baseline: weaker, pods may run with more privileges',
    ]);
    expect(flagged([ns('restricted')], [ns()])).toEqual([
      expect.stringMatching(/enforce restricted → \(none\): weaker/),
    ]);
    expect(flagged([ns('baseline')], [ns('restricted')])).toEqual([expect.stringMatching(/stricter/)]);
  });

  it('NetworkPolicy: a new rule, a removed policy, a lost policy type, another pod selector; a removed rule is not an opening', () => {
    const np = (ingress: unknown[], policyTypes = ['Ingress', 'Egress'], podSelector: unknown = {}) =>
      obj('networking.k8s.io/v1', 'NetworkPolicy', 'minio', {
        spec: { podSelector, policyTypes, ingress, egress: [] },
      });
    const rule = {
      from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'el-demo' } } }],
      ports: [{ protocol: 'TCP', port: 9000 }],
    };
    const anywhere = { ports: [{ protocol: 'TCP', port: 9000 }] };
    expect(flagged([np([rule])], [np([rule, anywhere])])).toEqual([
      'network: NetworkPolicy minio/minio: allows ingress from anywhere on TCP 9000',
    ]);
    expect(flagged([np([rule, anywhere])], [np([rule])])).toEqual([]);
    expect(flagged([np([rule])], [])).toEqual(
      expect.arrayContaining([expect.stringMatching(/^network: .*removed: no other policy selects its pods/)]),
    );
    // Another policy still isolates the same pods: removing this one's allows narrows.
    const deny = obj('networking.k8s.io/v1', 'NetworkPolicy', 'default-deny', {
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    expect(flagged([np([rule]), deny], [deny]).filter((h) => h.startsWith('network'))).toEqual([]);
    // A namespace list that shrinks narrows; one that grows opens.
    const from = (names: string[]) => ({
      from: [
        {
          namespaceSelector: {
            matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: names }],
          },
        },
      ],
      ports: [{ protocol: 'TCP', port: 9000 }],
    });
    expect(flagged([np([from(['a', 'b', 'monitoring'])])], [np([from(['a', 'b'])])])).toEqual([]);
    expect(flagged([np([from(['a', 'b'])])], [np([from(['a', 'b', 'monitoring'])])])).toEqual([
      'network: NetworkPolicy minio/minio: allows ingress from namespaces [kubernetes.io/metadata.name in (a, b, monitoring)] on TCP 9000',
    ]);
    expect(flagged([np([rule])], [np([rule], ['Ingress'])])).toEqual([
      'network: NetworkPolicy minio/minio: no longer restricts egress traffic (policyTypes lost Egress)',
    ]);
    expect(flagged([np([rule])], [np([rule], undefined, { matchLabels: { app: 'x' } })])).toEqual([
      'network: NetworkPolicy minio/minio: applies to other pods now: [all] → [app=x]',
    ]);
  });

  it('RBAC and AppProject: new rules, subjects and whitelist entries, a blacklist entry removed; narrowing is not flagged', () => {
    const role = (rules: unknown[]) => obj('rbac.authorization.k8s.io/v1', 'Role', 'restarter', { rules });
    const list = { apiGroups: [''], resources: ['pods'], verbs: ['list'] };
    expect(flagged([role([list])], [role([list, { apiGroups: ['*'], resources: ['*'], verbs: ['*'] }])])).toEqual([
      'rbac: Role minio/restarter: grants * on * in API groups *: a wildcard',
    ]);
    expect(
      flagged([role([list, { apiGroups: [''], resources: ['secrets'], verbs: ['get'] }])], [role([list])]),
    ).toEqual([]);
    // Fewer names, or a rule an old one covers, grants nothing new.
    const del = (names: string[]) => ({
      apiGroups: [''],
      resources: ['pods'],
      verbs: ['delete'],
      resourceNames: names,
    });
    expect(
      flagged([role([del(['minio-0', 'minio-1', 'minio-pool-2-0'])])], [role([del(['minio-0', 'minio-1'])])]),
    ).toEqual([]);
    expect(flagged([role([del(['minio-0'])])], [role([del(['minio-0', 'minio-pool-2-0'])])])).toEqual([
      'rbac: Role minio/restarter: grants delete on pods (minio-0,minio-pool-2-0)',
    ]);
    const binding = (subjects: unknown[]) =>
      obj('rbac.authorization.k8s.io/v1', 'RoleBinding', 'restarter', {
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'restarter' },
        subjects,
      });
    const sa = { kind: 'ServiceAccount', name: 'restarter', namespace: 'minio' };
    expect(flagged([binding([sa])], [binding([sa, { kind: 'Group', name: 'system:authenticated' }])])).toEqual([
      'rbac: RoleBinding minio/restarter: binds restarter to Group system:authenticated',
    ]);
    const project = (spec: Record<string, unknown>) =>
      obj('argoproj.io/v1alpha1', 'AppProject', 'minio-prod', { spec }, 'argocd');
    expect(
      flagged(
        [
          project({
            sourceRepos: ['https://git.example.com/a.git'],
            namespaceResourceBlacklist: [{ group: '', kind: 'ResourceQuota' }],
          }),
        ],
        [project({ sourceRepos: ['https://git.example.com/a.git', '*'], namespaceResourceBlacklist: [] })],
      ),
    ).toEqual([
      'rbac: AppProject argocd/minio-prod: sourceRepos gains "*"',
      'rbac: AppProject argocd/minio-prod: namespaceResourceBlacklist loses {"group":"","kind":"ResourceQuota"}',
    ]);
  });

  it("the engine's own sources: a Flux Kustomization's path or prune, an Argo CD Application's source", () => {
    const ks = (path: string, prune: boolean) =>
      obj(
        'kustomize.toolkit.fluxcd.io/v1',
        'Kustomization',
        'minio-prod',
        { spec: { path, prune, interval: '10m', sourceRef: { kind: 'GitRepository', name: 'minio-gitops' } } },
        'flux-system',
      );
    expect(flagged([ks('./overlays/prod/minio', true)], [ks('./overlays/evil', false)])).toEqual([
      'engine: Kustomization flux-system/minio-prod: spec.path changes ("./overlays/prod/minio" → "./overlays/evil"): the engine builds, syncs or prunes differently from the next sync on',
      'engine: Kustomization flux-system/minio-prod: spec.prune changes (true → false): the engine builds, syncs or prunes differently from the next sync on',
    ]);
    expect(
      flagged(
        [ks('./a', true)],
        [{ ...ks('./a', true), metadata: { name: 'minio-prod', namespace: 'flux-system', labels: { x: 'y' } } } as Obj],
      ),
    ).toEqual([]);
    const app = (repoURL: string) =>
      obj(
        'argoproj.io/v1alpha1',
        'Application',
        'minio-prod',
        { spec: { project: 'minio-prod', source: { repoURL, path: 'overlays/prod', targetRevision: 'main' } } },
        'argocd',
      );
    expect(flagged([app('https://git.example.com/a.git')], [app('https://evil.example.com/a.git')])).toEqual([
      expect.stringMatching(/^engine: Application argocd\/minio-prod: spec\.source changes/),
    ]);
  });

  it('a Secret in plain text beside sealed ones is flagged', () => {
    const sealed = obj('v1', 'Secret', 'root', {
      stringData: { a: 'ENC[AES256_GCM,data:eA==,iv:aXY=,tag:dGFn,type:str]' },
      sops: { age: [{ recipient: 'age1a', enc: 'x' }], mac: 'm', lastmodified: 't' },
    });
    const plain = obj('v1', 'Secret', 'extra', { stringData: { token: 'not-shown' } });
    expect(flagged([sealed], [sealed, plain])).toEqual([
      "sealed: Secret minio/extra: holds its values in plain text in the repository, while the env seals its other Secrets: seal it (sops), or move it to the env's secret store",
    ]);
    expect(flagged([], [plain])).toEqual([]);
  });

  it('sealed values: statuses by ciphertext, new recipients flagged, nothing of a value shown', () => {
    const sealed = (pw: string, recipients: string[]) =>
      obj('v1', 'Secret', 'root', {
        stringData: {
          user: 'ENC[AES256_GCM,data:dXNlcg==,iv:aXY=,tag:dGFn,type:str]',
          password: `ENC[AES256_GCM,data:${pw},iv:aXY=,tag:dGFn,type:str]`,
        },
        sops: { age: recipients.map((recipient) => ({ recipient, enc: 'x' })), mac: 'ENC[...]', lastmodified: 't' },
      });
    const [c] = compareBuilds([sealed('b2xk', ['age1a'])], [sealed('bmV3', ['age1a', 'age1b'])]).changes;
    expect(c!.secrets).toEqual({ password: 'changed', user: 'unchanged' });
    expect(c!.fields).toEqual([]);
    expect(c!.shown.stringData).toEqual({ user: REDACTED, password: REDACTED });
    expect(JSON.stringify(c!.shown)).not.toMatch(/b2xk|bmV3|dXNlcg/);
    expect(highlights([c!]).map((h) => h.message)).toEqual(['who can decrypt it changes: +age1b']);
    // The same values for other recipients: a change (who can read it), no value changed.
    const [d] = compareBuilds([sealed('b2xk', ['age1a'])], [sealed('b2xk', ['age1b'])]).changes;
    expect(d!.secrets).toEqual({ password: 'unchanged', user: 'unchanged' });
    expect(d!.recipients).toEqual({ added: ['age1b'], removed: ['age1a'], after: ['age1b'] });
    // Plain values: by hash, data and stringData alike.
    const plain = (v: string) => obj('v1', 'Secret', 'p', { data: { a: Buffer.from(v).toString('base64') } });
    expect(compareBuilds([plain('one')], [plain('two')]).changes[0]!.secrets).toEqual({ a: 'changed' });
    expect(compareBuilds([plain('one')], [obj('v1', 'Secret', 'p', { stringData: { a: 'one' } })]).changes).toEqual([]);
  });

  it('comparison: a generated name is one object, lists keyed by name, a new subtree is one change, the version may change', () => {
    const cm = (name: string, v: string) => obj('v1', 'ConfigMap', name, { data: { a: v } });
    const changes = compareBuilds([cm('conf-5fk4gk2kfc', '1')], [cm('conf-g78fggh944', '2')]).changes;
    expect(changes.map((c) => [c.change, c.fields.map((f) => f.path)])).toEqual([
      ['changed', ['data.a', 'metadata.name']],
    ]);
    const pod = (env: unknown[]) =>
      obj('apps/v1', 'Deployment', 'd', { spec: { template: { spec: { containers: [{ name: 'c', env }] } } } });
    const [d] = compareBuilds(
      [pod([{ name: 'A', value: '1' }])],
      [
        pod([
          { name: 'B', value: '2' },
          { name: 'A', value: '1' },
        ]),
      ],
    ).changes;
    expect(d!.fields).toEqual([
      { path: 'spec.template.spec.containers[name=c].env[name=B]', new: { name: 'B', value: '2' } },
    ]);
    const [e] = compareBuilds([pod([{ name: 'A' }, { name: 'B' }])], [pod([{ name: 'B' }, { name: 'A' }])]).changes;
    expect(e!.fields).toEqual([
      {
        path: 'spec.template.spec.containers[name=c].env (order)',
        old: ['name=A', 'name=B'],
        new: ['name=B', 'name=A'],
      },
    ]);
    const hpa = (v: string) => obj(`autoscaling/${v}`, 'HorizontalPodAutoscaler', 'h', { spec: { maxReplicas: 2 } });
    expect(compareBuilds([hpa('v1')], [hpa('v2')]).changes.map((c) => c.fields)).toEqual([
      [{ path: 'apiVersion', old: 'autoscaling/v1', new: 'autoscaling/v2' }],
    ]);
  });
});
