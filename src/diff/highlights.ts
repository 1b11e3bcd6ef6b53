// What a reviewer must not miss in a change of the built objects, each as one line:
// deletions by prune, changes the API server refuses or that force a re-create, volume
// sizes, the servers of an erasure-coded set, Pod Security levels, NetworkPolicy openings,
// RBAC and AppProject widening, who can decrypt sealed values. Pure; reads fields only,
// never prints a value of a Secret.
import { isDeepStrictEqual } from 'node:util';
import type { Obj } from '../cluster/objects.ts';
import { quantityValue } from '../options.ts';
import type { ObjectChange } from './compare.ts';

export type Category =
  | 'prune'
  | 'immutable'
  | 'volume'
  | 'servers'
  | 'pod-security'
  | 'network'
  | 'rbac'
  | 'sealed'
  | 'engine';

/** Both builds, and the engine that applies them (from clusters/<env>, else the config). */
export interface Context {
  before: Obj[];
  after: Obj[];
  engine?: 'flux' | 'argocd';
}

export interface Highlight {
  category: Category;
  object: string;
  message: string;
}

const group = (o: Obj) => (o.apiVersion?.includes('/') ? o.apiVersion.split('/')[0]! : '');
const is = (o: Obj | undefined, g: string, kind: string) => o !== undefined && o.kind === kind && group(o) === g;
const annotation = (o: Obj, name: string) => o.metadata?.annotations?.[name];
const json = (v: unknown) => JSON.stringify(v);

/** Prune is off for the object itself (Flux's and Argo CD's annotations). */
function pruneDisabled(o: Obj): boolean {
  return (
    annotation(o, 'kustomize.toolkit.fluxcd.io/prune') === 'disabled' ||
    /(^|,)\s*Prune=false\s*(,|$)/.test(annotation(o, 'argocd.argoproj.io/sync-options') ?? '')
  );
}

/** The engine deletes and re-creates the object on a change (Flux force, an Argo CD hook or Replace). */
function replacedByEngine(o: Obj, engine: Context['engine']): string | undefined {
  if (engine !== 'argocd' && annotation(o, 'kustomize.toolkit.fluxcd.io/force') === 'enabled')
    return 'Flux re-creates it (kustomize.toolkit.fluxcd.io/force)';
  if (engine !== 'flux' && annotation(o, 'argocd.argoproj.io/hook')) return 'Argo CD re-creates it (a hook)';
  if (engine !== 'flux' && /(^|,)\s*(Replace|Force)=true/.test(annotation(o, 'argocd.argoproj.io/sync-options') ?? ''))
    return 'Argo CD replaces it (sync option)';
  return undefined;
}

/** Which top-level spec fields changed. */
function changedSpecFields(a: Obj, b: Obj): string[] {
  const [x, y] = [(a.spec ?? {}) as Record<string, unknown>, (b.spec ?? {}) as Record<string, unknown>];
  return [...new Set([...Object.keys(x), ...Object.keys(y)])].filter((k) => !isDeepStrictEqual(x[k], y[k])).sort();
}

// The spec fields the API server lets an update change; every other one it refuses.
const STATEFULSET_MUTABLE = new Set([
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
  'revisionHistoryLimit',
]);
const JOB_IMMUTABLE = new Set([
  'template',
  'selector',
  'completions',
  'completionMode',
  'podFailurePolicy',
  'manualSelector',
  'backoffLimitPerIndex',
  'podReplacementPolicy',
]);
const PVC_MUTABLE = new Set(['resources', 'volumeAttributesClassName']);

