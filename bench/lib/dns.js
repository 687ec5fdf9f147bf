// The DNS section of the benchmark (issue 11): cnm-ts's embedded resolver beside aardvark-dns
// under dnsperf, at full speed and at a fixed rate; what the resolver adds to a join; what 1000
// sandboxes with resolvers cost the process. A figure whose tools are missing is skipped, with
// the reason in the report.
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const { makeDnsWorld } = require('./dns-world');
const { measureServers } = require('./dns-servers');
const { measureDnsJoin } = require('./dns-join');
const { measureDnsScale } = require('./dns-scale');
const { waitForKernel } = require('./kernel');
const { missingCommands } = require('./tools');

const DNS_SETTINGS = { rounds: 3, seconds: 5, rate: 5000, rateSeconds: 10, joins: 100, sandboxes: 1000 };

/** Why Docker's own resolver is not measured beside the others. */
function dockerNote() {
  const reason = missingCommands(['dockerd']).length
    ? 'dockerd is not installed on this machine (at most the docker CLI is), and the resolver runs only inside dockerd'
    : 'this benchmark does not start a Docker engine in its private namespaces';
  return `Docker's embedded resolver: not measured: ${reason}`;
}

/**
 * Runs the DNS figures; `quiet()` is awaited before each timed phase. Resolves with { settings,
 * servers, join, scale, skipped: [reason], docker } (null for a skipped figure).
 */
async function measureDns(workDir, { quiet, log }) {
  const settings = DNS_SETTINGS;
  /** @type {{ settings: typeof DNS_SETTINGS, servers: any, join: any, scale: any, skipped: string[], docker: string, aardvarkSkipped: string | null }} */
  const result = { settings, servers: null, join: null, scale: null, skipped: [], docker: dockerNote(), aardvarkSkipped: null };
  const missing = missingCommands(['dnsperf', 'dnsmasq', 'dig', 'nsenter']);
  if (missing.length) {
    result.skipped.push(`DNS servers under dnsperf: ${missing.join(', ')} not installed (apt-get install dnsperf dnsmasq-base bind9-dnsutils util-linux)`);
  } else {
    const world = await makeDnsWorld(workDir, log);
    try {
      result.aardvarkSkipped = world.aardvarkSkipped;
      const dir = path.join(workDir, 'dns', 'dnsperf');
      fs.mkdirSync(dir, { recursive: true });
      result.servers = await measureServers(world, { dir, ...settings, quiet, log });
    } finally {
      await world.stop();
    }
    await waitForKernel();
  }
  await quiet();
  result.join = await measureDnsJoin(workDir, settings.joins, log);
  await waitForKernel();
  if (missingCommands(['dig', 'nsenter']).length)
    result.skipped.push(`${settings.sandboxes} sandboxes with resolvers: dig not installed (it checks that they answer)`);
  else {
    result.scale = await measureDnsScale(workDir, settings.sandboxes, log);
    await waitForKernel();
  }
  return result;
}

module.exports = { measureDns };
