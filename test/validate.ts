// Schema checks for every object a build emits:
// - kubernetes-models (and @kubernetes-models/*) validate types, enums and required fields;
// - a strict walk rejects unknown fields, as an API server with fieldValidation=Strict
//   does: core kinds against @kubernetes/client-node's type maps, custom resources against
//   the upstream CRDs' openAPIV3Schema, fetched pinned from the registries into .tools/crds
//   by tools/install-crds.sh (and our own in test/crds).
import * as k8s from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  ConfigMap,
  Namespace,
  PersistentVolumeClaim,
  Pod,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Role, RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { Certificate, Issuer, ClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { ExternalSecret } from '@kubernetes-models/external-secrets/external-secrets.io/v1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Application, ApplicationSet, AppProject } from '@kubernetes-models/argo-cd/argoproj.io/v1alpha1';
import { GitRepository } from '@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1';
import { Kustomization } from '@kubernetes-models/flux-cd/kustomize.toolkit.fluxcd.io/v1';
import { REPO } from './tools.ts';
import { quantityValue } from '../src/options.ts';

type Obj = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string } };
interface Model {
  validate(): void;
}

// A kind without a kubernetes-models class is checked against its CRD only.
const MODELS: Record<string, { model?: new (data: never) => Model; core?: string; crd?: string }> = {
  'v1/ConfigMap': { model: ConfigMap, core: 'V1ConfigMap' },
  'batch/v1/Job': { model: Job, core: 'V1Job' },
  'flink.apache.org/v1beta1/FlinkDeployment': { crd: 'flinkdeployments.flink.apache.org' },
  'platform.confluent.io/v1beta1/FlinkEnvironment': { crd: 'flinkenvironments.platform.confluent.io' },
  'v1/Namespace': { model: Namespace, core: 'V1Namespace' },
  'v1/Pod': { model: Pod, core: 'V1Pod' },
  'trust.cert-manager.io/v1alpha1/Bundle': { crd: 'bundles.trust.cert-manager.io' },
  'v1/ServiceAccount': { model: ServiceAccount, core: 'V1ServiceAccount' },
  'v1/Service': { model: Service, core: 'V1Service' },
  'v1/Secret': { model: Secret, core: 'V1Secret' },
  'v1/PersistentVolumeClaim': { model: PersistentVolumeClaim, core: 'V1PersistentVolumeClaim' },
  'apps/v1/Deployment': { model: Deployment, core: 'V1Deployment' },
  'apps/v1/StatefulSet': { model: StatefulSet, core: 'V1StatefulSet' },
  'networking.k8s.io/v1/Ingress': { model: Ingress, core: 'V1Ingress' },
  'networking.k8s.io/v1/NetworkPolicy': { model: NetworkPolicy, core: 'V1NetworkPolicy' },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, core: 'V1PodDisruptionBudget' },
  'rbac.authorization.k8s.io/v1/Role': { model: Role, core: 'V1Role' },
  'rbac.authorization.k8s.io/v1/RoleBinding': { model: RoleBinding, core: 'V1RoleBinding' },
  'cert-manager.io/v1/Certificate': { model: Certificate, crd: 'certificates.cert-manager.io' },
  'cert-manager.io/v1/Issuer': { model: Issuer, crd: 'issuers.cert-manager.io' },
  'cert-manager.io/v1/ClusterIssuer': { model: ClusterIssuer, crd: 'clusterissuers.cert-manager.io' },
  'external-secrets.io/v1/ExternalSecret': { model: ExternalSecret, crd: 'externalsecrets.external-secrets.io' },
  'monitoring.coreos.com/v1/ServiceMonitor': { model: ServiceMonitor, crd: 'servicemonitors.monitoring.coreos.com' },
  'argoproj.io/v1alpha1/AppProject': { model: AppProject, crd: 'appprojects.argoproj.io' },
  'argoproj.io/v1alpha1/Application': { model: Application, crd: 'applications.argoproj.io' },
  'argoproj.io/v1alpha1/ApplicationSet': { model: ApplicationSet, crd: 'applicationsets.argoproj.io' },
  'source.toolkit.fluxcd.io/v1/GitRepository': {
    model: GitRepository,
    crd: 'gitrepositories.source.toolkit.fluxcd.io',
  },
  'kustomize.toolkit.fluxcd.io/v1/Kustomization': {
    model: Kustomization,
    crd: 'kustomizations.kustomize.toolkit.fluxcd.io',
  },
};

