// The README's `cnm-ts/kernel` code blocks, run as a user would paste them (TypeScript compiled to
// an ES module that imports the package by name), each in a namespace of its own: they work, and
// afterwards that namespace has no link but lo, no nf_tables table and no namespace file.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import { describeKernel } from '../../helpers/kernel';

const root = path.resolve(__dirname, '..', '..', '..');

/** The README's ```ts blocks that import 'cnm-ts/kernel'. */
function kernelBlocks(): string[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((code) => code.includes("from 'cnm-ts/kernel'"));
}

/**
 * Runs `file` in a fresh network and mount namespace (tmpfs on /run/netns), then prints what is
 * left there: links, nf_tables tables, namespace files.
 */
const SCRIPT = [
  'set -e; mkdir -p /run/netns; mount -t tmpfs snippet /run/netns; ip link set lo up',
  '"$0" "$1"',
  'echo "LINKS $(ip -j link show)"',
  'echo "TABLES $(nft -j list tables)"',
  'echo "NAMESPACES $(ls -A /run/netns)"',
].join('\n');

describeKernel("the README's kernel snippets", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'cnm-readme-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  const blocks = kernelBlocks();
  it('finds the two blocks (kernel operations, nf_tables)', () => {
    expect(blocks).toHaveLength(2);
  });

  it.each(blocks.map((code, i) => [i, code] as const))('block %d runs and leaves nothing behind', (i, code) => {
    const dir = path.join(tmp, `block-${i}`);
    mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
    symlinkSync(root, path.join(dir, 'node_modules', 'cnm-ts'));
    const js = ts.transpileModule(code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(path.join(dir, 'snippet.mjs'), js);
    const out = execFileSync('unshare', ['--net', '--mount', '--propagation', 'private', 'sh', '-c', SCRIPT, process.execPath, path.join(dir, 'snippet.mjs')], {
      encoding: 'utf8',
    });
    const left = (what: string) => new RegExp(`^${what} (.*)$`, 'm').exec(out)?.[1] ?? '';
    const [links, tables, namespaces] = ['LINKS', 'TABLES', 'NAMESPACES'].map(left);
    expect((JSON.parse(links) as { ifname: string }[]).map((l) => l.ifname)).toEqual(['lo']);
    expect((JSON.parse(tables) as { nftables: Record<string, unknown>[] }).nftables.filter((entry) => 'table' in entry)).toEqual([]);
    expect(namespaces.trim()).toBe('');
  });
});
