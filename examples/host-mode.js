#!/usr/bin/env node
// Network mode "host" (`docker run --network host`): a sandbox made with useDefaultSandbox is the
// host's own network namespace, and joins the predefined 'host' network; it sees the host's
// interfaces and nothing is created for it.
// Run as root: `sudo node examples/host-mode.js`. Everything it makes is removed at the end,
// also when a step fails or on Ctrl-C.
'use strict';
const kernel = require('cnm-ts/kernel');
const { runExample, predefinedNetwork } = require('./lib/helpers');

runExample(async ({ controller, defaultBridge }) => {
  const sandbox = await controller.newSandbox('host-container', { useDefaultSandbox: true });
  const endpoint = await predefinedNetwork(controller, 'host').createEndpoint('host-ep');
  await endpoint.join(sandbox);
  console.log(`sandbox key ${sandbox.key} (mode ${sandbox.mode}) joined network 'host'`);

  const { isHost } = await kernel.netnsInfo(sandbox.key);
  console.log(`netnsInfo(key).isHost: ${isHost}`);
  const seen = (await kernel.linkList({ netns: sandbox.key })).map((l) => l.name);
  const host = (await kernel.linkList()).map((l) => l.name);
  console.log(`interfaces it sees: ${seen.join(', ')} (${defaultBridge} is this controller's default bridge)`);
  console.log(`same as the host's: ${JSON.stringify(seen) === JSON.stringify(host)}`);
});
