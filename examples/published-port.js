#!/usr/bin/env node
// Published ports (`docker run -p 127.0.0.1::8080`): a container's port 8080 is published on a
// host port that the kernel picks, on 127.0.0.1 only, so the example opens nothing to other
// machines. The host reaches the container through it; once the endpoint leaves, the port is
// gone. The rules live in the controller's own nf_tables table; no `nft` or `iptables` is run.
// Run as root: `sudo node examples/published-port.js`. Everything it makes is removed at the end,
// also when a step fails or on Ctrl-C. (Making a bridge network sets net.ipv4.ip_forward=1, as
// Docker does; it is left as it is.)
'use strict';
const { runExample, startEchoServer, tcpRequest } = require('./lib/helpers');

const CONTAINER_PORT = 8080;

runExample(async (ctx) => {
  const network = await ctx.controller.newNetwork('bridge', 'web');
  console.log(`network 'web': subnet ${network.info().ipam.allocated[0].pool}`);
  const sandbox = await ctx.controller.newSandbox('web-1');
  const endpoint = await network.createEndpoint('web-1', { portMapping: [{ proto: 'tcp', port: CONTAINER_PORT, hostIP: '127.0.0.1' }] });
  await endpoint.join(sandbox);
  const [binding] = endpoint.info().portMapping;
  // Set once the endpoint is joined and its port published.
  const hostPort = /** @type {number} */ (binding.hostPort);
  console.log(`published: container ${binding.proto}/${binding.port} on host ${binding.hostIP}:${binding.hostPort}`);

  await startEchoServer(ctx, sandbox.key, '0.0.0.0', CONTAINER_PORT);
  const reply = await tcpRequest(ctx, null, '127.0.0.1', hostPort, 'hello through the published port');
  console.log(`host -> 127.0.0.1:${binding.hostPort} -> container, echoed: "${reply}"`);

  await endpoint.leave(sandbox);
  const after = await tcpRequest(ctx, null, '127.0.0.1', hostPort, 'anyone?').then(
    (echo) => `still answered "${echo}"`,
    (err) => (err.message.includes('ECONNREFUSED') ? 'connection refused' : `failed: ${err.message}`),
  );
  console.log(`after leave, 127.0.0.1:${binding.hostPort}: ${after}`);
});
