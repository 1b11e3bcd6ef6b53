// The change between two builds of an env, object by object: which objects come, go or
// change, and for a changed one the field paths with their old and new values. Pure.
//
// Secret values never leave this module: a Secret's data and stringData become a status
// per key (added, removed, changed, unchanged), compared by ciphertext when sealed (no key
// is needed, none is used) and by hash when plain; any other sops-encrypted value is shown
// as "(encrypted)". The raw objects are kept for the highlights, which read fields, never
// print values.
import { createHash, type BinaryLike } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Obj } from '../cluster/objects.ts';

export type KeyStatus = 'added' | 'removed' | 'changed' | 'unchanged';

/** One leaf that differs; a missing side is `undefined` (the field comes or goes). */
export interface FieldChange {
  path: string;
  old?: unknown;
  new?: unknown;
}

export interface ObjectChange {
  change: 'added' | 'removed' | 'changed';
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
  /** `Kind namespace/name`, as a reviewer reads it. */
  label: string;
  /** Changed objects: the fields that differ, secret values excluded. */
  fields: FieldChange[];
  /** Secrets (and any sealed object): the status of each value. */
  secrets: Record<string, KeyStatus>;
  /** Sealed objects: whom the values are encrypted for, before and after. */
  recipients?: { added: string[]; removed: string[]; after: string[] };
  /** The object as it may be shown: every secret value replaced. */
  shown: Obj;
  /** The objects as built, for the highlights only: never printed. */
  before?: Obj;
  after?: Obj;
}

export interface Comparison {
  changes: ObjectChange[];
  unchanged: number;
}

