// CPU time of this process, split into the JS thread's and everyone else's (libuv's workers, the
// addon's short-lived namespace threads, V8's helpers): what a method costs the event loop's
// thread beside what it costs the machine. The JS thread's comes from its line in /proc (clock
// ticks); the whole process's from process.cpuUsage(), which also counts threads that have exited.
'use strict';
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

let usPerTick = null;

/** Microseconds per clock tick of /proc's CPU times (sysconf(_SC_CLK_TCK), 100 Hz on Linux). */
function tickUs() {
  usPerTick ??= 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return usPerTick;
}

/** The JS thread's user + system time so far, in microseconds. */
function jsThreadUs() {
  const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * tickUs();
}

/** A reading to pass to cpuSince. */
function cpuNow() {
  const all = process.cpuUsage();
  return { jsUs: jsThreadUs(), allUs: all.user + all.system };
}

/** CPU used since `start` (from cpuNow): { jsUs, otherUs }, each good to one clock tick (10 ms). */
function cpuSince(start) {
  const end = cpuNow();
  const jsUs = end.jsUs - start.jsUs;
  return { jsUs, otherUs: Math.max(0, end.allUs - start.allUs - jsUs) };
}

module.exports = { cpuNow, cpuSince };
