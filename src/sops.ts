// The SOPS file format, written against getsops/sops (see ../shared/REFERENCE.md section 4),
// for age recipients: encrypt a YAML document in-process, re-wrap its data key for a new
// set of recipients (like `sops updatekeys`), and verify a file's MAC. Values are
// decrypted by the sops-age package (see secrets.ts); this module checks what sops-age
// does not: the data key and the MAC.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { decryptArmored, encryptArmored } from './age.ts';
import { toYaml, type Yamlable } from './yaml.ts';

/** The sops version written in the metadata: a full semver, as sops requires. */
export const SOPS_FORMAT_VERSION = '3.9.4';
export const K8S_ENCRYPTED_REGEX = '^(data|stringData)$';

export interface AgeStanza {
  recipient: string;
  enc: string;
}

export interface SopsMetadata {
  age: AgeStanza[];
  lastmodified: string;
  mac: string;
  encrypted_regex: string;
  version: string;
}

type Leaf = string | number | boolean;
type Visit = (value: Leaf, path: string[], encrypted: boolean) => Leaf;

/**
 * Walks every leaf in document order, the way sops does: a leaf is encrypted when the
 * regex matches any key on its path (list indices are not keys); null is skipped.
 * Returns a copy with each leaf replaced by what `visit` returns.
 */
function walk(value: unknown, path: string[], regex: RegExp, inherited: boolean, visit: Visit): unknown {
  if (value === null || value === undefined) return value;
  if (Array.isArray(value)) return value.map((item) => walk(item, path, regex, inherited, visit));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = walk(v, [...path, k], regex, inherited || regex.test(k), visit);
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return visit(value, path, inherited);
  throw new Error(`cannot encrypt a ${typeof value} with sops`);
}

/** Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest exact decimal, never an exponent. */
function goFloat(v: number): string {
  const s = String(v);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = '', exp] = m;
  const digits = int! + frac;
  const point = int!.length + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** The bytes sops hashes and encrypts for a value, and its type tag. */
function plaintextOf(value: Leaf): { bytes: Buffer; type: string } {
  if (typeof value === 'string') return { bytes: Buffer.from(value, 'utf8'), type: 'str' };
  if (typeof value === 'boolean') return { bytes: Buffer.from(value ? 'True' : 'False'), type: 'bool' };
  if (Number.isInteger(value)) return { bytes: Buffer.from(String(value)), type: 'int' };
  return { bytes: Buffer.from(goFloat(value)), type: 'float' };
}

