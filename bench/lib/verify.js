// Checks, through iproute2 (not through the library under test), that a container ended up in the
// state every method must produce, and reads the IPv6 facts that differ between methods.
'use strict';
const { execFileSync } = require('node:child_process');
const { ipJson } = require('./kernel');

/** Reads a sysctl inside a namespace; null if it does not exist. */
function sysctlIn(netns, key) {
  try {
    const file = `/proc/sys/${key.replace(/\./g, '/')}`;
    return execFileSync('nsenter', [`--net=/run/netns/${netns}`, 'cat', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/**
 * Verifies one container: lo and eth0 up, the address (with its broadcast) on eth0, the default
 * route via the gateway, and eth0's veth peer on the bridge and up in this namespace. Throws an
 * Error listing every difference; returns the IPv6 facts.
 */
function verifyContainer(c) {
  const problems = [];
  const links = ipJson(['link', 'show'], c.netns);
  const lo = links.find((l) => l.ifname === 'lo');
  const eth0 = links.find((l) => l.ifname === 'eth0');
  if (links.length !== 2) problems.push(`expected lo and eth0, found ${links.map((l) => l.ifname).join(', ')}`);
  if (!lo || !lo.flags.includes('UP')) problems.push('lo is not up');
  if (!eth0) {
    problems.push('no eth0');
  } else {
    if (!eth0.flags.includes('UP') || eth0.operstate !== 'UP') problems.push(`eth0 is not up (operstate ${eth0.operstate})`);
  }
  const addrs = ipJson(['addr', 'show'], c.netns);
  const eth0Addrs = addrs.find((a) => a.ifname === 'eth0')?.addr_info ?? [];
  const v4 = eth0Addrs.filter((a) => a.family === 'inet');
  const expected = v4.find((a) => a.local === c.ip && a.prefixlen === 16);
  if (v4.length !== 1 || !expected)
    problems.push(`eth0 IPv4 addresses are ${v4.map((a) => `${a.local}/${a.prefixlen}`).join(', ') || 'none'}, expected ${c.address}`);
  else if (!expected.broadcast) problems.push(`${c.address} has no broadcast address`);
  const routes = ipJson(['route', 'show', 'default'], c.netns);
  if (routes.length !== 1 || routes[0].gateway !== c.gateway || routes[0].dev !== 'eth0') {
    problems.push(`default routes: ${JSON.stringify(routes)}, expected via ${c.gateway} dev eth0`);
  }
  let hostEnd;
  if (eth0) {
    hostEnd = ipJson(['link', 'show']).find((l) => l.ifindex === eth0.link_index);
    if (!hostEnd) problems.push(`eth0's peer (ifindex ${eth0.link_index}) is not in the host namespace`);
    else {
      if (hostEnd.master !== c.bridge) problems.push(`host end ${hostEnd.ifname} is on ${hostEnd.master ?? 'no bridge'}, expected ${c.bridge}`);
      if (!hostEnd.flags.includes('UP') || hostEnd.operstate !== 'UP') problems.push(`host end ${hostEnd.ifname} is not up`);
    }
  }
  if (problems.length) throw new Error(`container ${c.netns}: ${problems.join('; ')}`);

  const hostAddrs = hostEnd ? ipJson(['addr', 'show', 'dev', hostEnd.ifname]) : [];
  const inet6 = (list) => list.filter((a) => a.family === 'inet6').map((a) => `${a.local}/${a.prefixlen}`);
  return {
    containerIpv6Disabled: sysctlIn(c.netns, 'net.ipv6.conf.eth0.disable_ipv6') === '1',
    eth0Inet6: inet6(eth0Addrs),
    loInet6: inet6(addrs.find((a) => a.ifname === 'lo')?.addr_info ?? []),
    hostEnd: hostEnd.ifname,
    hostEndInet6: inet6(hostAddrs[0]?.addr_info ?? []),
  };
}

/** Verifies the first, middle and last containers; returns the last one's IPv6 facts. */
function verifySample(containers) {
  const picks = [...new Set([0, Math.floor(containers.length / 2), containers.length - 1])];
  let facts;
  for (const i of picks) facts = verifyContainer(containers[i]);
  return facts;
}

module.exports = { verifyContainer, verifySample };
