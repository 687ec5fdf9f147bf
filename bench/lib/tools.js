// Which of the external programs a figure needs are missing from PATH: the benchmark skips that
// figure and says so, rather than failing the run.
'use strict';
const { spawnSync } = require('node:child_process');

/** The commands of `names` that `command -v` does not find. */
function missingCommands(names) {
  return names.filter((name) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' }).status !== 0);
}

module.exports = { missingCommands };
