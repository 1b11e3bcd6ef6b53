// Day-2 changes: what a run may change in an env that already exists, compared with what
// the last run rendered (the record keeps it, see Layout). MinIO and Kubernetes allow
// growth in two ways only: a new server pool (MinIO never re-stripes a pool over more
// servers: its drives would not be found and the servers would wait for a quorum forever),
// and larger volumes (a claim can grow, never shrink, and a StatefulSet's claim template
// cannot change). Changes that point the servers at new, empty volumes (another namespace,
// storage kind, class, node directory, standalone <-> erasure coded) leave the data behind:
// refused unless the person says so. Pure: layouts in, notes out (or a refusal).
import { fail } from './errors.ts';
import { readUntrusted } from './yaml-lib.ts';
import { quantityValue, type EnvSettings } from './options.ts';
import { DATA_CLAIM, poolStatefulSet } from './render/names.ts';

/** What an env's data lives on, as the record keeps it per env. */
export interface Layout {
  namespace: string;
  storage: 'hostpath' | 'pvc';
  /** hostpath only. */
  hostPath?: string;
  storageClass: string;
  /** Every pool, the first first: a standalone env has one pool of 1 server. */
  pools: { servers: number; size: string; claimSize: string }[];
  /** The hash of the env's patches of the servers the last run rendered (render/overlay.ts), if known. */
  config?: string;
  /** The hash of the base's pod template it was rendered with (render/workload.ts), if known. */
  base?: string;
  /** Pools removed from the end, by StatefulSet: their claims stay in the cluster, with this size. */
  removed?: Record<string, { servers: number; size: string }>;
  /** With a KMS: where its key comes from (the secrets mode). What it encrypted needs that very key. */
  kms?: 'plain' | 'sops' | 'external';
}

const OPERATIONS = 'docs/operations.md';

/** A single server (one pool of 1), not erasure coded. */
export const isStandalone = (l: Layout) => l.pools[0]!.servers === 1;
const serverCount = (l: Layout) => l.pools.reduce((n, p) => n + p.servers, 0);

/** The base's pod template hash a layout's servers get (the Deployment's or the StatefulSet's). */
export const baseOf = (l: Layout, bases: { standalone: string; distributed: string }) =>
  bases[isStandalone(l) ? 'standalone' : 'distributed'];

/**
 * The layout an env was last rendered with: its rendered files (what runs), with what only
 * the record knows (removed pools, hashes); else the record; else, for an env rendered
 * before the record kept layouts whose files were edited, its config before the run.
 */
export function lastLayout(
  recorded: Layout | undefined,
  fromFiles: Layout | undefined,
  fromConfig: () => Layout | undefined,
): Layout | undefined {
  if (fromFiles) return { ...recorded, ...fromFiles };
  return recorded ?? fromConfig();
}

/** The layout of `s`; an existing pool keeps the claim size it was made with. */
export function layoutOf(s: EnvSettings, before?: Layout): Layout {
  const same =
    before &&
    before.storage === s.storage &&
    before.namespace === s.namespace &&
    before.storageClass === s.storageClass;
  // What was removed from the end before, and what this change removes: their claims stay.
  const removed: Record<string, { servers: number; size: string }> = same ? { ...before.removed } : {};
  if (same)
    for (const [i, p] of before.pools.entries())
      if (i >= 1 + s.pools.length) removed[poolStatefulSet(i)] = { servers: p.servers, size: p.size };
  const pools = [{ servers: s.replicas, size: s.size }, ...s.pools].map((p, i) => {
    const old = before?.pools[i];
    // A claim template cannot shrink or grow: the pool keeps the one it was made with.
    if (same && old && old.servers === p.servers && s.storage === 'pvc')
      return { servers: p.servers, size: p.size, claimSize: old.claimSize };
    // A pool added again where one was removed: its StatefulSet finds that pool's claims (if
    // they were not deleted), of their size; a larger size is applied to them as growth.
    const left = removed[poolStatefulSet(i)];
    delete removed[poolStatefulSet(i)];
    return {
      servers: p.servers,
      size: p.size,
      claimSize: left && quantityValue(left.size) < quantityValue(p.size) ? left.size : p.size,
    };
  });
  return {
    namespace: s.namespace,
    storage: s.storage,
    ...(s.storage === 'hostpath' ? { hostPath: s.hostPath } : {}),
    storageClass: s.storageClass,
    pools,
    ...(Object.keys(removed).length > 0 ? { removed } : {}),
    ...(s.kms === 'static' ? { kms: s.secrets } : {}),
  };
}

