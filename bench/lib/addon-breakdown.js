// Where the addon's time goes: the marginal cost of each operation of setupContainer's batch, in
// context. Containers are set up with only the first k operations of their batch (one batch each),
// k = 1..7 taken in turn so that every k sees the same conditions (bridge size, namespaces alive);
// the cost of operation k is the median with k operations minus the median with k - 1. Also the
// cost of one worker trip (an empty batch) and of the teardown's netnsDelete.
'use strict';
const { NETWORKS, makeContainers } = require('./network');
const { waitForKernel } = require('./kernel');
const { median, nowUs } = require('./stats');

/** The matching step of the C floor (methods/floor.js), to put the two side by side. */
function floorStep(op) {
  if (op.op === 'netnsCreate') return 'netns';
  if (op.op === 'linkAdd') return 'veth';
  if (op.op === 'addressAdd') return 'addr';
  if (op.op === 'routeAdd') return 'route';
  if (op.op === 'linkSet') return op.netns ? `${op.name === 'lo' ? 'lo' : 'eth0'}-up` : 'host-up';
  return null;
}

function opLabel(op) {
  if (op.op === 'linkSet') {
    const what = [op.change.addrGenMode ? `addrgenmode ${op.change.addrGenMode}` : '', op.change.up ? 'up' : ''].filter(Boolean).join(' + ');
    return `linkSet ${op.netns ? `in ns ${op.name}` : 'host end'}: ${what}`;
  }
  if (op.op === 'linkAdd') return `linkAdd veth (peer in ns${op.link.master ? ', master' : ''}${op.link.up ? ', up' : ''})`;
  if (op.op === 'netnsCreate') return `netnsCreate (+${Object.keys(op.sysctls ?? {}).length} sysctls)`;
  return op.op;
}

/** Resolves with { tripUs, ops: [{ label, marginalUs }], totalUs, deleteUs }, medians per container. */
async function addonBreakdown(perPrefix, log) {
  const cnm = require('../../dist/kernel');
  const specOf = (c) => ({ netnsDir: '/run/netns', name: c.netns, bridge: c.bridge, hostIfname: c.hostIfname, address: c.address, gateway: c.gateway });
  const containers = makeContainers({ ...NETWORKS.addon, prefix: 'ab' }, perPrefix * 7);
  const opsOf = (c) => cnm.containerSetupOps(specOf(c));
  const opCount = opsOf(containers[0]).length;

  const trips = [];
  for (let i = 0; i < 200; i++) {
    const t = nowUs();
    await cnm.batch([]);
    trips.push(nowUs() - t);
  }

  log(`addon breakdown: ${containers.length} containers, each with the first k of ${opCount} operations`);
  const times = Array.from({ length: opCount + 1 }, () => /** @type {number[]} */ ([]));
  const firstOps = opsOf(containers[0]);
  const labels = firstOps.map(opLabel);
  for (const c of containers) {
    const k = (c.index % opCount) + 1;
    const ops = opsOf(c).slice(0, k);
    const t = nowUs();
    await cnm.batch(ops);
    times[k].push(nowUs() - t);
  }
  const deletes = [];
  for (const c of containers) {
    const t = nowUs();
    await cnm.teardownContainer(c.path);
    deletes.push(nowUs() - t);
  }
  await waitForKernel();
  const medians = times.map((list, k) => (k === 0 ? 0 : median(list)));
  return {
    tripUs: median(trips),
    ops: labels.map((label, i) => ({ label, step: floorStep(firstOps[i]), marginalUs: medians[i + 1] - medians[i] })),
    totalUs: medians[opCount],
    deleteUs: median(deletes),
    perPrefix,
  };
}

module.exports = { addonBreakdown };
