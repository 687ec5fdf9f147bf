// Method "addon": cnm-ts's setupContainer / teardownContainer, one batch (one trip to a worker
// thread) per container. Sequential, and all at once (Promise.all) for the concurrent run.
'use strict';
const { nowUs } = require('../lib/stats');
const { library, loadAddon } = require('../lib/dist');
const { NETWORKS } = require('../lib/network');
const { ownBridge } = require('../lib/kernel');
const { measureLoopDelay } = require('../lib/loop-delay');
const { cpuNow, cpuSince } = require('../lib/thread-cpu');

function specOf(c) {
  return { netnsDir: '/run/netns', name: c.netns, bridge: c.bridge, hostIfname: c.hostIfname, address: c.address, gateway: c.gateway };
}

module.exports = {
  key: 'addon',
  title: 'addon',
  network: NETWORKS.addon,
  ...ownBridge(NETWORKS.addon),
  /** What the addon does about IPv6, read from the operations it sends (so it stays true). */
  get ipv6() {
    const probe = { netns: 'x', path: '/run/netns/x', hostIfname: 'vx', address: '10.0.0.2/16', gateway: '10.0.0.1', bridge: 'b' };
    const ops = library('kernel').containerSetupOps(specOf(probe));
    const sysctls = Object.entries(ops.find((o) => o.op === 'netnsCreate')?.sysctls ?? {}).map(([k, v]) => `${k}=${v}`);
    const hostMode = ops.find((o) => o.op === 'linkSet' && !o.netns && o.change.addrGenMode)?.change.addrGenMode;
    return (
      `container: ${sysctls.length ? `${sysctls.join(', ')} written when the namespace is made, before eth0 exists` : 'IPv6 left on'}; ` +
      `host end: ${hostMode ? `addrgenmode ${hostMode} before its carrier comes up` : 'IPv6 left on'}`
    );
  },

  available() {
    try {
      loadAddon();
      return null;
    } catch (err) {
      return `the cnm-ts addon does not load: ${err.message.split('\n')[0]}`;
    }
  },

  /** One container after the other; per-container times in microseconds, and the CPU it took (lib/thread-cpu.js). */
  async setup(containers) {
    const { setupContainer } = library('kernel');
    const perContainerUs = [];
    const cpu = cpuNow();
    const start = nowUs();
    for (const c of containers) {
      const t = nowUs();
      await setupContainer(specOf(c));
      perContainerUs.push(nowUs() - t);
    }
    return { totalUs: nowUs() - start, perContainerUs, cpu: cpuSince(cpu) };
  },

  async teardown(containers) {
    const { teardownContainer } = library('kernel');
    const perContainerUs = [];
    const start = nowUs();
    for (const c of containers) {
      const t = nowUs();
      await teardownContainer(c.path);
      perContainerUs.push(nowUs() - t);
    }
    return { totalUs: nowUs() - start, perContainerUs };
  },

  /** All setups started at once, under the event-loop probes. */
  async setupConcurrent(containers) {
    const { setupContainer } = library('kernel');
    const specs = containers.map(specOf);
    let syncUs = 0;
    const probe = await measureLoopDelay(async () => {
      const start = nowUs();
      const all = Promise.all(specs.map((s) => setupContainer(s)));
      syncUs = nowUs() - start; // validation, conversion and queueing, on the JS thread
      await all;
      return nowUs() - start;
    });
    return { totalUs: probe.result, loopDelay: { ...probe, syncCallMs: syncUs / 1000 } };
  },

  async teardownConcurrent(containers) {
    const { teardownContainer } = library('kernel');
    const start = nowUs();
    await Promise.all(containers.map((c) => teardownContainer(c.path)));
    return { totalUs: nowUs() - start };
  },
};
