// Runs a generated bash script that drives iproute2 or CNI, and collects the timestamps it prints.
// bash, not Node, starts the processes: Node's spawn costs several ms more per process than a
// shell's fork + exec, which would be charged to the tools being measured. Timestamps come from
// bash's $EPOCHREALTIME (a builtin, no process), printed by the `mark` function.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { track } = require('./children');

/** The script's preamble: strict mode and `mark LABEL`, which prints "@ LABEL SECONDS.MICROS". */
const PREAMBLE = ['set -eu', 'export LC_ALL=C', 'mark() { printf \'@ %s %s\\n\' "$1" "$EPOCHREALTIME"; }', ''].join('\n');

/** Shell-quotes one word. */
function q(word) {
  const s = String(word);
  return /^[A-Za-z0-9_./=:,+@%-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * Writes `body` (lines of bash) to `dir/name.sh`, runs it, and resolves with its marks in order:
 * [{ label, us }] with `us` in microseconds. Rejects with the script's stderr if it fails.
 */
async function runScript(dir, name, body) {
  const file = path.join(dir, `${name}.sh`);
  fs.writeFileSync(file, PREAMBLE + body.join('\n') + '\n');
  const child = track(spawn('bash', [file], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const code = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) {
    throw new Error(`${name}.sh exited with ${code}: ${err.trim().split('\n').slice(-5).join(' | ') || '(no stderr)'}`);
  }
  return out
    .split('\n')
    .filter((line) => line.startsWith('@ '))
    .map((line) => {
      const [, label, stamp] = line.split(' ');
      const [sec, frac = '0'] = stamp.split('.');
      return { label, us: Number(sec) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6)) };
    });
}

/**
 * Turns marks into timings. Labels are "c<index>.<step>" after each step of container <index>,
 * plus "start" first. Returns { totalUs, perContainerUs: [], stepsUs: { step: total } }.
 */
function timingsFromMarks(marks, count) {
  if (marks.length === 0 || marks[0].label !== 'start') throw new Error('script printed no start mark');
  const perContainerUs = new Array(count).fill(0);
  const stepsUs = {};
  for (let i = 1; i < marks.length; i++) {
    const delta = marks[i].us - marks[i - 1].us;
    const m = /^c(\d+)\.(.+)$/.exec(marks[i].label);
    if (m) {
      perContainerUs[Number(m[1])] += delta;
      stepsUs[m[2]] = (stepsUs[m[2]] ?? 0) + delta;
    } else {
      stepsUs[marks[i].label] = (stepsUs[marks[i].label] ?? 0) + delta;
    }
  }
  const totalUs = marks[marks.length - 1].us - marks[0].us;
  return { totalUs, perContainerUs, stepsUs };
}

module.exports = { runScript, timingsFromMarks, q };
