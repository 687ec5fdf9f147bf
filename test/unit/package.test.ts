// `import ... from 'cnm-ts'`, 'cnm-ts/kernel' and 'cnm-ts/testing' work from CommonJS and ESM,
// with types (the package's own name resolves to itself through its "exports").
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
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

/** A consumer project elsewhere with cnm-ts in its node_modules, as `npm install` would put it. */
function consumer(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnm-types-'));
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

const CONSUMER = [
  "import { NetworkController, CnmError, type EndpointInfo, type NetworkInspect } from 'cnm-ts';",
  "import { linkGet, NetlinkError, type LinkInfo } from 'cnm-ts/kernel';",
  "import { failOperation } from 'cnm-ts/testing';",
  'export const mtu = async (): Promise<number> => { const l: LinkInfo = await linkGet("lo"); return l.mtu; };',
  'export const hostPorts = (info: EndpointInfo): number[] => info.portMapping.map((b) => b.hostPort ?? 0);',
  'export const subnets = (n: NetworkInspect): string[] => n.IPAM.Config.map((c) => c.Subnet);',
  'export const setUp = async (): Promise<void> => {',
  '  const controller = await NetworkController.create();',
  "  await controller.newNetwork('bridge', 'b');",
  "  await controller.newNetwork('my-plugin', 'p');",
  '  failOperation(1);',
  '};',
  'export const errors = [CnmError, NetlinkError];',
  '// @ts-expect-error: linkGet takes a name',
  'void linkGet(42);',
  "// @ts-expect-error: the controller's internals do not ship",
  'export const hidden = (c: NetworkController) => c.store;',
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
