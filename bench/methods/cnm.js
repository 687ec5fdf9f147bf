// Method "cnm": the full CNM path of cnm-ts, as a container runtime drives it. One NetworkController
// (no predefined networks; state and /etc/netns files in the benchmark's private work directory)
// with one bridge network made by cnm-ts's bridge driver; per container
// `controller.newSandbox(id)` + `network.createEndpoint(name)` + `endpoint.join(sandbox)`, and the
// reverse `sandbox.delete()` + `endpoint.delete()`. Each step is timed on its own, so the report can
// say where the CNM path spends time beyond the raw batch (method "addon").
'use strict';
const { nowUs } = require('../lib/stats');
const { library: lib, loadAddon } = require('../lib/dist');
const fs = require('node:fs');
const path = require('node:path');
const { NETWORKS, gatewayOf } = require('../lib/network');
const { measureLoopDelay } = require('../lib/loop-delay');
const { cpuNow, cpuSince } = require('../lib/thread-cpu');

const SETUP_STEPS = ['newSandbox', 'createEndpoint', 'join'];
const TEARDOWN_STEPS = ['sandbox.delete', 'endpoint.delete'];

/** The driver option that names the bridge device (Docker's com.docker.network.bridge.name). */
const BRIDGE_NAME = 'com.docker.network.bridge.name';

/**
 * The addon's kernel, with the time its batches took summed in `batchUs` (from the call to the
 * result: checks, conversion, the worker's trip): a sequential setup's time is then the kernel's
 * batches and cnm-ts's own code around them.
 */
function timedKernel() {
  const { nativeKernel } = lib('kernel');
  const kernel = {
    ...nativeKernel,
    batchUs: 0,
    batch(ops) {
      const start = nowUs();
      return nativeKernel.batch(ops).finally(() => (kernel.batchUs += nowUs() - start));
    },
  };
  return kernel;
}

/** Makes the controller (on a timedKernel) and the bridge network the CNM path runs on. */
async function makeNetwork(dir, network, name) {
  const { NetworkController } = lib();
  fs.mkdirSync(dir, { recursive: true });
  const kernel = timedKernel();
  const controller = await NetworkController.create({
    predefinedNetworks: false,
    stateDir: path.join(dir, 'state'),
    runDir: path.join(dir, 'run'),
    etcNetnsDir: path.join(dir, 'etc-netns'),
    kernel,
  });
  const net = await controller.newNetwork('bridge', name, {
    driverOptions: { [BRIDGE_NAME]: network.bridge },
    ipam: { config: [{ subnet: `10.${network.octet}.0.0/16` }] },
  });
  return { controller, network: net, kernel };
}

/**
 * After setup (outside the timed part): points the container record at what cnm-ts made, so that
 * the checks (lib/verify.js) look at the namespace, address and host end the library chose.
 */
function annotate(c, sandbox, endpoint) {
  const info = endpoint.info();
  c.sandbox = sandbox;
  c.endpoint = endpoint;
  c.path = sandbox.key;
  c.netns = path.basename(sandbox.key);
  c.address = info.interface.address;
  c.ip = c.address.split('/')[0];
  c.gateway = info.gateway;
  c.hostIfname = endpoint.network.driver?.hostInterface?.(endpoint.id) ?? c.hostIfname;
}

/** Sets one container up, step by step; returns the step times in microseconds. */
async function setupOne(controller, network, c) {
  const t0 = nowUs();
  const sandbox = await controller.newSandbox(c.netns);
  const t1 = nowUs();
  const endpoint = await network.createEndpoint(c.netns);
  const t2 = nowUs();
  await endpoint.join(sandbox);
  const t3 = nowUs();
  return { sandbox, endpoint, steps: [t1 - t0, t2 - t1, t3 - t2] };
}

async function teardownOne(c) {
  const t0 = nowUs();
  await c.sandbox.delete();
  const t1 = nowUs();
  await c.endpoint.delete();
  const t2 = nowUs();
  return [t1 - t0, t2 - t1];
}