/** The fields of a change the API server refuses to update in place. */
function immutableFields(a: Obj, b: Obj): string[] {
  const spec = changedSpecFields(a, b).map((f) => `spec.${f}`);
  const specOnly = (keep: (f: string) => boolean) => spec.filter((f) => keep(f.slice(5)));
  if (is(b, 'apps', 'StatefulSet')) return specOnly((f) => !STATEFULSET_MUTABLE.has(f));
  if (['Deployment', 'DaemonSet', 'ReplicaSet'].some((k) => is(b, 'apps', k))) return specOnly((f) => f === 'selector');
  if (is(b, 'batch', 'Job')) return specOnly((f) => JOB_IMMUTABLE.has(f));
  if (is(b, '', 'PersistentVolumeClaim')) {
    const other = specOnly((f) => !PVC_MUTABLE.has(f));
    const limits = !isDeepStrictEqual(a.spec?.resources?.limits, b.spec?.resources?.limits)
      ? ['spec.resources.limits']
      : [];
    return [...other, ...limits];
  }
  // A Service's cluster IP is fixed once allocated (headless, None, included).
  if (is(b, '', 'Service')) return specOnly((f) => f === 'clusterIP' || f === 'clusterIPs');
  if (is(b, '', 'Secret') && (a as { type?: unknown }).type !== (b as { type?: unknown }).type) return ['type'];
  if ((is(b, '', 'Secret') || is(b, '', 'ConfigMap')) && (a as { immutable?: boolean }).immutable === true) {
    return ['data', 'stringData', 'binaryData'].filter(
      (f) => !isDeepStrictEqual((a as Record<string, unknown>)[f], (b as Record<string, unknown>)[f]),
    );
  }
  if (is(b, 'rbac.authorization.k8s.io', 'RoleBinding') || is(b, 'rbac.authorization.k8s.io', 'ClusterRoleBinding')) {
    return isDeepStrictEqual((a as { roleRef?: unknown }).roleRef, (b as { roleRef?: unknown }).roleRef)
      ? []
      : ['roleRef'];
  }
  return [];
}

/** A Kubernetes quantity in bytes (or units), NaN when it is not one. */
export function quantity(q: unknown): number {
  return typeof q === 'string' ? quantityValue(q) : Number.NaN;
}

function sizeChange(what: string, a: unknown, b: unknown): string | undefined {
  if (a === b || a === undefined || b === undefined) return undefined;
  const [x, y] = [quantity(a), quantity(b)];
  if (y < x) return `${what} shrinks ${a} → ${b}: Kubernetes refuses to shrink a volume`;
  return `${what} grows ${a} → ${b}: its StorageClass must allow volume expansion (allowVolumeExpansion: true)`;
}

/** A MinIO server set: a StatefulSet whose pods run the MinIO server image. */
function isMinioServers(o: Obj | undefined): boolean {
  if (!is(o, 'apps', 'StatefulSet')) return false;
  const containers = (o!.spec?.template?.spec?.containers ?? []) as { image?: string; args?: unknown[] }[];
  return containers.some(
    (c) => /(^|\/)minio\/minio[:@]|(^|\/)minio:/.test(c.image ?? '') && (c.args ?? []).includes('server'),
  );
}

const PSA = /^pod-security\.kubernetes\.io\/(enforce|audit|warn)$/;
const LEVELS = ['privileged', 'baseline', 'restricted'];

function podSecurity(c: ObjectChange, a: Obj | undefined, b: Obj | undefined): Highlight[] {
  if (!is(b ?? a, '', 'Namespace')) return [];
  const la = (a?.metadata?.labels ?? {}) as Record<string, string>;
  const lb = (b?.metadata?.labels ?? {}) as Record<string, string>;
  const modes = [...new Set([...Object.keys(la), ...Object.keys(lb)].filter((k) => PSA.test(k)))].sort();
  return modes.flatMap((mode) => {
    const [x, y] = [la[mode], lb[mode]];
    if (x === y || !a || !b) return [];
    const weaker = y === undefined || LEVELS.indexOf(y) < LEVELS.indexOf(x ?? 'privileged');
    const name = mode.split('/')[1];
    return [
      {
        category: 'pod-security' as const,
        object: c.label,
        message: `Pod Security ${name} ${x ?? '(none)'} → ${y ?? '(none)'}${weaker ? ': weaker, pods may run with more privileges' : ': stricter, pods that do not meet it are refused'}`,
      },
    ];
  });
}

type Rule = Record<string, unknown>;

