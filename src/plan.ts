// The plan: what a run would do to the output tree, as data. It compares the rendered
// files with what is on disk and with the record of what the tool wrote last time:
//   create     the file does not exist yet
//   update     it exists and still holds what the tool wrote last time
//   delete     the tool wrote it earlier, no longer renders it, and nobody edited it
//   unchanged  it already holds the rendered content
//   conflict   it holds something the tool did not write (a hand edit, or a file of the
//              user's at a path the tool wants): the run stops unless --force
// No I/O here: the caller reads the disk and passes the contents in.
import { createHash } from 'node:crypto';
import { fail } from './errors.ts';
import { isSafeRelative } from './paths.ts';
import { readUntrusted } from './yaml-lib.ts';
import type { GeneratedFile } from './render/files.ts';
import type { Layout } from './day2.ts';
import { toYaml } from './yaml.ts';
import { SHORT_HASH } from './render/hash.ts';

export const RECORD_FILE = 'scaffold.lock.yaml';

export type Action = 'create' | 'update' | 'delete' | 'unchanged';

export interface PlanEntry {
  path: string;
  action: Action;
  /** Content on disk now (null: none). */
  before: string | null;
  /** Content after the run (null: deleted). */
  after: string | null;
  /** The file holds a hand edit that this entry overwrites or deletes (only with --force). */
  forced?: boolean;
}

export interface Plan {
  entries: PlanEntry[];
  /** Paths of hand-edited or foreign files the plan would overwrite or delete. */
  conflicts: string[];
}

/** path -> sha256 of the content the tool wrote. */
export type GeneratedRecord = Record<string, string>;

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Sealed file path -> value key -> sha256 of that value, for the values anyone may know
 * (those that come from the settings, never a generated one): without the age key, a run
 * compares them with what the settings give now to find a sealed file whose values are stale.
 */
export type SealedRecord = Record<string, Record<string, string>>;

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isHash = (h: unknown) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h);
const isHashes = (v: unknown) => isMap(v) && Object.values(v).every(isHash);

/** What an interrupted run was writing: path -> sha256 of the content, or DELETED. */
export type PendingWrites = Record<string, string>;
export const DELETED = 'deleted';

const DAMAGED = `restore it with git (git checkout -- ${RECORD_FILE}), or delete it and re-run with --force`;

/**
 * The record, and `pending`: what a run was changing when it stopped (a run writes it into
 * the record before its first write and clears it with its last; records of earlier
 * versions list the paths only), and `sealed`: the fingerprints of the sealed files' public
 * values (absent in records of earlier versions). The record arrives through pull
 * requests: every path in it must be one the tool could have written (paths.ts).
 */
export function parseRecord(text: string | null): {
  files: GeneratedRecord;
  pending: PendingWrites;
  sealed: SealedRecord;
  layouts: Record<string, Layout>;
} {
  if (text === null) return { files: {}, pending: {}, sealed: {}, layouts: {} };
  const doc = readUntrusted(text, RECORD_FILE, DAMAGED) as {
    files?: unknown;
    pending?: unknown;
    sealed?: unknown;
    layouts?: unknown;
  } | null;
  const files = doc?.files ?? {};
  const rawPending = doc?.pending ?? {};
  const pending = Array.isArray(rawPending) ? Object.fromEntries(rawPending.map((p) => [p, ''])) : rawPending;
  const sealed = doc?.sealed ?? {};
  const layouts = doc?.layouts ?? {};
  const valid =
    isMap(doc ?? {}) &&
    isHashes(files) &&
    isMap(pending) &&
    Object.values(pending).every((h) => h === '' || h === DELETED || isHash(h)) &&
    isMap(sealed) &&
    Object.values(sealed).every(isHashes) &&
    isMap(layouts) &&
    Object.entries(layouts).every(([env, l]) => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(env) && isLayout(l));
  if (!valid) fail(`${RECORD_FILE} is damaged; ${DAMAGED}`);
  const bad = [files, pending, sealed].flatMap((m) => Object.keys(m as object)).find((p) => !isSafeRelative(p));
  if (bad !== undefined)
    fail(
      `${RECORD_FILE} names ${JSON.stringify(bad)}, which is not a path inside the output (relative, no .. or .git); ${DAMAGED}`,
    );
  return {
    files: files as GeneratedRecord,
    pending: pending as PendingWrites,
    sealed: sealed as SealedRecord,
    layouts: layouts as Record<string, Layout>,
  };
}

/** A layout as the record keeps it (day2.ts): checked field by field, since the record is untrusted. */
function isLayout(l: unknown): boolean {
  const size = (v: unknown) => typeof v === 'string' && /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)$/.test(v);
  if (!isMap(l) || typeof l.namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(l.namespace))
    return false;
  if (l.storage !== 'pvc' && l.storage !== 'hostpath') return false;
  if (l.hostPath !== undefined && (typeof l.hostPath !== 'string' || !/^\/[A-Za-z0-9._/-]{0,1023}$/.test(l.hostPath)))
    return false;
  if (typeof l.storageClass !== 'string' || l.storageClass.length > 253) return false;
  // Hex hashes are an earlier version's: read as a configuration that differs (one restart).
  for (const hash of [l.config, l.base])
    if (hash !== undefined && (typeof hash !== 'string' || !(SHORT_HASH.test(hash) || /^[0-9a-f]{16}$/.test(hash))))
      return false;
  if (l.kms !== undefined && l.kms !== 'plain' && l.kms !== 'sops' && l.kms !== 'external') return false;
  const pools = l.pools;
  const removed = l.removed ?? {};
  if (
    !isMap(removed) ||
    !Object.entries(removed).every(
      ([name, p]) =>
        /^minio-pool-\d{1,2}$/.test(name) &&
        isMap(p) &&
        Number.isInteger(p.servers) &&
        (p.servers as number) >= 1 &&
        (p.servers as number) <= 1024 &&
        size(p.size),
    )
  )
    return false;
  return (
    Array.isArray(pools) &&
    pools.length >= 1 &&
    pools.length <= 64 &&
    pools.every(
      (p) =>
        isMap(p) &&
        Number.isInteger(p.servers) &&
        (p.servers as number) >= 1 &&
        (p.servers as number) <= 1024 &&
        size(p.size) &&
        size(p.claimSize),
    )
  );
}

