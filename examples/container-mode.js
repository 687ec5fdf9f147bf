#!/usr/bin/env node
// Network mode "container" (`docker run --network container:A`): sandbox B is made with
// shareWith: A, so it uses A's network namespace: the same key, the same interfaces and
// addresses, and the same loopback (a server on 127.0.0.1 in A is reached from B).
// Run as root: `sudo node examples/container-mode.js`. Everything it makes is removed at the end,
// also when a step fails or on Ctrl-C.
'use strict';
const { runExample, predefinedNetwork, startEchoServer, tcpRequest, addressesIn } = require('./lib/helpers');

const PORT = 8081;

runExample(async (ctx) => {
  const { controller } = ctx;
  const a = await controller.newSandbox('container-a');
  await (await predefinedNetwork(controller, 'bridge').createEndpoint('ep-a')).join(a);
  const b = await controller.newSandbox('container-b', { shareWith: a });
  console.log(`A (mode ${a.mode}) key: ${a.key}`);
  console.log(`B (mode ${b.mode}) key: ${b.key}`);
  console.log(`same key: ${a.key === b.key}`);

  const [inA, inB] = [await addressesIn(a.key), await addressesIn(b.key)];
  console.log(`addresses in A: ${inA.join(', ')}`);
  console.log(`addresses in B: ${inB.join(', ')}`);
  console.log(`same addresses: ${JSON.stringify(inA) === JSON.stringify(inB)}`);

  await startEchoServer(ctx, a.key, '127.0.0.1', PORT);
  console.log(`echo server listening in A on 127.0.0.1:${PORT}`);
  const reply = await tcpRequest(ctx, b.key, '127.0.0.1', PORT, 'hello from B via localhost');
  console.log(`B -> localhost:${PORT} over TCP, echoed: "${reply}"`);
});
