// The reader of the own YAML (src/yaml-read.ts) against the `yaml` library: whatever it
// returns is what the library reads, and it reads every file the scaffolder writes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { readOwnYaml } from '../src/yaml-read.ts';
import { toYaml } from '../src/yaml.ts';
import { run } from './run.ts';
import { tempDir } from './tools.ts';

const repo = resolve(import.meta.dirname, '..');

/** What the scaffolder reads a file as (yaml-lib.ts), or an error. */
function library(text: string): { value?: unknown; error?: true } {
  try {
    const docs = YAML.parseAllDocuments(text, { uniqueKeys: true, logLevel: 'silent' });
    if (!Array.isArray(docs) || docs.length !== 1 || docs[0]!.errors.length > 0) return { error: true };
    return { value: docs[0]!.toJS() };
  } catch {
    return { error: true };
  }
}

/** The property: the reader returns nothing, or exactly what the library reads. */
function agrees(text: string): boolean {
  const own = readOwnYaml(text);
  if (own === undefined) return true;
  const lib = library(text);
  expect(lib.error, `the library refuses what the reader took: ${JSON.stringify(text)}`).toBeUndefined();
  expect(own, text).toStrictEqual(lib.value);
  return true;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === '.git') return [];
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

// A small deterministic generator (mulberry32), so that a failure is repeatable.
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ATOMS = [
  'a',
  'on',
  'null',
  '1',
  '1.5',
  '-',
  ':',
  ': ',
  '#',
  ' ',
  '"',
  '\\',
  '\n',
  '|',
  '0x1',
  '\u00e9',
  '\u{1F600}',
];

function value(next: () => number, depth: number): unknown {
  const pick = next();
  if (depth > 3 || pick < 0.45) {
    const kind = Math.floor(next() * 6);
    if (kind === 0) return Math.floor(next() * 2000) - 1000;
    if (kind === 1) return next() < 0.5;
    if (kind === 2) return null;
    if (kind === 3) return next() < 0.5 ? [] : {};
    return Array.from({ length: Math.floor(next() * 4) }, () => ATOMS[Math.floor(next() * ATOMS.length)]).join('');
  }
  if (pick < 0.7) return Array.from({ length: 1 + Math.floor(next() * 3) }, () => value(next, depth + 1));
  const out: Record<string, unknown> = {};
  for (let i = 0; i < 1 + Math.floor(next() * 3); i++) out[`k${String(value(next, 9))}`] = value(next, depth + 1);
  return out;
}

