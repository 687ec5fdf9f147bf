// Measures how long the event loop was blocked while some work ran: perf_hooks'
// monitorEventLoopDelay (1 ms resolution) and a setInterval probe that records its worst lateness.
'use strict';
const { monitorEventLoopDelay } = require('node:perf_hooks');

/** The most a figure may block the event loop: concurrent setups, DNS load (issue 11). */
const LOOP_DELAY_TARGET_MS = 10;

/** Runs `work()` (async) under both probes; resolves with { result, histogramMaxMs, intervalMaxLagMs }. */
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
    const result = await work();
    return {
      result,
      histogramMaxMs: histogram.max / 1e6,
      histogramP99Ms: histogram.percentile(99) / 1e6,
      intervalMaxLagMs: Number(maxLagNs) / 1e6,
    };
  } finally {
    histogram.disable();
    clearInterval(timer);
  }
}

module.exports = { measureLoopDelay, LOOP_DELAY_TARGET_MS };
