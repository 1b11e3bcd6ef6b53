// sealed/<env>/: what the env's SOPS-encrypted Secrets hold (specs: which values are
// generated, fixed or derived; the values themselves are made and encrypted at the edge,
// in sealed.ts) and how the GitOps engine decrypts them: Flux decrypts Secrets after
// its build, so they are plain resources; Argo CD runs KSOPS, a generator.
import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Options } from '../options.ts';
import type { GeneratedFile } from './files.ts';
import { kustomization, yamlFile } from './files.ts';
import { consumerSecretValues } from './consumers.ts';
import { METRICS_USER } from '../consumers.ts';
import { AUDIT_CREDENTIAL, AUDIT_SECRET, hasAudit } from './audit.ts';
import { hasKms, KMS_CREDENTIAL, KMS_SECRET, KMS_SECRET_KEY } from './kms.ts';
import { hasMetricsCredentials, METRICS_CREDENTIAL, METRICS_SECRET, metricsToken } from './metrics.ts';
import {
  BASIC_AUTH_SECRET,
  consumerMirrorSecret,
  consumerSecret,
  labels,
  ROOT_SECRET,
  s3Endpoint,
  syncWave,
  WAVES,
} from './names.ts';

/** What a generated value is: a user name, a password, or a KMS key (kms.ts). */
export type GeneratedKind = 'user' | 'password' | 'kms-key';

export interface SealedSecretSpec {
  /** The name --rotate takes. */
  credential: string;
  /** Argo CD sync wave of the Secret. */
  wave: number;
  path: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** Values made once and kept until rotated: a user name or a password. */
  generated: Record<string, GeneratedKind>;
  /**
   * Never made anew once made (the KMS key: what it sealed is unreadable without it): not
   * rotated, and a file the record lists that is gone is restored, not replaced.
   */
  keep?: boolean;
  fixed: Record<string, string>;
  /**
   * Values computed from the others on every run (kept consistent after an edit). `kept` is
   * what the existing file holds (absent for new values): a salted hash that still verifies
   * against the values is returned as it is, so a re-run changes no byte.
   */
  derived: (values: Record<string, string>, kept?: Record<string, unknown>) => Record<string, string>;
  /**
   * The keys `derived` returns, when their values carry a random salt: never public (no
   * two runs agree on them), and a file's shape needs only their names, so they are not
   * hashed for nothing (1000 MD5 rounds each).
   */
  salted?: string[];
  /** Path of an earlier spec whose generated values this one repeats (a copy in another namespace). */
  copyOf?: string;
}

export const CREDENTIALS = ['root', 'console'] as const;

// The console's basic-auth line: apr1, Apache's salted MD5-crypt (1000 rounds), as
// `htpasswd -m` and `openssl passwd -apr1` write it. nginx checks $apr1$ itself
// (ngx_crypt.c), not through the C library's crypt(3), so ingress-nginx accepts it on every
// build. The salt is random (crypto.randomBytes), so equal passwords give different lines and
// the line is no lookup key for its password (what the unsalted {SHA} line was). 1000 MD5
// rounds would not slow a guesser much; the password, 40 random characters, is not guessable.
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const APR1_MAGIC = '$apr1$';
const APR1_SALT = /^[./0-9A-Za-z]{1,8}$/;

/** 8 salt characters from bytes (each byte's low 6 bits: uniform, 256 is a multiple of 64). */
function saltFrom(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 8)].map((b) => ITOA64[b & 63]).join('');
}

