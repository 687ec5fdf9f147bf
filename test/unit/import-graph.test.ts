// The direction of imports in lib/, type-only imports included (eslint's import-x/no-cycle skips
// those, and one type import once tied every driver to the controller): the only circle is the
// CNM object graph, which imports itself on purpose as libnetwork's root package does.
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const LIB = path.resolve(__dirname, '..', '..', 'lib');
const CNM_OBJECTS = ['controller', 'controller-options', 'endpoint', 'network', 'restore', 'sandbox', 'sandbox-gateway'].map((f) => `${f}.ts`);

/** Every .ts file under lib/, relative to it. */
function sources(dir = ''): string[] {
  return readdirSync(path.join(LIB, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
  );
}

/** The files under lib/ that `file` imports or re-exports from, types included. */
function importsOf(file: string, files: Set<string>): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(path.join(LIB, file), 'utf8'), true, true);
  return importedFiles
    .filter(({ fileName }) => fileName.startsWith('.'))
    .map(({ fileName }) => path.join(path.dirname(file), fileName))
    .map((target) => [`${target}.ts`, path.join(target, 'index.ts')].find((f) => files.has(f)))
    .filter((f): f is string => f !== undefined);
}

/** The import circles: strongly connected components of more than one file (Tarjan). */
function circles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v)!) {
      if (!index.has(w)) visit(w);
      if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, low.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const circle = stack.splice(stack.indexOf(v));
    if (circle.length > 1) found.push(circle.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

describe('the import graph of lib/', () => {
  const files = new Set(sources());
  const graph = new Map([...files].map((f) => [f, importsOf(f, files)]));

  it('has one circle, and it is the CNM object files', () => {
    expect(circles(graph)).toEqual([[...CNM_OBJECTS].sort()]);
  });

  it('keeps drivers, IPAM, the store, options and utilities below the CNM objects', () => {
    const below = [...files].filter((f) => /^(drivers|ipam|store|util)\//.test(f) || f === 'options.ts');
    const upward = below.flatMap((f) =>
      graph
        .get(f)!
        .filter((to) => CNM_OBJECTS.includes(to))
        .map((to) => `${f} -> ${to}`),
    );
    expect(upward).toEqual([]);
  });
});
