// A reader for YAML exactly as the own writer (yaml.ts) writes it, so that a re-run reads
// back its config, record and sealed files without loading the `yaml` library (about a
// fifth of a no-op run). It is not a YAML parser: it reads the writer's subset (block maps
// and lists, two-space indents, plain or double-quoted scalars, literal blocks, `[]`, `{}`)
// and then proves its reading by writing the value again: only when that gives back the
// very text is the value returned. Since the writer's output reads back as the value it
// was given (test/units.test.ts), the value is then what the `yaml` library would read.
// Anything else, a file a person edited included, returns undefined: the caller parses it
// with the library (yaml-lib.ts), with its limits and messages.
import { yamlDocument } from './yaml.ts';

/** Far above any file the tool writes or a person keeps by hand (the largest is a few KiB). */
export const MAX_YAML_BYTES = 1 << 20;

/** Shallower than yaml-lib's limit, so that a deep file always meets the library's message. */
const MAX_DEPTH = 48;

class NotOwn extends Error {}

const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const FLOAT = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?(e[-+]?[0-9]+)?$/;

function scalarValue(text: string): unknown {
  if (text.startsWith('"')) {
    // The writer escapes astral characters YAML's way (\UXXXXXXXX), everything else as JSON;
    // one pass over the escapes, so that an escaped backslash before a U stays one.
    const json = text.replace(/\\(U[0-9a-f]{8}|[\s\S])/g, (sequence, what: string) => {
      if (what.length === 1) return sequence;
      const code = Number.parseInt(what.slice(1), 16);
      return code > 0x10ffff ? '\\?' : JSON.stringify(String.fromCodePoint(code)).slice(1, -1);
    });
    try {
      return JSON.parse(json);
    } catch {
      throw new NotOwn();
    }
  }
  if (text === 'null') return null;
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === '[]') return [];
  if (text === '{}') return {};
  if (INTEGER.test(text) || FLOAT.test(text)) return Number(text);
  return text;
}

/** The end of a double-quoted scalar starting at `from` (the index after its closing quote). */
function quotedEnd(line: string, from: number): number {
  for (let i = from + 1; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === '"') return i + 1;
  }
  throw new NotOwn();
}

/** YAML takes an implicit key of at most 1024 characters. */
const MAX_KEY = 1024;

/** A map entry's key and the text after `:` (empty: the value is the block below), or null. */
function entry(line: string, at: number): { key: string; rest: string } | null {
  const found = keyAndRest(line, at);
  if (found && found.written > MAX_KEY) throw new NotOwn();
  return found && { key: found.key, rest: found.rest };
}

function keyAndRest(line: string, at: number): { key: string; rest: string; written: number } | null {
  if (line[at] === '"') {
    const end = quotedEnd(line, at);
    if (line[end] !== ':' || (end + 1 < line.length && line[end + 1] !== ' ')) return null;
    return { key: scalarValue(line.slice(at, end)) as string, rest: line.slice(end + 2), written: end - at };
  }
  const colon = line.indexOf(': ', at);
  if (colon >= 0) return { key: line.slice(at, colon), rest: line.slice(colon + 2), written: colon - at };
  return line.endsWith(':') ? { key: line.slice(at, -1), rest: '', written: line.length - 1 - at } : null;
}

const spaces = (n: number) => ' '.repeat(n);

class Reader {
  i = 0;
  private readonly lines: string[];
  constructor(lines: string[]) {
    this.lines = lines;
  }

  /** The block (map or list) whose lines start at `indent` spaces. */
  block(indent: number, depth: number): unknown {
    if (depth > MAX_DEPTH || this.i >= this.lines.length) throw new NotOwn();
    const line = this.lines[this.i]!;
    if (!line.startsWith(spaces(indent)) || line[indent] === ' ') throw new NotOwn();
    return line.startsWith('- ', indent) ? this.list(indent, depth) : this.map(indent, depth);
  }

  private list(indent: number, depth: number): unknown[] {
    const out: unknown[] = [];
    const dash = `${spaces(indent)}- `;
    while (this.i < this.lines.length && this.lines[this.i]!.startsWith(dash)) {
      const item = this.lines[this.i]!.slice(indent + 2);
      if (item.startsWith('- ') || entry(item, 0) !== null) {
        // A map or list as an item: its first line follows the dash; read it as if the dash were indentation.
        this.lines[this.i] = spaces(indent + 2) + item;
        out.push(this.block(indent + 2, depth + 1));
      } else {
        this.i++;
        out.push(this.value(item, indent + 2));
      }
    }
    return out;
  }

  private map(indent: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const lead = spaces(indent);
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (!line.startsWith(lead) || line[indent] === ' ' || line.startsWith('- ', indent)) break;
      const e = entry(line, indent);
      if (e === null || e.key === '__proto__' || Object.hasOwn(out, e.key)) throw new NotOwn();
      this.i++;
      out[e.key] = e.rest === '' ? this.block(indent + 2, depth + 1) : this.value(e.rest, indent + 2);
    }
    return out;
  }

  /** A value written on its entry's line: a scalar, or the head of a literal block indented by `indent`. */
  private value(text: string, indent: number): unknown {
    if (text !== '|' && text !== '|-') return scalarValue(text);
    const lead = spaces(indent);
    const content: string[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line !== '' && !line.startsWith(lead)) break;
      content.push(line.slice(indent));
      this.i++;
    }
    return content.join('\n') + (text === '|' ? '\n' : '');
  }
}

/**
 * The value of `text` when it is one document exactly as yaml.ts writes it (after comment
 * lines at the top), else undefined.
 */
export function readOwnYaml(text: string): unknown {
  if (Buffer.byteLength(text) > MAX_YAML_BYTES) return undefined; // the library's message
  if (text.includes('\r') || !text.endsWith('\n')) return undefined;
  const lines = text.slice(0, -1).split('\n');
  let start = 0;
  while (start < lines.length && (lines[start] === '' || /^#( |$)/.test(lines[start]!))) start++;
  const body = lines.slice(start);
  try {
    let value: unknown;
    if (body.length === 1 && (body[0] === '[]' || body[0] === '{}')) value = scalarValue(body[0]);
    else {
      const reader = new Reader(body.slice());
      value = reader.block(0, 0);
      if (reader.i !== body.length) return undefined;
    }
    return yamlDocument(value as Record<string, unknown>) === `${body.join('\n')}\n` ? value : undefined;
  } catch (error) {
    if (error instanceof NotOwn) return undefined;
    throw error;
  }
}