/** The apr1 hash of a password (UTF-8) with a salt of 1 to 8 characters of ./0-9A-Za-z: `$apr1$SALT$HASH`. */
export function apr1(password: string, salt: string): string {
  if (!APR1_SALT.test(salt))
    throw new Error(`an apr1 salt is 1 to 8 characters of ./0-9A-Za-z, not ${JSON.stringify(salt)}`);
  const md5 = (...parts: Uint8Array[]) => hash('md5', Buffer.concat(parts), 'buffer');
  const pw = Buffer.from(password, 'utf8');
  const s = Buffer.from(salt, 'ascii');
  const alternate = md5(pw, s, pw);
  const start = [pw, Buffer.from(APR1_MAGIC, 'ascii'), s];
  for (let left = pw.length; left > 0; left -= 16) start.push(alternate.subarray(0, Math.min(left, 16)));
  // One byte per bit of the length: NUL for a set bit, else the password's first byte (NUL when it is empty, as in C).
  for (let bits = pw.length; bits > 0; bits >>= 1) start.push(Buffer.from([bits & 1 ? 0 : (pw[0] ?? 0)]));
  let digest = md5(...start);
  for (let i = 0; i < 1000; i++) {
    digest = md5(i & 1 ? pw : digest, ...(i % 3 ? [s] : []), ...(i % 7 ? [pw] : []), i & 1 ? digest : pw);
  }
  // 16 bytes as 22 characters, in md5-crypt's order (three bytes to four characters, low 6 bits first).
  const to64 = (value: number, count: number) => {
    let out = '';
    for (let n = 0; n < count; n++, value >>= 6) out += ITOA64[value & 63];
    return out;
  };
  const d = digest;
  const encoded =
    to64((d[0]! << 16) | (d[6]! << 8) | d[12]!, 4) +
    to64((d[1]! << 16) | (d[7]! << 8) | d[13]!, 4) +
    to64((d[2]! << 16) | (d[8]! << 8) | d[14]!, 4) +
    to64((d[3]! << 16) | (d[9]! << 8) | d[15]!, 4) +
    to64((d[4]! << 16) | (d[10]! << 8) | d[5]!, 4) +
    to64(d[11]!, 2);
  return `${APR1_MAGIC}${salt}$${encoded}`;
}

/** An htpasswd line nginx reads: `user:$apr1$SALT$HASH` and a newline; a random salt unless one is given. */
export function htpasswd(user: string, password: string, salt: string = saltFrom(randomBytes(8))): string {
  return `${user}:${apr1(password, salt)}\n`;
}

/**
 * A salt that follows from the user and password alone, for a line whose password is public
 * anyway (the plain dev Secret's fixed development password, printed in its README): a
 * random salt would protect nothing there, and this one keeps the dev overlay byte-stable.
 */
export function fixedSalt(user: string, password: string): string {
  return saltFrom(createHash('sha256').update(`minio-gitops apr1 salt\0${user}\0${password}`).digest());
}

/** Whether `line` is exactly the apr1 htpasswd line of user and password (with its own salt), as htpasswd() writes it. */
export function verifyHtpasswd(line: string, user: string, password: string): boolean {
  const salt = line.startsWith(`${user}:${APR1_MAGIC}`)
    ? line.slice(user.length + 1 + APR1_MAGIC.length).split('$')[0]!
    : '';
  if (!APR1_SALT.test(salt)) return false;
  const expected = Buffer.from(htpasswd(user, password, salt));
  const actual = Buffer.from(line);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * The console's htpasswd line: the kept one while it verifies against user and password (a
 * re-run keeps the sealed file byte for byte), else a new one with a new random salt (a new
 * password, a password edited with sops, or an older unsalted `{SHA}` line).
 */
export function consoleHtpasswd(user: string, password: string, kept: unknown): string {
  return typeof kept === 'string' && verifyHtpasswd(kept, user, password) ? kept : htpasswd(user, password);
}