/**
 * The KMS key cannot change once the env has one: every object it encrypted, and the MinIO
 * users made while it was on (MinIO encrypts its IAM data with it), need that key. Turning
 * the KMS off or taking the key from elsewhere (another secrets mode) is refused unless
 * the person says the data may be lost, or has moved the key there (--leave-data-behind).
 */
function kmsNotes(env: string, before: Layout, after: Layout, leaveDataBehind: boolean): string[] {
  if (!before.kms || before.kms === after.kms) return [];
  const change = after.kms
    ? `--secrets ${after.kms} takes the KMS key from ${after.kms === 'sops' ? 'a new sealed file' : after.kms === 'external' ? 'the external store' : 'the fixed dev Secret'} instead of ${before.kms === 'sops' ? `sealed/${env}/minio-kms-key.yaml` : before.kms === 'external' ? 'the external store' : 'the fixed dev Secret'}`
    : '--kms none turns encryption at rest off';
  const lost = 'every object the key encrypted, and every MinIO user made since, would be unreadable';
  if (!leaveDataBehind) {
    fail(
      `env ${env}: ${change}, and without the same key ${lost}; keep it, or move the data to a new env first (mc mirror: docs/hardening.md, Encryption at rest), or, once the same key is in place (or the data may go), re-run with --leave-data-behind`,
    );
  }
  const history =
    before.kms === 'sops'
      ? `; the key stays in git history (git log -p sealed/${env}/minio-kms-key.yaml): restore that file before turning the KMS on again`
      : '';
  return [`env ${env}: ${change}; without the same key ${lost} (--leave-data-behind)${history}`];
}

/**
 * The layout an env was last rendered with, read back from its own rendered files (those
 * the record says the tool wrote, unedited): what was rendered is what runs, while the
 * config (and the record, untrusted input too) may have been edited since. `text` gives a
 * recorded file's content, or null; undefined when the files do not tell.
 */
export function layoutFromFiles(env: string, text: (path: string) => string | null): Layout | undefined {
  const dir = `overlays/${env}/minio`;
  const parse = (name: string) => {
    const t = text(`${dir}/${name}`);
    if (t === null) return undefined;
    try {
      // biome-ignore lint/suspicious/noExplicitAny: a generated file of any kind, read field by field
      return readUntrusted(t, name, '') as any;
    } catch {
      return undefined;
    }
  };
  const namespace = parse('kustomization.yaml')?.namespace;
  const server = parse('patch-server.yaml')?.spec?.template?.spec?.containers?.[0]?.env as
    | { name: string; value?: string }[]
    | undefined;
  const volumes = server?.find((e) => e.name === 'MINIO_VOLUMES')?.value;
  const storage = parse('patch-storage.yaml');
  if (typeof namespace !== 'string' || typeof volumes !== 'string' || !storage) return undefined;
  if (volumes === '/data') {
    const source = (storage.spec?.template?.spec?.volumes ?? [])[0] ?? {};
    if (source.hostPath?.path)
      return {
        namespace,
        storage: 'hostpath',
        hostPath: String(source.hostPath.path),
        storageClass: '',
        pools: [{ servers: 1, size: '0', claimSize: '0' }],
      };
    const claim = parse('persistentvolumeclaim.yaml')?.spec;
    const size = claim?.resources?.requests?.storage;
    return typeof size === 'string'
      ? {
          namespace,
          storage: 'pvc',
          storageClass: claim.storageClassName ?? '',
          pools: [{ servers: 1, size, claimSize: size }],
        }
      : undefined;
  }
  // Each pool: its servers from MINIO_VOLUMES, its claim template from its own patch, a
  // larger size from the claims rendered for it.
  const pools = volumes.split(' ').map((v, i) => {
    const servers = /^https?:\/\/([a-z0-9-]+)-\{0\.\.\.(\d+)\}\./.exec(v);
    const template = (i === 0 ? storage : parse(`pool-${i + 1}/patch-pool.yaml`))?.spec?.volumeClaimTemplates?.[0]
      ?.spec;
    const claimSize = template?.resources?.requests?.storage;
    if (!servers || servers[1] !== poolStatefulSet(i) || typeof claimSize !== 'string') return undefined;
    const grown = /^\s+storage: (\S+)$/m.exec(text(`${dir}/persistentvolumeclaims-${servers[1]}.yaml`) ?? '')?.[1];
    return {
      servers: Number(servers[2]) + 1,
      size: grown ?? claimSize,
      claimSize,
      storageClass: template.storageClassName ?? '',
    };
  });
  if (pools.some((p) => p === undefined)) return undefined;
  return {
    namespace,
    storage: 'pvc',
    storageClass: pools[0]!.storageClass,
    pools: pools.map((p) => ({ servers: p!.servers, size: p!.size, claimSize: p!.claimSize })),
  };
}

