// The edge where credentials are made and sealed. For each sealed secret:
//   no file yet, or --rotate        new random values, encrypted with a new data key
//   file decrypts, same content     the file as it is, byte for byte (no churn)
//   same content, other recipients  the data key re-wrapped, values untouched (updatekeys)
//   content changed (namespace...)  the same values, encrypted anew
// An existing file is checked first: its data key must unwrap with an available age
// identity and its MAC must match (sops-age decrypts the values; it checks no MAC).
// Without any key a file stays as it is, unless its readable parts (recipients, name,
// namespace, keys) or its public values (those the settings give, such as a consumer's
// s3.endpoint: fingerprinted in the record by every run that knows the file's values)
// must change: then it needs a key holder.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { readUntrusted } from './yaml-lib.ts';
import { isWithin, realPathOf, type OutputRoot } from './paths.ts';
import { findRepository } from './repo-state.ts';
import { shellQuote } from './render/shell.ts';
import {
  ageKeyFile,
  availableIdentities,
  checkRecipient,
  newIdentity,
  recipientsOf,
  type NewIdentity,
} from './age-keys.ts';
import { readGenerated, readText } from './apply.ts';
import type { Flags } from './args.ts';
import { fail } from './errors.ts';
import type { Options } from './options.ts';
import { sha256, type GeneratedRecord, type SealedRecord } from './plan.ts';
import type { GeneratedFile } from './render/files.ts';
import { sealedSecretSpecs, secretDocument, type GeneratedKind, type SealedSecretSpec } from './render/sealed.ts';
import { KMS_KEY_NAME, kmsKeyProblem } from './render/kms.ts';
import { SOPS_CONFIG_FILE } from './config.ts';
import { coveringRule, withRecipients } from './sops-config.ts';
import { encryptDocument, rewrapDocument, unwrapDataKey, verifyDocument, type SopsMetadata } from './sops.ts';

export interface SealInput {
  root: OutputRoot;
  specs: SealedSecretSpec[];
  recipients: string[];
  identities: string[];
  /** Credentials to generate anew. */
  rotate: Set<string>;
  now: Date;
  encryptedRegex: string;
  /**
   * --check (read only): a file that must be encrypted anew while no key can open it is
   * drift for a key holder to fix, not an error. Its content in the plan is then a stand-in
   * (never written) that differs from the disk, and `notes` says why.
   */
  check?: { env: string };
  /** The fingerprints of public values in the record (see SealedRecord): path -> key -> sha256. */
  recorded?: SealedRecord;
  /** Whether the env's rendered servers read a Secret of this name (a key they depend on). */
  inUse?: (name: string) => boolean;
  /** Whether a sealed file still holds what the tool wrote (its hash is the record's). */
  unedited?: (path: string, text: string) => boolean;
  /** Internal: compare without opening any file; a file that must change ends the attempt (NEEDS_KEY). */
  unopened?: boolean;
}

/** A file must be encrypted anew: the attempt without opening files gives way to one with the key. */
const NEEDS_KEY = Symbol('needs the key');

