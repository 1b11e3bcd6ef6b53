// The `yaml` library (a parser that keeps comments), loaded on first use: a run in a
// fresh directory has no config, record or .sops.yaml to parse, writes them with the
// own emitter (yaml.ts), and so never pays the library's start-up cost.
//
// Every YAML file the run reads arrives through pull requests, so it is parsed with
// limits (size, aliases, nesting) and any failure of the parser, whatever it throws,
// becomes one line for the person: never a stack trace.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { fail } from './errors.ts';
import { MAX_YAML_BYTES, readOwnYaml } from './yaml-read.ts';

const require = createRequire(import.meta.url);
let lib: typeof Yaml | undefined;

export function yamlLib(): typeof Yaml {
  lib ??= require('yaml') as typeof Yaml;
  return lib;
}

export { MAX_YAML_BYTES };
const MAX_ALIASES = 50;
const MAX_DEPTH = 64;

/** The first value that is not plain data (a Map, Set, Date, bytes), by its kind, or null. */
function unplain(value: unknown): string | null {
  const stack = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v !== 'object' || v === null) continue;
    if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null)
      return v.constructor?.name === 'Map'
        ? 'ordered map'
        : v.constructor?.name === 'Set'
          ? 'set'
          : v instanceof Date
            ? 'timestamp'
            : 'binary value';
    stack.push(...Object.values(v));
  }
  return null;
}

/** How deep a parsed value nests (walked without recursion, so no value can exhaust the stack). */
function tooDeep(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_DEPTH) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * One YAML document from an untrusted file, as a Document (to edit in place) and its
 * value. `what` names the file in the message, `fix` says what to do; both end the line.
 */
export function parseUntrusted(text: string, what: string, fix: string): { doc: Yaml.Document; value: unknown } {
  if (Buffer.byteLength(text) > MAX_YAML_BYTES)
    fail(`${what} is larger than ${MAX_YAML_BYTES >> 20} MiB, far beyond what it should hold; ${fix}`);
  let doc: Yaml.Document;
  let value: unknown;
  try {
    // logLevel error: the library's warnings (a list as a key...) would go to stderr as a second line.
    const docs = yamlLib().parseAllDocuments(text, { prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
    if (docs.length === 0) return { doc: yamlLib().parseDocument(''), value: null }; // comments only
    if (docs.length > 1) fail(`${what} holds ${docs.length} YAML documents where one belongs; ${fix}`);
    doc = docs[0]!;
    const problem = doc.errors[0];
    if (problem) {
      const line = text.slice(0, problem.pos[0]).split('\n').length;
      fail(`${what} is not valid YAML (line ${line}: ${problem.message.split('\n')[0]}); ${fix}`);
    }
    // YAML 1.1 (by directive) reads `on` and timestamps otherwise, and writes new maps as !!omap.
    if (doc.directives?.yaml.explicit && doc.directives.yaml.version !== '1.2')
      fail(`${what} declares %YAML ${doc.directives.yaml.version}, and it is read as YAML 1.2; remove the %YAML line`);
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    if ((error as Error)?.name === 'UsageError') throw error;
    const why =
      error instanceof RangeError
        ? 'it nests too deeply'
        : /alias/i.test(String((error as Error)?.message))
          ? 'too many aliases'
          : String((error as Error)?.message ?? error).split('\n')[0];
    return fail(`${what} cannot be read as YAML (${why}); ${fix}`);
  }
  if (tooDeep(value)) fail(`${what} nests deeper than ${MAX_DEPTH} levels, far beyond what it should hold; ${fix}`);
  const odd = unplain(value);
  if (odd)
    fail(
      `${what} holds a YAML ${odd} (from a tag such as !!omap, !!set, !!binary or !!timestamp), where plain maps, lists and scalars belong; write it without the tag`,
    );
  return { doc, value };
}

/**
 * The value of one YAML document from an untrusted file: a file as the tool wrote it is
 * read without the library (yaml-read.ts), anything else as parseUntrusted reads it.
 */
export function readUntrusted(text: string, what: string, fix: string): unknown {
  const own = readOwnYaml(text);
  return own !== undefined ? own : parseUntrusted(text, what, fix).value;
}