type AttributeMap = { name: string; baseName: string; type: string }[];
const SCALARS = new Set(['string', 'number', 'boolean', 'Date', 'any', 'object', 'IntOrString', 'RuntimeRawExtension']);

function unknownCoreFields(value: unknown, type: string, path: string, out: string[]): void {
  if (value === null || value === undefined || SCALARS.has(type)) return;
  const list = /^Array<(.+)>$/.exec(type);
  if (list) {
    if (Array.isArray(value)) value.forEach((item, i) => unknownCoreFields(item, list[1]!, `${path}[${i}]`, out));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    for (const [k, v] of Object.entries(value as object)) unknownCoreFields(v, map[1]!, `${path}.${k}`, out);
    return;
  }
  const cls = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap }>)[type];
  if (!cls?.getAttributeTypeMap) return; // enums and the like
  const attributes = cls.getAttributeTypeMap();
  for (const [key, v] of Object.entries(value as object)) {
    const attribute = attributes.find((a) => a.baseName === key);
    if (!attribute) out.push(`${path}.${key}: unknown field`);
    else unknownCoreFields(v, attribute.type, `${path}.${key}`, out);
  }
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

/** CRDs that are not public (Confluent's FlinkEnvironment): minimal ones of our own. */
export const OWN_CRD_DIR = join(REPO, 'test', 'crds');
/**
 * The upstream CRDs, pinned, from the registries (tools/install.sh): <crd-name>.yaml from
 * tools/install-crds.sh, and trust-manager's Bundle from tools/install-trust.sh.
 */
export const TOOLS_CRD_DIR = join(REPO, '.tools', 'crds');
const TOOLS_CRDS: Record<string, string> = { 'bundles.trust.cert-manager.io': 'trust.cert-manager.io_bundles.yaml' };

const crdSchemas = new Map<string, Schema>();
function crdSchema(name: string, version: string): Schema {
  const key = `${name}/${version}`;
  if (!crdSchemas.has(key)) {
    const own = join(OWN_CRD_DIR, `${name}.yaml`);
    const file = existsSync(own) ? own : join(TOOLS_CRD_DIR, TOOLS_CRDS[name] ?? `${name}.yaml`);
    const crd = YAML.parse(readFileSync(file, 'utf8'));
    const v = crd.spec.versions.find((x: { name: string }) => x.name === version);
    if (!v?.served) throw new Error(`${name} does not serve ${version}`);
    crdSchemas.set(key, v.schema.openAPIV3Schema);
  }
  return crdSchemas.get(key)!;
}

function unknownCrdFields(value: unknown, schema: Schema, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object' || schema['x-kubernetes-preserve-unknown-fields']) return;
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => unknownCrdFields(item, schema.items!, `${path}[${i}]`, out));
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    const sub =
      schema.properties?.[key] ??
      (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
    if (sub) unknownCrdFields(v, sub, `${path}.${key}`, out);
    else if (schema.properties && schema.additionalProperties !== true) out.push(`${path}.${key}: unknown field`);
  }
}

/** Problems with one object: an empty list means valid. */
export function validateObject(obj: Obj): string[] {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  const entry = MODELS[`${obj.apiVersion}/${obj.kind}`];
  if (!entry) return [`${where}: no schema known for ${obj.apiVersion} ${obj.kind}`];
  const problems: string[] = [];
  try {
    if (entry.model) new entry.model(obj as never).validate();
  } catch (error) {
    problems.push(`${where}: ${(error as Error).message}`);
  }
  const unknown: string[] = [];
  if (entry.core) unknownCoreFields(obj, entry.core, '', unknown);
  if (entry.crd) {
    // The API server always accepts these, whether a CRD's schema lists them or not.
    const { apiVersion: _a, kind: _k, metadata: _m, ...body } = obj;
    unknownCrdFields(body, crdSchema(entry.crd, obj.apiVersion.split('/')[1]!), '', unknown);
  }
  return [...problems, ...unknown.map((u) => `${where}: ${u}`)];
}

export type { Obj };

/** Parses every document of a YAML stream (a kustomize build) into plain values. */
export function parseAllYaml(text: string): unknown[] {
  return YAML.parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS();
  });
}

