// Enforced spreading of an erasure-coded env's servers (src/render/spread.ts), proven with
// the real kube-scheduler of test/controlplane.ts (etcd, kube-apiserver, controller manager,
// scheduler, kwok nodes). Each case scaffolds a prod-profile env with two pools of 4 servers
// (`--pools 4x8Gi,4x8Gi`) in its own namespace, builds overlays/prod/minio with the pinned
// kustomize and creates what the servers' pods need from that build as it is: the
// Namespace, the ServiceAccount and both StatefulSets. The StatefulSet controller makes
// the pods and claims, the scheduler places them (pod.spec.nodeName) or marks them
// Unschedulable (its PodScheduled condition, in the pod's status, written by it), kwok's
// provisioner stage makes the volumes. The nodes are the case's own (created here as each
// kubelet registers itself, kwok keeps their status, deleted after the case), so each case
// controls how many nodes, and which zones, the scheduler sees.
//
// - host (the default) on 4 nodes: every pool one server per node;
// - host on 3 nodes: each pool 3 servers on 3 nodes, the fourth Pending (Unschedulable,
//   for the spread constraint); a selector spanning both pools would schedule 3 in all;
// - none on 3 nodes: all 8 scheduled (the preferred anti-affinity only);
// - zone on 3 nodes in zone a and 1 in zone b: each pool 2 + 1, the fourth Pending; a second
//   node in zone b takes it (2 + 2). The same nodes with host take all 4 of each pool.
// And the setting itself: recorded for erasure-coded envs only, the default for a config
// written before it, part of the servers' configuration hash (a change restarts them).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import YAML from 'yaml';
import { fileControlPlane, statusWriters, until, type ControlPlane } from './controlplane.ts';
import { run, snapshot } from './run.ts';
import { build, type Obj } from './scaffolded.ts';
import { needTool, tempDir } from './tools.ts';

const MANAGER = 'spread-test';
const ZONE = 'topology.kubernetes.io/zone';
const POOL = 'minio-gitops.io/pool';
/** A node's resources: each server's requests fit 8 times over (kwok's default has no ephemeral-storage). */
const NODE_CAPACITY = { cpu: '32', memory: '128Gi', pods: '110', 'ephemeral-storage': '100Gi' };
const SERVERS = 'app.kubernetes.io/name=minio,app.kubernetes.io/instance=minio,app.kubernetes.io/component=server';

const needCluster = fileControlPlane({
  prefix: 'minio-gitops-spread-',
  crdFiles: () => [], // only built-in kinds are created
  nodes: 0, // each case brings its own
  need: (ctx) => void needTool(ctx, 'kustomize'),
});

