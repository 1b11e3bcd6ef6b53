// The code's dependencies point one way: no module imports one that (through others)
// imports it back. Read from the sources' own import lines, static and dynamic, so that a
// new cycle anywhere in src/ fails here with the modules that form it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './tools.ts';

const SRC = join(REPO, 'src');

function modules(dir: string): string[] {
  return readdirSync(dir).flatMap((n) =>
    statSync(join(dir, n)).isDirectory() ? modules(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : [],
  );
}

/** module -> the modules of src/ it imports (type-only imports included: they still tie the two). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of modules(SRC)) {
    const text = readFileSync(file, 'utf8');
    const targets = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+\.ts)'/g)].map((m) =>
      resolve(dirname(file), m[1]!),
    );
    graph.set(relative(SRC, file), [...new Set(targets.map((t) => relative(SRC, t)))]);
  }
  return graph;
}

/** Every cycle, each once, as the list of modules along it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found = new Map<string, string[]>();
  const visit = (node: string, path: string[]) => {
    const at = path.indexOf(node);
    if (at >= 0) {
      const cycle = path.slice(at);
      const key = [...cycle].sort().join(' ');
      if (!found.has(key)) found.set(key, [...cycle, node]);
      return;
    }
    if (path.length > 40) return;
    for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
  };
  for (const node of graph.keys()) visit(node, []);
  return [...found.values()];
}

describe('module layers', () => {
  it('src/ has no import cycle', () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(40);
    expect(cycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('the check finds a cycle when there is one', () => {
    const graph = new Map([
      ['render/a.ts', ['render/b.ts']],
      ['render/b.ts', ['render/c.ts']],
      ['render/c.ts', ['render/a.ts', 'names.ts']],
      ['names.ts', []],
    ]);
    expect(cycles(graph)).toEqual([['render/a.ts', 'render/b.ts', 'render/c.ts', 'render/a.ts']]);
  });

  it('the render layer imports nothing from the edges (disk, git, cluster, diff, cli)', () => {
    const graph = importGraph();
    const edges = /^(apply|git|cli|plan-run|repo-state|lock|sealed|age-keys|cluster\/|diff\/)/;
    const offending = [...graph]
      .filter(([m]) => m.startsWith('render/'))
      .flatMap(([m, deps]) => deps.filter((d) => edges.test(d)).map((d) => `${m} -> ${d}`));
    expect(offending).toEqual([]);
  });
});
