// A scaffolded env as the cluster would see it, for the tests that run real software on
// the rendered output: scaffold into a temp dir, build a part with the pinned kustomize,
// and run the bucket bootstrap the way the Job's pod does (its ConfigMaps as files, the
// consumers' credentials as files) against a test MinIO.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import YAML from 'yaml';
import type { Minio } from './minio.ts';
import { run } from './run.ts';
import { needTool, tempDir } from './tools.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: any;
};

/** Scaffolds an env (flags) into a new directory with `config` as scaffold.config.yaml. */
export function scaffold(config: string, ...flags: string[]): string {
  const out = tempDir();
  writeFileSync(join(out, 'scaffold.config.yaml'), config);
  const r = run([...flags, '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

/**
 * What Flux's kustomize-controller does after its build: decrypt each Secret that carries
 * sops metadata. Flux checks no MAC (the build reorders keys), so neither does this; the
 * real sops CLI decrypts, with the test file's age key.
 */
export function fluxDecrypt(sops: string, obj: Obj, dir: string): Obj {
  if (!('sops' in obj)) return obj;
  const file = join(dir, `${obj.kind}-${obj.metadata.namespace ?? ''}-${obj.metadata.name}.json`);
  writeFileSync(file, JSON.stringify(obj));
  return JSON.parse(
    execFileSync(sops, ['decrypt', '--ignore-mac', '--output-type', 'json', file], { encoding: 'utf8' }),
  ) as Obj;
}

/** The objects of a real `kustomize build` of a directory of the output, sealed Secrets decrypted as Flux does. */
export function build(ctx: { skip: (note?: string) => void }, out: string, dir: string): Obj[] {
  const kustomize = needTool(ctx, 'kustomize');
  const objs = YAML.parseAllDocuments(execFileSync(kustomize, ['build', join(out, dir)], { encoding: 'utf8' })).map(
    (d) => d.toJS() as Obj,
  );
  if (!objs.some((o) => 'sops' in o)) return objs;
  const sops = needTool(ctx, 'sops');
  const scratch = tempDir('minio-gitops-unsealed-');
  return objs.map((o) => fluxDecrypt(sops, o, scratch));
}

export function writeCredentials(dir: string, consumer: string, values: Record<string, string>) {
  mkdirSync(join(dir, consumer), { recursive: true });
  for (const key of ['s3.access-key', 's3.secret-key']) writeFileSync(join(dir, consumer, key), values[key]!);
}

export interface JobInputs {
  script: string;
  configDir: string;
  credentials: string;
  objs: Obj[];
}

/**
 * What the Job's pod sees, from a real build of overlays/<env>/bootstrap: the script and
 * config ConfigMaps as files, and each consumer's credentials (plain Secrets here; sealed
 * ones are decrypted by the caller).
 */
export function jobInputs(ctx: { skip: (note?: string) => void }, out: string, env: string): JobInputs {
  const objs = build(ctx, out, `overlays/${env}/bootstrap`);
  const dir = tempDir('minio-gitops-job-');
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  let script = '';
  for (const o of objs.filter((x) => x.kind === 'ConfigMap')) {
    if (o.metadata.name.startsWith('minio-bootstrap-script-')) script = join(dir, 'bootstrap-minio.sh');
    for (const [key, value] of Object.entries(o.data ?? {}))
      writeFileSync(o.metadata.name.startsWith('minio-bootstrap-script-') ? script : join(configDir, key), value);
  }
  expect(script).not.toBe('');
  const credentials = join(dir, 'credentials');
  // The Job's projected credentials volume, item by item, from the Secrets of the build.
  const job = objs.find((x) => x.kind === 'Job')!;
  const volume = job.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'credentials');
  for (const { secret } of volume?.projected.sources ?? []) {
    const values = objs.find((x) => x.kind === 'Secret' && x.metadata.name === secret.name)?.stringData;
    if (!values) throw new Error(`the Job mounts Secret ${secret.name}, which the build lacks`);
    for (const item of secret.items) {
      mkdirSync(join(credentials, item.path, '..'), { recursive: true });
      writeFileSync(join(credentials, item.path), values[item.key]!);
    }
  }
  return { script, configDir, credentials, objs };
}

/** Runs scripts/bootstrap-minio.sh as the Job does, against the test MinIO (CA given with --ca). */
export function runBootstrap(
  m: Minio,
  job: { script: string; configDir: string; credentials: string },
  extra: string[] = [],
) {
  const r = spawnSync(
    'sh',
    [
      job.script,
      '--endpoint',
      m.endpoint,
      '--config',
      job.configDir,
      '--credentials',
      job.credentials,
      '--wait',
      '30',
      ...extra,
    ],
    {
      encoding: 'utf8',
      env: { ...m.env, AWS_EC2_METADATA_DISABLED: 'true' },
    },
  );
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The values of a plain Secret (a consumer's, from a build of overlays/<env>/consumers), as a pod in `namespace` gets them. */
export function secretValues(objs: Obj[], namespace: string, name: string): Record<string, string> {
  const secret = objs.find(
    (o) => o.kind === 'Secret' && o.metadata.name === name && o.metadata.namespace === namespace,
  );
  if (!secret?.stringData) throw new Error(`no plain Secret ${namespace}/${name} in the build`);
  return secret.stringData;
}

type EnvVar = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } };

/**
 * The settings a test MinIO must share with the built servers (the KMS key, the metrics
 * auth, the audit webhook), as the kubelet gives them: Secret keys read from the build
 * (sealed ones decrypted), $(VAR) references expanded from the variables before.
 */
export function serverEnv(objs: Obj[]): Record<string, string> {
  const server = objs.find((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');
  if (!server) throw new Error('no MinIO server in the build');
  const env: Record<string, string> = {};
  for (const e of server.spec.template.spec.containers[0].env as EnvVar[]) {
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const secret = objs.find((o) => o.kind === 'Secret' && o.metadata.name === ref.name);
      if (secret) env[e.name] = secretValues(objs, secret.metadata.namespace!, ref.name)[ref.key]!;
    } else if (e.value !== undefined)
      env[e.name] = e.value.replace(/\$\((\w+)\)/g, (whole, name: string) => env[name] ?? whole);
  }
  return Object.fromEntries(Object.entries(env).filter(([k]) => /^MINIO_(KMS|PROMETHEUS|AUDIT)_/.test(k)));
}
