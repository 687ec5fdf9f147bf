#!/usr/bin/env node
// Containers that find each other by name, as on a user-defined Docker network (`docker network
// create app`, `docker run --network app --name web ...`): the client asks the embedded DNS server
// at 127.0.0.11 (its resolv.conf's only nameserver) for "web" and reaches it over TCP.
// Run as root: `sudo node examples/by-name.js`. Everything it makes is removed at the end, also
// when a step fails or on Ctrl-C.
'use strict';
const { readFile } = require('node:fs/promises');
const path = require('node:path');
const { runExample, startEchoServer, tcpRequestByName } = require('./lib/helpers');

const PORT = 8080;

runExample(async (ctx) => {
  const app = await ctx.controller.newNetwork('bridge', 'app');
  /** @type {Record<string, { sandbox: import("cnm-ts").Sandbox, ip: string }>} */
  const boxes = {};
  for (const name of ['web', 'client']) {
    const sandbox = await ctx.controller.newSandbox(`container-${name}`);
    const endpoint = await app.createEndpoint(name, { dnsNames: [name] });
    await endpoint.join(sandbox);
    boxes[name] = { sandbox, ip: /** @type {string} */ (endpoint.info().interface.address).split('/')[0] };
    console.log(`container ${name}: ${sandbox.key}, ${boxes[name].ip}`);
  }
  // The copy `ip netns exec` bind-mounts over /etc/resolv.conf: /etc/netns/<namespace name>/resolv.conf.
  const resolvConf = await readFile(path.join(ctx.tmp, 'etc-netns', path.basename(boxes.client.sandbox.key), 'resolv.conf'), 'utf8');
  console.log(`client's resolv.conf: ${resolvConf.trim().split('\n').join('; ')}`);

  await startEchoServer(ctx, boxes.web.sandbox.key, boxes.web.ip, PORT);
  const { address, reply } = await tcpRequestByName(ctx, boxes.client.sandbox.key, 'web', PORT, 'hello web');
  console.log(`client resolved web to ${address} and reached it over TCP, echoed: "${reply}"`);
});
