// Method "cni": the CNI bridge plugin with host-local IPAM, driven the way a runtime does: the
// runtime makes the namespace (`ip netns add`), then execs the loopback and bridge plugins with
// CNI_* in the environment and the network config on stdin; teardown is bridge DEL, then
// `ip netns del`. Not a project dependency: skipped when /usr/lib/cni has no plugins.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { NETWORKS, gatewayOf } = require('../lib/network');
const { createBridge, deleteBridge } = require('../lib/kernel');
const { runScript, timingsFromMarks, q } = require('../lib/shell');
const { missingCommands } = require('../lib/tools');

const CNI_PATH = '/usr/lib/cni';
const PLUGINS = ['bridge', 'host-local', 'loopback'];

function cniEnv(command, c, ifname) {
  return `CNI_COMMAND=${command} CNI_CONTAINERID=${q(c.netns)} CNI_NETNS=${q(c.path)} CNI_IFNAME=${ifname}`;
}

module.exports = {
  key: 'cni',
  title: 'CNI bridge',
  network: NETWORKS.cni,
  ipv6:
    'runtime switches IPv6 off in the namespace (nsenter + sysctl, timed as "ipv6-off") before the plugins run; ' +
    'the plugin leaves the host end with IPv6 on (link-local + DAD, sent towards the container only)',

  available() {
    const missing = PLUGINS.filter((p) => {
      try {
        fs.accessSync(path.join(CNI_PATH, p), fs.constants.X_OK);
        return false;
      } catch {
        return true;
      }
    });
    if (missing.length) {
      return (
        `CNI plugins not installed (${missing.map((p) => path.join(CNI_PATH, p)).join(', ')} missing); ` +
        'they are not a project dependency: `apt-get install containernetworking-plugins` to measure this column'
      );
    }
    const tools = missingCommands(['nsenter', 'sysctl']);
    if (tools.length) return `${tools.join(' and ')} not found (the runtime's IPv6-off step needs them)`;
    return null;
  },

  /** The bridge exists beforehand (with its gateway address), as for the other methods. */
  async prepare(ctx) {
    createBridge(this.network.bridge, gatewayOf(this.network).gatewayCidr);
    this.dir = path.join(ctx.workDir, 'cni');
    fs.mkdirSync(this.dir, { recursive: true });
    const { gateway } = gatewayOf(this.network);
    const subnet = `10.${this.network.octet}.0.0/16`;
    this.bridgeConf = path.join(this.dir, 'bridge.json');
    this.loConf = path.join(this.dir, 'loopback.json');
    this.ipamDir = path.join(this.dir, 'ipam');
    fs.writeFileSync(
      this.bridgeConf,
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'cnmbench',
        type: 'bridge',
        bridge: this.network.bridge,
        isGateway: true,
        isDefaultGateway: true, // isGateway alone puts the gateway on the bridge but adds no default route
        ipMasq: false,
        ipam: { type: 'host-local', ranges: [[{ subnet, gateway }]], dataDir: this.ipamDir },
      }),
    );
    fs.writeFileSync(this.loConf, JSON.stringify({ cniVersion: '1.0.0', name: 'cnmbench-lo', type: 'loopback' }));
  },

  async finish() {
    deleteBridge(this.network.bridge);
  },

  async setup(containers, ctx) {
    // A fresh IPAM store, so that addresses are handed out from .2 as for the other methods.
    fs.rmSync(this.ipamDir, { recursive: true, force: true });
    const body = [`export CNI_PATH=${CNI_PATH}`, 'mark start'];
    for (const c of containers) {
      const i = c.index;
      body.push(
        `ip netns add ${q(c.netns)}; mark c${i}.netns-add`,
        `nsenter --net=${q(c.path)} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; mark c${i}.ipv6-off`,
        `${cniEnv('ADD', c, 'lo')} ${CNI_PATH}/loopback < ${this.loConf} > /dev/null; mark c${i}.loopback-add`,
        `${cniEnv('ADD', c, 'eth0')} ${CNI_PATH}/bridge < ${this.bridgeConf} > /dev/null; mark c${i}.bridge-add`,
      );
    }
    return timingsFromMarks(await runScript(ctx.workDir, 'cni-setup', body), containers.length);
  },

  async teardown(containers, ctx) {
    const body = [`export CNI_PATH=${CNI_PATH}`, 'mark start'];
    for (const c of containers) {
      body.push(
        `${cniEnv('DEL', c, 'eth0')} ${CNI_PATH}/bridge < ${this.bridgeConf} > /dev/null; mark c${c.index}.bridge-del`,
        `ip netns del ${q(c.netns)}; mark c${c.index}.netns-del`,
      );
    }
    return timingsFromMarks(await runScript(ctx.workDir, 'cni-teardown', body), containers.length);
  },
};
