#!/usr/bin/env node
// Two containers on one bridge talk over TCP, and the host reaches one of them.
// Run as root: `sudo node examples/container-pair.js`. Everything it makes is removed at the end,
// also when a step fails or on Ctrl-C.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const net = require('node:net');
const kernel = require('cnm-ts/kernel');

const NETNS_DIR = '/run/netns';
const BRIDGE = 'cnm-ex0';
const tag = process.pid.toString(36);

/**
 * @param {string} host
 * @param {number} port
 */
function connect(host, port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, timeout: 5000 }, () => socket.end('hello from the host'));
    let reply = '';
    socket.on('data', (d) => (reply += d));
    socket.on('end', () => resolve(reply));
    socket.on('timeout', () => socket.destroy(new Error('timeout')));
    socket.on('error', reject);
  });
}

async function main() {
  const made = { bridge: false, containers: /** @type {string[]} */ ([]) };
  const cleanup = async () => {
    await Promise.allSettled(made.containers.map((path) => kernel.teardownContainer(path)));
    if (made.bridge) await kernel.linkDelete(BRIDGE).catch(() => undefined);
  };
  process.once('SIGINT', () => cleanup().then(() => process.exit(130)));
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let server;
  try {
    await kernel.linkAdd({ kind: 'bridge', name: BRIDGE, up: true });
    made.bridge = true;
    await kernel.addressAdd(BRIDGE, '10.213.0.1/24');
    console.log(`bridge ${BRIDGE} with 10.213.0.1/24`);

    for (const [i, address] of ['10.213.0.2', '10.213.0.3'].entries()) {
      const path = await kernel.setupContainer({
        netnsDir: NETNS_DIR,
        name: `cnm-ex-${tag}-${i}`,
        bridge: BRIDGE,
        hostIfname: `vex${tag}${i}`.slice(0, 15),
        address: `${address}/24`,
        gateway: '10.213.0.1',
      });
      made.containers.push(path);
      const [eth0] = await kernel.addressList({ netns: path, name: 'eth0' });
      console.log(`container ${path}: eth0 ${eth0.address}/${eth0.prefixLength}`);
    }
    const [a, b] = made.containers;

    // An echo server inside container A (nsenter runs it in A's namespace).
    const code = "require('net').createServer((s) => s.pipe(s)).listen(8080, '10.213.0.2', () => console.log('ready'))";
    const echo = spawn('nsenter', [`--net=${a}`, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    server = echo;
    await new Promise((resolve, reject) => {
      echo.stdout.once('data', resolve);
      echo.once('exit', (status) => reject(new Error(`server exited with ${status}`)));
    });

    const client = "const s = require('net').connect(8080, '10.213.0.2', () => s.end('hello from B')); s.pipe(process.stdout)";
    const fromB = execFileSync('nsenter', [`--net=${b}`, process.execPath, '-e', client], { encoding: 'utf8' });
    console.log(`B -> A over TCP, echoed: "${fromB}"`);
    console.log(`host -> A over TCP, echoed: "${await connect('10.213.0.2', 8080)}"`);
  } finally {
    if (server) server.kill('SIGKILL');
    await cleanup();
    console.log('cleaned up');
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
