// The published-ports figure: 100 containers with 10 published ports each (host ports picked by
// the kernel), each joined right after one without ports, on one bridge network made by cnm-ts.
// The join time difference per port is the cost of publishing one port (hold the host port, add a DNAT map
// element); its first 10% beside its last 10% shows whether the k-th port costs what the first
// did. Beside it, the same map elements added by one `nft` process per port, as a CLI-driven
// runtime would do.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { makeController } = require('./controller');
const { NETWORKS } = require('./network');
const { growth, median, nowUs } = require('./stats');

const BRIDGE_NAME = 'com.docker.network.bridge.name';
/** The published ports of the one container whose leave is timed against its join. */
const UNPUBLISH_PORTS = 500;

/** Sets up one container and times its join (µs); `ports` published ports, host ports picked by the kernel. */
async function timedJoin(controller, network, name, ports) {
  const portMapping = Array.from({ length: ports }, (_, k) => ({ proto: 'tcp', port: 8000 + k }));
  const sandbox = await controller.newSandbox(name);
  const endpoint = await network.createEndpoint(name, { portMapping });
  const t0 = nowUs();
  await endpoint.join(sandbox);
  const us = nowUs() - t0;
  if (endpoint.info().portMapping.filter((p) => p.hostPort > 0).length !== ports) throw new Error(`${name}: not every port was published`);
  return us;
}

/**
 * One container with `ports` published ports (on `hostIP`, default every IPv4 address), and one
 * without: their join and leave times (µs). Publishing is holding the host ports + one map
 * transaction; unpublishing is the map transaction, the conntrack sweep and giving the host ports back.
 */
async function timedPublishUnpublish(controller, network, ports, hostIP) {
  const times = /** @type {Record<string, { joinUs: number, leaveUs: number }>} */ ({});
  for (const [kind, count] of [
    ['plain', 0],
    ['many', ports],
  ]) {
    const portMapping = Array.from({ length: count }, (_, k) => ({ proto: 'tcp', port: 8000 + k, ...(hostIP ? { hostIP } : {}) }));
    const sandbox = await controller.newSandbox(`unpublish-${kind}`);
    const endpoint = await network.createEndpoint(`unpublish-${kind}`, { portMapping });
    const t0 = nowUs();
    await endpoint.join(sandbox);
    const t1 = nowUs();
    await endpoint.leave(sandbox);
    times[kind] = { joinUs: t1 - t0, leaveUs: nowUs() - t1 };
    await endpoint.delete();
    await sandbox.delete();
  }
  return { ports, plain: times.plain, many: times.many };
}

/** One `nft add element` process per port into a scratch map shaped like cnm-ts's (the CLI way). */
function nftCliPerPort(count) {
  const table = 'cnmbench-nftcli';
  const nft = (args) => execFileSync('nft', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  nft(['add', 'table', 'inet', table]);
  try {
    nft(['add', 'map', 'inet', table, 'ports', '{ type inet_proto . inet_service : ipv4_addr . inet_service; }']);
    const times = [];
    for (let k = 0; k < count; k++) {
      const t0 = nowUs();
      nft(['add', 'element', 'inet', table, 'ports', `{ tcp . ${20000 + k} : 10.99.${k >> 8}.${k & 255} . 80 }`]);
      times.push(nowUs() - t0);
    }
    return times;
  } finally {
    nft(['delete', 'table', 'inet', table]);
  }
}

function nftAvailable() {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Resolves with per-port costs (µs) and their growth; removes everything it made. */
async function measurePorts(workDir, containers, portsEach, log) {
  const dir = path.join(workDir, 'ports');
  const controller = await makeController(dir);
  try {
    const spec = NETWORKS.ports;
    const network = await controller.newNetwork('bridge', 'ports', {
      driverOptions: { [BRIDGE_NAME]: spec.bridge },
      ipam: { config: [{ subnet: `10.${spec.octet}.0.0/16` }] },
    });
    log(`ports: ${containers} containers with ${portsEach} published ports each, each beside one without`);
    // Interleaved, so that both kinds of join see the same number of containers before them.
    const plain = [];
    const published = [];
    for (let i = 0; i < containers; i++) {
      plain.push(await timedJoin(controller, network, `plain-${i}`, 0));
      published.push(await timedJoin(controller, network, `ports-${i}`, portsEach));
    }
    const unpublish = await timedPublishUnpublish(controller, network, UNPUBLISH_PORTS);
    const perPort = published.map((t, i) => Math.max(0, t - plain[i]) / portsEach);
    const cli = nftAvailable() ? nftCliPerPort(containers * portsEach > 300 ? 300 : containers * portsEach) : null;
    for (const s of controller.sandboxes()) await s.delete();
    for (const e of network.endpoints()) await e.delete();
    await network.delete();
    return {
      containers,
      portsEach,
      plainJoinUs: median(plain),
      portsJoinUs: median(published),
      perPortUs: median(perPort),
      growth: growth(perPort),
      cliPerPortUs: cli ? median(cli) : null,
      unpublish,
    };
  } finally {
    await controller.stop({ removeAll: true });
  }
}

module.exports = { measurePorts, timedPublishUnpublish };