export interface Sealed {
  files: GeneratedFile[];
  /** Credentials whose values were made in this run (new or rotated). */
  generated: string[];
  /** Sealed files --check found in need of a key holder (one line each, for the run's notes). */
  notes?: string[];
  /**
   * The fingerprints of the specs' public values for the record, for each file whose
   * values this run knows (it decrypted or made them) or whose recorded ones still hold.
   */
  fingerprints?: SealedRecord;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Uniform random characters from an alphabet (rejection sampling: no modulo bias). */
function randomString(length: number, alphabet: string): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      if (byte < 256 - (256 % alphabet.length) && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

const SHAPES = {
  user: { prefix: 'root-', length: 12, alphabet: ALPHABET },
  password: { prefix: '', length: 40, alphabet: `${ALPHABET}ABCDEFGHIJKLMNOPQRSTUVWXYZ` },
};

function generate(kind: GeneratedKind): string {
  if (kind === 'kms-key') return `${KMS_KEY_NAME}:${randomBytes(32).toString('base64')}`;
  const shape = SHAPES[kind];
  return shape.prefix + randomString(shape.length, shape.alphabet);
}

/** A fixed value of a generated one's shape; the `second` one differs from the first in every random character. */
function standIn(kind: GeneratedKind, key: string, second: boolean): string {
  if (kind === 'kms-key')
    return `${KMS_KEY_NAME}:${createHash('sha256')
      .update(`${key}${second ? '\0' : ''}`)
      .digest('base64')}`;
  const { prefix, length, alphabet } = SHAPES[kind];
  const bytes = createHash('sha512').update(key).digest().subarray(0, length);
  return prefix + [...bytes].map((b) => alphabet[(b + (second ? alphabet.length >> 1 : 0)) % alphabet.length]).join('');
}

interface Existing {
  text: string;
  doc: Record<string, unknown> & { sops: SopsMetadata };
  /** Absent when no age identity is available at all (a machine without the key). */
  opened?: { dataKey: Uint8Array; plaintext: Record<string, unknown> };
}

/** What anyone can see of a sealed Secret: everything but the values and the extra keys. */
function visible(doc: Record<string, unknown>, keys: string[]): unknown {
  const { sops: _, stringData, ...rest } = doc;
  const present = Object.keys((stringData as object) ?? {});
  return { ...rest, stringData: keys.filter((k) => present.includes(k)).sort() };
}

/** That no key here opens a file, naming where the keys were looked for. */
function noKey(identities: string[]): string {
  return identities.length === 0
    ? `no age key is available (${keySources()})`
    : `none of the age keys here opens it (${keySources()})`;
}

/** Where this process looks for age keys, as the messages name it. */
export function keySources(): string {
  return `SOPS_AGE_KEY, or the key file ${ageKeyFile()}${process.env.SOPS_AGE_KEY_FILE ? ' (SOPS_AGE_KEY_FILE)' : ''}`;
}

/** How a sealed file nobody can open is made again: new values, or for the KMS key, its copy. */
function recreate(spec: SealedSecretSpec): string {
  return spec.keep
    ? `put the KMS key back from your copy of it (sops ${spec.path}): a new one would leave the encrypted data unreadable`
    : `re-create it with --rotate ${spec.credential} (new values)`;
}

async function openExisting(spec: SealedSecretSpec, text: string, identities: string[]): Promise<Existing> {
  const rotate = recreate(spec);
  const fix = `restore it with git, or ${rotate}`;
  const doc = readUntrusted(text, spec.path, fix) as Existing['doc'];
  const age = doc?.sops?.age;
  if (
    !Array.isArray(age) ||
    age.length === 0 ||
    !age.every((a) => typeof a?.recipient === 'string' && typeof a?.enc === 'string')
  ) {
    fail(`${spec.path} is not a sops-encrypted file with age recipients; ${fix}`);
  }
  if (identities.length === 0) return { text, doc };
  const found = unwrapDataKey(doc.sops, identities);
  // Keys that are not among the recipients are as good as none: the file stays as it is
  // unless it must change (then the person is asked for a recipient's key).
  if (!found) return { text, doc };
  const problem = verifyDocument(doc, found.dataKey);
  if (problem)
    fail(
      `${spec.path} fails its integrity check (${problem}): it was changed outside sops; restore it with git, or ${rotate}`,
    );
  const { decryptSops } = await import('sops-age');
  const plaintext = (await decryptSops(text, { fileType: 'yaml', secretKey: found.identity })) as Record<
    string,
    unknown
  >;
  delete plaintext.sops;
  return { text, doc, opened: { dataKey: found.dataKey, plaintext } };
}

function valuesFor(
  spec: SealedSecretSpec,
  kept: Record<string, unknown> | undefined,
): { values: Record<string, string>; fresh: boolean } {
  let fresh = false;
  const base: Record<string, string> = { ...spec.fixed };
  for (const [key, kind] of Object.entries(spec.generated)) {
    const old = kept?.[key];
    // A key someone edited into something MinIO refuses would keep every server from starting.
    // One that is gone from a file that is there is no key to make anew (spec.keep).
    const problem =
      kind !== 'kms-key'
        ? undefined
        : typeof old === 'string'
          ? kmsKeyProblem(old)
          : kept !== undefined
            ? 'is missing'
            : undefined;
    if (problem)
      fail(
        `${spec.path}: its ${key} ${problem}; restore the file with git (git log -p ${spec.path}), or put the key back with sops`,
      );
    if (typeof old === 'string' && old !== '') base[key] = old;
    else {
      base[key] = generate(kind);
      fresh = true;
    }
  }
  // Keys a person added with `sops` stay, after the tool's own; derived values are always
  // computed anew (a password edited with sops gets its htpasswd line), from the kept ones
  // too: a salted hash that still verifies stays as it is (no churn).
  const derived = spec.derived(base, kept);
  const extra = Object.fromEntries(
    Object.entries(kept ?? {}).filter(([k, v]) => !(k in base) && !(k in derived) && typeof v === 'string'),
  ) as Record<string, string>;
  return { values: { ...base, ...derived, ...extra }, fresh };
}

/** The spec's values with stand-ins for the generated ones; salted values as their names only. */
function sample(spec: SealedSecretSpec, second: boolean): Record<string, string> {
  const base: Record<string, string> = { ...spec.fixed };
  for (const [key, kind] of Object.entries(spec.generated)) base[key] = standIn(kind, key, second);
  const derived = spec.salted
    ? Object.fromEntries(spec.salted.map((key) => [key, `(salted ${second ? 'b' : 'a'})`]))
    : spec.derived(base);
  return { ...base, ...derived };
}

/**
 * A spec's public values: fixed, and derived but the same whatever the generated values
 * are (found by deriving from two sets of stand-ins that differ in every random character).
 */
export function publicValues(spec: SealedSecretSpec): Record<string, string> {
  const [a, b] = [sample(spec, false), sample(spec, true)];
  return Object.fromEntries(
    Object.keys(a)
      .filter((k) => !(k in spec.generated) && a[k] === b[k])
      .sort()
      .map((k) => [k, a[k]!]),
  );
}

/** key -> sha256 of each public value: what the record keeps (public values only, never a generated one). */
export function fingerprint(spec: SealedSecretSpec): Record<string, string> {
  return Object.fromEntries(
    Object.entries(publicValues(spec)).map(([k, v]) => [k, createHash('sha256').update(v).digest('hex')]),
  );
}

/** The keys whose public value differs between a recorded fingerprint and the current one. */
function changedValues(recorded: Record<string, string>, current: Record<string, string>): string[] {
  return [...new Set([...Object.keys(current), ...Object.keys(recorded)])].filter((k) => recorded[k] !== current[k]);
}

const sameSet = (a: string[], b: string[]) => isDeepStrictEqual([...a].sort(), [...b].sort());

/** The readable fields (metadata.name, metadata.namespace, stringData keys...) in which two sealed Secrets differ. */
function changedFields(a: unknown, b: unknown, at = ''): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(a) || !isMap(b) || at.split('.').length > 2) return [at || 'the document'];
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .sort()
    .flatMap((k) => changedFields(a[k], b[k], at ? `${at}.${k}` : k));
}

