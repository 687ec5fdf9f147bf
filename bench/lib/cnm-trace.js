// Issue 3's rule "no listing all links or addresses per join", checked from the outside: the CNM
// path for N containers runs in a child process (cnm-trace-child.js) under
// `strace -f -e trace=sendto,recvfrom,... -o FILE`, for two counts. The trace is cut into steps at
// the child's markers; per container and step it counts the netlink requests sent (sendto calls
// and the messages in them, by type), the dump requests among them, and the bytes received. A
// request count, a dump count or a byte count that grows with N means a step is listing what
// exists. Kept out of the timed runs: strace slows every traced call.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { track } = require('./children');
const { waitForKernel } = require('./kernel');

const CHILD = path.join(__dirname, 'cnm-trace-child.js');
const MARK = /"\/cnm-bench-mark\/([^"]+)"/;

// rtnetlink message types, for the requests strace cannot name (sockets in another namespace).
const RTM = {
  16: 'RTM_NEWLINK',
  17: 'RTM_DELLINK',
  18: 'RTM_GETLINK',
  19: 'RTM_SETLINK',
  20: 'RTM_NEWADDR',
  21: 'RTM_DELADDR',
  22: 'RTM_GETADDR',
  24: 'RTM_NEWROUTE',
  25: 'RTM_DELROUTE',
  26: 'RTM_GETROUTE',
  28: 'RTM_NEWNEIGH',
  29: 'RTM_DELNEIGH',
  30: 'RTM_GETNEIGH',
  88: 'RTM_NEWNSID',
  90: 'RTM_GETNSID',
};
const FLAGS = {
  NLM_F_REQUEST: 0x1,
  NLM_F_MULTI: 0x2,
  NLM_F_ACK: 0x4,
  NLM_F_ECHO: 0x8,
  NLM_F_ROOT: 0x100,
  NLM_F_MATCH: 0x200,
  NLM_F_ATOMIC: 0x400,
  NLM_F_DUMP: 0x300,
  NLM_F_REPLACE: 0x100,
  NLM_F_EXCL: 0x200,
  NLM_F_CREATE: 0x400,
  NLM_F_APPEND: 0x800,
};

function typeName(token) {
  if (!token.startsWith('0x')) return token;
  return RTM[parseInt(token, 16)] ?? token;
}

function flagsOf(text) {
  return text.split('|').reduce((acc, t) => acc | (FLAGS[t] ?? (/^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : 0)), 0);
}

/**
 * The requests a sendto/sendmsg line carries: [{ type, dump }], one per netlink message. Dumps are
 * GET requests (rtnetlink's GET types are 18, 22, 26, ... : type % 4 === 2) with ROOT|MATCH set.
 */
function requestsOf(line) {
  const out = [];
  const re = /nlmsg_type=(\w+)(?: \/\*[^*]*\*\/)?, nlmsg_flags=([\w|]+)/g;
  let m;
  while ((m = re.exec(line))) {
    const type = typeName(m[1]);
    const number = Number(Object.entries(RTM).find(([, name]) => name === type)?.[0] ?? -1);
    out.push({ type, dump: number % 4 === 2 && (flagsOf(m[2]) & 0x300) === 0x300 });
  }
  return out;
}

/**
 * Cuts a trace into segments at the markers "c<index>/<step>" and counts per segment. Returns
 * { steps: { step: [per container { sendCalls, messages, dumps, recvCalls, bytes, types }] } }.
 */
