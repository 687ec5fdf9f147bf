// The child processes the benchmark is running (bash drivers, the floor program), so that an
// interrupted run can stop them before it cleans up.
'use strict';

const running = new Set();

/** Remembers `child` until it exits; returns it. */
function track(child) {
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

/** Kills every child still running (SIGKILL: they hold nothing that needs an orderly exit). */
function killAll() {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

module.exports = { track, killAll };
