// The server pools of an env: the first (replicas × size, the base's StatefulSet `minio`)
// and each added one (its own StatefulSet minio-pool-N), in the order they were added.
// MinIO grows by pools and never re-stripes one: a pool keeps its servers for life, and its
// claim template keeps the size it was first rendered with (a StatefulSet's claim
// templates cannot change); a larger size is applied to the claims themselves.
import { quantityValue, type Options } from '../options.ts';
import { poolStatefulSet, type PoolRef } from './names.ts';

export interface Pool extends PoolRef {
  /** 1 for the first pool. */
  number: number;
  size: string;
  /** The size of its claim template: the size it was made with. */
  claimSize: string;
}

export function serverPools(o: Options): Pool[] {
  const s = o.settings;
  return [{ servers: s.replicas, size: s.size }, ...s.pools].map((p, i) => ({
    statefulSet: poolStatefulSet(i),
    number: i + 1,
    servers: p.servers,
    size: p.size,
    claimSize: o.claimSizes?.[i] ?? p.size,
  }));
}

/** The pools whose volumes grew since their StatefulSet was made (erasure-coded envs only). */
export function grownPools(o: Options): Pool[] {
  return o.settings.replicas > 1
    ? serverPools(o).filter((p) => quantityValue(p.size) > quantityValue(p.claimSize))
    : [];
}