export const REDACTED = '(secret value not shown)';
export const ENCRYPTED = '(encrypted)';
const ENC = /^ENC\[AES256_GCM,/;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

/** Objects are the same object when group, kind, namespace and name match (the version may change). */
export function identity(o: Obj): string {
  return [groupOf(o.apiVersion ?? ''), o.kind, o.metadata?.namespace ?? '', o.metadata?.name ?? ''].join('\u0000');
}

export function labelOf(o: Obj): string {
  const ns = o.metadata?.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ''}${o.metadata?.name}`;
}

const isSecret = (o: Obj) => o.kind === 'Secret' && groupOf(o.apiVersion ?? '') === '';
const sha = (v: BinaryLike) => createHash('sha256').update(v).digest('hex');

/**
 * What identifies each secret value of an object, never the value: a Secret's keys (data
 * and stringData, the latter winning as in the API server), and any other encrypted leaf
 * by its path. A sealed value is its ciphertext; a plain one its hash.
 */
function secretFingerprints(o: Obj): Map<string, string> {
  const out = new Map<string, string>();
  if (isSecret(o)) {
    for (const field of ['data', 'stringData'] as const) {
      const values = o[field] as unknown;
      // Not a map (a string, a list): the API server refuses it; still nothing of it is shown.
      if (values !== undefined && !isMap(values)) out.set(`(${field})`, sha(JSON.stringify(values)));
      if (!isMap(values)) continue;
      for (const [k, v] of Object.entries(values))
        out.set(
          k,
          ENC.test(String(v)) ? String(v) : field === 'data' ? sha(Buffer.from(String(v), 'base64')) : sha(String(v)),
        );
    }
    const applied = o.metadata?.annotations?.[LAST_APPLIED];
    if (applied !== undefined) out.set(`(annotation ${LAST_APPLIED})`, sha(applied));
  } else {
    for (const [path, v] of flatten(withoutSops(o))) if (typeof v === 'string' && ENC.test(v)) out.set(path, v);
  }
  return out;
}

function withoutSops(o: Obj): Obj {
  const { sops: _sops, ...rest } = o;
  return rest as Obj;
}

/** The object with every secret value replaced and the sops metadata reduced to its recipients. */
export function redact(o: Obj): Obj {
  const copy = structuredClone(withoutSops(o));
  const hide = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(hide)
      : isMap(v)
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, hide(x)]))
        : typeof v === 'string' && ENC.test(v)
          ? ENCRYPTED
          : v;
  const out = hide(copy) as Obj;
  if (isSecret(o)) {
    for (const field of ['data', 'stringData'] as const) {
      if (isMap(out[field])) out[field] = Object.fromEntries(Object.keys(out[field]).map((k) => [k, REDACTED]));
      else if (out[field] !== undefined) (out as Record<string, unknown>)[field] = REDACTED;
    }
    // kubectl's record of the last apply holds the whole Secret, values included.
    if (out.metadata?.annotations?.[LAST_APPLIED] !== undefined) out.metadata.annotations[LAST_APPLIED] = REDACTED;
  }
  if (o.sops) (out as Record<string, unknown>).sops = { recipients: recipientsOf(o) };
  return out;
}

function recipientsOf(o: Obj): string[] {
  const age = (o.sops as { age?: { recipient?: unknown }[] } | undefined)?.age;
  return Array.isArray(age) ? age.map((a) => String(a?.recipient)).sort() : [];
}

const SIMPLE_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;
const step = (path: string, key: string) =>
  SIMPLE_KEY.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;

/** A list whose items all carry a distinct string `name` is keyed by it: `containers[name=minio]`. */
function itemKeys(list: unknown[]): string[] {
  const names = list.map((item) => (isMap(item) && typeof item.name === 'string' ? item.name : undefined));
  if (names.some((n) => n === undefined) || new Set(names).size !== names.length) return list.map((_, i) => String(i));
  return names.map((n) => `name=${SIMPLE_KEY.test(n!) || /^[A-Za-z0-9._-]+$/.test(n!) ? n : JSON.stringify(n)}`);
}

/** Every leaf of a value as [path, value]; an empty map or list is a leaf of its own. */
export function flatten(value: unknown, path = '', out: [string, unknown][] = []): [string, unknown][] {
  if (Array.isArray(value)) {
    if (value.length === 0) out.push([path, []]);
    const keys = itemKeys(value);
    value.forEach((item, i) => {
      flatten(item, `${path}[${keys[i]}]`, out);
    });
  } else if (isMap(value)) {
    const keys = Object.keys(value);
    if (keys.length === 0) out.push([path, {}]);
    for (const k of keys) flatten(value[k], step(path, k), out);
  } else out.push([path, value]);
  return out;
}

/** What is shown of an object's fields: everything but the secret values and the sops metadata. */
function visible(o: Obj): Record<string, unknown> {
  const shown = redact(o) as Obj & Record<string, unknown>;
  delete shown.sops;
  if (isSecret(o)) {
    delete shown.data;
    delete shown.stringData;
  }
  return shown;
}

/**
 * The leaves that differ between two values. A subtree that only one side has (a new
 * container, a removed volume) is one change with the whole subtree as its value.
 */
function diffValues(a: unknown, b: unknown, path: string, out: FieldChange[]): FieldChange[] {
  if (isDeepStrictEqual(a, b)) return out;
  if (isMap(a) && isMap(b) && Object.keys(a).length > 0 && Object.keys(b).length > 0) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    for (const k of keys) {
      const at = step(path, k);
      if (!(k in a)) out.push({ path: at, new: b[k] });
      else if (!(k in b)) out.push({ path: at, old: a[k] });
      else diffValues(a[k], b[k], at, out);
    }
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length > 0 && b.length > 0) {
    const [ka, kb] = [itemKeys(a), itemKeys(b)];
    const named = ka.every((k) => k.startsWith('name=')) && kb.every((k) => k.startsWith('name='));
    if (named) {
      for (const k of [...new Set([...ka, ...kb])]) {
        const [i, j] = [ka.indexOf(k), kb.indexOf(k)];
        const at = `${path}[${k}]`;
        if (i < 0) out.push({ path: at, new: b[j] });
        else if (j < 0) out.push({ path: at, old: a[i] });
        else diffValues(a[i], b[j], at, out);
      }
      if (ka.filter((k) => kb.includes(k)).join() !== kb.filter((k) => ka.includes(k)).join())
        out.push({ path: `${path} (order)`, old: ka, new: kb });
      return out;
    }
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const at = `${path}[${i}]`;
      if (i >= a.length) out.push({ path: at, new: b[i] });
      else if (i >= b.length) out.push({ path: at, old: a[i] });
      else diffValues(a[i], b[i], at, out);
    }
    return out;
  }
  out.push({ path, old: a, new: b });
  return out;
}

function fieldChanges(before: Obj, after: Obj): FieldChange[] {
  return diffValues(visible(before), visible(after), '', []);
}

function keyStatuses(before: Obj | undefined, after: Obj | undefined): Record<string, KeyStatus> {
  const a = before ? secretFingerprints(before) : new Map<string, string>();
  const b = after ? secretFingerprints(after) : new Map<string, string>();
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return Object.fromEntries(
    keys.map((k) => [k, !a.has(k) ? 'added' : !b.has(k) ? 'removed' : a.get(k) === b.get(k) ? 'unchanged' : 'changed']),
  );
}

function describe(change: ObjectChange['change'], before: Obj | undefined, after: Obj | undefined): ObjectChange {
  const o = (after ?? before)!;
  const secrets = keyStatuses(before, after);
  const sealed = Boolean(before?.sops || after?.sops);
  const [ra, rb] = [before?.sops ? recipientsOf(before) : [], after?.sops ? recipientsOf(after) : []];
  return {
    change,
    apiVersion: o.apiVersion,
    kind: o.kind,
    ...(o.metadata?.namespace ? { namespace: o.metadata.namespace } : {}),
    name: o.metadata?.name,
    label: labelOf(o),
    fields: change === 'changed' ? fieldChanges(before!, after!) : [],
    secrets,
    ...(sealed
      ? {
          recipients: {
            added: rb.filter((r) => !ra.includes(r)),
            removed: ra.filter((r) => !rb.includes(r)),
            after: rb,
          },
        }
      : {}),
    shown: redact(o),
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
  };
}

/** A ConfigMap or Secret that a kustomize generator named: its name ends in the content hash. */
const GENERATED = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{10}$/;

/**
 * Identities for a build, where a generated ConfigMap or Secret is known by its name
 * without the hash (when that is unique on the side), so that a new content shows as a
 * change of the object (its name included) rather than a deletion and an addition.
 */
function identities(objects: Obj[]): Map<string, Obj> {
  const stem = (o: Obj) =>
    (o.kind === 'ConfigMap' || o.kind === 'Secret') && groupOf(o.apiVersion ?? '') === ''
      ? GENERATED.exec(o.metadata?.name ?? '')?.[1]
      : undefined;
  const stems = new Map<string, number>();
  for (const o of objects) {
    const s = stem(o);
    if (s)
      stems.set(
        `${o.kind}/${o.metadata?.namespace}/${s}`,
        (stems.get(`${o.kind}/${o.metadata?.namespace}/${s}`) ?? 0) + 1,
      );
  }
  return new Map(
    objects.map((o) => {
      const s = stem(o);
      const unique = s !== undefined && stems.get(`${o.kind}/${o.metadata?.namespace}/${s}`) === 1;
      return [unique ? `${identity({ ...o, metadata: { ...o.metadata, name: s } })}\u0000generated` : identity(o), o];
    }),
  );
}

/** The objects of two builds compared; the changes ordered by namespace, kind and name. */
export function compareBuilds(before: Obj[], after: Obj[]): Comparison {
  const a = identities(before);
  const b = identities(after);
  const changes: ObjectChange[] = [];
  let unchanged = 0;
  for (const key of [...new Set([...a.keys(), ...b.keys()])]) {
    const [x, y] = [a.get(key), b.get(key)];
    if (!x) changes.push(describe('added', undefined, y));
    else if (!y) changes.push(describe('removed', x, undefined));
    else {
      const c = describe('changed', x, y);
      const secretsChanged = Object.values(c.secrets).some((s) => s !== 'unchanged');
      const recipientsChanged = (c.recipients?.added.length ?? 0) + (c.recipients?.removed.length ?? 0) > 0;
      if (c.fields.length > 0 || secretsChanged || recipientsChanged) changes.push(c);
      else unchanged++;
    }
  }
  const order = (c: ObjectChange) => [c.namespace ?? '', c.kind, c.name, c.apiVersion].join('\u0000');
  changes.sort((x, y) => (order(x) < order(y) ? -1 : order(x) > order(y) ? 1 : 0));
  return { changes, unchanged };
}
