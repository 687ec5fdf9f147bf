// The leave figure: what `endpoint.leave(sandbox)` costs, one after the other and all at once
// (Promise.all), each sandbox with one endpoint joined on one bridge network made by cnm-ts. Leave
// removes the veth pair, which costs the kernel a grace period; leaves that come together share one.
// Docker's disconnect (`POST /networks/{id}/disconnect`) measured 37-53 ms in issue 9's run against
// dockerd 20.10; the target for concurrent leaves is a tenth of its fastest. That figure is quoted,
// not measured side by side: no Docker engine runs in this bench (yet).
'use strict';
const path = require('node:path');
const { makeController } = require('./controller');
const { NETWORKS } = require('./network');
const { bridgePorts } = require('./kernel');
const { median, nowUs } = require('./stats');

const BRIDGE_NAME = 'com.docker.network.bridge.name';
/** Docker's fastest disconnect in issue 9's measurement, in ms. */
const DOCKER_DISCONNECT_MS = 37;

/** `count` sandboxes, each with one endpoint joined. */
async function joined(controller, network, prefix, count) {
  const made = [];
  for (let i = 0; i < count; i++) {
    const sandbox = await controller.newSandbox(`${prefix}-${i}`);
    const endpoint = await network.createEndpoint(`${prefix}-${i}`);
    await endpoint.join(sandbox);
    made.push({ sandbox, endpoint });
  }
  return made;
}

function checkNoPorts(bridge, what) {
  const left = bridgePorts(bridge);
  if (left.length > 0) throw new Error(`leave (${what}): ${left.length} veth(s) still on ${bridge} after the leaves resolved`);
}

/**
 * Resolves with { sequential: { leaveUs, leaveDeleteUs }, concurrent: { n, perLeaveUs } } (medians,
 * per leave); removes everything it made.
 */
async function measureLeave(workDir, sequentialCount, concurrentCount, log) {
  const dir = path.join(workDir, 'leave');
  const controller = await makeController(dir);
  try {
    const spec = NETWORKS.leave;
    const network = await controller.newNetwork('bridge', 'leave', {
      driverOptions: { [BRIDGE_NAME]: spec.bridge },
      ipam: { config: [{ subnet: `10.${spec.octet}.0.0/16` }] },
    });
    log(`leave: ${sequentialCount} one after the other, then ${concurrentCount} at once`);
    const seq = await joined(controller, network, `${spec.prefix}s`, sequentialCount);
    const leaveUs = [];
    const leaveDeleteUs = [];
    for (const { sandbox, endpoint } of seq) {
      const t0 = nowUs();
      await endpoint.leave(sandbox);
      const t1 = nowUs();
      await endpoint.delete();
      leaveUs.push(t1 - t0);
      leaveDeleteUs.push(nowUs() - t0);
    }
    checkNoPorts(spec.bridge, 'sequential');
    for (const { sandbox } of seq) await sandbox.delete();

    const conc = await joined(controller, network, `${spec.prefix}c`, concurrentCount);
    const t0 = nowUs();
    await Promise.all(conc.map(({ sandbox, endpoint }) => endpoint.leave(sandbox)));
    const totalUs = nowUs() - t0;
    checkNoPorts(spec.bridge, 'concurrent');
    for (const { sandbox, endpoint } of conc) {
      await endpoint.delete();
      await sandbox.delete();
    }
    await network.delete();
    return {
      sequential: { count: sequentialCount, leaveUs: median(leaveUs), leaveDeleteUs: median(leaveDeleteUs) },
      concurrent: { n: concurrentCount, totalUs, perLeaveUs: totalUs / concurrentCount },
    };
  } finally {
    await controller.stop({ removeAll: true });
  }
}

module.exports = { measureLeave, DOCKER_DISCONNECT_MS };