function parseTrace(text, n) {
  const steps = {};
  let current = null;
  for (const line of text.split('\n')) {
    const mark = MARK.exec(line);
    if (mark && /\b(access|faccessat2?)\(/.test(line)) {
      const m = /^c(\d+)\/(.+)$/.exec(mark[1]);
      if (!m) {
        current = null;
        continue;
      }
      const [index, step] = [Number(m[1]), m[2]];
      steps[step] ??= Array.from({ length: n }, () => ({ sendCalls: 0, messages: 0, dumps: 0, recvCalls: 0, bytes: 0, types: {} }));
      current = steps[step][index];
      continue;
    }
    if (!current || line.includes('resumed>')) {
      // A call's second half (its result) is counted with its start, except for the bytes.
      const done = current && /<\.\.\. (recvfrom|recvmsg) resumed>.*= (\d+)\s*$/.exec(line);
      if (done) current.bytes += Number(done[2]);
      continue;
    }
    if (/\b(sendto|sendmsg)\(/.test(line)) {
      current.sendCalls += 1;
      for (const r of requestsOf(line)) {
        current.messages += 1;
        if (r.dump) current.dumps += 1;
        current.types[r.type] = (current.types[r.type] ?? 0) + 1;
      }
    } else if (/\b(recvfrom|recvmsg)\(/.test(line)) {
      current.recvCalls += 1;
      const done = /= (\d+)\s*$/.exec(line);
      if (done) current.bytes += Number(done[1]);
    }
  }
  return steps;
}

const mean = (list, key) => list.reduce((a, b) => a + b[key], 0) / list.length;

/** Per-step means: all containers, and the first / last 10% of them. */
function summarizeSteps(steps) {
  const out = {};
  for (const [step, list] of Object.entries(steps)) {
    const k = Math.max(1, Math.floor(list.length / 10));
    const of = (part) => ({
      sendCalls: mean(part, 'sendCalls'),
      messages: mean(part, 'messages'),
      dumps: mean(part, 'dumps'),
      recvCalls: mean(part, 'recvCalls'),
      bytes: mean(part, 'bytes'),
    });
    const types = {};
    for (const c of list) for (const [t, count] of Object.entries(c.types)) types[t] = (types[t] ?? 0) + count / list.length;
    out[step] = { all: of(list), first: of(list.slice(0, k)), last: of(list.slice(-k)), types };
  }
  return out;
}

function runChild(n, workDir) {
  const file = path.join(workDir, `cnm-trace-${n}.txt`);
  const args = [
    '-f',
    '-qq',
    '--seccomp-bpf',
    '-e',
    'signal=none',
    '-s',
    '64',
    '-e',
    'trace=/^(sendto|sendmsg|recvfrom|recvmsg|access|faccessat2?)$',
    '-o',
    file,
    process.execPath,
    CHILD,
    String(n),
    path.join(workDir, `cnm-trace-${n}`),
  ];
  return new Promise((resolve, reject) => {
    const child = track(spawn('strace', args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`strace of the CNM path (N=${n}) exited with ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      const text = fs.readFileSync(file, 'utf8');
      fs.rmSync(file, { force: true });
      resolve(text);
    });
  });
}

/** True if strace is there and can trace a child here (ptrace may be forbidden in a container). */
function straceUsable() {
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=none', 'true'], { encoding: 'utf8' });
  if (r.error) return 'strace is not installed (apt-get install strace to run this check)';
  if (r.status !== 0) return `strace cannot trace here: ${(r.stderr || '').trim().split('\n')[0]}`;
  return null;
}

/** Resolves with { counts, runs: { n: summary } } or { skipped: reason }. */
async function traceCnm(workDir, counts, log) {
  const reason = straceUsable();
  if (reason) {
    log(`skipping the netlink request count: ${reason}`);
    return { skipped: reason };
  }
  const runs = {};
  for (const n of counts) {
    log(`netlink requests per step: the CNM path for ${n} containers under strace (child process)`);
    let text;
    try {
      text = await runChild(n, workDir);
    } catch (err) {
      // Not fatal: the timed figures stand without it; the final sweep removes what the child left.
      log(`netlink request count failed: ${err.message}`);
      return { counts, skipped: `the strace child run failed: ${err.message}` };
    }
    runs[n] = summarizeSteps(parseTrace(text, n));
    if (!runs[n].join) return { counts, skipped: `no join markers in the trace of N=${n} (strace did not see the child's access(2) calls)` };
    await waitForKernel();
  }
  return { counts, runs };
}

module.exports = { traceCnm, parseTrace, requestsOf };
