#!/usr/bin/env node
// Network mode "bridge" (`docker run` without --network): two containers (sandboxes) on the
// predefined default 'bridge' network talk over TCP, and the host reaches one of them through the
// network's bridge device (which holds the gateway address).
// Run as root: `sudo node examples/bridge-mode.js`. Everything it makes is removed at the end,
// also when a step fails or on Ctrl-C.
'use strict';
const { runExample, predefinedNetwork, startEchoServer, tcpRequest } = require('./lib/helpers');

const PORT = 8080;

runExample(async (ctx) => {
  const bridge = predefinedNetwork(ctx.controller, 'bridge');
  const [pool] = bridge.info().ipam.allocated;
  console.log(`network 'bridge': device ${ctx.defaultBridge}, subnet ${pool.pool}, gateway ${pool.gateway}`);

  const containers = [];
  for (const name of ['a', 'b']) {
    const sandbox = await ctx.controller.newSandbox(`container-${name}`);
    const endpoint = await bridge.createEndpoint(`ep-${name}`);
    await endpoint.join(sandbox);
    const { interface: iface } = endpoint.info();
    console.log(`container ${name.toUpperCase()}: ${sandbox.key}, ${iface.name} ${iface.address} (${iface.macAddress})`);
    containers.push({ sandbox, ip: /** @type {string} */ (iface.address).split('/')[0] });
  }
  const [a, b] = containers;

  await startEchoServer(ctx, a.sandbox.key, a.ip, PORT);
  console.log(`echo server listening in A on ${a.ip}:${PORT}`);
  const fromB = await tcpRequest(ctx, b.sandbox.key, a.ip, PORT, 'hello from B');
  console.log(`B -> A over TCP, echoed: "${fromB}"`);
  const fromHost = await tcpRequest(ctx, null, a.ip, PORT, 'hello from the host');
  console.log(`host -> A over TCP, echoed: "${fromHost}"`);
});
