// The one YAML writer. Every generated YAML file goes through toYaml, so the output is
// deterministic: apiVersion, kind and metadata first, then the order the render
// functions chose; no line folding; no anchors; two-space indents.
//
// It is a small emitter for the plain data the render functions produce (maps, lists,
// strings, integers, booleans, null), not a general YAML library: that keeps the
// scaffold fast (no document tree per file). Strings are written plain only when every
// YAML 1.1 and 1.2 reader takes them back as the same string (kubectl, kustomize and
// Argo CD read YAML 1.1, where `on`, `yes` and `0755` are not strings); anything else is
// double-quoted, and multi-line strings become literal blocks. test/units.test.ts
// round-trips tricky values through the `yaml` library in both versions.

const LEADING_KEYS = ['apiVersion', 'kind', 'metadata'];

export type Yamlable = Record<string, unknown>;

function leadingKeysFirst(value: Yamlable): Yamlable {
  const out: Yamlable = {};
  for (const key of LEADING_KEYS) if (key in value) out[key] = value[key];
  for (const [key, v] of Object.entries(value)) if (!(key in out)) out[key] = v;
  return out;
}

// A plain scalar here: printable ASCII without indicators that need care (# ' " etc.),
// not starting with an indicator or space, not ending with a space or ':'.
const PLAIN = /^[A-Za-z0-9_./$(-](?:[A-Za-z0-9_./$(){}=+@:, -]*[A-Za-z0-9_./$(){}=+@,)-])?$/;
// Plain-looking values that a YAML 1.1 or 1.2 reader resolves to something else than a
// string. Deliberately broad: quoting a string that needed none costs nothing.
const NOT_A_STRING = [
  /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/,
  /^(null|Null|NULL|~)$/,
  /^[-+.]?[0-9][0-9_:.eE+-]*$/, // ints, floats, 1.1 octal and sexagesimal, versions
  /^[-+]?\.?[0-9][0-9_:.eE+-]*$/, // -.5
  /^[-+]?[._0-9]*([eE][-+]?[0-9]*)?$/, // '.', '-.', 'e3': YAML 1.1 reads them as NaN
  /^[-+]?0[xXoObB][0-9a-fA-F_]+$/,
  /^[-+]?\.(inf|Inf|INF|nan|NaN|NAN)$/,
  /^\d{4}-\d\d?-\d\d?/, // timestamps
  /^(<<|=|-|---.*|\.\.\..*)$/,
  /^- /, // a block sequence's indicator, where a value belongs: not even valid YAML
];

function scalar(value: string): string {
  if (PLAIN.test(value) && !value.includes(': ') && !NOT_A_STRING.some((re) => re.test(value))) return value;
  // A JSON string is a valid YAML double-quoted scalar once everything outside printable
  // ASCII is escaped (YAML 1.1 takes U+0085, U+2028 and U+2029 for line breaks).
  return JSON.stringify(value).replace(/[^\x20-\x7e]/gu, (ch) => {
    const code = ch.codePointAt(0)!;
    return code > 0xffff ? `\\U${code.toString(16).padStart(8, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** A multi-line string as a literal block, when `|` or `|-` keeps it exactly. */
function literalBlock(value: string, indent: string): string | null {
  if (!value.includes('\n')) return null;
  const content = value.endsWith('\n') ? value.slice(0, -1) : value;
  if (!/^[\x20-\x7e\n]+$/.test(content) || /^[ \n]/.test(content) || content.endsWith('\n')) return null;
  const lines = content.split('\n').map((line) => (line ? indent + line : ''));
  return `|${value.endsWith('\n') ? '' : '-'}\n${lines.join('\n')}`;
}

function inline(value: unknown, indent: string): string | null {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return Number.isInteger(value) ? String(value) : JSON.stringify(value);
  }
  if (typeof value === 'string') return literalBlock(value, indent) ?? scalar(value);
  if (Array.isArray(value)) return value.length === 0 ? '[]' : null;
  if (typeof value === 'object') return Object.keys(value).length === 0 ? '{}' : null;
  throw new Error(`cannot write a ${typeof value} as YAML`);
}

function block(value: unknown, indent: string): string {
  const lines: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const simple = inline(item, `${indent}  `);
      lines.push(
        simple !== null ? `${indent}- ${simple}` : `${indent}- ${block(item, `${indent}  `).slice(indent.length + 2)}`,
      );
    }
  } else {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      const simple = inline(v, `${indent}  `);
      lines.push(
        simple !== null ? `${indent}${scalar(k)}: ${simple}` : `${indent}${scalar(k)}:\n${block(v, `${indent}  `)}`,
      );
    }
  }
  return lines.join('\n');
}

/** Serializes one document (a map at the top). */
export function yamlDocument(doc: Yamlable): string {
  const simple = inline(doc, '');
  return `${simple ?? block(doc, '')}\n`;
}

/** Serializes one or more documents, separated by `---`, with an optional header comment. */
export function toYaml(docs: Yamlable | Yamlable[], header?: string): string {
  const list = Array.isArray(docs) ? docs : [docs];
  const body = list.map((doc) => yamlDocument(leadingKeysFirst(doc))).join('---\n');
  return header ? commentBlock(header) + body : body;
}

export function commentBlock(text: string): string {
  return `${text
    .split('\n')
    .map((line) => (line ? `# ${line}` : '#'))
    .join('\n')}\n`;
}
