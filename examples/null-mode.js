#!/usr/bin/env node
// Network mode "none" (`docker run --network none`): a sandbox joined to the predefined 'none'
// network (null driver) gets no interface, so it has only lo and no routes.
// Run as root: `sudo node examples/null-mode.js`. Everything it makes is removed at the end,
// also when a step fails or on Ctrl-C.
'use strict';
const kernel = require('cnm-ts/kernel');
const { runExample, predefinedNetwork } = require('./lib/helpers');

runExample(async ({ controller }) => {
  const sandbox = await controller.newSandbox('null-container');
  const endpoint = await predefinedNetwork(controller, 'none').createEndpoint('null-ep');
  await endpoint.join(sandbox);
  console.log(`sandbox ${sandbox.key} joined network 'none' (driver null)`);

  const links = await kernel.linkList({ netns: sandbox.key });
  const routes = await kernel.routeList({ netns: sandbox.key });
  console.log(`links: ${links.map((l) => `${l.name} (${l.up ? 'up' : 'down'})`).join(', ')}`);
  console.log(`routes: ${routes.length === 0 ? 'none' : routes.map((r) => `${r.destination} dev ${r.dev}`).join(', ')}`);
  console.log(`endpoint interface: ${JSON.stringify(endpoint.info().interface)}`);
});