/** { totalUs, perContainerUs, stepsUs: { step: total }, stepsPerContainerUs: { step: [] } }. */
function collect(stepNames, rows, totalUs) {
  const stepsUs = {};
  const stepsPerContainerUs = {};
  stepNames.forEach((name, k) => {
    stepsPerContainerUs[name] = rows.map((r) => r[k]);
    stepsUs[name] = stepsPerContainerUs[name].reduce((a, b) => a + b, 0);
  });
  return { totalUs, perContainerUs: rows.map((r) => r.reduce((a, b) => a + b, 0)), stepsUs, stepsPerContainerUs };
}

module.exports = {
  key: 'cnm',
  title: 'cnm',
  network: NETWORKS.cnm,
  SETUP_STEPS,
  TEARDOWN_STEPS,
  makeNetwork,
  ipv6:
    'container: newSandbox writes net.ipv6.conf.default.disable_ipv6=1 when the namespace is made (eth0, made later, ' +
    'has IPv6 off; lo keeps ::1); host end: addrgenmode none before its carrier comes up (bridge driver join)',

  available() {
    try {
      loadAddon();
    } catch (err) {
      return `the cnm-ts addon does not load: ${err.message.split('\n')[0]}`;
    }
    return typeof lib().NetworkController?.create === 'function' ? null : 'dist/ has no NetworkController';
  },

  /** One controller and one bridge network for the whole run; cnm-ts makes the bridge itself. */
  async prepare(ctx) {
    const made = await makeNetwork(path.join(ctx.workDir, 'cnm'), this.network, 'cnmbench');
    this.controller = made.controller;
    this.cnmNetwork = made.network;
    this.kernel = made.kernel;
    const gateway = this.cnmNetwork.info().ipam.allocated[0]?.gateway;
    if (gateway !== gatewayOf(this.network).gatewayCidr) {
      throw new Error(`cnm: IPAM gave the bridge gateway ${gateway}, the checks expect ${gatewayOf(this.network).gatewayCidr}`);
    }
  },

  async finish() {
    await this.cnmNetwork.delete();
    await this.controller.stop();
  },

  /**
   * One container after the other, each step timed on its own; the part of the whole in the
   * kernel's batches, and the CPU it took (lib/thread-cpu.js).
   */
  async setup(containers) {
    const made = [];
    const cpu = cpuNow();
    const batchesBefore = this.kernel.batchUs;
    const start = nowUs();
    for (const c of containers) made.push(await setupOne(this.controller, this.cnmNetwork, c));
    const totalUs = nowUs() - start;
    const inBatchesUs = this.kernel.batchUs - batchesBefore;
    const used = cpuSince(cpu);
    containers.forEach((c, i) => annotate(c, made[i].sandbox, made[i].endpoint));
    return {
      ...collect(
        SETUP_STEPS,
        made.map((r) => r.steps),
        totalUs,
      ),
      inBatchesUs,
      cpu: used,
    };
  },

  async teardown(containers) {
    const rows = [];
    const start = nowUs();
    for (const c of containers) rows.push(await teardownOne(c));
    return collect(TEARDOWN_STEPS, rows, nowUs() - start);
  },

  /** All setups started at once (Promise.all), under the event-loop probes. */
  async setupConcurrent(containers) {
    const made = [];
    let syncUs = 0;
    const probe = await measureLoopDelay(async () => {
      const start = nowUs();
      const all = Promise.all(containers.map((c, i) => setupOne(this.controller, this.cnmNetwork, c).then((r) => (made[i] = r))));
      syncUs = nowUs() - start;
      await all;
      return nowUs() - start;
    });
    containers.forEach((c, i) => annotate(c, made[i].sandbox, made[i].endpoint));
    return { totalUs: probe.result, loopDelay: { ...probe, syncCallMs: syncUs / 1000 } };
  },

  async teardownConcurrent(containers) {
    const start = nowUs();
    await Promise.all(containers.map((c) => teardownOne(c)));
    return { totalUs: nowUs() - start };
  },
};
