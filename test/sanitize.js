#!/usr/bin/env node
// npm run test:asan / test:ubsan / test:sanitizers: builds the addon instrumented with
// AddressSanitizer (leak checking on), UndefinedBehaviorSanitizer (every check fatal) or both at
// once into build-asan/, build-ubsan/ or build-asan-ubsan/ with cmake-js (the normal build/ is
// untouched), then runs the whole suite
// (test/run.js, arguments passed on) against it: CNM_TS_ADDON points the loader at it and the
// sanitizer runtime is preloaded into the test's node processes only (test/sanitizer/). Any
// sanitizer report, from any of those processes, fails the run.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const KINDS = {
  asan: { sanitize: 'address', runtime: 'libasan.so' },
  // float-cast-overflow is not part of "undefined": it is the NaN-to-integer check.
  ubsan: { sanitize: 'undefined,float-cast-overflow', runtime: 'libubsan.so' },
  // Both in one build, one run (CI): ASan's runtime must come first; UBSan's is linked into the addon.
  'asan-ubsan': { sanitize: 'address,undefined,float-cast-overflow', runtime: 'libasan.so' },
};
const [kind, ...testArgs] = process.argv.slice(2);
const config = KINDS[kind];
if (!config) {
  console.error(`usage: node test/sanitize.js ${Object.keys(KINDS).join('|')} [test paths...]`);
  process.exit(2);
}

const out = `build-${kind}`;
const cmakeJs = path.join(root, 'node_modules', '.bin', 'cmake-js');
const build = spawnSync(cmakeJs, ['compile', '--out', out, `--CDCNM_SANITIZE=${config.sanitize}`], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);

// The runtime the compiler linked against, found the way the compiler finds it.
const runtime = spawnSync('c++', [`-print-file-name=${config.runtime}`], { encoding: 'utf8' }).stdout.trim();
if (!path.isAbsolute(runtime) || !fs.existsSync(runtime)) {
  console.error(`cannot find the sanitizer runtime ${config.runtime} (got "${runtime}")`);
  process.exit(1);
}

// Reports go to files (one per process) rather than to stderr, so that a report from a child
// whose output a test does not look at still fails the run.
const logs = fs.mkdtempSync(path.join(os.tmpdir(), `cnm-${kind}-`));
const env = {
  ...process.env,
  CNM_TS_ADDON: path.join(root, out, 'Release', 'cnm.node'),
  CNM_SANITIZER_PRELOAD: runtime,
  ASAN_OPTIONS: `detect_leaks=1:abort_on_error=0:log_path=${logs}/asan`,
  LSAN_OPTIONS: `suppressions=${path.join(__dirname, 'sanitizer', 'lsan.supp')}:print_suppressions=0`,
  UBSAN_OPTIONS: `halt_on_error=1:print_stacktrace=1:log_path=${logs}/ubsan`,
};
const run = spawnSync(process.execPath, [path.join(__dirname, 'run.js'), ...testArgs], { cwd: root, stdio: 'inherit', env });

const reports = fs.readdirSync(logs);
for (const report of reports) {
  console.error(`--- ${report}`);
  console.error(fs.readFileSync(path.join(logs, report), 'utf8'));
}
if (reports.length > 0) console.error(`${kind}: ${reports.length} sanitizer report(s); see above.`);
else fs.rmSync(logs, { recursive: true });
process.exit(run.status === 0 && reports.length === 0 ? 0 : 1);
