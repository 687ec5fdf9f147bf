// What the embedded DNS server adds to a join: endpoint.join(sandbox) on a user-defined bridge
// network, where the sandbox gets its resolver (sockets opened in its namespace, the redirect rule,
// name records, a resolv.conf naming 127.0.0.11), beside the same join on the default bridge
// network, which has no embedded DNS (as Docker's). A fresh sandbox per join, the two interleaved;
// newSandbox and createEndpoint untimed. The user-defined joins' trips to the addon are timed too
// (the controller's kernel handle, wrapped), to show where the difference goes.
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { makeController } = require('./controller');
const { NETWORKS } = require('./network');
const { median, nowUs } = require('./stats');
const { missingCommands } = require('./tools');

const BRIDGE_NAME = 'com.docker.network.bridge.name';

/**
 * Calls `onTrip(ops, us)` after each batch `controller` sends to the addon (its kernel handle is
 * internal: the benchmark looks inside to explain its figure, nothing else depends on it).
 */
function timeTrips(controller, onTrip) {
  const kernel = controller.kernel;
  const batch = kernel.batch.bind(kernel);
  kernel.batch = async (ops, ...rest) => {
    const t0 = nowUs();
    try {
      return await batch(ops, ...rest);
    } finally {
      onTrip(ops, nowUs() - t0);
    }
  };
}

/** A trip's name: its operations, repeats folded ("writeFiles x2"). */
function tripName(ops) {
  const counts = new Map();
  for (const { op } of ops) counts.set(op, (counts.get(op) ?? 0) + 1);
  return [...counts].map(([op, n]) => (n > 1 ? `${op} x${n}` : op)).join(' + ');
}

/**
 * Resolves with { count, userUs, defaultUs } (median join each) and userTrips: [{ name, us }]
 * (the median of each kind of trip a user-defined join made, in order); removes everything it made.
 */
async function measureDnsJoin(workDir, count, log) {
  const spec = NETWORKS.dnsJoin;
  const controller = await makeController(path.join(workDir, 'dns-join'), { predefinedNetworks: true, defaultBridgeName: spec.defaultBridge });
  try {
    const networks = {
      user: await controller.newNetwork('bridge', 'dnsjoin', {
        driverOptions: { [BRIDGE_NAME]: spec.bridge },
        ipam: { config: [{ subnet: `10.${spec.octet}.0.0/16` }] },
      }),
      default: controller.networkByName('bridge'),
    };
    log(`dns join: ${count} joins on a user-defined network (embedded DNS) and on the default bridge network (none), interleaved`);
    /** @type {{ user: number[], default: number[] }} */
    const joinUs = { user: [], default: [] };
    const last = {};
    /** @type {Map<string, number[]>} */
    const trips = new Map();
    let timing = false;
    timeTrips(controller, (ops, us) => {
      if (!timing) return;
      const name = tripName(ops);
      if (!trips.has(name)) trips.set(name, []);
      trips.get(name)?.push(us);
    });
    for (let i = 0; i < count; i++) {
      for (const kind of /** @type {const} */ (['user', 'default'])) {
        const sandbox = await controller.newSandbox(`${spec.prefix}${kind[0]}-${i}`);
        const endpoint = await networks[kind].createEndpoint(`${kind}-${i}`);
        timing = kind === 'user';
        const t0 = nowUs();
        await endpoint.join(sandbox);
        joinUs[kind].push(nowUs() - t0);
        timing = false;
        last[kind] = sandbox.key;
      }
    }
    checkRedirects(last);
    const userTrips = [...trips].map(([name, list]) => ({ name, us: median(list) }));
    return { count, userUs: median(joinUs.user), defaultUs: median(joinUs.default), userTrips };
  } finally {
    await controller.stop({ removeAll: true });
  }
}

/** The independent view (nft, when installed): only the user-defined network's sandbox has the redirect table. */
function checkRedirects(keys) {
  if (missingCommands(['nft', 'nsenter']).length) return;
  const tables = (key) => execFileSync('nsenter', [`--net=${key}`, 'nft', 'list', 'tables'], { encoding: 'utf8' });
  const has = (key) => /-dns\b/.test(tables(key));
  if (!has(keys.user) || has(keys.default))
    throw new Error('dns join: the redirect table is not where the embedded DNS server should be (user-defined network only)');
}

module.exports = { measureDnsJoin };
