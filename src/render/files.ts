// A generated file and the helpers that make one from objects. Every YAML file goes
// through toYaml with the header that says where it came from.
import { toYaml, type Yamlable } from '../yaml.ts';
import { generatedHeader } from './names.ts';

export interface GeneratedFile {
  /** Path relative to the output root, with forward slashes. */
  path: string;
  content: string;
}

export function yamlFile(path: string, objects: object | object[], scope: string): GeneratedFile {
  return { path, content: toYaml(objects as Yamlable | Yamlable[], generatedHeader(scope)) };
}

/** A kustomization.yaml; `fields` (namespace, resources, components, patches) in reading order. */
export function kustomization(dir: string, scope: string, fields: object): GeneratedFile {
  return yamlFile(
    `${dir}/kustomization.yaml`,
    { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', ...fields },
    scope,
  );
}

/** Joins the files of several generators; two generators writing one path is a bug. */
export function combine(...groups: GeneratedFile[][]): GeneratedFile[] {
  const seen = new Set<string>();
  const all = groups.flat();
  for (const file of all) {
    if (seen.has(file.path)) throw new Error(`two generators write ${file.path}`);
    seen.add(file.path);
  }
  return all.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