/** A sealed file --check leaves to a key holder: a stand-in content (never written) and the note. */
function needsKeyHolder(
  check: { env: string },
  path: string,
  why: string,
  text: string | null,
  notes: string[],
): string {
  const note = `${path} must be encrypted anew (${why}), which needs its values, and no age key is available here: a holder of the age key must run \`npx zx scaffold.ts --env ${check.env}\` and commit`;
  notes.push(note);
  return `# ${note}\n${text ?? ''}`;
}

/**
 * When every sealed file of the env is as the tool wrote it and nothing is rotated, the
 * files are compared as a machine without the key compares them (recipients, visible
 * fields, the recorded fingerprints of the public values): nothing to open, decrypt or
 * load for a re-run that changes nothing. A file that must change is then sealed with the
 * key as usual. (A file edited with sops is opened: its derived values may be stale.)
 */
export async function sealSecrets(input: SealInput): Promise<Sealed> {
  const untouched =
    input.unedited &&
    input.rotate.size === 0 &&
    input.specs.every((spec) => {
      const text = readGenerated(input.root.at(spec.path));
      // A record without the file's fingerprints (an earlier version's) gets them from the key.
      return text !== null && input.recorded?.[spec.path] !== undefined && input.unedited!(spec.path, text);
    });
  if (untouched && !input.unopened) {
    try {
      return await sealEach({ ...input, identities: [], unopened: true });
    } catch (error) {
      if (error !== NEEDS_KEY) throw error;
    }
  }
  return sealEach({ ...input, unopened: false });
}

