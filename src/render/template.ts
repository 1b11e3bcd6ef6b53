// The prose of generated files lives in text files under templates/, so that the renderers
// read as code. A template file holds parts, each after a line `<!-- part: NAME -->` (what
// comes before the first one is the file's own comment, never output). A part is its text
// exactly, without the blank lines around it: a whole section, a paragraph, a list item, or
// a phrase that only some configurations have (it may begin with a space or a comma).
// `{{name}}` in a part is replaced by the value the code gives. Templates hold no logic: the
// code chooses the parts and computes the values (names, lists, commands), and a missing
// part, a placeholder without a value or a value without a placeholder is an error.
// Each file is read once, when a render first needs it.
import { readFileSync } from 'node:fs';

const MARKER = /^<!-- part: ([\w.-]+) -->$/m;
const PLACEHOLDER = /\{\{(\w+)\}\}/g;

export type Values = Record<string, string | number>;
/** Part `part` of one template file, filled with `values`. */
export type Template = (part: string, values?: Values) => string;

const files = new Map<string, Map<string, string>>();

function parts(file: string): Map<string, string> {
  let found = files.get(file);
  if (!found) {
    const [, ...sections] = readFileSync(new URL(`./templates/${file}`, import.meta.url), 'utf8').split(MARKER);
    found = new Map();
    for (let i = 0; i < sections.length; i += 2) {
      const name = sections[i]!;
      if (found.has(name)) throw new Error(`template ${file} has part ${name} twice`);
      found.set(name, sections[i + 1]!.replace(/^\n+|\n+$/g, ''));
    }
    files.set(file, found);
  }
  return found;
}

/** The parts of templates/`file` (read on the first call). */
export function template(file: string): Template {
  return (part, values = {}) => {
    const text = parts(file).get(part);
    if (text === undefined) throw new Error(`template ${file} has no part ${part}`);
    const used = new Set<string>();
    const filled = text.replace(PLACEHOLDER, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`template ${file}, part ${part}: no value for {{${name}}}`);
      used.add(name);
      return String(value);
    });
    const unused = Object.keys(values).filter((name) => !used.has(name));
    if (unused.length > 0) throw new Error(`template ${file}, part ${part} has no {{${unused.join('}}, {{')}}}`);
    return filled;
  };
}
