// cnm-ts in worker_threads: several workers load the addon at once and work in namespaces of
// their own, and are terminated with batches, failing ops and a link wait in flight, 20 rounds
// in a row. It runs in a child process (test/fixtures/worker-rounds.js) so that an abort is a
// failed test rather than a crashed jest; the process must exit cleanly with as many fds and
// threads as after the first round, and leave no namespace or link behind (per `ip` and the
// namespace directory).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { describeKernel, expectBackTo, NETNS_DIR, snapshot, uniqueName } from '../../helpers/kernel';
import { timeLimit } from '../../helpers/timing';

// The tests of this file may take this long (longer under a sanitizer).
jest.setTimeout(timeLimit(300000));

const ROUNDS = 20;
const WORKERS = 4;
const CHILD = path.resolve(__dirname, '..', '..', 'fixtures', 'worker-rounds.js');
// Under npm run test:asan: what Node-API itself leaks for calls cut short (see the file).
const SUPPRESSIONS = path.resolve(__dirname, '..', '..', 'sanitizer', 'terminated-workers.supp');

interface RoundsResult {
  made: number;
  leastInFlight: number;
  before: { fds: number; threads: number };
  after: { fds: number; threads: number };
}

/** Runs the child; resolves with its exit code, signal, stdout and stderr. */
function runChild(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const env = { ...process.env, LSAN_OPTIONS: `suppressions=${SUPPRESSIONS}:print_suppressions=0` };
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

describeKernel('worker_threads', () => {
  it(`survives ${WORKERS} workers terminated mid-flight, ${ROUNDS} rounds, without leaking fds, threads, namespaces or links`, async () => {
    const before = snapshot();
    const prefix = uniqueName('wt');
    const run = await runChild([NETNS_DIR, prefix, String(ROUNDS), String(WORKERS)]);
    // An abort ("terminate called after throwing Napi::Error") is SIGABRT here.
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    const result = JSON.parse(run.stdout) as RoundsResult;
    // Every worker had calls in flight when its countdown to terminate() began.
    expect(result.leastInFlight).toBeGreaterThan(0);
    expect(result.after).toEqual(result.before);
    expect(readdirSync(NETNS_DIR).filter((n) => n.startsWith(prefix))).toEqual([]);
    await expectBackTo(before);
  });
});