const sortedKeys = <T>(map: Record<string, T>) =>
  Object.fromEntries(
    Object.keys(map)
      .sort()
      .map((k) => [k, map[k]!]),
  );

export function formatRecord(
  record: GeneratedRecord,
  pending: PendingWrites = {},
  sealed: SealedRecord = {},
  layouts: Record<string, Layout> = {},
): string {
  const files = sortedKeys(record);
  const fingerprints = Object.fromEntries(
    Object.keys(sealed)
      .sort()
      .map((path) => [path, sortedKeys(sealed[path]!)]),
  );
  const hasSealed = Object.keys(fingerprints).length > 0;
  return toYaml(
    {
      files,
      ...(Object.keys(pending).length > 0 ? { pending: sortedKeys(pending) } : {}),
      ...(hasSealed ? { sealed: fingerprints } : {}),
      ...(Object.keys(layouts).length > 0 ? { layouts: sortedKeys(layouts) } : {}),
    },
    'Files that minio-gitops generated, with the sha256 of what it wrote. A re-run uses this to\nfind hand edits (it will not overwrite them) and to remove the files it no longer renders.' +
      (hasSealed
        ? "\nsealed: the sha256 of each sealed file's values that come from the settings (no secret), so\nthat a run without the age key finds a file whose values the settings changed."
        : '') +
      (Object.keys(layouts).length > 0
        ? "\nlayouts: what each env's data lives on as last rendered (namespace, storage, pools and the\nsize their claim templates were made with), so that a run refuses a change that would strand it."
        : ''),
  );
}

export interface PlanInput {
  desired: GeneratedFile[];
  /** Contents on disk of every desired path and every recorded path (null: missing). */
  disk: Map<string, string | null>;
  record: GeneratedRecord;
  /** Path prefixes this run owns; recorded files elsewhere belong to other envs. */
  owned: string[];
  /** Files the tool edits in place with the user (the config, .sops.yaml): never a conflict. */
  managed: { path: string; before: string | null; after: string }[];
  force: boolean;
  /** Generated files whose content is built from their own current content (the sealed
   * secrets keep the values found in them): an edit there is input, never a conflict. */
  merged?: string[];
}

function entry(path: string, before: string | null, after: string | null): PlanEntry {
  const action: Action =
    before === after ? 'unchanged' : before === null ? 'create' : after === null ? 'delete' : 'update';
  return { path, action, before, after };
}

export function makePlan(input: PlanInput): Plan & { record: GeneratedRecord } {
  const { desired, disk, record, owned, force } = input;
  const entries: PlanEntry[] = [];
  const conflicts: string[] = [];
  const isOwned = (path: string) => owned.some((prefix) => path.startsWith(prefix));
  const editedSince = (path: string, content: string) => record[path] !== sha256(content);

  const wanted = new Set(desired.map((f) => f.path));
  const nextRecord: GeneratedRecord = Object.fromEntries(
    Object.entries(record).filter(([path]) => !isOwned(path) && !wanted.has(path)),
  );

  for (const file of desired) {
    const before = disk.get(file.path) ?? null;
    const e = entry(file.path, before, file.content);
    if (e.action === 'update' && !input.merged?.includes(file.path) && editedSince(file.path, before as string)) {
      conflicts.push(file.path);
      e.forced = true;
    }
    entries.push(e);
    // A merged file left as it is keeps its recorded hash: a sops edit is not the tool's write.
    const keep = e.action === 'unchanged' && input.merged?.includes(file.path) && record[file.path];
    nextRecord[file.path] = keep || sha256(file.content);
  }
  for (const path of Object.keys(record).sort()) {
    if (!isOwned(path) || wanted.has(path)) continue;
    const before = disk.get(path) ?? null;
    if (before === null) continue;
    const e = entry(path, before, null);
    if (editedSince(path, before)) {
      conflicts.push(path);
      e.forced = true;
    }
    entries.push(e);
  }
  for (const m of input.managed) entries.push(entry(m.path, m.before, m.after));
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (!force && conflicts.length > 0) {
    fail(
      `${conflicts.length === 1 ? 'a generated file was' : `${conflicts.length} generated files were`} edited by hand or not written by minio-gitops: ${conflicts.join(', ')}; ` +
        'move the change into scaffold.config.yaml and re-run, or re-run with --force to overwrite (git keeps the old version)',
    );
  }
  return { entries, conflicts, record: nextRecord };
}

export function counts(plan: Plan): Record<Action, number> {
  const c: Record<Action, number> = { create: 0, update: 0, delete: 0, unchanged: 0 };
  for (const e of plan.entries) c[e.action]++;
  return c;
}
