// The restart figure: N endpoints on five bridge networks, each joined to a sandbox of its own,
// then new controllers on the same state directory. Reports how long NetworkController.create
// takes to restore them all (records read, IPAM rebuilt, every namespace and veth checked).
'use strict';
const path = require('node:path');
const { library: lib } = require('./dist');
const { controllerOptions, makeController } = require('./controller');
const { NETWORKS } = require('./network');
const { median, nowUs } = require('./stats');

const BRIDGE_NAME = 'com.docker.network.bridge.name';
const RESTARTS = 3;
const AT_ONCE = 50;

/** Makes the objects, restarts RESTARTS times, removes everything; resolves with the times. */
async function measureRestore(workDir, endpoints, log) {
  const { NetworkController } = lib();
  const dir = path.join(workDir, 'restore');
  const options = controllerOptions(dir);
  let controller = await makeController(dir);
  try {
    log(`restart: making ${endpoints} endpoints joined to ${endpoints} sandboxes on 5 networks`);
    const networks = [];
    for (let k = 0; k < 5; k++) {
      const spec = NETWORKS[`restore${k}`];
      networks.push(
        await controller.newNetwork('bridge', `restore${k}`, {
          driverOptions: { [BRIDGE_NAME]: spec.bridge },
          ipam: { config: [{ subnet: `10.${spec.octet}.0.0/16` }] },
        }),
      );
    }
    for (let start = 0; start < endpoints; start += AT_ONCE) {
      const batch = [];
      for (let i = start; i < Math.min(endpoints, start + AT_ONCE); i++) {
        batch.push(
          (async () => {
            const sandbox = await controller.newSandbox(`restore-${i}`);
            const endpoint = await networks[i % 5].createEndpoint(`e${i}`);
            await endpoint.join(sandbox);
          })(),
        );
      }
      await Promise.all(batch);
    }
    const times = [];
    let report;
    for (let r = 0; r < RESTARTS; r++) {
      await controller.stop();
      const t0 = nowUs();
      controller = await NetworkController.create(options);
      times.push(nowUs() - t0);
      report = controller.restoreReport();
      const joined = controller
        .networks()
        .flatMap((n) => n.endpoints())
        .filter((e) => e.info().sandboxId !== null).length;
      if (report.endpoints !== endpoints || report.sandboxes !== endpoints || joined !== endpoints || report.orphans.length || report.lostEndpoints.length) {
        throw new Error(
          `restart ${r + 1}: restored ${report.endpoints} endpoints (${joined} joined), ${report.sandboxes} sandboxes, ` +
            `${report.orphans.length} orphans, ${report.lostEndpoints.length} lost; expected ${endpoints} of each and none`,
        );
      }
      log(`  restart ${r + 1}: ${(times[r] / 1000).toFixed(1)} ms (restore itself ${report.milliseconds.toFixed(1)} ms)`);
    }
    return { endpoints, networks: 5, restarts: times, medianUs: median(times), restoreMs: report.milliseconds };
  } finally {
    await controller.stop({ removeAll: true });
  }
}

module.exports = { measureRestore };
