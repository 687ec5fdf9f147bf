// The child processes the benchmark is running (bash drivers, the floor program, daemons), so that an
// interrupted run can stop them before it cleans up.
'use strict';

const running = new Set();

/** Remembers `child` until it exits; returns it. */
function track(child) {
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

/**
 * Remembers a process that is not our child (a daemon that a child of ours forked) by its id;
 * returns its stop(), which kills it.
 */
function trackPid(pid) {
  const handle = {
    kill(signal) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    },
  };
  running.add(handle);
  return () => {
    handle.kill('SIGKILL');
    running.delete(handle);
  };
}

/** Kills every child still running (SIGKILL: they hold nothing that needs an orderly exit). */
function killAll() {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

module.exports = { track, trackPid, killAll };