async function sealEach(input: SealInput): Promise<Sealed> {
  const files: GeneratedFile[] = [];
  const generated: string[] = [];
  const notes: string[] = [];
  const fingerprints: SealedRecord = {};
  // The values each spec ended up with: a copy (copyOf) repeats its original's.
  const valuesByPath = new Map<string, Record<string, unknown>>();
  for (const spec of input.specs) {
    const text = readGenerated(input.root.at(spec.path));
    const rotate = input.rotate.has(spec.credential);
    const original = spec.copyOf === undefined ? undefined : valuesByPath.get(spec.copyOf);
    const existing = text !== null && !rotate ? await openExisting(spec, text, input.identities) : undefined;
    const recipientsKept =
      existing !== undefined &&
      sameSet(
        existing.doc.sops.age.map((a) => a.recipient),
        input.recipients,
      );
    // A rotation makes new values, and keeps the data key (and the ciphertext of the values
    // that stay, such as an endpoint) when the file opens, as for any other change.
    const rotated =
      text !== null && rotate ? await openExisting(spec, text, input.identities).catch(() => undefined) : undefined;
    const rotatedKept =
      rotated?.opened &&
      sameSet(
        rotated.doc.sops.age.map((a) => a.recipient),
        input.recipients,
      )
        ? rotated
        : undefined;

    const recorded = input.recorded?.[spec.path];
    // Gone, though the record lists it or the servers read it: restored, never replaced.
    if (spec.keep && text === null && (recorded !== undefined || input.inUse?.(spec.name))) {
      fail(
        `${spec.path} is gone, and a new key would leave every object the old one encrypted unreadable; restore it with git (git checkout HEAD~ -- ${spec.path}, or from your backup of the key)`,
      );
    }
    let content: string;
    if (existing && !existing.opened) {
      // Without a key the values cannot be read, so the file can only stay as it is.
      const expected = secretDocument(spec, sample(spec, false));
      const keys = Object.keys(expected.stringData);
      const changed = changedFields(visible(existing.doc, keys), visible(expected, keys));
      // A record of an earlier version has no fingerprint: nothing to compare (the next run with the key records one).
      const stale = recorded ? changedValues(recorded, fingerprint(spec)) : [];
      if (!recipientsKept || changed.length > 0 || stale.length > 0) {
        if (input.unopened) throw NEEDS_KEY;
        const why = [
          ...(recipientsKept ? [] : ['its recipients change']),
          ...(changed.length > 0 ? [`its ${changed.join(', ')} change${changed.length > 1 ? '' : 's'}`] : []),
          ...(stale.length > 0 ? [`its ${stale.join(', ')} value${stale.length > 1 ? 's change' : ' changes'}`] : []),
        ].join('; ');
        const theirs = existing.doc.sops.age.map((a) => a.recipient).join(', ');
        if (input.check) content = needsKeyHolder(input.check, spec.path, why, existing.text, notes);
        // The values stay: loading the key is the fix. New values (--rotate) only when the key is lost, and the recipients change with it.
        else if (recipientsKept)
          fail(
            `${spec.path} must be encrypted anew (${why}), which needs its values, and ${noKey(input.identities)}; load the key of one of its recipients (${theirs}), or have a holder of that key run this`,
          );
        else
          fail(
            `${spec.path} must be encrypted anew (${why}), which needs its values, and ${noKey(input.identities)}; load the key of one of its recipients (${theirs}), or, if that key is lost, ${recreate(spec)}`,
          );
      } else content = existing.text;
      if (recorded) fingerprints[spec.path] = recorded;
    } else if (spec.copyOf !== undefined && original === undefined && input.check) {
      content = needsKeyHolder(input.check, spec.path, `it must repeat the values of ${spec.copyOf}`, text, notes);
      if (recorded) fingerprints[spec.path] = recorded;
    } else {
      if (spec.copyOf !== undefined && original === undefined) {
        fail(
          `${spec.path} must repeat the values of ${spec.copyOf}, which cannot be read without an age key (${keySources()}); load the key, or re-create both with --rotate ${spec.credential}`,
        );
      }
      // A file that opened keeps its values (none, if its stringData is gone).
      const kept = original
        ? Object.fromEntries(Object.keys(spec.generated).map((k) => [k, original[k]]))
        : existing?.opened
          ? ((existing.opened.plaintext.stringData ?? {}) as Record<string, unknown>)
          : undefined;
      const { values, fresh } = valuesFor(spec, kept);
      if (fresh && !generated.includes(spec.credential)) generated.push(spec.credential);
      if (fresh && spec.keep)
        notes.push(
          `${spec.path} holds a new KMS key, which encrypts every object at rest and is never replaced: keep a copy outside the cluster and this repository (sops -d ${spec.path}); losing it loses the data (if the env had a key before, restore that file from git history instead)`,
        );
      valuesByPath.set(spec.path, values);
      const doc = secretDocument(spec, values);
      if (existing?.opened && isDeepStrictEqual(existing.opened.plaintext, doc)) {
        content = recipientsKept
          ? existing.text
          : rewrapDocument(existing.doc, existing.opened.dataKey, input.recipients);
      } else {
        // Same recipients: the data key and the ciphertext of unchanged values stay.
        const sealedBefore = existing?.opened && recipientsKept ? existing : rotatedKept;
        const previous = sealedBefore?.opened
          ? { doc: sealedBefore.doc as unknown as Record<string, unknown>, dataKey: sealedBefore.opened.dataKey }
          : undefined;
        content = encryptDocument(doc, input.recipients, input.now, input.encryptedRegex, previous);
      }
      fingerprints[spec.path] = fingerprint(spec);
    }
    files.push({ path: spec.path, content });
  }
  return { files, generated, notes, fingerprints };
}