/** The servers' part of a real scaffold and build: Namespace, ServiceAccount, StatefulSets. */
function servers(ctx: { skip: (note?: string) => void }, namespace: string, ...flags: string[]): Obj[] {
  const out = tempDir('minio-gitops-spread-env-');
  // External credentials: nothing to decrypt, and the servers' pods need none of it to be placed.
  const r = run([
    '--env',
    'prod',
    '--namespace',
    namespace,
    '--secrets',
    'external',
    '--pools',
    '4x8Gi,4x8Gi',
    ...flags,
    '--no-commit',
    '--out',
    out,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const objs = build(ctx, out, 'overlays/prod/minio');
  const wanted = objs.filter(
    (o) =>
      o.kind === 'Namespace' ||
      (o.kind === 'ServiceAccount' && o.metadata.name === 'minio') ||
      o.kind === 'StatefulSet',
  );
  expect(wanted.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
    `Namespace/${namespace}`,
    'ServiceAccount/minio',
    'StatefulSet/minio',
    'StatefulSet/minio-pool-2',
  ]);
  return wanted;
}

/** Nodes as kubelets register them (kwok's annotation: kwok keeps them Ready), gone when the test ends. */
async function addNodes(cp: ControlPlane, nodes: { name: string; zone?: string }[]): Promise<void> {
  const core = cp.kc.makeApiClient(k8s.CoreV1Api);
  for (const { name, zone } of nodes) {
    await core.createNode({
      fieldManager: MANAGER,
      body: {
        metadata: {
          name,
          annotations: { 'kwok.x-k8s.io/node': 'fake' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            type: 'kwok',
            ...(zone ? { [ZONE]: zone } : {}),
          },
        },
        // What a kubelet reports (kwok keeps it): room for every server, local scratch space included.
        status: { capacity: NODE_CAPACITY, allocatable: NODE_CAPACITY },
      },
    });
    onTestFinished(async () => {
      await core.deleteNode({ name }).catch(() => undefined);
    });
  }
  // Ready, and without the not-ready taint the API server gives a new node (else the
  // scheduler, and the spread constraints with nodeTaintsPolicy Honor, would skip it).
  const names = nodes.map((n) => n.name);
  await until(
    `nodes ${names.join(', ')} Ready and untainted`,
    60,
    async () => {
      const live = (await core.listNode()).items.filter((n) => names.includes(n.metadata!.name!));
      const ready = live.filter(
        (n) =>
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
          !(n.spec?.taints ?? []).length,
      );
      return ready.length === names.length ? true : undefined;
    },
    async () =>
      JSON.stringify(
        (await core.listNode()).items.map((n) => [
          n.metadata!.name,
          n.spec?.taints,
          n.status?.conditions?.find((c) => c.type === 'Ready')?.status,
        ]),
      ),
  );
}

/** Creates the objects as a person (or an engine) would; the namespace goes when the test ends. */
async function create(cp: ControlPlane, objs: Obj[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(cp.kc);
  for (const o of objs) await api.create(o as k8s.KubernetesObject, undefined, undefined, MANAGER);
  const ns = objs.find((o) => o.kind === 'Namespace')!.metadata.name;
  onTestFinished(async () => {
    await cp.kc
      .makeApiClient(k8s.CoreV1Api)
      .deleteNamespace({ name: ns })
      .catch(() => undefined);
  });
}

type Placed = { name: string; pool: string; node?: string; unschedulable?: string; pod: k8s.V1Pod };

const unschedulable = (p: k8s.V1Pod) =>
  p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');

/**
 * The servers of `namespace` once all 8 exist and each is either bound to a node or marked
 * Unschedulable by the scheduler, with `scheduled` of them bound; or, when another count
 * holds for 10 s with every server so settled, that state (for the assertions to name).
 */
async function settled(cp: ControlPlane, namespace: string, scheduled: number): Promise<Placed[]> {
  const core = cp.kc.makeApiClient(k8s.CoreV1Api);
  const list = async (): Promise<Placed[]> =>
    (await core.listNamespacedPod({ namespace, labelSelector: SERVERS })).items
      .map((pod) => ({
        name: pod.metadata!.name!,
        pool: pod.metadata!.labels?.[POOL] ?? '1',
        node: pod.spec!.nodeName,
        unschedulable: unschedulable(pod)?.message,
        pod,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  let last: Placed[] = [];
  let since: { state: string; at: number } | undefined;
  return until(
    `8 servers in ${namespace}, ${scheduled} scheduled and the rest Unschedulable`,
    90,
    async () => {
      last = await list();
      if (last.length !== 8 || !last.every((p) => p.node || p.unschedulable)) return (since = undefined);
      if (last.filter((p) => p.node).length === scheduled) return last;
      const state = JSON.stringify(last.map((p) => p.node ?? ''));
      if (since?.state !== state) since = { state, at: Date.now() };
      return Date.now() - since.at > 10_000 ? last : undefined;
    },
    async () =>
      `${JSON.stringify(last.map(({ name, node, unschedulable }) => ({ name, node, unschedulable })))}\n${cp.logs().slice(-3000)}`,
  );
}

/** Pool -> its servers' nodes (undefined: not scheduled). */
const byPool = (pods: Placed[]) =>
  Object.fromEntries(['1', '2'].map((pool) => [pool, pods.filter((p) => p.pool === pool).map((p) => p.node)]));
const distinct = (nodes: (string | undefined)[]) => new Set(nodes.filter(Boolean)).size;

/** A Pending server as the scheduler left it: Unschedulable for the spread constraint, in a status only the scheduler wrote. */
function expectHeldBySpread(p: Placed, nodes: number) {
  expect(p.node, p.name).toBeUndefined();
  expect(p.unschedulable, p.name).toMatch(
    new RegExp(
      `^0/${nodes} nodes are available: .*\\b${nodes} node\\(s\\) didn't match pod topology spread constraints`,
    ),
  );
  expect(statusWriters(p.pod).status, `${p.name}: who wrote its status`).toEqual(['kube-scheduler']);
}

/** Still Pending a few seconds later (the scheduler retries on cluster events): really held, not just not yet placed. */
async function stillPending(cp: ControlPlane, namespace: string, names: string[]) {
  await new Promise((r) => setTimeout(r, 3000));
  const core = cp.kc.makeApiClient(k8s.CoreV1Api);
  for (const name of names) {
    const pod = await core.readNamespacedPod({ name, namespace });
    expect(pod.spec!.nodeName, name).toBeUndefined();
    expect(unschedulable(pod), name).toBeDefined();
  }
}

describe('enforced spreading of the servers, with the real scheduler', () => {
  it('host (the default): on 4 nodes each pool gets one server per node (zones ignored)', async (ctx) => {
    const cp = needCluster(ctx);
    const began = Date.now();
    const ns = 'spread-host-4';
    const objs = servers(ctx, ns);
    // The rendered constraint: per pool, one per node.
    const sts = objs.filter((o) => o.kind === 'StatefulSet');
    for (const s of sts)
      expect(s.spec.template.spec.topologySpreadConstraints.map((c: { topologyKey: string }) => c.topologyKey)).toEqual(
        ['kubernetes.io/hostname'],
      );
    await addNodes(cp, [
      { name: 'h4-a0', zone: 'a' },
      { name: 'h4-a1', zone: 'a' },
      { name: 'h4-a2', zone: 'a' },
      { name: 'h4-b0', zone: 'b' },
    ]);
    await create(cp, objs);
    const pods = await settled(cp, ns, 8);
    const pools = byPool(pods);
    expect(pools['1']!.slice().sort()).toEqual(['h4-a0', 'h4-a1', 'h4-a2', 'h4-b0']);
    expect(pools['2']!.slice().sort()).toEqual(['h4-a0', 'h4-a1', 'h4-a2', 'h4-b0']);
    console.log(
      `host, 4 nodes: 8 servers placed, each pool one per node, in ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
  }, 150_000);

  it('host (the default): on 3 nodes each pool gets 3 servers on 3 nodes and its fourth stays Pending, Unschedulable for the spread', async (ctx) => {
    const cp = needCluster(ctx);
    const began = Date.now();
    const ns = 'spread-host-3';
    await addNodes(cp, [{ name: 'h3-0' }, { name: 'h3-1' }, { name: 'h3-2' }]);
    await create(cp, servers(ctx, ns));
    // Per pool: a selector over both pools (minDomains 4, 3 nodes) would place 3 servers in all.
    const pods = await settled(cp, ns, 6);
    const pools = byPool(pods);
    for (const pool of ['1', '2']) {
      expect(pools[pool]!.filter(Boolean), `pool ${pool}`).toHaveLength(3);
      expect(distinct(pools[pool]!), `pool ${pool}`).toBe(3);
    }
    const pending = pods.filter((p) => !p.node);
    expect(pending.map((p) => p.pool).sort()).toEqual(['1', '2']);
    for (const p of pending) expectHeldBySpread(p, 3);
    await stillPending(
      cp,
      ns,
      pending.map((p) => p.name),
    );
    console.log(
      `host, 3 nodes: 6 placed, 2 held Pending by the spread constraint, in ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
  }, 150_000);

  it('none (the opt-out): on 3 nodes all 8 servers are scheduled', async (ctx) => {
    const cp = needCluster(ctx);
    const began = Date.now();
    const ns = 'spread-none-3';
    const objs = servers(ctx, ns, '--spread', 'none');
    for (const s of objs.filter((o) => o.kind === 'StatefulSet')) {
      expect(s.spec.template.spec.topologySpreadConstraints).toBeUndefined();
      // The preference stays.
      expect(
        s.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution,
      ).toHaveLength(1);
    }
    await addNodes(cp, [{ name: 'n3-0' }, { name: 'n3-1' }, { name: 'n3-2' }]);
    await create(cp, objs);
    const pods = await settled(cp, ns, 8);
    // 8 servers on 3 nodes: every node holds two or more, and some pool has two on one node.
    expect(new Set(pods.map((p) => p.node)).size).toBe(3);
    for (const pool of ['1', '2']) expect(distinct(byPool(pods)[pool]!), `pool ${pool}`).toBeLessThanOrEqual(3);
    console.log(`none, 3 nodes: all 8 placed in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  }, 150_000);

  it('zone: with 3 nodes in zone a and 1 in zone b each pool gets 2 + 1 and its fourth waits; a second node in zone b takes it', async (ctx) => {
    const cp = needCluster(ctx);
    const began = Date.now();
    const ns = 'spread-zone';
    const objs = servers(ctx, ns, '--spread', 'zone');
    for (const s of objs.filter((o) => o.kind === 'StatefulSet')) {
      expect(
        s.spec.template.spec.topologySpreadConstraints.map(
          (c: { topologyKey: string; whenUnsatisfiable: string }) => `${c.topologyKey} ${c.whenUnsatisfiable}`,
        ),
      ).toEqual(['kubernetes.io/hostname DoNotSchedule', `${ZONE} DoNotSchedule`]);
    }
    const zoneOf: Record<string, string> = { 'z-a0': 'a', 'z-a1': 'a', 'z-a2': 'a', 'z-b0': 'b', 'z-b1': 'b' };
    await addNodes(
      cp,
      ['z-a0', 'z-a1', 'z-a2', 'z-b0'].map((name) => ({ name, zone: zoneOf[name] })),
    );
    await create(cp, objs);
    const pods = await settled(cp, ns, 6);
    const zones = (nodes: (string | undefined)[]) =>
      nodes
        .filter(Boolean)
        .map((n) => zoneOf[n!])
        .sort()
        .join('');
    for (const pool of ['1', '2']) {
      expect(zones(byPool(pods)[pool]!), `pool ${pool}`).toBe('aab');
      expect(distinct(byPool(pods)[pool]!), `pool ${pool}`).toBe(3);
    }
    const pending = pods.filter((p) => !p.node);
    expect(pending.map((p) => p.pool).sort()).toEqual(['1', '2']);
    for (const p of pending) expectHeldBySpread(p, 4);
    await stillPending(
      cp,
      ns,
      pending.map((p) => p.name),
    );

    // A second node in zone b: the scheduler places both waiting servers there.
    await addNodes(cp, [{ name: 'z-b1', zone: 'b' }]);
    const all = await settled(cp, ns, 8);
    for (const pool of ['1', '2']) {
      expect(zones(byPool(all)[pool]!), `pool ${pool}`).toBe('aabb');
      expect(distinct(byPool(all)[pool]!), `pool ${pool}`).toBe(4);
    }
    expect(pending.map((p) => all.find((x) => x.name === p.name)!.node)).toEqual(['z-b1', 'z-b1']);
    console.log(
      `zone: 6 placed 2 + 1 per pool, 2 held, then placed on the new zone-b node, in ${((Date.now() - began) / 1000).toFixed(1)} s`,
    );
  }, 150_000);
});

describe('the spread setting', () => {
  it("recorded for an erasure-coded env only; a config without it gets host; a change is part of the servers' configuration", (ctx) => {
    const out = tempDir('minio-gitops-spread-setting-');
    const scaffold = (...args: string[]) => {
      const r = run([...args, '--no-commit', '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout + r.stderr;
    };
    scaffold('--env', 'dev');
    scaffold('--env', 'prod', '--pools', '4x8Gi,4x8Gi');
    const configFile = join(out, 'scaffold.config.yaml');
    const config = () => YAML.parse(readFileSync(configFile, 'utf8'));
    expect(config().envs.prod.spread).toBe('host');
    expect(config().envs.dev).not.toHaveProperty('spread');
    // The single server: no constraint, no patch.
    const dev = build(ctx, out, 'overlays/dev/minio').find((o) => o.kind === 'Deployment')!;
    expect(dev.spec.template.spec.topologySpreadConstraints).toBeUndefined();
    expect(existsSync(join(out, 'overlays/dev/minio/patch-spread.yaml'))).toBe(false);

    // A config from before the setting: the default applies, the env renders the same.
    const overlays = () =>
      Object.entries(snapshot(out))
        .filter(([path]) => path.startsWith('overlays/'))
        .map(([path, f]) => [path, f.content]);
    const before = overlays();
    const doc = YAML.parseDocument(readFileSync(configFile, 'utf8'));
    doc.deleteIn(['envs', 'prod', 'spread']);
    writeFileSync(configFile, doc.toString());
    // A note says what the new default does to servers that may share nodes today.
    expect(scaffold('--env', 'prod')).toMatch(
      /env prod: spread host is the new default: no two servers of a pool on one node, enforced by the scheduler, and every server restarts once with it; a cluster with fewer than 4 nodes .* --spread none/,
    );
    expect(overlays()).toEqual(before);
    expect(scaffold('--env', 'prod')).not.toMatch(/spread host is the new default/);
    expect(config().envs.prod.spread).toBe('host');

    // The opt-out: no constraint in any pool, and a new configuration hash (the restarter replaces the servers).
    const configLabel = () =>
      YAML.parse(readFileSync(join(out, 'overlays/prod/minio/patch-server.yaml'), 'utf8')).spec.template.metadata
        .labels['minio-gitops.io/config'];
    const hostLabel = configLabel();
    scaffold('--env', 'prod', '--spread', 'none');
    expect(config().envs.prod.spread).toBe('none');
    expect(existsSync(join(out, 'overlays/prod/minio/patch-spread.yaml'))).toBe(false);
    for (const s of build(ctx, out, 'overlays/prod/minio').filter((o) => o.kind === 'StatefulSet'))
      expect(s.spec.template.spec.topologySpreadConstraints, s.metadata.name).toBeUndefined();
    expect(configLabel()).not.toBe(hostLabel);
    scaffold('--env', 'prod', '--spread', 'host');
    expect(configLabel()).toBe(hostLabel);
  });
});
