// The DNS section of the report: each figure with its target (issue 11) and whether it was met.
'use strict';
const os = require('node:os');
const { execFileSync } = require('node:child_process');
const { LOOP_DELAY_TARGET_MS } = require('./loop-delay');
const { ms, times, table, verdict } = require('./table');

/** cnm-ts's resolver must answer local names at least this many times as fast as aardvark-dns. */
const QPS_RATIO_TARGET = 1.5;
const FIXED_P99_TARGET_MS = 2;
/** What the embedded DNS server may add to a join, in ms. */
const JOIN_TARGET_MS = 0.3;

const TITLES = { cnm: 'cnm-ts (127.0.0.11, in the sandbox)', aardvark: 'aardvark-dns (gateway:53, host side)' };

function packageVersion(name) {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || 'n/a';
  } catch {
    return 'n/a';
  }
}

const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);

/** The report lines of `measureDns()`'s result; `load` is os.loadavg() when the section started. */
function dnsReport(dns, load) {
  const out = [
    '== DNS: the embedded resolver (issue 11) ==',
    `load average when the section started ${load.map((l) => l.toFixed(2)).join(' ')} (1/5/15 min, ${os.cpus().length} CPUs): other jobs on the` +
      ' machine stretch the absolute figures; the ratios, from interleaved runs, less so',
    `dnsperf ${packageVersion('dnsperf')}, aardvark-dns ${packageVersion('aardvark-dns')}, dnsmasq ${packageVersion('dnsmasq-base')}`,
  ];
  for (const reason of dns.skipped) out.push(`SKIPPED ${reason}`);
  if (dns.servers) out.push('', ...serversReport(dns));
  out.push(dns.docker);
  if (dns.join) out.push('', ...joinReport(dns.join));
  if (dns.scale) out.push('', ...scaleReport(dns.scale));
  return out.join('\n');
}

function serversReport({ servers: { full, fixed }, settings: s, aardvarkSkipped }) {
  const keys = Object.keys(full);
  const rows = [];
  for (const kind of ['local', 'forwarded']) {
    for (const key of keys) {
      const r = full[key][kind];
      rows.push([TITLES[key], kind, Math.round(r.qps).toString(), ms(r.p50Us), ms(r.p99Us), `${r.lost}/${r.sent}`, rcodeText(r.rcodes)]);
    }
  }
  const out = [
    `dnsperf from inside a sandbox on the network, full speed: ${s.seconds} s per run, ${s.rounds} rounds with the servers and name kinds`,
    'interleaved, medians (latencies from dnsperf -v, one line per answer). Local names: 10 endpoints of the network;',
    'forwarded names: 10 names that dnsmasq answers from a hosts file in an "outside" namespace (the upstream of both).',
    table(['server', 'names', 'queries/s', 'p50 ms', 'p99 ms', 'lost/sent', 'answers'], rows),
  ];
  if (aardvarkSkipped) out.push(`SKIPPED aardvark-dns: ${aardvarkSkipped}`);
  if (full.cnm && full.aardvark) {
    const local = full.cnm.local.qps / full.aardvark.local.qps;
    out.push(
      `cnm-ts / aardvark-dns, queries/s on local names: ${times(local)} (target >= ${QPS_RATIO_TARGET}x ${verdict(local >= QPS_RATIO_TARGET)})`,
      `cnm-ts / aardvark-dns, queries/s on forwarded names: ${times(full.cnm.forwarded.qps / full.aardvark.forwarded.qps)} (no target)`,
    );
  }
  out.push('', `At a fixed ${fixed.rate} queries/s (dnsperf -Q ${fixed.rate}, ${s.rateSeconds} s, local names):`);
  const fixedRows = keys.map((key) => {
    const r = fixed[key];
    const target = key === 'cnm' ? [`< ${FIXED_P99_TARGET_MS} ms`, verdict(r.p99Us / 1000 < FIXED_P99_TARGET_MS)] : ['-', '-'];
    return [TITLES[key], Math.round(r.qps).toString(), ms(r.p50Us), ms(r.p99Us), ms(r.maxUs), `${r.lost}/${r.sent}`, ...target];
  });
  out.push(table(['server', 'queries/s', 'p50 ms', 'p99 ms', 'max ms', 'lost/sent', 'p99 target', ''], fixedRows));
  const d = fixed.cnm.loopDelay;
  out.push(
    `event-loop delay meanwhile (cnm-ts answers on it): monitorEventLoopDelay max ${d.histogramMaxMs.toFixed(2)} ms (p99 ${d.histogramP99Ms.toFixed(2)} ms), ` +
      `setInterval(1 ms) lateness max ${d.intervalMaxLagMs.toFixed(2)} ms (target < ${LOOP_DELAY_TARGET_MS} ms ` +
      `${verdict(Math.max(d.histogramMaxMs, d.intervalMaxLagMs) < LOOP_DELAY_TARGET_MS)})`,
  );
  return out;
}

/** "NOERROR 100%" or the mix of response codes (T: timed out). */
function rcodeText(rcodes) {
  const total = Object.values(rcodes).reduce((a, b) => a + b, 0);
  return Object.entries(rcodes)
    .map(([code, n]) => `${code} ${((100 * n) / total).toFixed(n === total ? 0 : 2)}%`)
    .join(', ');
}

function joinReport(j) {
  const diffUs = j.userUs - j.defaultUs;
  return [
    `What the embedded DNS server adds to a join (${j.count} joins each, interleaved, a fresh sandbox each; medians):`,
    table(
      ['endpoint.join(sandbox) on', 'ms'],
      [
        ['a user-defined bridge network (resolver: sockets, redirect rule, records, resolv.conf 127.0.0.11)', ms(j.userUs)],
        ['the default bridge network (no embedded DNS, as Docker)', ms(j.defaultUs)],
      ],
    ),
    `difference: ${diffUs >= 0 ? '+' : ''}${ms(diffUs)} ms per join (target <= ${JOIN_TARGET_MS} ms ${verdict(diffUs / 1000 <= JOIN_TARGET_MS)})`,
    `a user-defined join's trips to the addon, in order (median ms each): ${j.userTrips.map((t) => `${t.name} ${ms(t.us)}`).join(' | ')}`,
    "(dnsSockets takes the resolver's sockets newSandbox opened in the namespace and makes the 127.0.0.11:53 redirect to",
    " them (a nat chain); the join's batch also writes resolv.conf naming 127.0.0.11; the default bridge join is that batch without them)",
  ];
}

function scaleReport(s) {
  const row = (label, c) => [label, String(c.threads), String(c.fds), mb(c.rss), mb(c.heap)];
  const per = (field) => (s.joined[field] - s.before[field]) / s.count;
  return [
    `${s.count} sandboxes with resolvers (one user-defined network, a sandbox per endpoint; joins took ${s.joinSeconds.toFixed(1)} s), this process:`,
    table(
      ['', 'threads', 'open fds', 'RSS MB', 'JS heap MB'],
      [row('before the first join', s.before), row(`${s.count} joined`, s.joined), row('all deleted', s.deleted)],
    ),
    `per sandbox: ${per('threads').toFixed(3)} threads, ${per('fds').toFixed(2)} fds, ${(per('rss') / 1024).toFixed(1)} KB RSS ` +
      `(${(per('heap') / 1024).toFixed(1)} KB JS heap); the first and the last sandbox's resolvers answered each other's names`,
  ];
}

module.exports = { dnsReport };
