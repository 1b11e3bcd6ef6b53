// Enforced spreading of an erasure-coded env's servers over nodes (and zones): the pod
// template's topologySpreadConstraints, per pool. The base's preferred anti-affinity stays
// (workload.ts); with `spread: none` it is all there is.
//
// Why per pool, and why minDomains:
// - MinIO stripes each object over the drives of one erasure set, and a pool here is one
//   set (4 to 16 servers, one drive each). What must not share a node is two servers of one
//   pool: with EC:2 on 4 drives, a node holding two of them takes the pool's write quorum
//   with it. Servers of different pools may share a node. A selector over every server of
//   the env (the common selector labels) does not say that: with two pools of 4 on 4 nodes,
//   2 + 2 servers of one pool on two nodes and the other pool's on the other two is skew 0
//   over all 8, and allowed. So each pool selects its own pods: an added pool by its number
//   (POOL_LABEL, which its pods carry), the first pool by the absence of that label (its
//   pods have none, and adding one would change the base's shared pod template).
//   matchLabelKeys cannot say this either: the first pool's pods lack the key, so their
//   selector would span every pool.
// - maxSkew 1 alone lets 4 servers onto 3 nodes (2/1/1 is skew 1). minDomains = the pool's
//   servers makes the scheduler count the global minimum as 0 while fewer nodes are
//   eligible, so no node takes a second server of the pool: one per node, and a server that
//   finds no free node stays Pending (visible, and fixed by adding a node), instead of
//   running beside another one. With at least as many nodes as servers, skew 1 over N
//   servers also means one per node.
// - nodeTaintsPolicy Honor: nodes the servers cannot run on (cordoned, control-plane
//   taints) are no domains. With the default (Ignore) such a node counts as a domain with
//   0 servers, which would hold every other node (and every zone) at that minimum + 1.
// - zone: also evenly over topology.kubernetes.io/zone (maxSkew 1, DoNotSchedule), so a
//   zone's loss takes at most ceil(servers / zones) of a pool. DoNotSchedule, not
//   ScheduleAnyway: the person asked for it to survive a zone, and a preference would put
//   servers together without a word, as the anti-affinity does. Nodes without the zone
//   label are not eligible then.
// These are the env's choice, so they live in the overlay (the base is shared by every
// env): patch-spread.yaml for the first pool, each added pool's patch-pool.yaml for it.
import type { Options } from '../options.ts';
import type { Pool } from './pools.ts';
import { selectorLabels } from './names.ts';
import { POOL_LABEL } from './workload.ts';

export const HOSTNAME_KEY = 'kubernetes.io/hostname';
export const ZONE_KEY = 'topology.kubernetes.io/zone';

/** The pods of one pool's StatefulSet, and no other pool's. */
export function poolPodSelector(pool: Pool) {
  return pool.number === 1
    ? { matchLabels: selectorLabels, matchExpressions: [{ key: POOL_LABEL, operator: 'DoesNotExist' }] }
    : { matchLabels: { ...selectorLabels, [POOL_LABEL]: String(pool.number) } };
}

/** The pool's topologySpreadConstraints, or none (a single server, or `spread: none`). */
export function spreadConstraints(o: Options, pool: Pool): object[] {
  const s = o.settings;
  if (s.replicas === 1 || s.spread === 'none') return [];
  const labelSelector = poolPodSelector(pool);
  const host = {
    topologyKey: HOSTNAME_KEY,
    maxSkew: 1,
    minDomains: pool.servers,
    whenUnsatisfiable: 'DoNotSchedule',
    nodeTaintsPolicy: 'Honor',
    labelSelector,
  };
  const zone = {
    topologyKey: ZONE_KEY,
    maxSkew: 1,
    whenUnsatisfiable: 'DoNotSchedule',
    nodeTaintsPolicy: 'Honor',
    labelSelector,
  };
  return s.spread === 'zone' ? [host, zone] : [host];
}
