// The controllers the benchmark makes: state, run folder and /etc/netns files in a folder of its
// private work directory, no predefined networks.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { library } = require('./dist');

/** The options of a benchmark controller whose folders live in `dir`. */
function controllerOptions(dir) {
  return { stateDir: path.join(dir, 'state'), runDir: path.join(dir, 'run'), etcNetnsDir: path.join(dir, 'etc-netns'), predefinedNetworks: false };
}

/** Makes `dir` and a controller on it; `extra` options override the benchmark's. */
async function makeController(dir, extra = {}) {
  fs.mkdirSync(dir, { recursive: true });
  return library().NetworkController.create({ ...controllerOptions(dir), ...extra });
}

module.exports = { controllerOptions, makeController };
