// Method "ip": iproute2 with one `ip` process per step, run by bash (see lib/shell.js for why).
// eth0 is brought up before the host end (the host end last, which gives both their carrier), with
// addrgenmode none on both, so that neither end ever gets an IPv6 link-local address: addrgenmode
// cannot be given on creation (EAFNOSUPPORT), and the kernel applies it after "up" in one message.
'use strict';
const { NETWORKS } = require('../lib/network');
const { ownBridge } = require('../lib/kernel');
const { runScript, timingsFromMarks, q } = require('../lib/shell');

/** The steps that set up container `c`, as [step name, command]. Exported for the batch method. */
function setupSteps(c) {
  return [
    ['netns-add', `ip netns add ${q(c.netns)}`],
    ['veth-add', `ip link add ${q(c.hostIfname)} type veth peer name eth0 netns ${q(c.netns)}`],
    ['addr-add', `ip -n ${q(c.netns)} addr add ${c.address} brd + dev eth0`],
    ['lo-up', `ip -n ${q(c.netns)} link set lo up`],
    ['eth0-up', `ip -n ${q(c.netns)} link set eth0 addrgenmode none up`],
    ['route-add', `ip -n ${q(c.netns)} route add default via ${c.gateway}`],
    ['host-up', `ip link set ${q(c.hostIfname)} master ${q(c.bridge)} addrgenmode none up`],
  ];
}

module.exports = {
  key: 'ip',
  title: 'ip per step',
  network: NETWORKS.ip,
  ...ownBridge(NETWORKS.ip),
  ipv6: 'container: IPv6 on, eth0 "addrgenmode none" before up (no link-local, no DAD/RS); host end: addrgenmode none',
  setupSteps,

  available() {
    return null;
  },

  async setup(containers, ctx) {
    const body = ['mark start'];
    for (const c of containers) {
      for (const [step, cmd] of setupSteps(c)) body.push(`${cmd}; mark c${c.index}.${step}`);
    }
    return timingsFromMarks(await runScript(ctx.workDir, 'ip-setup', body), containers.length);
  },

  async teardown(containers, ctx) {
    const body = ['mark start'];
    for (const c of containers) body.push(`ip netns del ${q(c.netns)}; mark c${c.index}.netns-del`);
    return timingsFromMarks(await runScript(ctx.workDir, 'ip-teardown', body), containers.length);
  },
};
