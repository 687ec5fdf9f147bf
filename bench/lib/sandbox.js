// Re-runs the benchmark inside a private network + mount namespace with a tmpfs on /run/netns and
// one on a private work directory, so that nothing it makes (namespaces, links, IPAM files) can
// reach the machine; when the namespace's last process exits, the kernel drops all of it.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const INNER_ENV = 'CNM_BENCH_INNER';
const WORK_ENV = 'CNM_BENCH_WORK';

/** True in the re-executed process (inside the private namespaces). */
function isInner() {
  return process.env[INNER_ENV] === '1';
}

/** The private work directory (a tmpfs) of the inner process. */
function workDir() {
  return process.env[WORK_ENV];
}

/**
 * Runs `script` with `args` inside fresh private namespaces and resolves with its exit code.
 * Removes the work directory afterwards, and /run/netns if this run created it.
 */
async function runInSandbox(script, args) {
  if (!process.getuid || process.getuid() !== 0) throw new Error('the benchmark needs root (it makes namespaces and links)');
  if (spawnSync('unshare', ['--net', '--mount', 'true']).status !== 0) throw new Error('unshare(1) cannot make a network + mount namespace here');
  const hadNetnsDir = fs.existsSync('/run/netns');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cnm-bench-'));
  const setup = [
    'set -e',
    'mkdir -p /run/netns',
    'mount -t tmpfs cnm-bench /run/netns',
    `mount -t tmpfs cnm-bench-work "$${WORK_ENV}"`,
    'ip link set lo up',
    'exec "$@"',
  ].join('; ');
  const child = spawn(
    'unshare',
    ['--net', '--mount', '--propagation', 'private', 'sh', '-c', setup, 'sh', process.execPath, ...process.execArgv, script, ...args],
    {
      stdio: 'inherit',
      env: { ...process.env, [INNER_ENV]: '1', [WORK_ENV]: work },
    },
  );
  // Pass signals on (a terminal's Ctrl-C reaches the child too; it ignores the second one) and
  // stay alive until the child has cleaned up.
  const forward = (signal) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    return await new Promise((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1)));
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    fs.rmSync(work, { recursive: true, force: true });
    if (!hadNetnsDir) {
      try {
        fs.rmdirSync('/run/netns');
      } catch {
        // not empty: something else uses it now; leave it
      }
    }
  }
}

module.exports = { isInner, workDir, runInSandbox };