function encryptBytes(bytes: Buffer, type: string, dataKey: Uint8Array, aad: string): string {
  const iv = randomBytes(32);
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(bytes), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${tag.toString('base64')},type:${type}]`;
}

const ENC =
  /^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),type:(str|int|float|bool|time|comment)\]$/;

/** Decrypts one ENC[...] value to its plaintext bytes; throws when it does not authenticate. */
function decryptBytes(value: string, dataKey: Uint8Array, aad: string): { bytes: Buffer; type: string } {
  const m = ENC.exec(value);
  if (!m) throw new Error('not a sops-encrypted value');
  const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(m[2]!, 'base64'));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(Buffer.from(m[3]!, 'base64'));
  return { bytes: Buffer.concat([decipher.update(Buffer.from(m[1]!, 'base64')), decipher.final()]), type: m[4]! };
}

const aadOf = (path: string[]) => `${path.join(':')}:`;

/** One age stanza per recipient, each an age file of the raw data key, as sops writes them. */
function wrapDataKey(dataKey: Uint8Array, recipients: string[]): AgeStanza[] {
  return recipients.map((recipient) => ({ recipient, enc: encryptArmored(dataKey, recipient) }));
}

/** RFC 3339 in UTC without fractional seconds, as sops writes lastmodified. */
export function sopsTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A sealed file that is encrypted anew: its data key and values, to keep what did not change. */
export interface PreviousSeal {
  doc: Record<string, unknown>;
  dataKey: Uint8Array;
}

/**
 * Encrypts a document for the age recipients: the text of a sops YAML file that `sops -d`
 * decrypts and verifies. `now` is the lastmodified time. With `previous` (the same
 * recipients: a removed one must not keep the key), its data key and its age stanzas are
 * kept, and so is the ciphertext of every value that did not change, as `sops edit` keeps
 * the key: a reviewer's diff then shows which values changed. Otherwise a new data key.
 */
export function encryptDocument(
  doc: Yamlable,
  recipients: string[],
  now: Date,
  encryptedRegex = K8S_ENCRYPTED_REGEX,
  previous?: PreviousSeal,
): string {
  if (recipients.length === 0) throw new Error('sops needs at least one age recipient');
  const dataKey = previous?.dataKey ?? randomBytes(32);
  const regex = new RegExp(encryptedRegex);
  const kept = new Map<string, string[]>();
  if (previous) {
    const { sops: _metadata, ...body } = previous.doc;
    walk(body, [], /$^/, false, (value, path) => {
      if (typeof value === 'string' && ENC.test(value))
        kept.set(aadOf(path), [...(kept.get(aadOf(path)) ?? []), value]);
      return value;
    });
  }
  /** The earlier ciphertext of this value, when there was exactly one at its path and it holds the same plaintext. */
  const reuse = (bytes: Buffer, type: string, aad: string): string | undefined => {
    const [old, ...more] = kept.get(aad) ?? [];
    if (!old || more.length > 0) return undefined;
    try {
      const was = decryptBytes(old, dataKey, aad);
      return was.type === type && was.bytes.equals(bytes) ? old : undefined;
    } catch {
      return undefined;
    }
  };
  const mac = createHash('sha512');
  const encrypted = walk(doc, [], regex, false, (value, path, encrypt) => {
    const { bytes, type } = plaintextOf(value);
    mac.update(bytes);
    // sops leaves empty strings as they are.
    if (!encrypt || value === '') return value;
    return reuse(bytes, type, aadOf(path)) ?? encryptBytes(bytes, type, dataKey, aadOf(path));
  }) as Yamlable;
  const lastmodified = sopsTimestamp(now);
  const stanzas = (previous?.doc.sops as SopsMetadata | undefined)?.age;
  const sops: SopsMetadata = {
    age: previous && stanzas ? stanzas : wrapDataKey(dataKey, recipients),
    lastmodified,
    mac: encryptBytes(Buffer.from(mac.digest('hex').toUpperCase()), 'str', dataKey, lastmodified),
    encrypted_regex: encryptedRegex,
    version: SOPS_FORMAT_VERSION,
  };
  return toYaml({ ...encrypted, sops });
}

/** Finds the data key with any of the identities (AGE-SECRET-KEY-1...), and which one did. */
export function unwrapDataKey(
  metadata: SopsMetadata,
  identities: string[],
): { dataKey: Uint8Array; identity: string } | null {
  for (const stanza of metadata.age ?? []) {
    for (const identity of identities) {
      try {
        const dataKey = decryptArmored(stanza.enc, [identity]);
        if (dataKey?.length === 32) return { dataKey, identity };
      } catch {
        // a damaged stanza: try the others
      }
    }
  }
  return null;
}

/**
 * Checks a parsed sops document: every encrypted value authenticates under the data key
 * and the MAC matches the plaintext. Returns the reason when it does not, else null.
 */
export function verifyDocument(doc: Record<string, unknown>, dataKey: Uint8Array): string | null {
  const { sops: metadata, ...body } = doc as { sops: SopsMetadata } & Record<string, unknown>;
  const hash = createHash('sha512');
  let problem: string | null = null;
  walk(body, [], /$^/, false, (value, path) => {
    if (problem) return value;
    if (typeof value === 'string' && value.startsWith('ENC[')) {
      try {
        hash.update(decryptBytes(value, dataKey, aadOf(path)).bytes);
      } catch {
        problem = `the value at ${path.join('.')} does not decrypt`;
      }
    } else {
      hash.update(plaintextOf(value).bytes);
    }
    return value;
  });
  if (problem) return problem;
  try {
    const stored = decryptBytes(metadata.mac, dataKey, metadata.lastmodified).bytes.toString();
    return stored === hash.digest('hex').toUpperCase() ? null : 'the MAC does not match the content';
  } catch {
    return 'the MAC does not decrypt';
  }
}

/**
 * The same file with its data key wrapped for a new set of recipients, values, MAC and
 * lastmodified untouched (what `sops updatekeys` does).
 */
export function rewrapDocument(doc: Record<string, unknown>, dataKey: Uint8Array, recipients: string[]): string {
  const { sops: metadata, ...body } = doc as { sops: SopsMetadata } & Record<string, unknown>;
  return toYaml({ ...body, sops: { ...metadata, age: wrapDataKey(dataKey, recipients) } });
}
