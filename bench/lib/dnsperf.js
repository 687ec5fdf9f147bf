// Runs dnsperf (Debian's package) inside a namespace against one DNS server and reads what it
// measured: queries/s, lost queries, response codes, and latency percentiles from its verbose
// output (one line per answer). Asynchronous on purpose: cnm-ts's resolver answers on this
// process's event loop, which a synchronous child would block. Its output goes to a file, not a
// pipe, so that reading it costs the event loop nothing while the resolver is measured.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { track } = require('./children');

/**
 * `dnsperf` with the query list `queries` ("NAME TYPE" lines) for `seconds`, from inside the
 * namespace at `netns`, against `server` port 53; `rate` limits the queries per second (-Q).
 * `around(work)` wraps the run itself (not the start of dnsperf, nor the reading of its output),
 * e.g. in a probe of the event loop; it resolves with what `work` resolves with. Resolves with
 * { qps, sent, completed, lost, rcodes: { CODE: count }, p50Us, p99Us, maxUs } and, when
 * `around` is given, { probe: what it resolved with besides the run }.
 * @param {{ dir: string, label: string, netns: string, server: string, queries: string[], seconds: number,
 *   rate?: number, around?: (work: () => Promise<number>) => Promise<{ result: number }> }} run
 */
async function runDnsperf({ dir, label, netns, server, queries, seconds, rate, around }) {
  const queryFile = path.join(dir, `${label}.queries`);
  const outFile = path.join(dir, `${label}.out`);
  fs.writeFileSync(queryFile, queries.join('\n') + '\n');
  const args = [`--net=${netns}`, 'dnsperf', '-s', server, '-d', queryFile, '-l', String(seconds), '-v', ...(rate ? ['-Q', String(rate)] : [])];
  const out = fs.openSync(outFile, 'w');
  let stderr = '';
  // Started before `around`: forking this process (a copy of its page tables) holds the event loop
  // for a few milliseconds, which is the benchmark's cost, not the server's.
  const child = track(spawn('nsenter', args, { stdio: ['ignore', out, 'pipe'] }));
  child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const closed = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  closed.catch(() => undefined); // awaited below, after the probe has started: not unhandled meanwhile
  const work = () => closed;
  let code;
  let probe;
  try {
    if (around) ({ result: code, ...probe } = await around(work));
    else code = await work();
  } finally {
    fs.closeSync(out);
  }
  const text = fs.readFileSync(outFile, 'utf8');
  fs.rmSync(queryFile);
  fs.rmSync(outFile);
  if (code !== 0) throw new Error(`dnsperf (${label}) exited with ${code}: ${stderr.trim() || text.trim().split('\n').slice(-3).join(' | ')}`);
  return { ...parseDnsperf(text, label), ...(probe ? { probe } : {}) };
}

/** What one dnsperf run printed, as numbers. */
function parseDnsperf(text, label) {
  const field = (name) => {
    const m = new RegExp(`^\\s*${name}:\\s+([\\d.]+)`, 'm').exec(text);
    if (!m) throw new Error(`dnsperf (${label}): no "${name}" in its output`);
    return Number(m[1]);
  };
  const latenciesUs = [];
  const rcodes = {};
  // "> NOERROR name A 0.000123" per answer; "> T name A" for a timeout.
  for (const m of text.matchAll(/^> (\S+) \S+ \S+(?: ([\d.]+))?$/gm)) {
    rcodes[m[1]] = (rcodes[m[1]] ?? 0) + 1;
    if (m[2] !== undefined) latenciesUs.push(Number(m[2]) * 1e6);
  }
  latenciesUs.sort((a, b) => a - b);
  const at = (share) => (latenciesUs.length ? latenciesUs[Math.min(latenciesUs.length - 1, Math.floor(share * latenciesUs.length))] : NaN);
  return {
    qps: field('Queries per second'),
    sent: field('Queries sent'),
    completed: field('Queries completed'),
    lost: field('Queries lost'),
    rcodes,
    p50Us: at(0.5),
    p99Us: at(0.99),
    maxUs: latenciesUs.length ? latenciesUs[latenciesUs.length - 1] : NaN,
  };
}

module.exports = { runDnsperf, parseDnsperf };
