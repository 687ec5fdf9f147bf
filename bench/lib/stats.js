// Small statistics over per-container times (microseconds).
'use strict';

function mean(values) {
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN;
}

function median(values) {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Cost growth: mean time of the last 10% of containers over the first 10% (at least one each).
 * 1.0 means flat.
 */
function growth(perContainerUs) {
  const k = Math.max(1, Math.floor(perContainerUs.length / 10));
  const first = mean(perContainerUs.slice(0, k));
  const last = mean(perContainerUs.slice(-k));
  return { firstUs: first, lastUs: last, ratio: last / first, k };
}

/** Now, in microseconds. */
const nowUs = () => Number(process.hrtime.bigint()) / 1000;

module.exports = { mean, median, growth, nowUs };