describe('readOwnYaml', () => {
  it('reads back every value the writer writes, as the library does (3000 random documents)', () => {
    const next = random(7);
    let read = 0;
    for (let i = 0; i < 3000; i++) {
      const doc = { top: value(next, 0), list: [value(next, 1), value(next, 1)] };
      const text = toYaml(doc);
      const own = readOwnYaml(text);
      expect(own, text).toStrictEqual(doc);
      agrees(text);
      read++;
    }
    expect(read).toBe(3000);
  });

  it('reads every single-document YAML file the scaffolder writes, a config it updated included; agrees with the library on the committed envs', () => {
    const out = tempDir();
    for (const args of [
      ['--env', 'dev'],
      ['--env', 'prod'],
      [
        '--env',
        'lake',
        '--profile',
        'prod',
        '--secrets',
        'external',
        '--gitops',
        'argocd',
        '--repo-url',
        'https://git.example/x.git',
      ],
      ['--env', 'dev', '--tls', 'on', '--replicas', '4', '--storage', 'pvc', '--leave-data-behind'],
    ]) {
      const r = run([...args, '--out', out, '--no-commit']);
      expect(r.code, r.stderr).toBe(0);
    }
    // The CI workflow keeps comments of its own, and a run never reads it back.
    const written = yamlFiles(out).filter((f) => !relative(out, f).startsWith('.github/'));
    const single = written.filter((f) => !readFileSync(f, 'utf8').includes('\n---\n'));
    const unread = single.filter((f) => readOwnYaml(readFileSync(f, 'utf8')) === undefined);
    expect(unread).toEqual([]);
    expect(single.map((f) => relative(out, f))).toEqual(
      expect.arrayContaining([
        'scaffold.config.yaml',
        'scaffold.lock.yaml',
        '.sops.yaml',
        'sealed/prod/minio-root-credentials.yaml',
      ]),
    );
    expect(single.length).toBeGreaterThan(100);
    const committed = ['overlays', 'base', 'sealed']
      .flatMap((dir) => yamlFiles(join(repo, dir)))
      .concat(['scaffold.config.yaml', 'scaffold.lock.yaml', '.sops.yaml'].map((f) => join(repo, f)));
    for (const file of [...written, ...committed]) agrees(readFileSync(file, 'utf8'));
  });

  it('a file a person edited (comments, other quoting, flow style, anchors, duplicates, CRLF, tags, directives) is left to the library', () => {
    const own = 'envs:\n  prod:\n    replicas: 4\n    buckets:\n      - name: a\n        versioning: true\n';
    expect(readOwnYaml(own)).toStrictEqual({
      envs: { prod: { replicas: 4, buckets: [{ name: 'a', versioning: true }] } },
    });
    for (const edited of [
      'envs:\n  prod:\n    replicas: 4 # four\n',
      'envs:\n  prod:\n    # a note\n    replicas: 4\n',
      "envs:\n  prod:\n    image: 'x'\n",
      'envs: {prod: {replicas: 4}}\n',
      'a: &x 1\nb: *x\n',
      'a: 1\na: 2\n',
      'a: 1\r\nb: 2\r\n',
      'a: !!str 1\n',
      '%YAML 1.1\n---\na: yes\n',
      '---\na: 1\n',
      'a: 1\n---\nb: 2\n',
      '__proto__: 1\n',
      'a:\n    b: 1\n',
      'a: yes\n',
      'a: 0x10\n',
      'a: >\n  folded\n',
      'a: |+\n  kept\n\n',
      'a: |\n  x\n\n',
      'a:\n- 1\n',
      'a: "x"\n',
      'a: 1',
      '# only a comment\n',
      '',
    ])
      expect(readOwnYaml(edited), JSON.stringify(edited)).toBeUndefined();
  });

  it('never disagrees with the library on damaged files (20000 random edits of generated files)', () => {
    const texts = [
      readFileSync(join(repo, 'scaffold.lock.yaml'), 'utf8').slice(0, 1500),
      readFileSync(join(repo, 'scaffold.config.yaml'), 'utf8'),
      ...yamlFiles(join(repo, 'sealed')).map((f) => readFileSync(f, 'utf8')),
    ];
    const next = random(11);
    const pieces = [
      ' ',
      '  ',
      ':',
      ': ',
      '-',
      '- ',
      '#',
      '"',
      "'",
      '|',
      '|-',
      '>',
      '\n',
      '&a',
      '*a',
      '!',
      '{',
      '[',
      'x',
      '\\',
      '1',
      '\t',
      '\r',
    ];
    let agreed = 0;
    for (let i = 0; i < 20000; i++) {
      const text = texts[i % texts.length]!;
      const at = Math.floor(next() * text.length);
      const cut = next() < 0.3 ? 1 + Math.floor(next() * 3) : 0;
      const edited =
        text.slice(0, at) +
        (cut > 0 && next() < 0.5 ? '' : pieces[Math.floor(next() * pieces.length)]) +
        text.slice(at + cut);
      if (agrees(edited)) agreed++;
    }
    expect(agreed).toBe(20000);
  });

  it('what the library refuses is left to it: a key over 1024 characters, a file over 1 MiB', () => {
    expect(readOwnYaml(`${'k'.repeat(1024)}: 1\n`)).toStrictEqual({ ['k'.repeat(1024)]: 1 });
    expect(readOwnYaml(`${'k'.repeat(1025)}: 1\n`)).toBeUndefined();
    expect(readOwnYaml(`"${'k'.repeat(1030)}": 1\n`)).toBeUndefined();
    expect(library(`${'k'.repeat(1025)}: 1\n`).error).toBe(true);
    const big = toYaml({ items: Array.from({ length: 80000 }, (_, i) => `value-${i}`) });
    expect(big.length).toBeGreaterThan(1 << 20);
    expect(readOwnYaml(big)).toBeUndefined();
  });

  it('escapes: an escaped backslash before a U, astral characters, control characters', () => {
    for (const value of ['\\U00000041', '\\\u{1F600}', 'x\u0001y', '\u2028', 'a\\"b'])
      expect(readOwnYaml(toYaml({ value, list: [value] })), JSON.stringify(value)).toStrictEqual({
        value,
        list: [value],
      });
  });

  it('a file nested deeper than the limit is left to the library (which refuses it with its message)', () => {
    let doc: unknown = 'leaf';
    for (let i = 0; i < 60; i++) doc = { k: doc };
    expect(readOwnYaml(toYaml(doc as Record<string, unknown>))).toBeUndefined();
    doc = 'leaf';
    for (let i = 0; i < 30; i++) doc = { k: doc };
    expect(readOwnYaml(toYaml(doc as Record<string, unknown>))).toStrictEqual(doc);
  });
});
