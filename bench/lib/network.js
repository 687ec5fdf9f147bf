// The network each method works on (its own bridge and /16, so that methods never collide) and
// the containers of one run: names, addresses, gateway.
'use strict';

const NETWORKS = {
  addon: { bridge: 'cnmbench-addon', octet: 200, prefix: 'ad' },
  concurrent: { bridge: 'cnmbench-addon', octet: 200, prefix: 'ac' },
  batch: { bridge: 'cnmbench-batch', octet: 201, prefix: 'bt' },
  ip: { bridge: 'cnmbench-ip', octet: 202, prefix: 'ip' },
  cni: { bridge: 'cnmbench-cni', octet: 203, prefix: 'cn' },
  floor: { bridge: 'cnmbench-floor', octet: 204, prefix: 'fl' },
  // The CNM path: the bridge is made by cnm-ts's bridge driver (newNetwork), not by the benchmark.
  cnm: { bridge: 'cnmbench-cnm', octet: 205, prefix: 'cm' },
  cnmConcurrent: { bridge: 'cnmbench-cnm', octet: 205, prefix: 'cc' },
  // The strace child run (lib/cnm-trace.js), a process of its own with its own controller.
  cnmTrace: { bridge: 'cnmbench-trace', octet: 206, prefix: 'ct' },
  // The published-ports figure (lib/ports.js).
  ports: { bridge: 'cnmbench-ports', octet: 212, prefix: 'pp' },
  // The leave figure (lib/leave.js).
  leave: { bridge: 'cnmbench-leave', octet: 213, prefix: 'lv' },
  // The macvlan figure (lib/macvlan.js): a bridge network on 10.214/16 and a macvlan network on
  // 10.215/16, whose parent is one end of a veth pair the benchmark makes.
  macvlan: { bridge: 'cnmbench-mvb', octet: 214, prefix: 'mv', parent: 'cnmbench-mvp' },
  // The DNS figures (lib/dns*.js): the network the servers are measured on (10.218.0.0/24 is the
  // link to the upstream server's namespace); a user-defined network beside the default bridge
  // network for the join figure; the network of the 1000 sandboxes with resolvers.
  dns: { bridge: 'cnmbench-dns', octet: 216, prefix: 'dn' },
  dnsJoin: { bridge: 'cnmbench-dnsj', octet: 217, prefix: 'dj', defaultBridge: 'cnmbench-dflt' },
  dnsScale: { bridge: 'cnmbench-dnsk', octet: 219, prefix: 'dk' },
  // The dual-stack figure (lib/dual-stack.js): an IPv4-only network on 10.220/16 and a dual-stack
  // one on 10.221/16 and fd00:cb:221::/64, both made by cnm-ts.
  dualStack4: { bridge: 'cnmbench-ds4', octet: 220, prefix: 'd4' },
  dualStack6: { bridge: 'cnmbench-ds6', octet: 221, prefix: 'd6' },
  // The restart figure (lib/restore.js): five bridge networks made by cnm-ts.
  ...Object.fromEntries([0, 1, 2, 3, 4].map((k) => [`restore${k}`, { bridge: `cnmbench-rs${k}`, octet: 207 + k, prefix: `r${k}` }])),
};

/** Every bridge the benchmark may make. */
const ALL_BRIDGES = [...new Set(Object.values(NETWORKS).flatMap((n) => [n.bridge, n.defaultBridge].filter(Boolean)))];

/** The gateway of a network, with and without its prefix length. */
function gatewayOf(network) {
  const gateway = `10.${network.octet}.0.1`;
  return { gateway, gatewayCidr: `${gateway}/16` };
}

/**
 * The containers of one run: index i gets namespace `<prefix>-<i>`, host end `v<prefix><i>`,
 * address 10.<octet>.0.(i+2)/16 counted on through the /16, the gateway .0.1 on the bridge.
 * `tag` keeps warm-up containers apart from measured ones.
 */
function makeContainers(network, count, tag = '') {
  const { gateway } = gatewayOf(network);
  const containers = [];
  for (let i = 0; i < count; i++) {
    const host = i + 2;
    const ip = `10.${network.octet}.${host >> 8}.${host & 255}`;
    const netns = `${network.prefix}${tag}-${i}`;
    containers.push({
      index: i,
      netns,
      path: `/run/netns/${netns}`,
      hostIfname: `v${network.prefix}${tag}${i}`,
      ip,
      address: `${ip}/16`,
      gateway,
      bridge: network.bridge,
    });
  }
  return containers;
}

module.exports = { NETWORKS, ALL_BRIDGES, gatewayOf, makeContainers };
