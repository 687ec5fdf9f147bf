#!/usr/bin/env node
// The test command (`npm test`). Kernel tests run inside a private network + mount namespace with
// a tmpfs on /run/netns and one on /run/cnm-ts (controllers' default run directory), so nothing
// they make can reach the machine. Prints a closing
// "N passed, N failed" line. In CI (CI=true) every kernel test must run: not being root, or any
// skipped test, is a failure.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const isRoot = process.getuid && process.getuid() === 0;
const canUnshare = isRoot && spawnSync('unshare', ['--net', '--mount', 'true']).status === 0;

if (inCi && !canUnshare) {
  console.error('CI needs root and unshare(1): the kernel tests cannot be skipped in CI.');
  process.exit(1);
}

// The kernel tests look at the kernel through these tools (the library itself needs none of them).
const TOOLS = { ip: 'iproute2', nsenter: 'util-linux', setpriv: 'util-linux', nft: 'nftables', dig: 'dnsutils', dnsmasq: 'dnsmasq-base', radvd: 'radvd' };
const missingTools = () => Object.keys(TOOLS).filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0);
if (canUnshare && missingTools().length > 0) {
  // As root on Debian or Ubuntu, the test command installs them itself (a fresh machine has no
  // dig, dnsmasq or radvd); elsewhere it names them.
  const packages = [...new Set(missingTools().map((tool) => TOOLS[tool]))];
  if (spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    console.log(`The kernel tests need ${packages.join(' ')}: installing them with apt-get`);
    spawnSync('sh', ['-c', `apt-get update -qq && apt-get install -y -qq ${packages.join(' ')}`], { stdio: 'inherit' });
  }
  const still = missingTools();
  if (still.length > 0) {
    console.error(`The kernel tests need ${still.join(', ')}: apt-get install ${[...new Set(still.map((tool) => TOOLS[tool]))].join(' ')}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

// Examples and benchmarks load the compiled library: compile it so they test the current code.
const tsc = spawnSync('node_modules/.bin/tsc', ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cnm-test-')), 'jest.json');
// Under npm run test:sanitizers / test:asan / test:ubsan (test/sanitize.js) the sanitizer runtime
// is preloaded into jest's node process only; test/sanitizer/preload.js passes it on to the node
// processes it starts.
// Instrumented, the tests take longer: ten times jest's testTimeout, the factor of
// test/helpers/timing.ts.
const preload = process.env.CNM_SANITIZER_PRELOAD;
const sanitizerTimeout = `--testTimeout=${require('../package.json').jest.testTimeout * 10}`;
const jestArgs = ['--runInBand', '--json', `--outputFile=${report}`, ...(preload ? [sanitizerTimeout] : []), ...process.argv.slice(2)];
const jest = preload
  ? ['env', `LD_PRELOAD=${preload}`, process.execPath, '-r', path.join(__dirname, 'sanitizer', 'preload.js'), 'node_modules/.bin/jest', ...jestArgs]
  : ['node_modules/.bin/jest', ...jestArgs];
let result;
if (canUnshare) {
  // After the whole suite nothing the tests made may be left: no link but lo, no nf_tables table,
  // no namespace file, no namespace mount.
  const script = [
    'set -e; mkdir -p /run/netns /run/cnm-ts; mount -t tmpfs cnm-test /run/netns; mount -t tmpfs -o mode=0700 cnm-test-run /run/cnm-ts; ip link set lo up',
    'set +e; "$@"; status=$?',
    "left=$(ip -o link show | awk -F': ' '$2 != \"lo\" {print \"link \" $2}'; nft list tables | sed 's/^table /nft table /'; ls -A /run/netns | sed 's/^/namespace /'; grep ' /run/netns/' /proc/self/mountinfo | sed 's/^/mount /')",
    'if [ -n "$left" ]; then echo "The tests left these behind:"; echo "$left"; exit 3; fi',
    'exit $status',
  ].join('\n');
  const hadRunDir = fs.existsSync('/run/cnm-ts');
  result = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ...jest], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, CNM_KERNEL_TESTS: '1' },
  });
  // The mount point the namespace needed; the tmpfs on it went with the namespace.
  if (!hadRunDir) fs.rmdirSync('/run/cnm-ts');
} else {
  console.warn('Not root (or no unshare): kernel tests are skipped.');
  result = spawnSync(jest[0], jest.slice(1), { cwd: root, stdio: 'inherit' });
}

let summary;
try {
  summary = JSON.parse(fs.readFileSync(report, 'utf8'));
} catch {
  console.error('jest wrote no results');
  console.log('0 passed, 1 failed');
  process.exit(1);
} finally {
  fs.rmSync(path.dirname(report), { recursive: true, force: true });
}
const skipped = summary.numPendingTests + summary.numTodoTests;
// Exit status 3: the suite passed but left kernel objects behind, which counts as one failure.
const leaked = result.status === 3 ? 1 : 0;
const failed = summary.numFailedTests + summary.numRuntimeErrorTestSuites + leaked;
console.log(`${summary.numPassedTests} passed, ${failed} failed, ${skipped} skipped`);
if (inCi && skipped > 0) {
  console.error(`CI: ${skipped} test(s) were skipped; every test must run in CI.`);
  process.exit(1);
}
process.exit(result.status === 0 && failed === 0 && summary.numTotalTests > 0 ? 0 : 1);
