// The DNS server figures, side by side on one world (lib/dns-world.js): dnsperf at full speed from
// the client sandbox against cnm-ts's resolver and aardvark-dns, local and forwarded names, rounds
// interleaved; then both at a fixed rate, with the event loop's delay measured meanwhile (cnm-ts's
// resolver answers on this process's event loop).
'use strict';
const { runDnsperf } = require('./dnsperf');
const { measureLoopDelay } = require('./loop-delay');
const { median } = require('./stats');

/**
 * Resolves with { full: { SERVER: { KIND: { qps, p50Us, p99Us, lost, rcodes } } }, fixed: { rate,
 * SERVER: { ...dnsperf, loopDelay? } } }, SERVER cnm / aardvark (those in world.servers), KIND
 * local / forwarded; medians over `rounds` for the full-speed runs.
 */
async function measureServers(world, { dir, rounds, seconds, rate, rateSeconds, quiet, log }) {
  const servers = Object.entries(world.servers).filter(([, address]) => address);
  const runs = {};
  for (let round = 1; round <= rounds; round++) {
    for (const kind of ['local', 'forwarded']) {
      for (const [key, server] of servers) {
        await quiet();
        const r = await runDnsperf({ dir, label: `${key}-${kind}`, netns: world.client, server, queries: world.queries[kind], seconds });
        log(
          `dns round ${round}/${rounds}: ${key}, ${kind} names: ${Math.round(r.qps)} queries/s, p50 ${(r.p50Us / 1000).toFixed(3)} ms, p99 ${(r.p99Us / 1000).toFixed(3)} ms, lost ${r.lost}`,
        );
        ((runs[key] ??= {})[kind] ??= []).push(r);
      }
    }
  }
  const full = {};
  for (const [key, kinds] of Object.entries(runs)) {
    full[key] = {};
    for (const [kind, list] of Object.entries(kinds)) {
      full[key][kind] = {
        qps: median(list.map((r) => r.qps)),
        p50Us: median(list.map((r) => r.p50Us)),
        p99Us: median(list.map((r) => r.p99Us)),
        lost: list.reduce((sum, r) => sum + r.lost, 0),
        sent: list.reduce((sum, r) => sum + r.sent, 0),
        rcodes: list.reduce((all, r) => mergeCounts(all, r.rcodes), {}),
      };
    }
  }
  const fixed = { rate };
  for (const [key, server] of servers) {
    await quiet();
    // The event loop answers cnm-ts's queries: its delay is measured while dnsperf runs.
    const around = key === 'cnm' ? measureLoopDelay : undefined;
    const { probe: loopDelay, ...r } = await runDnsperf({
      dir,
      label: `${key}-fixed`,
      netns: world.client,
      server,
      queries: world.queries.local,
      seconds: rateSeconds,
      rate,
      around,
    });
    fixed[key] = { ...r, loopDelay };
    log(
      `dns at ${rate} queries/s: ${key}: p99 ${(r.p99Us / 1000).toFixed(3)} ms${loopDelay ? `, event-loop delay ${loopDelay.histogramMaxMs.toFixed(2)} ms` : ''}`,
    );
  }
  return { full, fixed };
}

function mergeCounts(into, counts) {
  for (const [k, n] of Object.entries(counts)) into[k] = (into[k] ?? 0) + n;
  return into;
}

module.exports = { measureServers };
