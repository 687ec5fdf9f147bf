// `import ... from 'cnm-ts'` works from CommonJS and ESM, with types (the package's own name
// resolves to itself through its "exports").
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('the package entry point', () => {
  it('loads from CommonJS', () => {
    expect(run(['-e', "const c = require('cnm-ts'); console.log(typeof c.linkAdd, typeof c.NetlinkError)"])).toBe(
      'function function\n',
    );
  });

  it('loads from ESM with named imports', () => {
    const code = "import { setupContainer, CnmError } from 'cnm-ts'; console.log(typeof setupContainer, typeof CnmError)";
    expect(run(['--input-type=module', '-e', code])).toBe('function function\n');
  });

  it('type-checks a consumer under node16 module resolution', () => {
    // A consumer project elsewhere with cnm-ts in its node_modules, as `npm install` would put it.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cnm-types-'));
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(root, path.join(dir, 'node_modules', 'cnm-ts'));
    const file = path.join(dir, 'consumer.mts');
    writeFileSync(
      file,
      "import { linkGet, type LinkInfo } from 'cnm-ts';\n" +
        'export const mtu = async (): Promise<number> => { const l: LinkInfo = await linkGet("lo"); return l.mtu; };\n' +
        '// @ts-expect-error: linkGet takes a name\n' +
        'void linkGet(42);\n',
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const typeRoots = path.join(root, 'node_modules', '@types');
    const args = [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--typeRoots', typeRoots, '--types', 'node', file];
    expect(() => execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8' })).not.toThrow();
  });
});
