// `import ... from 'cnm-ts'`, 'cnm-ts/kernel' and 'cnm-ts/testing' work from CommonJS and ESM,
// with types (the package's own name resolves to itself through its "exports").
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

/** One name of each entry point, and what `typeof` gives for it. */
const probes = [
  { entry: 'cnm-ts', names: ['NetworkController', 'CnmError'] },
  { entry: 'cnm-ts/kernel', names: ['linkAdd', 'NetlinkError'] },
  { entry: 'cnm-ts/testing', names: ['failOperation', 'clearFault'] },
];

const consumers: string[] = [];
afterAll(() => {
  for (const dir of consumers.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A consumer project elsewhere with cnm-ts in its node_modules, as `npm install` would put it (removed after the file). */
function consumer(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnm-types-'));
  consumers.push(dir);
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(root, path.join(dir, 'node_modules', 'cnm-ts'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Type-checks the consumer's files against the shipped .d.ts, those included (no skipLibCheck). */
function typeCheck(dir: string, files: string[], resolution: 'node16' | 'node10'): void {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const typeRoots = path.join(root, 'node_modules', '@types');
  const module = resolution === 'node16' ? 'node16' : 'commonjs';
  const args = [tsc, '--noEmit', '--strict', '--skipLibCheck', 'false', '--module', module, '--moduleResolution', resolution];
  execFileSync(process.execPath, [...args, '--typeRoots', typeRoots, '--types', 'node', ...files], { cwd: dir, encoding: 'utf8' });
}

// Each @ts-expect-error is a check: tsc fails on one that has no error to expect.
const CONSUMER = [
  "import { NetworkController, CnmError, Endpoint, Network, Sandbox, type Driver, type EndpointInfo, type Ipam, type NetworkInspect } from 'cnm-ts';",
  "import { linkGet, NetlinkError, type LinkInfo } from 'cnm-ts/kernel';",
  "import { failOperation } from 'cnm-ts/testing';",
  'export const mtu = async (): Promise<number> => { const l: LinkInfo = await linkGet("lo"); return l.mtu; };',
  'export const hostPorts = (info: EndpointInfo): number[] => info.portMapping.map((b) => b.hostPort ?? 0);',
  'export const boundPorts = (info: EndpointInfo): number[] => (info.portsPublished ? info.portMapping.map((b) => b.hostPort) : []);',
  '// @ts-expect-error: ports as asked for may have no host port',
  'export const askedPorts = (info: EndpointInfo): number[] => (info.portsPublished ? [] : info.portMapping.map((b) => b.hostPort));',
  'export const subnets = (n: NetworkInspect): string[] => n.IPAM.Config.map((c) => c.Subnet);',
  'export const setUp = async (driver: Driver, ipam: Ipam): Promise<void> => {',
  '  const created = await NetworkController.create({ ipams: { corp: ipam } });',
  "  await created.newNetwork('bridge', 'b', { ipam: { driver: 'corp' } });",
  '  // @ts-expect-error: a typo of a built-in type',
  "  await created.newNetwork('brigde', 't');",
  '  // @ts-expect-error: a type no driver was registered for',
  "  await created.newNetwork('my-plugin', 'p');",
  '  // @ts-expect-error: an IPAM nobody registered',
  "  await created.newNetwork('bridge', 'i', { ipam: { driver: 'crop' } });",
  "  const controller = created.registerDriver('my-plugin', driver).registerIpam('own', ipam);",
  "  await controller.newNetwork('my-plugin', 'p', { ipam: { driver: 'own' } });",
  '  const anyController: NetworkController = controller;',
  "  await anyController.newNetwork('known-at-run-time', 'r');",
  '  failOperation(1);',
  '};',
  'export const errors = [CnmError, NetlinkError];',
  '// @ts-expect-error: linkGet takes a name',
  'void linkGet(42);',
  "// @ts-expect-error: the controller's internals do not ship",
  'export const hidden = (c: NetworkController) => c.store;',
  'export const isEndpoint = (x: unknown): boolean => x instanceof Endpoint || x instanceof Network || x instanceof Sandbox;',
  '// Not constructible at all for users, whatever the arguments:',
  'type Newable<C> = C extends abstract new (...args: any) => unknown ? true : false;',
  'export const newable: [Newable<typeof Endpoint>, Newable<typeof Network>, Newable<typeof Sandbox>] = [false, false, false];',
  '// @ts-expect-error: endpoints come from network.createEndpoint()',
  'export const endpoint = () => new Endpoint();',
  '// @ts-expect-error: networks come from controller.newNetwork()',
  'export const network = () => new Network();',
  '// @ts-expect-error: sandboxes come from controller.newSandbox()',
  'export const sandbox = () => new Sandbox();',
  '',
].join('\n');

describe('the package entry points', () => {
  it.each(probes)('$entry loads from CommonJS', ({ entry, names }) => {
    const code = `const m = require('${entry}'); console.log(${names.map((n) => `typeof m.${n}`).join(', ')})`;
    expect(run(['-e', code])).toBe('function function\n');
  });

  it.each(probes)('$entry loads from ESM with named imports', ({ entry, names }) => {
    const code = `import { ${names.join(', ')} } from '${entry}'; console.log(${names.map((n) => `typeof ${n}`).join(', ')})`;
    expect(run(['--input-type=module', '-e', code])).toBe('function function\n');
  });

  it('type-checks a consumer under node16 module resolution, ESM and CommonJS', () => {
    const dir = consumer({ 'consumer.mts': CONSUMER, 'consumer.cts': CONSUMER });
    expect(() => typeCheck(dir, ['consumer.mts', 'consumer.cts'], 'node16')).not.toThrow();
  });

  it('type-checks a consumer under node10 module resolution (typesVersions)', () => {
    const dir = consumer({ 'consumer.ts': CONSUMER });
    expect(() => typeCheck(dir, ['consumer.ts'], 'node10')).not.toThrow();
  });
});

/** What `npm pack` would put in the tarball (scripts skipped: the test runner has compiled dist/). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
}

/**
 * Files and folders the package may ship; everything else (build/, tests, the fuzz targets in
 * native/fuzz/, the API reference in docs/, configs) stays out.
 */
const SHIPPED_FILES = ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'binding.gyp', 'native/sources.json'];
const SHIPPED_DIRS = ['dist/', 'lib/', 'native/bindings/', 'native/kernel/', 'prebuilds/'];

describe('the packed package', () => {
  const files = packedFiles();
  const packed = new Set(files);
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, Record<string, unknown>>;

  it('ships only the files list, with the licence, the changelog and every native source', () => {
    const strays = files.filter((f) => !SHIPPED_FILES.includes(f) && !SHIPPED_DIRS.some((dir) => f.startsWith(dir)));
    expect(strays).toEqual([]);
    for (const f of SHIPPED_FILES) expect(packed.has(f)).toBe(true);
    const sources = JSON.parse(readFileSync(path.join(root, 'native', 'sources.json'), 'utf8')) as string[];
    expect(sources.filter((f) => !packed.has(f))).toEqual([]);
    expect(readFileSync(path.join(root, 'LICENSE'), 'utf8')).toContain('Apache License\n                           Version 2.0, January 2004');
  });

  it('ships no build leftovers: no object files, and binaries only as prebuilds/<target>/cnm.node', () => {
    expect(files.filter((f) => /\.(o|a|d|mk|node)$|^build\//.test(f) && !/^prebuilds\/linux-[a-z0-9]+-(glibc|musl)\/cnm\.node$/.test(f))).toEqual([]);
  });

  it('has source maps and declaration maps whose sources are in the package', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    const unresolved = maps.flatMap((map) => {
      const { sources, sourceRoot } = JSON.parse(readFileSync(path.join(root, map), 'utf8')) as { sources: string[]; sourceRoot?: string };
      return sources.map((s) => path.posix.join(path.posix.dirname(map), sourceRoot ?? '', s)).filter((s) => !packed.has(s));
    });
    expect(unresolved).toEqual([]);
  });

  it('runs no install script and needs node-addon-api only to build from source', () => {
    const scripts = manifest.scripts ?? {};
    // npm adds "install: node-gyp rebuild" for a binding.gyp unless gypfile is false.
    expect(manifest.gypfile).toBe(false);
    for (const hook of ['preinstall', 'install', 'postinstall']) expect(scripts[hook]).toBeUndefined();
    expect(Object.keys(manifest.dependencies ?? {})).toEqual(['debug', 'dns-packet']);
    expect(manifest.peerDependencies?.['node-addon-api']).toBeDefined();
    expect(manifest.peerDependenciesMeta?.['node-addon-api']).toEqual({ optional: true });
  });
});
