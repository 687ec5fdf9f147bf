// Plain-text tables and number formatting for the report.
'use strict';

/** Microseconds as milliseconds with sensible precision. */
function ms(us) {
  if (us === null || us === undefined || Number.isNaN(us)) return 'n/a';
  const v = us / 1000;
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
}

/** A ratio like "4.2x". */
function times(r) {
  if (r === null || r === undefined || !Number.isFinite(r)) return 'n/a';
  return r >= 100 ? `${r.toFixed(0)}x` : r >= 10 ? `${r.toFixed(1)}x` : `${r.toFixed(2)}x`;
}

/** Renders rows (arrays of strings) under headers; numbers-looking columns align right. */
function table(headers, rows) {
  const all = [headers, ...rows].map((r) => r.map((cell) => String(cell)));
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const right = headers.map((_, i) => rows.every((r) => /^[-\d.,<>=x%/ na]*$/.test(String(r[i] ?? ''))));
  const line = (r) =>
    r
      .map((cell, i) => (right[i] && i > 0 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(all[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

/** A figure against its target, in the report's words. */
const verdict = (ok) => (ok ? 'ok' : 'MISSED');

module.exports = { ms, times, table, verdict };