/** A label selector as a person writes it: `a=b, c in (d, e)`; `{}` selects everything. */
function selector(s: unknown): string {
  const sel = (s ?? {}) as {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const parts = [
    ...Object.entries(sel.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(sel.matchExpressions ?? []).map(
      (e) => `${e.key} ${e.operator.toLowerCase()}${e.values ? ` (${e.values.join(', ')})` : ''}`,
    ),
  ];
  return parts.length === 0 ? 'all' : parts.join(', ');
}
function describePeers(rule: Rule, direction: 'ingress' | 'egress'): string {
  const peers = (rule[direction === 'ingress' ? 'from' : 'to'] ?? []) as Rule[];
  const ports = (rule.ports ?? []) as Rule[];
  const who =
    peers.length === 0
      ? 'anywhere'
      : peers
          .map((p) =>
            p.ipBlock
              ? `ipBlock ${(p.ipBlock as Rule).cidr}`
              : [
                  p.namespaceSelector ? `namespaces [${selector(p.namespaceSelector)}]` : '',
                  p.podSelector ? `pods [${selector(p.podSelector)}]` : '',
                ]
                  .filter(Boolean)
                  .join(' ') || 'anywhere',
          )
          .join(', ');
  const where =
    ports.length === 0
      ? 'all ports'
      : ports.map((p) => `${p.protocol ?? 'TCP'} ${p.port ?? 'any'}${p.endPort ? `-${p.endPort}` : ''}`).join(', ');
  return `${direction === 'ingress' ? 'from' : 'to'} ${who} on ${where}`;
}

/** `In` lists of a selector's expressions, and the selector without them. */
function splitIn(sel: unknown): { rest: unknown; values: Map<string, string[]> } {
  const s = structuredClone(
    (sel ?? {}) as { matchExpressions?: { key: string; operator: string; values?: string[] }[] },
  );
  const values = new Map<string, string[]>();
  for (const e of s.matchExpressions ?? []) {
    if (e.operator === 'In') {
      values.set(e.key, e.values ?? []);
      e.values = [];
    }
  }
  return { rest: s, values };
}

/** `narrow` selects no more than `wide`: equal, or equal but for `In` lists that are subsets. */
function withinSelector(narrow: unknown, wide: unknown): boolean {
  if (isDeepStrictEqual(narrow, wide)) return true;
  const [n, w] = [splitIn(narrow), splitIn(wide)];
  return (
    isDeepStrictEqual(n.rest, w.rest) &&
    [...n.values].every(([k, v]) => v.every((x) => (w.values.get(k) ?? []).includes(x)))
  );
}

const withinPeer = (p: Rule, q: Rule) =>
  isDeepStrictEqual(Object.keys(p).sort(), Object.keys(q).sort()) &&
  Object.keys(p).every((k) =>
    k === 'namespaceSelector' || k === 'podSelector' ? withinSelector(p[k], q[k]) : isDeepStrictEqual(p[k], q[k]),
  );

/** A rule allows nothing the old rules did not: each of its peers and ports within one old rule's. */
function withinRules(rule: Rule, old: Rule[], direction: 'ingress' | 'egress'): boolean {
  const peers = (r: Rule) => (r[direction === 'ingress' ? 'from' : 'to'] ?? []) as Rule[];
  const ports = (r: Rule) => (r.ports ?? []) as Rule[];
  return old.some((o) => {
    const peersIn =
      peers(o).length === 0 ||
      (peers(rule).length > 0 && peers(rule).every((p) => peers(o).some((q) => withinPeer(p, q))));
    const portsIn =
      ports(o).length === 0 ||
      (ports(rule).length > 0 && ports(rule).every((p) => ports(o).some((q) => isDeepStrictEqual(p, q))));
    return peersIn && portsIn;
  });
}

function networkOpenings(c: ObjectChange, a: Obj | undefined, b: Obj | undefined, context: Context): Highlight[] {
  if (!is(b ?? a, 'networking.k8s.io', 'NetworkPolicy')) return [];
  const out: Highlight[] = [];
  const push = (message: string) => out.push({ category: 'network', object: c.label, message });
  if (!b) {
    // Another policy still selecting the same pods keeps them isolated: removing allows narrows.
    const types = (p: Obj) => ((p.spec?.policyTypes ?? ['Ingress']) as string[]).slice().sort();
    const still = context.after.some(
      (p) =>
        is(p, 'networking.k8s.io', 'NetworkPolicy') &&
        p.metadata?.namespace === a!.metadata?.namespace &&
        (isDeepStrictEqual(p.spec?.podSelector ?? {}, {}) ||
          isDeepStrictEqual(p.spec?.podSelector, a!.spec?.podSelector)) &&
        types(a!).every((t) => types(p).includes(t)),
    );
    if (!still)
      push(
        'removed: no other policy selects its pods for the same traffic, so they may lose isolation (all traffic allowed)',
      );
    return out;
  }
  for (const direction of ['ingress', 'egress'] as const) {
    const old = (a?.spec?.[direction] ?? []) as Rule[];
    for (const rule of (b.spec?.[direction] ?? []) as Rule[]) {
      if (
        !withinRules(rule, old, direction) &&
        !(c.change === 'added' && !(b.spec?.policyTypes ?? []).includes(direction === 'ingress' ? 'Ingress' : 'Egress'))
      )
        push(`allows ${direction} ${describePeers(rule, direction)}`);
    }
  }
  const typesA = (a?.spec?.policyTypes ?? []) as string[];
  const typesB = (b.spec?.policyTypes ?? []) as string[];
  for (const t of typesA.filter((t) => !typesB.includes(t)))
    push(`no longer restricts ${t.toLowerCase()} traffic (policyTypes lost ${t})`);
  if (
    a &&
    !isDeepStrictEqual(a.spec?.podSelector, b.spec?.podSelector) &&
    !withinSelector(b.spec?.podSelector, a.spec?.podSelector)
  )
    push(`applies to other pods now: [${selector(a.spec?.podSelector)}] → [${selector(b.spec?.podSelector)}]`);
  return out;
}

const newEntries = (a: unknown, b: unknown) =>
  ((Array.isArray(b) ? b : []) as unknown[]).filter(
    (x) => !((Array.isArray(a) ? a : []) as unknown[]).some((y) => isDeepStrictEqual(x, y)),
  );

/** Every request `rule` allows, `wide` allows too (a `*` allows all; no resourceNames, every name). */
function coversRule(wide: Rule, rule: Rule): boolean {
  const list = (r: Rule, k: string) => (r[k] ?? []) as string[];
  const within = (k: string) => list(wide, k).includes('*') || list(rule, k).every((x) => list(wide, k).includes(x));
  const names =
    list(wide, 'resourceNames').length === 0 || (list(rule, 'resourceNames').length > 0 && within('resourceNames'));
  return within('verbs') && within('apiGroups') && within('resources') && within('nonResourceURLs') && names;
}

function rbacWidening(c: ObjectChange, a: Obj | undefined, b: Obj | undefined): Highlight[] {
  if (!b) return [];
  const push = (message: string): Highlight => ({ category: 'rbac', object: c.label, message });
  const g = 'rbac.authorization.k8s.io';
  if (is(b, g, 'Role') || is(b, g, 'ClusterRole')) {
    const old = ((a as { rules?: unknown })?.rules ?? []) as Rule[];
    const granted = newEntries(old, (b as { rules?: unknown }).rules).filter(
      (r) => !old.some((o) => coversRule(o, r as Rule)),
    );
    return granted.map((r) => {
      const rule = r as Rule;
      const list = (k: string) => ((rule[k] ?? []) as string[]).join(',');
      const wild = ['verbs', 'resources', 'apiGroups'].some((k) => ((rule[k] ?? []) as string[]).includes('*'));
      return push(
        `grants ${list('verbs')} on ${list('resources') || list('nonResourceURLs')}${rule.resourceNames ? ` (${list('resourceNames')})` : ''}${list('apiGroups') ? ` in API groups ${list('apiGroups')}` : ''}${wild ? ': a wildcard' : ''}`,
      );
    });
  }
  if (is(b, g, 'RoleBinding') || is(b, g, 'ClusterRoleBinding')) {
    const subjects = newEntries((a as { subjects?: unknown })?.subjects, (b as { subjects?: unknown }).subjects).map(
      (s) =>
        push(
          `binds ${(b as { roleRef?: Rule }).roleRef?.name} to ${(s as Rule).kind} ${(s as Rule).namespace ? `${(s as Rule).namespace}/` : ''}${(s as Rule).name}`,
        ),
    );
    return subjects;
  }
  if (is(b, 'argoproj.io', 'AppProject')) {
    const widen = [
      'sourceRepos',
      'destinations',
      'clusterResourceWhitelist',
      'namespaceResourceWhitelist',
      'sourceNamespaces',
      'roles',
    ].flatMap((f) => newEntries(a?.spec?.[f], b.spec?.[f]).map((x) => push(`${f} gains ${json(x)}`)));
    const unblock = ['clusterResourceBlacklist', 'namespaceResourceBlacklist'].flatMap((f) =>
      newEntries(b.spec?.[f], a?.spec?.[f]).map((x) => push(`${f} loses ${json(x)}`)),
    );
    return [...widen, ...unblock];
  }
  return [];
}

/**
 * A claim the repository starts to hold that a StatefulSet made from its claim template
 * (`<template>-<statefulset>-<ordinal>`): it exists in the cluster already, and the engine
 * patches it. Returns the StatefulSet and the template's size.
 */
function claimOfStatefulSet(claim: Obj, objects: Obj[]): { sts: Obj; size: unknown } | undefined {
  for (const sts of objects.filter(
    (o) => is(o, 'apps', 'StatefulSet') && o.metadata?.namespace === claim.metadata?.namespace,
  )) {
    for (const t of (sts.spec?.volumeClaimTemplates ?? []) as Obj[]) {
      const prefix = `${t.metadata?.name}-${sts.metadata?.name}-`;
      const name = claim.metadata?.name ?? '';
      if (name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length)))
        return { sts, size: t.spec?.resources?.requests?.storage };
    }
  }
  return undefined;
}

