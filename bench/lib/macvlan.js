// The macvlan figure: what `endpoint.join(sandbox)` costs on a macvlan network beside a bridge
// network, and what the sandbox's delete costs after each, one container after the other, the two
// drivers interleaved. A macvlan join is one link made inside the sandbox (no bridge port, no veth
// host end, no firewall element); its parent here is one end of a veth pair of the benchmark's own.
'use strict';
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { makeController } = require('./controller');
const { NETWORKS } = require('./network');
const { median, nowUs } = require('./stats');

const BRIDGE_NAME = 'com.docker.network.bridge.name';

/** `ip ARGS`, for the parent the benchmark makes (the library makes everything else). */
const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });

/**
 * Resolves with { count, join: { bridgeUs, macvlanUs }, delete: { bridgeUs, macvlanUs } }
 * (medians per container); removes everything it made.
 */
async function measureMacvlan(workDir, count, log) {
  const spec = NETWORKS.macvlan;
  const dir = path.join(workDir, 'macvlan');
  ip('link', 'add', spec.parent, 'type', 'veth', 'peer', 'name', `${spec.parent}p`);
  const controller = await makeController(dir);
  try {
    ip('link', 'set', spec.parent, 'up');
    ip('link', 'set', `${spec.parent}p`, 'up');
    const networks = {
      bridge: await controller.newNetwork('bridge', 'mvb-bridge', {
        driverOptions: { [BRIDGE_NAME]: spec.bridge },
        ipam: { config: [{ subnet: `10.${spec.octet}.0.0/16` }] },
      }),
      macvlan: await controller.newNetwork('macvlan', 'mvb-macvlan', {
        driverOptions: { parent: spec.parent },
        ipam: { config: [{ subnet: `10.${spec.octet + 1}.0.0/16` }] },
      }),
    };
    log(`macvlan vs bridge: ${count} joins each, one after the other, interleaved`);
    /** @type {{ bridge: number[], macvlan: number[] }} */
    const joinUs = { bridge: [], macvlan: [] };
    /** @type {{ bridge: number[], macvlan: number[] }} */
    const deleteUs = { bridge: [], macvlan: [] };
    const made = [];
    for (let i = 0; i < count; i++) {
      for (const kind of /** @type {const} */ (['bridge', 'macvlan'])) {
        const sandbox = await controller.newSandbox(`${spec.prefix}${kind[0]}-${i}`);
        const endpoint = await networks[kind].createEndpoint(`${kind}-${i}`);
        const t0 = nowUs();
        await endpoint.join(sandbox);
        joinUs[kind].push(nowUs() - t0);
        made.push({ kind, sandbox, endpoint });
      }
    }
    const macvlans = made.filter((m) => m.kind === 'macvlan').length;
    const links = execFileSync('ip', ['-j', 'link', 'show'], { encoding: 'utf8' });
    if (links.includes('"macvlan"') || macvlans !== count) throw new Error('macvlan: a macvlan link is in the host namespace, or a join is missing');
    for (const { kind, sandbox, endpoint } of made) {
      const t0 = nowUs();
      await sandbox.delete();
      deleteUs[kind].push(nowUs() - t0);
      await endpoint.delete();
    }
    await networks.bridge.delete();
    await networks.macvlan.delete();
    return {
      count,
      join: { bridgeUs: median(joinUs.bridge), macvlanUs: median(joinUs.macvlan) },
      delete: { bridgeUs: median(deleteUs.bridge), macvlanUs: median(deleteUs.macvlan) },
    };
  } finally {
    await controller.stop({ removeAll: true });
    try {
      ip('link', 'del', spec.parent);
    } catch {
      // Already gone.
    }
  }
}

module.exports = { measureMacvlan };