export interface SecretsPlan extends Sealed {
  /** .sops.yaml before and after (absent when the env has no sealed secrets). */
  sopsConfig?: { before: string | null; after: string };
  /** An age identity to save before anything is written (none existed). */
  newKey?: NewIdentity;
  recipients: string[];
}

/**
 * Everything sealed secrets need for a run: the recipients (--age-recipient, else
 * .sops.yaml, else the available keys, else a new key), the new .sops.yaml, and the
 * sealed files. Reads the disk and the environment; writes nothing.
 */
export async function planSecrets(
  root: OutputRoot,
  options: Options,
  flags: Flags,
  now: Date,
  recorded: SealedRecord = {},
  written: GeneratedRecord = {},
): Promise<SecretsPlan> {
  const specs = sealedSecretSpecs(options);
  const where = `env ${options.env} uses --secrets ${options.settings.secrets}`;
  if (specs.length === 0) {
    if (flags.rotate.length > 0) fail(`--rotate works on SOPS-sealed credentials, but ${where}; use --secrets sops`);
    if (flags.ageRecipients.length > 0)
      fail(`--age-recipient is for SOPS-sealed credentials, but ${where}; use --secrets sops`);
    return { files: [], generated: [], notes: [], recipients: [] };
  }
  const known = [...new Set(specs.map((s) => s.credential))];
  const kept = specs.filter((s) => s.keep).map((s) => s.credential);
  for (const name of flags.rotate) {
    if (name !== 'all' && !known.includes(name))
      fail(
        `--rotate ${name}: env ${options.env} has no such credential; use one of: ${[...known.filter((k) => !kept.includes(k)), 'all'].join(', ')}`,
      );
  }
  const refused = flags.rotate.find((name) => kept.includes(name));
  if (refused)
    fail(
      `--rotate ${refused}: the KMS key cannot be replaced, because every object it encrypted would be unreadable with a new one; see docs/hardening.md (Encryption at rest) for moving to a new key`,
    );
  // `all` is every credential that can be made anew: not the KMS key.
  const rotate = new Set(flags.rotate.includes('all') ? known.filter((name) => !kept.includes(name)) : flags.rotate);
  const flagRecipients = flags.ageRecipients.map((r) => checkRecipient(r, '--age-recipient'));

  const sopsBefore = readText(root.at(SOPS_CONFIG_FILE));
  const rule = coveringRule(sopsBefore, specs[0]!.path);
  let identities = availableIdentities();
  let recipients = flagRecipients.length > 0 ? [...new Set(flagRecipients)] : rule.recipients;
  let newKey: NewIdentity | undefined;
  if (recipients.length === 0) {
    if (identities.length > 0) recipients = recipientsOf(identities);
    else {
      const keyFile = resolve(ageKeyFile());
      // Real paths on both sides: a link in either must not hide the key inside the repository.
      const top = findRepository(root.path)?.top ?? root.path;
      if ([root.real, realPathOf(top)].some((dir) => isWithin(dir, realPathOf(keyFile)))) {
        fail(
          `the age key file ${keyFile} is inside the output's repository (${realPathOf(top)}), where it could be committed; point SOPS_AGE_KEY_FILE outside it`,
        );
      }
      const stat = lstatSync(keyFile, { throwIfNoEntry: false });
      if (stat?.isSymbolicLink() && !existsSync(keyFile))
        fail(
          `the age key file ${keyFile} is a symbolic link to nothing; point it at a key file, or remove the link to let a key be made there`,
        );
      if (existsSync(keyFile) && statSync(keyFile).isDirectory())
        fail(`the age key file ${keyFile} is a directory; point SOPS_AGE_KEY_FILE at a file`);
      if (existsSync(keyFile))
        fail(
          `${keyFile} holds no age identity (AGE-SECRET-KEY-1...); add one (age-keygen >> ${shellQuote(keyFile)}), or pass --age-recipient`,
        );
      newKey = newIdentity(keyFile);
      recipients = [newKey.recipient];
      identities = [newKey.identity];
    }
  }
  // Re-keying away from every key this machine has would lock the person (and a cluster
  // holding the same key) out of the secrets already sealed.
  // (Asked only when recipients are given: each key's recipient is a curve multiplication.)
  const mine = flagRecipients.length > 0 ? recipientsOf(identities) : [];
  const sealedExist = specs.some((spec) => existsSync(root.at(spec.path)));
  if (
    flagRecipients.length > 0 &&
    sealedExist &&
    mine.length > 0 &&
    !mine.some((r) => recipients.includes(r)) &&
    !sameSet(recipients, rule.recipients)
  ) {
    fail(
      `none of your age keys (${mine.join(', ')}) is among the new recipients, so you could no longer decrypt sealed/${options.env}/; pass your own recipient too (--age-recipient ${mine[0]} --age-recipient ...)`,
    );
  }
  const inUse = (name: string) =>
    readText(root.at(`overlays/${options.env}/minio/patch-server.yaml`))?.includes(`name: ${name}`) ?? false;
  const unedited = (path: string, text: string) => written[path] === sha256(text);
  const sealed = await sealSecrets({
    root,
    specs,
    recipients,
    identities,
    rotate,
    now,
    encryptedRegex: rule.encryptedRegex,
    recorded,
    inUse,
    unedited,
    ...(flags.check ? { check: { env: options.env } } : {}),
  });
  return {
    ...sealed,
    recipients,
    newKey,
    sopsConfig: { before: sopsBefore, after: withRecipients(sopsBefore, rule, recipients) },
  };
}