function forChange(c: ObjectChange, context: Context): Highlight[] {
  const { before: a, after: b } = c;
  const out: Highlight[] = [];
  const push = (category: Category, message: string) => out.push({ category, object: c.label, message });
  if (c.change === 'removed') {
    if (pruneDisabled(a!))
      push(
        'prune',
        'removed from the repository but left in the cluster (prune is disabled for it): delete it by hand once it is not needed',
      );
    else
      push(
        'prune',
        `deleted from the cluster by the engine's prune${is(a, '', 'PersistentVolumeClaim') || is(a, '', 'Namespace') ? ', and its data with it' : ''}`,
      );
  }
  if (c.change === 'changed') {
    const fields = immutableFields(a!, b!);
    if (fields.length > 0) {
      const replaced = replacedByEngine(b!, context.engine);
      const what = fields.join(', ');
      if (replaced)
        push(
          'immutable',
          `${what} change${fields.length > 1 ? '' : 's'}, which cannot be updated in place: ${replaced}`,
        );
      else if (is(b, 'apps', 'StatefulSet'))
        push(
          'immutable',
          `${what} change${fields.length > 1 ? '' : 's'}, which the API server refuses to update: the sync fails until the StatefulSet is deleted with --cascade=orphan (its pods and claims stay) and re-created; the claims do not follow a new claim template`,
        );
      else
        push(
          'immutable',
          `${what} change${fields.length > 1 ? '' : 's'}, which the API server refuses to update: the sync fails until the object is deleted and re-created`,
        );
    }
    if (is(b, '', 'PersistentVolumeClaim')) {
      const m = sizeChange('the volume', a!.spec?.resources?.requests?.storage, b!.spec?.resources?.requests?.storage);
      if (m) push('volume', m);
    }
    if (is(b, 'apps', 'StatefulSet')) {
      for (const t of (b!.spec?.volumeClaimTemplates ?? []) as Obj[]) {
        const old = ((a!.spec?.volumeClaimTemplates ?? []) as Obj[]).find((x) => x.metadata?.name === t.metadata?.name);
        const m =
          old &&
          sizeChange(
            `claim template ${t.metadata?.name}`,
            old.spec?.resources?.requests?.storage,
            t.spec?.resources?.requests?.storage,
          );
        if (m) push('volume', m);
      }
    }
    if (isMinioServers(b) && isMinioServers(a) && a!.spec?.replicas !== b!.spec?.replicas) {
      push(
        'servers',
        `the servers of an erasure-coded set change (${a!.spec?.replicas ?? 1} → ${b!.spec?.replicas ?? 1}): MinIO refuses to start on a changed set; add capacity as a new server pool (--pools)`,
      );
    }
  }
  if (c.change === 'added' && is(b, '', 'PersistentVolumeClaim')) {
    const owner = claimOfStatefulSet(b!, context.after);
    const size = b!.spec?.resources?.requests?.storage;
    if (owner)
      push(
        'volume',
        `the claim of ${owner.sts.kind} ${owner.sts.metadata?.namespace}/${owner.sts.metadata?.name} exists in the cluster already: the engine sets its request to ${size}${owner.size !== size ? ` (its template asks ${owner.size})` : ''}; a larger size grows it if its StorageClass allows volume expansion, a smaller one is refused`,
      );
  }
  // A new pool beside running servers (a first deployment has none to restart).
  if (c.change === 'added' && isMinioServers(b) && context.before.some(isMinioServers))
    push(
      'servers',
      `a new set of ${b!.spec?.replicas ?? 1} MinIO servers (a server pool): every server restarts with the new MINIO_VOLUMES`,
    );
  if (c.change === 'removed' && isMinioServers(a))
    push(
      'servers',
      'a set of MinIO servers (a server pool) goes: its data is lost unless it was decommissioned first (mc admin decommission)',
    );
  out.push(
    ...podSecurity(c, a, b),
    ...networkOpenings(c, a, b, context),
    ...rbacWidening(c, a, b),
    ...engineChanges(c, a, b),
    ...plainValues(c, a, b, context),
  );
  if (c.recipients && (c.recipients.added.length > 0 || c.recipients.removed.length > 0) && a && b) {
    push(
      'sealed',
      `who can decrypt it changes: ${[...c.recipients.added.map((r) => `+${r}`), ...c.recipients.removed.map((r) => `-${r}`)].join(' ')}`,
    );
  }
  return out;
}

