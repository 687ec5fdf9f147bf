// The dual-stack figure (issue 13): what `endpoint.join(sandbox)` costs on a dual-stack network
// (enableIPv6 with an IPv6 subnet: a second address, a second default route, IPv6 left on in the
// container) beside an IPv4-only network, one container after the other, the two interleaved; and,
// on the dual-stack network, publishing and unpublishing ports over IPv6 ([::]) beside IPv4
// (0.0.0.0), rounds interleaved. A build that refuses an IPv6 host address gets the join rows only.
'use strict';
const path = require('node:path');
const { makeController } = require('./controller');
const { NETWORKS } = require('./network');
const { timedPublishUnpublish } = require('./ports');
const { median, nowUs } = require('./stats');

const BRIDGE_NAME = 'com.docker.network.bridge.name';
const IPV6_SUBNET = 'fd00:cb:221::/64';
const FAMILIES = /** @type {const} */ ([
  ['ipv4', '0.0.0.0'],
  ['ipv6', '::'],
]);

/** Whether the library refused the binding because its host address is IPv6 (no IPv6 published ports in this build). */
function refusesIPv6HostIP(err) {
  return err?.code === 'INVALID_ARGUMENT' && /hostIP/.test(String(err.message)) && /IPv6/.test(String(err.message));
}

/**
 * Median publish and unpublish costs (µs) of `ports` ports on each family's host address, over
 * `rounds` interleaved rounds: a container with the ports beside one without (join and leave).
 * Null for IPv6 when the build refuses an IPv6 host address (with its message).
 */
async function publishByFamily(controller, network, ports, rounds) {
  /** @type {Record<string, { publishUs: number[], unpublishUs: number[] }>} */
  const samples = { ipv4: { publishUs: [], unpublishUs: [] }, ipv6: { publishUs: [], unpublishUs: [] } };
  let refused = null;
  for (let r = 0; r < rounds; r++) {
    for (const [family, hostIP] of FAMILIES) {
      if (family === 'ipv6' && refused) continue;
      try {
        const t = await timedPublishUnpublish(controller, network, ports, hostIP);
        samples[family].publishUs.push(t.many.joinUs - t.plain.joinUs);
        samples[family].unpublishUs.push(t.many.leaveUs - t.plain.leaveUs);
      } catch (err) {
        if (family !== 'ipv6' || !refusesIPv6HostIP(err)) throw err;
        refused = String(err.message);
        // What the refused attempt left (the container without ports) goes with the others.
        for (const s of controller.sandboxes()) await s.delete();
        for (const e of network.endpoints()) await e.delete();
      }
    }
  }
  const medians = (s) => ({ publishUs: median(s.publishUs), unpublishUs: median(s.unpublishUs) });
  return { ports, rounds, ipv4: medians(samples.ipv4), ipv6: refused ? null : medians(samples.ipv6), refused };
}

/**
 * Resolves with { joins, joinUs: { ipv4, dual }, ports } (medians per container; ports as
 * publishByFamily gives them); removes everything it made.
 */
async function measureDualStack(workDir, joins, ports, portRounds, log) {
  const controller = await makeController(path.join(workDir, 'dual-stack'));
  try {
    const v4 = NETWORKS.dualStack4;
    const v6 = NETWORKS.dualStack6;
    const networks = {
      ipv4: await controller.newNetwork('bridge', 'ds-ipv4', {
        driverOptions: { [BRIDGE_NAME]: v4.bridge },
        ipam: { config: [{ subnet: `10.${v4.octet}.0.0/16` }] },
      }),
      dual: await controller.newNetwork('bridge', 'ds-dual', {
        enableIPv6: true,
        driverOptions: { [BRIDGE_NAME]: v6.bridge },
        ipam: { config: [{ subnet: `10.${v6.octet}.0.0/16` }, { subnet: IPV6_SUBNET }] },
      }),
    };
    log(`dual stack: ${joins} joins each on an IPv4-only and a dual-stack network, one after the other, interleaved`);
    /** @type {{ ipv4: number[], dual: number[] }} */
    const joinUs = { ipv4: [], dual: [] };
    const made = [];
    for (let i = 0; i < joins; i++) {
      for (const kind of /** @type {const} */ (['ipv4', 'dual'])) {
        const sandbox = await controller.newSandbox(`${kind === 'ipv4' ? v4.prefix : v6.prefix}-${i}`);
        const endpoint = await networks[kind].createEndpoint(`${kind}-${i}`);
        const t0 = nowUs();
        await endpoint.join(sandbox);
        joinUs[kind].push(nowUs() - t0);
        made.push({ kind, sandbox, endpoint });
      }
    }
    const withoutIPv6 = made.filter((m) => m.kind === 'dual' && !m.endpoint.info().interface.addressIPv6);
    if (withoutIPv6.length > 0) throw new Error(`dual stack: ${withoutIPv6.length} dual-stack endpoints have no IPv6 address`);
    for (const { sandbox, endpoint } of made) {
      await sandbox.delete();
      await endpoint.delete();
    }
    log(`dual stack: publishing and unpublishing ${ports} ports over IPv4 and IPv6, ${portRounds} rounds`);
    const published = await publishByFamily(controller, networks.dual, ports, portRounds);
    await networks.ipv4.delete();
    await networks.dual.delete();
    return { joins, joinUs: { ipv4: median(joinUs.ipv4), dual: median(joinUs.dual) }, ports: published };
  } finally {
    await controller.stop({ removeAll: true });
  }
}

module.exports = { measureDualStack };