const range = (n: number) => (n === 1 ? '0' : `{0..${n - 1}}`);

/** Where an env's data is, for a person: the claims, or the node directory. */
function dataOf(l: Layout): string {
  if (l.storage === 'hostpath') return `the node directory ${l.hostPath} (hostPath)`;
  if (isStandalone(l)) return `the claim ${DATA_CLAIM} (${l.pools[0]!.size}) in namespace ${l.namespace}`;
  const claims = l.pools.map((p, i) => `data-${poolStatefulSet(i)}-${range(p.servers)}`).join(', ');
  return `the ${serverCount(l)} claims ${claims} in namespace ${l.namespace}`;
}

const kind = (l: Layout) =>
  isStandalone(l) ? `a single server on ${l.storage}` : `${serverCount(l)} erasure-coded servers`;

/** The changes that point the servers at other volumes than the ones holding the data. */
function strandingChanges(before: Layout, after: Layout): string[] {
  const changes: string[] = [];
  if (before.namespace !== after.namespace) changes.push(`namespace ${before.namespace} -> ${after.namespace}`);
  if (before.storage !== after.storage) changes.push(`storage ${before.storage} -> ${after.storage}`);
  else if (before.storage === 'hostpath' && before.hostPath !== after.hostPath)
    changes.push(`hostPath ${before.hostPath} -> ${after.hostPath}`);
  if (isStandalone(before) !== isStandalone(after)) changes.push(`${kind(before)} -> ${kind(after)}`);
  return changes;
}

/**
 * What the change from `before` (the last run's layout, undefined for a new env) to
 * `after` does, as notes for the summary; a change MinIO or Kubernetes cannot make fails
 * with the way to do it instead.
 */
