// Method "batch": one `ip -force -batch -` process reads every step of every container from stdin.
// A batch line cannot aim at another namespace (iproute2 has no per-line -n), so each container's
// in-namespace steps run in a child `ip -batch` started by a `netns exec` line of the main batch:
// 1 + N ip processes in all. Same steps, order and IPv6 handling as the "ip" method.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { NETWORKS } = require('../lib/network');
const { ownBridge } = require('../lib/kernel');
const { runScript, timingsFromMarks } = require('../lib/shell');

const strip = (cmd) => cmd.replace(/^ip /, '');
const stripNs = (cmd) => cmd.replace(/^ip -n \S+ /, '');

module.exports = {
  key: 'batch',
  title: 'ip -batch',
  network: NETWORKS.batch,
  ...ownBridge(NETWORKS.batch),
  ipv6: 'as "ip per step": eth0 addrgenmode none before up, host end addrgenmode none',

  available() {
    return null;
  },

  /** Writes the main batch and one in-namespace batch per container (not timed). */
  writeSetupBatches(containers, dir) {
    const { setupSteps } = require('./ip-steps');
    fs.mkdirSync(path.join(dir, 'ns'), { recursive: true });
    const main = [];
    for (const c of containers) {
      const steps = Object.fromEntries(setupSteps(c));
      const inner = path.join(dir, 'ns', `${c.netns}.batch`);
      fs.writeFileSync(inner, [steps['addr-add'], steps['lo-up'], steps['eth0-up'], steps['route-add']].map(stripNs).join('\n') + '\n');
      main.push(strip(steps['netns-add']), strip(steps['veth-add']), `netns exec ${c.netns} ip -batch ${inner}`, strip(steps['host-up']));
    }
    const file = path.join(dir, 'setup.batch');
    fs.writeFileSync(file, main.join('\n') + '\n');
    return file;
  },

  async setup(containers, ctx) {
    const dir = path.join(ctx.workDir, 'batch');
    fs.rmSync(dir, { recursive: true, force: true });
    const file = this.writeSetupBatches(containers, dir);
    const marks = await runScript(ctx.workDir, 'batch-setup', ['mark start', `ip -force -batch - < ${file}`, 'mark batch']);
    return { ...timingsFromMarks(marks, containers.length), perContainerUs: null };
  },

  async teardown(containers, ctx) {
    const file = path.join(ctx.workDir, 'batch', 'teardown.batch');
    fs.writeFileSync(file, containers.map((c) => `netns del ${c.netns}`).join('\n') + '\n');
    const marks = await runScript(ctx.workDir, 'batch-teardown', ['mark start', `ip -force -batch - < ${file}`, 'mark batch']);
    return { ...timingsFromMarks(marks, containers.length), perContainerUs: null };
  },
};
