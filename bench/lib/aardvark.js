// aardvark-dns (Debian's package; podman's resolver) for the same names and network as cnm-ts's
// resolver: as netavark runs it, on the network's gateway address (port 53, in the benchmark's
// namespace, the host), from a config directory with one file per network: the listening
// addresses on the first line, then "ID IPV4S IPV6S NAMES" per container (config.md of
// containers/aardvark-dns). It forwards other names to the servers of /etc/resolv.conf, here a
// file of the benchmark's own mounted over it in a mount namespace of aardvark's alone.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { track, trackPid } = require('./children');

const AARDVARK = '/usr/lib/podman/aardvark-dns';

/** Why aardvark-dns cannot run here, or null. */
function aardvarkMissing() {
  try {
    fs.accessSync(AARDVARK, fs.constants.X_OK);
    return null;
  } catch {
    return `${AARDVARK} not found (apt-get install aardvark-dns)`;
  }
}

/**
 * Starts aardvark-dns for network `name` listening on `gateway`:53, with `containers`
 * ([{ id, ipv4, names }]) and `upstream` as its only forwarding server. Resolves with its stop().
 */
async function startAardvark(dir, { name, gateway, containers, upstream }) {
  const configDir = path.join(dir, 'aardvark');
  fs.mkdirSync(configDir, { recursive: true });
  const lines = [gateway, ...containers.map((c) => `${c.id} ${c.ipv4}  ${c.names.join(',')}`)];
  fs.writeFileSync(path.join(configDir, name), lines.join('\n') + '\n');
  const resolvConf = path.join(dir, 'aardvark.resolv.conf');
  fs.writeFileSync(resolvConf, `nameserver ${upstream}\n`);
  const script = 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"';
  const argv = ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', resolvConf, AARDVARK, '--config', configDir, '-p', '53', 'run'];
  // `run` forks the server and exits once it serves (or failed to).
  let stderr = '';
  const code = await new Promise((resolve, reject) => {
    const child = track(spawn('unshare', argv, { stdio: ['ignore', 'ignore', 'pipe'] }));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', resolve);
  });
  const pidFile = path.join(configDir, 'aardvark.pid');
  if (code !== 0 || !fs.existsSync(pidFile)) throw new Error(`aardvark-dns did not start (exit ${code}): ${stderr.trim()}`);
  return trackPid(Number(fs.readFileSync(pidFile, 'utf8').trim()));
}

module.exports = { aardvarkMissing, startAardvark };
