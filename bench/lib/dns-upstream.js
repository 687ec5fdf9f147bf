// The upstream server of the DNS figures: dnsmasq (Debian's) in an "outside" namespace of the
// benchmark's own, reached from the benchmark's namespace (the host) over a veth pair, answering a
// few names from a hosts file. No query leaves the benchmark's namespaces.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { track } = require('./children');
const { ip, sleep } = require('./kernel');

const OUTSIDE = { netns: 'cnmbench-outside', hostIfname: 'cnmbench-out', host: '10.218.0.1', server: '10.218.0.2' };

/**
 * Makes the outside namespace and starts dnsmasq there, answering each of `names` (NAME to
 * address). Resolves with { server, stop() }; stop() kills dnsmasq and drops the namespace.
 */
async function startUpstream(dir, names) {
  const hosts = path.join(dir, 'upstream.hosts');
  const log = path.join(dir, 'upstream.log');
  fs.writeFileSync(
    hosts,
    Object.entries(names)
      .map(([name, address]) => `${address} ${name}\n`)
      .join(''),
  );
  ip(['netns', 'add', OUTSIDE.netns]);
  const stopNetns = () => ip(['netns', 'del', OUTSIDE.netns]);
  let child = null;
  try {
    ip(['link', 'add', OUTSIDE.hostIfname, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', OUTSIDE.netns]);
    ip(['addr', 'add', `${OUTSIDE.host}/24`, 'dev', OUTSIDE.hostIfname]);
    ip(['link', 'set', OUTSIDE.hostIfname, 'up']);
    for (const args of [
      ['addr', 'add', `${OUTSIDE.server}/24`, 'dev', 'eth0'],
      ['link', 'set', 'eth0', 'up'],
      ['link', 'set', 'lo', 'up'],
    ])
      ip(args, OUTSIDE.netns);
    const argv = [
      `--net=/run/netns/${OUTSIDE.netns}`,
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      `--addn-hosts=${hosts}`,
      '--bind-interfaces',
      `--listen-address=${OUTSIDE.server}`,
      `--log-facility=${log}`,
      '--pid-file=',
      '--user=root',
    ];
    child = track(spawn('nsenter', argv, { stdio: 'ignore' }));
    let exited = null;
    child.once('exit', (code) => (exited = code));
    for (let waited = 0; !readSafe(log).includes('started'); waited += 20) {
      if (exited !== null || waited > 5000) throw new Error(`dnsmasq ${exited !== null ? `exited with ${exited}` : 'did not start'}: ${readSafe(log).trim()}`);
      await sleep(20);
    }
  } catch (err) {
    child?.kill('SIGKILL');
    stopNetns();
    throw err;
  }
  return {
    server: OUTSIDE.server,
    stop() {
      child.kill('SIGKILL');
      stopNetns();
    },
  };
}

function readSafe(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

module.exports = { startUpstream };
