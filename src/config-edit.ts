// scaffold.config.yaml as a run reads and updates it. A file as the tool writes it (the
// own YAML below its comment lines) is read without the `yaml` library and rewritten whole
// by the own writer: it holds no comment or style but the lines at its top, which stay as
// they are. A file a person gave comments or a style of their own is read as a document of
// the library and updated in place, key by key, so that those stay where they were.
import type { Document } from 'yaml';
import { yamlDocument } from './yaml.ts';
import { parseUntrusted, yamlLib } from './yaml-lib.ts';
import { readOwnYaml } from './yaml-read.ts';

type Path = string[];
type Raw = Record<string, unknown>;

const isMap = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

export interface ConfigEdit {
  /** The value at `path` as plain data (undefined when there is none). */
  get(path: Path): unknown;
  /** Whether `path` holds a map in the file (which is then updated key by key). */
  isMap(path: Path): boolean;
  has(path: Path): boolean;
  set(path: Path, value: unknown): void;
  delete(path: Path): void;
  /** The file's new text. */
  text(): string;
}

/** Edits of a file in the own YAML: plain data, written whole below the file's first comment lines. */
function ownEdit(top: string, data: Raw): ConfigEdit {
  const at = (path: Path) => path.reduce<unknown>((node, key) => (isMap(node) ? node[key] : undefined), data);
  return {
    get: at,
    isMap: (path) => isMap(at(path)),
    has: (path) => isMap(at(path.slice(0, -1))) && Object.hasOwn(at(path.slice(0, -1)) as Raw, path.at(-1)!),
    set(path, value) {
      let node = data;
      for (const key of path.slice(0, -1)) {
        if (!isMap(node[key])) node[key] = {};
        node = node[key] as Raw;
      }
      node[path.at(-1)!] = structuredClone(value);
    },
    delete(path) {
      const parent = at(path.slice(0, -1));
      if (isMap(parent)) delete parent[path.at(-1)!];
    },
    text: () => top + yamlDocument(data),
  };
}

/** Edits of a file a person styled: the library's document, updated in place. */
function documentEdit(doc: Document): ConfigEdit {
  const YAML = yamlLib();
  const node = (path: Path) => doc.getIn(path, false);
  return {
    get(path) {
      const current = node(path);
      return YAML.isNode(current) ? current.toJS(doc) : current;
    },
    isMap: (path) => YAML.isMap(node(path)),
    has: (path) => doc.hasIn(path),
    // An empty map as a node, so that later edits can set keys inside it.
    set: (path, value) =>
      doc.setIn(path, isMap(value) && Object.keys(value).length === 0 ? doc.createNode(value) : value),
    delete: (path) => doc.deleteIn(path),
    text: () => doc.toString({ lineWidth: 0 }),
  };
}

/**
 * The file's settings and the way to update it, or no edit when the file is empty (a
 * new one is written). `what` and `fix` make the message of a file that is not YAML.
 */
export function readConfigFile(text: string, what: string, fix: string): { edit: ConfigEdit | null; raw: unknown } {
  const own = readOwnYaml(text);
  if (isMap(own)) {
    const body = text.search(/^[^#\n]/m);
    return { edit: ownEdit(text.slice(0, body), structuredClone(own)), raw: own };
  }
  const { doc, value } = parseUntrusted(text, what, fix);
  return { edit: value === null || value === undefined ? null : documentEdit(doc), raw: value };
}
