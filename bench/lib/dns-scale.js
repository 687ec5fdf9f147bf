// 1000 sandboxes with resolvers: what they cost this process (threads, open file descriptors,
// resident memory), read from /proc before the first join, with every sandbox joined (each
// resolver checked to answer at the ends), and after all are deleted. One controller serves
// them all: its DNS thread is one, however many sandboxes.
'use strict';
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { promisify } = require('node:util');
const { makeController } = require('./controller');
const { NETWORKS } = require('./network');

const BRIDGE_NAME = 'com.docker.network.bridge.name';
const run = promisify(execFile);

/** This process's threads, open descriptors, resident memory and JS heap (bytes). */
function processCost() {
  const memory = process.memoryUsage();
  return {
    threads: fs.readdirSync('/proc/self/task').length,
    fds: fs.readdirSync('/proc/self/fd').length,
    rss: memory.rss,
    heap: memory.heapUsed,
  };
}

/**
 * Resolves with { count, before, joined, deleted } (processCost() each) and the seconds the joins
 * took; removes everything it made.
 */
async function measureDnsScale(workDir, count, log) {
  const spec = NETWORKS.dnsScale;
  const controller = await makeController(path.join(workDir, 'dns-scale'));
  try {
    const network = await controller.newNetwork('bridge', 'dnsscale', {
      driverOptions: { [BRIDGE_NAME]: spec.bridge },
      ipam: { config: [{ subnet: `10.${spec.octet}.0.0/16` }] },
    });
    log(`dns scale: ${count} sandboxes, each joined to a user-defined network (a resolver each)`);
    const before = processCost();
    const t0 = Date.now();
    const made = [];
    for (let i = 0; i < count; i++) {
      const sandbox = await controller.newSandbox(`${spec.prefix}-${i}`);
      const endpoint = await network.createEndpoint(`dk${i}`);
      await endpoint.join(sandbox);
      made.push({ sandbox, address: endpoint.info().interface.address.split('/')[0] });
    }
    const joinSeconds = (Date.now() - t0) / 1000;
    const joined = processCost();
    // The first and the last sandbox's resolvers find each other's names.
    const [first, lastOne] = [made[0], made[made.length - 1]];
    await expectAddress(first.sandbox.key, `dk${count - 1}`, lastOne.address);
    await expectAddress(lastOne.sandbox.key, 'dk0', first.address);
    await controller.stop({ removeAll: true });
    return { count, before, joined, deleted: processCost(), joinSeconds };
  } finally {
    await controller.stop({ removeAll: true });
  }
}

async function expectAddress(netns, name, address) {
  const { stdout } = await run('nsenter', [`--net=${netns}`, 'dig', '@127.0.0.11', '+short', '+time=2', '+tries=1', name]).catch((err) => ({
    stdout: err.stdout ?? '',
  }));
  if (stdout.trim() !== address) throw new Error(`dns scale: ${name} answered '${stdout.trim()}' in ${netns}, not ${address}`);
}

module.exports = { measureDnsScale };
