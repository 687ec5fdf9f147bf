// Method "floor": not a competitor but the reference DESIGN.md sets, the kernel itself. A small C
// program (floor/floor.c, compiled into the private work directory at run time) does what the
// addon's setupContainer does, with the same end state, in one thread with no lookups and nothing
// around it. The addon's distance to it is its own overhead. Skipped when there is no C compiler.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const { NETWORKS, gatewayOf } = require('../lib/network');
const { createBridge, deleteBridge } = require('../lib/kernel');
const { track } = require('../lib/children');

function run(binary, args) {
  return new Promise((resolve, reject) => {
    const child = track(spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`floor ${args[0]} exited with ${code}: ${err.trim()}`))));
  });
}

const STEPS = ['netns', 'veth', 'host-up', 'addr', 'lo-up', 'eth0-up', 'route'];

/** Per-container times (and per-step totals) from the program's "<phase> <index> <us> [steps]" lines. */
function timings(out, count) {
  const perContainerUs = new Array(count).fill(0);
  const stepsUs = {};
  let linkWaitUs = 0;
  for (const line of out.split('\n')) {
    const [phase, index, us, ...steps] = line.split(' ');
    if (us === undefined) continue;
    if (phase === 'linkwait') {
      linkWaitUs = Number(us);
      continue;
    }
    perContainerUs[Number(index)] = Number(us);
    steps.forEach((v, k) => (stepsUs[STEPS[k]] = (stepsUs[STEPS[k]] ?? 0) + Number(v)));
  }
  // The wait for the links is the whole teardown's, spread over its containers.
  const perContainer = perContainerUs.map((us) => us + linkWaitUs / count);
  return { totalUs: perContainer.reduce((a, b) => a + b, 0), perContainerUs: perContainer, stepsUs, linkWaitUs };
}

module.exports = {
  key: 'floor',
  title: 'C floor',
  network: NETWORKS.floor,
  ipv6: 'as the addon (IPv6 off by sysctl in a helper thread, host end addrgenmode none)',

  available() {
    return spawnSync('cc', ['--version']).status === 0 ? null : 'no C compiler (cc) to build bench/floor/floor.c';
  },

  async prepare(ctx) {
    this.binary = path.join(ctx.workDir, 'floor');
    const built = spawnSync('cc', ['-O2', '-Wall', '-o', this.binary, path.join(__dirname, '..', 'floor', 'floor.c'), '-lpthread'], { encoding: 'utf8' });
    if (built.status !== 0) throw new Error(`cannot build bench/floor/floor.c: ${built.stderr}`);
    createBridge(this.network.bridge, gatewayOf(this.network).gatewayCidr);
  },

  async finish() {
    deleteBridge(this.network.bridge);
  },

  async setup(containers) {
    const c = containers[0];
    const args = ['setup', String(containers.length), c.netns.replace(/-0$/, ''), c.hostIfname.replace(/0$/, ''), c.bridge, String(this.network.octet)];
    return timings(await run(this.binary, args), containers.length);
  },

  async teardown(containers) {
    const args = ['teardown', String(containers.length), containers[0].netns.replace(/-0$/, ''), containers[0].hostIfname.replace(/0$/, '')];
    return timings(await run(this.binary, args), containers.length);
  },
};
