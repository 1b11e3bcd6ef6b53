// The one YAML writer. Every generated YAML file goes through toYaml, so the output is
// deterministic: apiVersion, kind and metadata first, then the order the render
// functions chose; no line folding; no anchors; YAML 1.1 quoting, because kubectl and
// Argo CD parse with a YAML 1.1 reader that takes `on`, `yes` or `y` for booleans.
import YAML from 'yaml';

const LEADING_KEYS = ['apiVersion', 'kind', 'metadata'];

export type Yamlable = Record<string, unknown>;

function leadingKeysFirst(value: Yamlable): Yamlable {
  const out: Yamlable = {};
  for (const key of LEADING_KEYS) if (key in value) out[key] = value[key];
  for (const [key, v] of Object.entries(value)) if (!(key in out)) out[key] = v;
  return out;
}

const STRINGIFY_OPTIONS = { version: '1.1', lineWidth: 0, minContentWidth: 0, aliasDuplicateObjects: false } as const;

/** Serializes one or more documents, separated by `---`, with an optional header comment. */
export function toYaml(docs: Yamlable | Yamlable[], header?: string): string {
  const list = Array.isArray(docs) ? docs : [docs];
  const body = list.map((doc) => YAML.stringify(leadingKeysFirst(doc), STRINGIFY_OPTIONS)).join('---\n');
  return header ? commentBlock(header) + body : body;
}

export function commentBlock(text: string): string {
  return text.split('\n').map((line) => (line ? `# ${line}` : '#')).join('\n') + '\n';
}

/** Parses every document of a YAML stream into plain values (a test and config helper). */
export function parseAllYaml(text: string): unknown[] {
  return YAML.parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw doc.errors[0];
    return doc.toJS();
  });
}
