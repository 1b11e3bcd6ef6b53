// sealed/<env>/: what the env's SOPS-encrypted Secrets hold (specs: which values are
// generated, fixed or derived; the values themselves are made and encrypted at the edge,
// in sealed.ts) and how the GitOps engine decrypts them: Flux decrypts Secrets after
// its build, so they are plain resources; Argo CD runs KSOPS, a generator.
import { createHash } from 'node:crypto';
import type { Options } from '../options.ts';
import type { GeneratedFile } from './files.ts';
import { kustomization, yamlFile } from './files.ts';
import { consumerSecretValues } from './consumers.ts';
import { BASIC_AUTH_SECRET, consumerMirrorSecret, consumerSecret, labels, ROOT_SECRET, s3Endpoint, syncWave, WAVES } from './names.ts';

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
  generated: Record<string, 'user' | 'password'>;
  fixed: Record<string, string>;
  /** Values computed from the others on every run (kept consistent after an edit). */
  derived: (values: Record<string, string>) => Record<string, string>;
  /** Path of an earlier spec whose generated values this one repeats (a copy in another namespace). */
  copyOf?: string;
}

export const CREDENTIALS = ['root', 'console'] as const;

/** An htpasswd line nginx reads ({SHA}: unsalted, safe for a long random password). */
export function htpasswd(user: string, password: string): string {
  return `${user}:{SHA}${createHash('sha1').update(password).digest('base64')}\n`;
}

export function sealedSecretSpecs(o: Options): SealedSecretSpec[] {
  const s = o.settings;
  if (s.secrets !== 'sops') return [];
  const dir = `sealed/${o.env}`;
  const common = { namespace: s.namespace, labels: labels('credentials'), wave: WAVES.prerequisites as number, derived: () => ({}) };
  const specs: SealedSecretSpec[] = [
    { ...common, credential: 'root', path: `${dir}/${ROOT_SECRET}.yaml`, name: ROOT_SECRET, generated: { rootUser: 'user', rootPassword: 'password' }, fixed: {} },
  ];
  if (s.ingress) {
    specs.push({
      ...common,
      credential: 'console',
      path: `${dir}/${BASIC_AUTH_SECRET}.yaml`,
      name: BASIC_AUTH_SECRET,
      generated: { password: 'password' },
      fixed: { user: 'admin' },
      derived: (v) => ({ auth: htpasswd(v.user!, v.password!) }),
    });
  }
  // Each consumer: its Secret in its namespace, and the same values for the bootstrap Job.
  for (const [name, c] of Object.entries(s.consumers)) {
    // The file keeps the name it had when every env's Secret was minio-s3-credentials-NAME:
    // the values live in the file, so moving it would mean new credentials.
    const primary = `${dir}/consumers/minio-s3-credentials-${name}.yaml`;
    const values = { generated: { 's3.secret-key': 'password' as const }, fixed: { 's3.access-key': c.user } };
    specs.push({ ...common, ...values, credential: name, path: primary, name: consumerSecret(o, name), namespace: c.namespace, wave: WAVES.consumers, derived: (v) => consumerSecretValues(s3Endpoint(o), v['s3.access-key']!, v['s3.secret-key']!) });
    specs.push({ ...common, ...values, credential: name, path: `${dir}/bootstrap/${consumerMirrorSecret(name)}.yaml`, name: consumerMirrorSecret(name), copyOf: primary });
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
        metadata: { name: 'minio-sealed-secrets', annotations: { 'config.kubernetes.io/function': 'exec:\n  path: ksops\n' } },
        files: files.map((f) => `./${f}`),
      },
      scope,
    ),
  ];
}