export function day2Notes(
  env: string,
  before: Layout | undefined,
  after: Layout,
  leaveDataBehind: boolean,
  catalogClaims: string[] = [],
): string[] {
  if (!before) return [];
  const notes: string[] = [];
  // A claim keeps the class it was made with: the API server refuses the change (a
  // StatefulSet's claim template, a claim object), with or without the data behind.
  const claims = [
    ...(before.storage === 'pvc' && after.storage === 'pvc' && before.namespace === after.namespace
      ? [dataOf(before)]
      : []),
    ...catalogClaims.map((c) => `the catalog claim ${c}`),
  ];
  if (before.storageClass !== after.storageClass && claims.length > 0) {
    fail(
      `env ${env}: storageClass ${before.storageClass || '(default)'} -> ${after.storageClass || '(default)'} cannot apply to ${claims.join(' and ')}: a claim keeps the class it was made with (Kubernetes refuses the change); keep ${before.storageClass ? before.storageClass : 'the default (storageClass "")'}, or move the data to a new env with the new class (${OPERATIONS}, Changing the layout)`,
    );
  }
  notes.push(...kmsNotes(env, before, after, leaveDataBehind));
  const stranding = strandingChanges(before, after);
  if (stranding.length > 0) {
    if (!leaveDataBehind) {
      fail(
        `env ${env}: ${stranding.join(', ')} points the servers at new, empty volumes and leaves the data in ${dataOf(before)} behind; copy it first (a second env with the new layout, mc mirror, then switch: ${OPERATIONS}, Changing the layout), or re-run with --leave-data-behind if it may stay there`,
      );
    }
    notes.push(
      `env ${env}: ${stranding.join(', ')}: the servers start on new, empty volumes; the data stays in ${dataOf(before)} (not deleted; copy it with mc mirror, ${OPERATIONS})`,
    );
    return notes;
  }
  const erasureCoded = !isStandalone(before);
  for (const [i, old] of before.pools.entries()) {
    const now = after.pools[i];
    const name = erasureCoded ? `pool ${i + 1} (StatefulSet ${poolStatefulSet(i)})` : `the server's volume`;
    if (!now) {
      const gone = before.pools
        .slice(i)
        .map((_, j) => `pool ${i + j + 1}`)
        .join(', ');
      if (!leaveDataBehind) {
        fail(
          `env ${env}: removing ${gone} would take its servers and their data away; decommission it first (mc admin decommission start, until mc admin decommission status says Complete: ${OPERATIONS}, Removing a pool), then re-run with --leave-data-behind`,
        );
      }
      notes.push(
        `env ${env}: ${gone} removed (StatefulSet${i + 1 < before.pools.length ? 's' : ''} ${before.pools
          .slice(i)
          .map((_, j) => poolStatefulSet(i + j))
          .join(', ')}); its claims stay until you delete them (${OPERATIONS}, Removing a pool)`,
      );
      break;
    }
    if (now.servers !== old.servers) {
      if (now.servers < old.servers) {
        fail(
          `env ${env}: ${name} has ${old.servers} servers holding data, and a pool never loses servers (MinIO would not find its drives and never start); keep ${old.servers}, or move the data to a new env (${OPERATIONS}, Changing the layout)`,
        );
      }
      const pools = [...after.pools.slice(0, i), old, ...after.pools.slice(i + 1)].map((p) => `${p.servers}x${p.size}`);
      fail(
        `env ${env}: ${name} has ${old.servers} servers holding data, and MinIO cannot spread a pool over ${now.servers} (the servers would not find their drives and never start); add the capacity as a new pool instead: --pools ${[...pools, `${Math.max(4, now.servers - old.servers)}x${now.size}`].join(',')} (${OPERATIONS}, Adding a pool)`,
      );
    }
    if (before.storage === 'hostpath') continue; // the node's directory has no size here
    if (quantityValue(now.size) < quantityValue(old.size)) {
      fail(
        `env ${env}: ${name}'s volumes are ${old.size} and cannot shrink to ${now.size} (Kubernetes never shrinks a claim); keep ${old.size} or more, or move the data to a new env (${OPERATIONS}, Changing the layout)`,
      );
    }
    if (before.storage === 'pvc' && quantityValue(now.size) > quantityValue(old.size)) {
      const claims = erasureCoded
        ? `its ${now.servers} claims data-${poolStatefulSet(i)}-${range(now.servers)}`
        : `the claim ${DATA_CLAIM}`;
      notes.push(
        `env ${env}: ${name} grows ${old.size} -> ${now.size}: the engine patches ${claims} and the storage driver expands the volumes, if the StorageClass allows it (allowVolumeExpansion: true; otherwise the claims are refused: ${OPERATIONS}, Growing volumes)`,
      );
    }
  }
  for (const [i, p] of after.pools.entries()) {
    if (i < before.pools.length) continue;
    const left = before.removed?.[poolStatefulSet(i)];
    // Its StatefulSet would mount that pool's claims, formatted for its old server count.
    if (left && left.servers !== p.servers && !leaveDataBehind) {
      fail(
        `env ${env}: pool ${i + 1} was removed with ${left.servers} servers, and its claims data-${poolStatefulSet(i)}-${range(left.servers)} (its formatted drives) may still be there for a new pool ${i + 1} of ${p.servers} to mount, which MinIO would not start from; add it with ${left.servers} servers, or delete those claims first and re-run with --leave-data-behind`,
      );
    }
    const reused =
      left && left.servers === p.servers
        ? `; it finds the claims data-${poolStatefulSet(i)}-${range(left.servers)} of the pool removed before, if they are still there (${left.size} each${quantityValue(p.size) > quantityValue(left.size) ? `, grown to ${p.size}` : ''}; delete them first for new ones)`
        : '';
    notes.push(
      `env ${env}: new pool ${i + 1} of ${p.servers} servers (StatefulSet ${poolStatefulSet(i)}, ${p.servers} x ${p.size}); the existing data stays in its pools, new objects go mostly to the pool with the most free space${reused}`,
    );
  }
  return notes;
}

/** The summary line of a change to the servers' configuration (their pods restart). */
export function restartNote(env: string, before: Layout | undefined, after: Layout): string[] {
  if (!before) return [];
  const changed = before.config !== after.config || (before.base !== undefined && before.base !== after.base);
  if (!changed) return [];
  const why = before.config ? 'their configuration changed' : 'this version of the tool labels their configuration';
  return [serversRestart(env, after, why)];
}

/** The other envs' servers, which a change of the shared base restarts too (their restarters, with their next sync). */
export function sharedBaseNotes(
  env: string,
  layouts: Record<string, Layout>,
  base: { standalone: string; distributed: string },
): string[] {
  return Object.entries(layouts)
    .filter(([name, l]) => name !== env && l.base !== undefined && l.base !== baseOf(l, base))
    .map(([name, l]) =>
      serversRestart(name, l, `base/ changes for every env; merge this before env ${name}'s next change`),
    );
}

function serversRestart(env: string, l: Layout, why: string): string {
  if (isStandalone(l)) return `env ${env}: the server restarts (${why})`;
  return `env ${env}: all ${serverCount(l)} servers restart together (${why}; MinIO's servers start only with peers of the same configuration): a short outage once the engine syncs`;
}
