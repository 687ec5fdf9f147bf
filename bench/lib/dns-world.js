// The world the DNS server figures query: one bridge network made by cnm-ts with a few named
// endpoints (each in a sandbox of its own), a client sandbox on it that runs the load, an upstream
// server for the names that are not local, and aardvark-dns configured for the same names and
// network when it is installed. Both servers are checked to give the same answers before timing.
'use strict';
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { promisify } = require('node:util');
const { makeController } = require('./controller');
const { NETWORKS, gatewayOf } = require('./network');
const { startUpstream } = require('./dns-upstream');
const { aardvarkMissing, startAardvark } = require('./aardvark');

const BRIDGE_NAME = 'com.docker.network.bridge.name';
const LOCAL_NAMES = 10;
const FORWARDED_NAMES = 10;
/** cnm-ts's resolver, in every sandbox. */
const EMBEDDED = '127.0.0.11';

const run = promisify(execFile);

/**
 * Builds the world. Resolves with { client (the client's namespace), servers: { cnm, aardvark }
 * (addresses; aardvark null when it cannot run, with the reason in aardvarkSkipped), queries:
 * { local, forwarded } (dnsperf lines), stop() }.
 */
async function makeDnsWorld(workDir, log) {
  const dir = path.join(workDir, 'dns');
  fs.mkdirSync(dir, { recursive: true });
  const spec = NETWORKS.dns;
  const forwarded = Object.fromEntries(Array.from({ length: FORWARDED_NAMES }, (_, i) => [`ext${i}.bench.test`, `198.51.100.${i + 1}`]));
  const undo = [];
  const stop = async () => {
    for (const step of undo.reverse()) await step();
  };
  try {
    const upstream = await startUpstream(dir, forwarded);
    undo.push(() => upstream.stop());
    const hostResolvConf = path.join(dir, 'host.resolv.conf');
    fs.writeFileSync(hostResolvConf, `nameserver ${upstream.server}\n`);
    const controller = await makeController(path.join(dir, 'controller'), { hostResolvConf });
    undo.push(() => controller.stop({ removeAll: true }));
    const network = await controller.newNetwork('bridge', 'dnsbench', {
      driverOptions: { [BRIDGE_NAME]: spec.bridge },
      ipam: { config: [{ subnet: `10.${spec.octet}.0.0/16` }] },
    });
    const containers = [];
    const join = async (name, dnsNames) => {
      const sandbox = await controller.newSandbox(`${spec.prefix}-${name}`);
      const endpoint = await network.createEndpoint(name, { dnsNames });
      await endpoint.join(sandbox);
      containers.push({ id: endpoint.id, ipv4: endpoint.info().interface.address.split('/')[0], names: dnsNames });
      return sandbox;
    };
    for (let i = 0; i < LOCAL_NAMES; i++) await join(`web${i}`, [`web${i}`]);
    const client = (await join('client', ['client'])).key;
    const local = Object.fromEntries(containers.slice(0, LOCAL_NAMES).map((c) => [c.names[0], c.ipv4]));

    /** @type {{ cnm: string, aardvark: string | null }} */
    const servers = { cnm: EMBEDDED, aardvark: null };
    const aardvarkSkipped = aardvarkMissing();
    if (!aardvarkSkipped) {
      const { gateway } = gatewayOf(spec);
      undo.push(await startAardvark(dir, { name: 'dnsbench', gateway, containers, upstream: upstream.server }));
      servers.aardvark = gateway;
    }
    for (const [key, server] of Object.entries(servers).filter(([, s]) => s)) {
      await expectAnswers(client, server, key, { ...local, ...forwarded });
    }
    log(`dns: ${LOCAL_NAMES} local names on ${spec.bridge}, ${FORWARDED_NAMES} forwarded to dnsmasq at ${upstream.server}; servers ${JSON.stringify(servers)}`);
    return {
      client,
      servers,
      aardvarkSkipped,
      queries: { local: Object.keys(local).map((n) => `${n} A`), forwarded: Object.keys(forwarded).map((n) => `${n} A`) },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Checks that `server`, asked from the client's namespace, gives each name its address. */
async function expectAnswers(netns, server, key, names) {
  for (const [name, address] of Object.entries(names)) {
    const { stdout } = await run('nsenter', [`--net=${netns}`, 'dig', `@${server}`, '+short', '+time=2', '+tries=1', name]).catch((err) => ({
      stdout: err.stdout ?? '',
    }));
    if (stdout.trim() !== address) throw new Error(`dns: ${key} (${server}) answers ${name} with '${stdout.trim()}', not ${address}`);
  }
}

module.exports = { makeDnsWorld, EMBEDDED };
