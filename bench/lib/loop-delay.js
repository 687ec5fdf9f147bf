// Measures how long the event loop was blocked while some work ran: perf_hooks'
// monitorEventLoopDelay (1 ms resolution) and a setInterval probe that records its worst lateness,
// beside V8's garbage collections meanwhile (they pause the JS thread too: a largest delay close to
// the largest pause is V8's, whoever allocated).
'use strict';
const { constants, monitorEventLoopDelay, PerformanceObserver } = require('node:perf_hooks');

/** The most a figure may block the event loop: concurrent setups, DNS load (issue 11). */
const LOOP_DELAY_TARGET_MS = 10;

/** Records V8's collections until `stop()`, which returns { count, totalMs, maxMs, maxKind }. */
function watchGc() {
  const entries = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop() {
      entries.push(...observer.takeRecords());
      observer.disconnect();
      const longest = entries.reduce((a, b) => (b.duration > a.duration ? b : a), { duration: 0, detail: {} });
      const kind = longest.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR ? 'scavenge' : 'mark-compact';
      return {
        count: entries.length,
        totalMs: entries.reduce((sum, e) => sum + e.duration, 0),
        maxMs: longest.duration,
        maxKind: entries.length ? kind : 'none',
      };
    },
  };
}

/**
 * Runs `work()` (async) under both probes; resolves with { result, histogramMaxMs, histogramP99Ms,
 * intervalMaxLagMs, gc: { count, totalMs, maxMs, maxKind } }.
 */
async function measureLoopDelay(work, resolutionMs = 1) {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  let last = process.hrtime.bigint();
  let maxLagNs = 0n;
  const period = BigInt(resolutionMs) * 1000000n;
  const timer = setInterval(() => {
    const now = process.hrtime.bigint();
    const lag = now - last - period;
    if (lag > maxLagNs) maxLagNs = lag;
    last = now;
  }, resolutionMs);
  histogram.enable();
  try {
    // The histogram records nothing for its first interval: let both probes start before the work.
    await new Promise((r) => setTimeout(r, 50));
    const gc = watchGc();
    let gcStats;
    let result;
    try {
      result = await work();
    } finally {
      gcStats = gc.stop();
    }
    return {
      result,
      histogramMaxMs: histogram.max / 1e6,
      histogramP99Ms: histogram.percentile(99) / 1e6,
      intervalMaxLagMs: Number(maxLagNs) / 1e6,
      gc: gcStats,
    };
  } finally {
    histogram.disable();
    clearInterval(timer);
  }
}

module.exports = { measureLoopDelay, LOOP_DELAY_TARGET_MS };