type ScratchContainer = {
  name: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
};
type ScratchPodSpec = {
  containers?: ScratchContainer[];
  initContainers?: ScratchContainer[];
  volumes?: { name: string; emptyDir?: { medium?: string; sizeLimit?: string } | null }[];
};
type PodTemplate = { spec?: ScratchPodSpec } | undefined;

/**
 * Every pod spec a rendered object carries, with where: a workload's pod template, a Pod, a
 * CronJob's, the Flink operator's and Confluent's pod templates (the common one and the
 * JobManager's and TaskManager's), and a Pod shipped as YAML in a ConfigMap (Spark's).
 */
export function podSpecs(obj: Obj): { where: string; spec: ScratchPodSpec }[] {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const o = obj as any;
  const flink = (spec: any, path: string): [string, PodTemplate][] => [
    [`${path}.podTemplate`, spec?.podTemplate],
    [`${path}.jobManager.podTemplate`, spec?.jobManager?.podTemplate],
    [`${path}.taskManager.podTemplate`, spec?.taskManager?.podTemplate],
  ];
  let found: [string, PodTemplate][] = [];
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'ReplicationController'].includes(obj.kind))
    found = [['spec.template', o.spec?.template]];
  else if (obj.kind === 'CronJob') found = [['spec.jobTemplate.spec.template', o.spec?.jobTemplate?.spec?.template]];
  else if (obj.kind === 'Pod') found = [['', o]];
  else if (obj.kind === 'FlinkDeployment') found = flink(o.spec, 'spec');
  else if (obj.kind === 'FlinkEnvironment')
    found = flink(o.spec?.flinkApplicationDefaults?.spec, 'spec.flinkApplicationDefaults.spec');
  else if (obj.kind === 'ConfigMap') {
    for (const [key, value] of Object.entries((o.data ?? {}) as Record<string, string>)) {
      if (!/\.ya?ml$/.test(key)) continue;
      for (const doc of parseAllYaml(value)) {
        if ((doc as { kind?: string })?.kind === 'Pod') found.push([`data.${key}`, doc as PodTemplate]);
      }
    }
  }
  return found
    .filter(([, t]) => t?.spec)
    .map(([path, t]) => ({ where: path ? `${where} ${path}` : where, spec: t!.spec! }));
}

/**
 * Unbounded scratch space in the objects' pod specs: an emptyDir without a sizeLimit, a
 * container or init container without ephemeral-storage requests and limits (or a request
 * above its limit), and a pod whose containers' limits together are less than its disk
 * emptyDirs may hold (the kubelet counts those against the pod's limit). Empty means bounded.
 */
export function scratchProblems(objs: Obj[]): string[] {
  const problems: string[] = [];
  for (const obj of objs) {
    for (const { where, spec } of podSpecs(obj)) {
      let onDisk = 0;
      for (const v of spec.volumes ?? []) {
        if (!v.emptyDir) continue;
        const limit = v.emptyDir.sizeLimit;
        if (!limit) problems.push(`${where}: emptyDir ${v.name} has no sizeLimit`);
        else if (v.emptyDir.medium !== 'Memory') onDisk += quantityValue(limit);
      }
      let limits = 0;
      for (const c of [
        ...(spec.initContainers ?? []).map((x) => ({ ...x, init: true })),
        ...(spec.containers ?? []).map((x) => ({ ...x, init: false })),
      ]) {
        const what = `${where}: ${c.init ? 'init container' : 'container'} ${c.name}`;
        const request = c.resources?.requests?.['ephemeral-storage'];
        const limit = c.resources?.limits?.['ephemeral-storage'];
        if (!request) problems.push(`${what} requests no ephemeral-storage`);
        if (!limit) problems.push(`${what} has no ephemeral-storage limit`);
        if (request && limit && !(quantityValue(request) <= quantityValue(limit)))
          problems.push(`${what} requests ephemeral-storage ${request}, above its limit ${limit}`);
        if (limit && !c.init) limits += quantityValue(limit);
      }
      if (onDisk > 0 && limits > 0 && onDisk > limits)
        problems.push(
          `${where}: its emptyDirs on disk may hold more than its containers' ephemeral-storage limits allow`,
        );
    }
  }
  return problems;
}
