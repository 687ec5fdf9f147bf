#!/usr/bin/env node
// npm run fuzz: builds the libFuzzer target for the netlink reply parsers (native/fuzz/) with
// clang, AddressSanitizer and UndefinedBehaviorSanitizer into build-fuzz/, and runs it for a
// bounded time (CNM_FUZZ_SECONDS, default 60) from the committed corpus (test/fuzz/corpus/: real
// kernel replies captured by test/fuzz/capture.sh, and one regression input per bug found). New
// inputs go to a scratch directory, so the committed corpus only changes by hand. Any crash, leak
// or sanitizer report fails the run and leaves the input in build-fuzz/.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const seconds = Number(process.env.CNM_FUZZ_SECONDS || 60);
const out = path.join(root, 'build-fuzz');
const target = path.join(out, 'netlink-replies');
const kernelSources = require(path.join(root, 'native', 'sources.json')).filter((s) => s.startsWith('native/kernel/'));

fs.mkdirSync(out, { recursive: true });
const clang = process.env.CXX_FUZZ || 'clang++';
const flags = ['-std=c++17', '-g', '-O1', '-fsanitize=fuzzer,address,undefined,float-cast-overflow', '-fno-sanitize-recover=all', '-pthread'];
const build = spawnSync(clang, [...flags, 'native/fuzz/netlink-replies.cc', ...kernelSources, '-o', target], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error(`building the fuzz target failed (needs ${clang} and libFuzzer: apt-get install clang libclang-rt-14-dev)`);
  process.exit(1);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnm-fuzz-'));
const args = [
  `-max_total_time=${seconds}`,
  '-timeout=10',
  '-rss_limit_mb=2048',
  '-print_final_stats=1',
  `-artifact_prefix=${out}/`,
  scratch,
  path.join(__dirname, 'corpus'),
];
const run = spawnSync(target, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1' },
});
fs.rmSync(scratch, { recursive: true, force: true });
process.exit(run.status === 0 ? 0 : 1);