export function sealedSecretSpecs(o: Options): SealedSecretSpec[] {
  const s = o.settings;
  if (s.secrets !== 'sops') return [];
  const dir = `sealed/${o.env}`;
  const common = {
    namespace: s.namespace,
    labels: labels('credentials'),
    wave: WAVES.prerequisites as number,
    derived: () => ({}),
  };
  const specs: SealedSecretSpec[] = [
    {
      ...common,
      credential: 'root',
      path: `${dir}/${ROOT_SECRET}.yaml`,
      name: ROOT_SECRET,
      generated: { rootUser: 'user', rootPassword: 'password' },
      fixed: {},
    },
  ];
  if (hasAudit(o))
    specs.push({
      ...common,
      credential: AUDIT_CREDENTIAL,
      path: `${dir}/${AUDIT_SECRET}.yaml`,
      name: AUDIT_SECRET,
      generated: { token: 'password' },
      fixed: {},
    });
  if (hasKms(o))
    specs.push({
      ...common,
      credential: KMS_CREDENTIAL,
      path: `${dir}/${KMS_SECRET}.yaml`,
      name: KMS_SECRET,
      generated: { [KMS_SECRET_KEY]: 'kms-key' },
      fixed: {},
      keep: true,
    });
  if (s.ingress) {
    specs.push({
      ...common,
      credential: 'console',
      path: `${dir}/${BASIC_AUTH_SECRET}.yaml`,
      name: BASIC_AUTH_SECRET,
      generated: { password: 'password' },
      fixed: { user: 'admin' },
      derived: (v, kept) => ({ auth: consoleHtpasswd(v.user!, v.password!, kept?.auth) }),
      salted: ['auth'],
    });
  }
  // Each consumer: its Secret in its namespace, and the same values for the bootstrap Job.
  for (const [name, c] of Object.entries(s.consumers)) {
    // The file keeps the name it had when every env's Secret was minio-s3-credentials-NAME:
    // the values live in the file, so moving it would mean new credentials.
    const primary = `${dir}/consumers/minio-s3-credentials-${name}.yaml`;
    const values = { generated: { 's3.secret-key': 'password' as const }, fixed: { 's3.access-key': c.user } };
    specs.push({
      ...common,
      ...values,
      credential: name,
      path: primary,
      name: consumerSecret(o, name),
      namespace: c.namespace,
      wave: WAVES.consumers,
      derived: (v) => consumerSecretValues(s3Endpoint(o), v['s3.access-key']!, v['s3.secret-key']!),
    });
    specs.push({
      ...common,
      ...values,
      credential: name,
      path: `${dir}/bootstrap/${consumerMirrorSecret(name)}.yaml`,
      name: consumerMirrorSecret(name),
      copyOf: primary,
    });
  }
  // The metrics user's: with the bootstrap's inputs, so a rotation re-runs the Job.
  if (hasMetricsCredentials(o)) {
    specs.push({
      ...common,
      credential: METRICS_CREDENTIAL,
      path: `${dir}/bootstrap/${METRICS_SECRET}.yaml`,
      name: METRICS_SECRET,
      generated: { 's3.secret-key': 'password' },
      fixed: { 's3.access-key': METRICS_USER },
      derived: (v) => ({ token: metricsToken(v['s3.access-key']!, v['s3.secret-key']!) }),
    });
  }
  return specs;
}

/** The Secret a spec seals, with its values in a stable order. */
export function secretDocument(spec: SealedSecretSpec, values: Record<string, string>) {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels, annotations: syncWave(spec.wave) },
    type: 'Opaque',
    stringData: values,
  };
}

/**
 * A kustomization per sealed directory: sealed/<env>/ (the server's), bootstrap/ and
 * consumers/ (each a resource of its own overlay; the consumers' keep their namespaces).
 * Flux decrypts after its build, so the Secrets are plain resources; Argo CD runs KSOPS.
 */
export function renderSealed(o: Options): GeneratedFile[] {
  const byDir = new Map<string, string[]>();
  for (const spec of sealedSecretSpecs(o)) {
    const dir = spec.path.slice(0, spec.path.lastIndexOf('/'));
    byDir.set(dir, [...(byDir.get(dir) ?? []), spec.path.slice(dir.length + 1)]);
  }
  return [...byDir].flatMap(([dir, files]) => sealedKustomization(o, dir, files));
}

function sealedKustomization(o: Options, dir: string, files: string[]): GeneratedFile[] {
  const scope = `env ${o.env}, sealed secrets`;
  if (o.global.gitops === 'flux') return [kustomization(dir, scope, { resources: files })];
  return [
    kustomization(dir, scope, { generators: ['secret-generator.yaml'] }),
    yamlFile(
      `${dir}/secret-generator.yaml`,
      {
        apiVersion: 'viaduct.ai/v1',
        kind: 'ksops',
        metadata: {
          name: 'minio-sealed-secrets',
          annotations: { 'config.kubernetes.io/function': 'exec:\n  path: ksops\n' },
        },
        files: files.map((f) => `./${f}`),
      },
      scope,
    ),
  ];
}