/** What the engine builds and from where: a change here changes what every later sync applies. */
const ENGINE_FIELDS: [string, string, string[][]][] = [
  [
    'kustomize.toolkit.fluxcd.io',
    'Kustomization',
    [
      ['spec', 'path'],
      ['spec', 'sourceRef'],
      ['spec', 'prune'],
      ['spec', 'targetNamespace'],
      ['spec', 'decryption'],
      ['spec', 'suspend'],
    ],
  ],
  [
    'source.toolkit.fluxcd.io',
    'GitRepository',
    [
      ['spec', 'url'],
      ['spec', 'ref'],
      ['spec', 'ignore'],
      ['spec', 'include'],
    ],
  ],
  [
    'argoproj.io',
    'Application',
    [
      ['spec', 'source'],
      ['spec', 'sources'],
      ['spec', 'project'],
      ['spec', 'destination'],
      ['spec', 'syncPolicy'],
    ],
  ],
  [
    'argoproj.io',
    'ApplicationSet',
    [
      ['spec', 'template'],
      ['spec', 'generators'],
    ],
  ],
];

function engineChanges(c: ObjectChange, a: Obj | undefined, b: Obj | undefined): Highlight[] {
  if (c.change !== 'changed') return [];
  const entry = ENGINE_FIELDS.find(([g, k]) => is(b, g, k));
  if (!entry) return [];
  const at = (o: Obj, path: string[]) =>
    path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], o);
  return entry[2]
    .filter((path) => !isDeepStrictEqual(at(a!, path), at(b!, path)))
    .map((path) => ({
      category: 'engine' as const,
      object: c.label,
      message: `${path.join('.')} changes (${json(at(a!, path)) ?? '(none)'} → ${json(at(b!, path)) ?? '(none)'}): the engine builds, syncs or prunes differently from the next sync on`,
    }));
}

/** A Secret whose values lie in the repository in plain text while the env's other Secrets are sealed. */
function plainValues(c: ObjectChange, a: Obj | undefined, b: Obj | undefined, context: Context): Highlight[] {
  if (!is(b, '', 'Secret') || b!.sops || c.change === 'removed') return [];
  const hasValues =
    Object.keys((b as { data?: object }).data ?? {}).length +
      Object.keys((b as { stringData?: object }).stringData ?? {}).length >
    0;
  const sealedEnv = context.after.some((o) => o.sops);
  if (
    !hasValues ||
    !sealedEnv ||
    (a && !a.sops && isDeepStrictEqual(a.data, b!.data) && isDeepStrictEqual(a.stringData, b!.stringData))
  )
    return [];
  return [
    {
      category: 'sealed',
      object: c.label,
      message:
        "holds its values in plain text in the repository, while the env seals its other Secrets: seal it (sops), or move it to the env's secret store",
    },
  ];
}

/** The highlights of a comparison, in the order of its changes. */
export function highlights(changes: ObjectChange[], context: Context = { before: [], after: [] }): Highlight[] {
  return changes.flatMap((c) => forChange(c, context));
}
