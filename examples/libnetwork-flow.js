#!/usr/bin/env node
// libnetwork's flow, step by step: controller, network, endpoint, sandbox, join; then leave and
// delete everything in reverse order. Each step prints what it did, read back from the kernel.
// Run as root: `sudo node examples/libnetwork-flow.js`. Everything it makes is removed at the end,
// also when a step fails or on Ctrl-C.
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');
const kernel = require('cnm-ts/kernel');
const { runExample } = require('./lib/helpers');

runExample(async ({ controller, tmp }) => {
  const predefined = controller.networks().map((n) => `${n.name} (${n.type})`);
  console.log(`1. NetworkController.create: predefined networks ${predefined.join(', ')}`);

  const network = await controller.newNetwork('bridge', 'demo-net', { ipam: { config: [{ subnet: '10.214.0.0/24' }] } });
  const [pool] = network.info().ipam.allocated;
  // info() has no bridge name unless one was given: find the host link that holds the gateway.
  const gateway = pool.gateway.split('/')[0];
  const bridge = /** @type {kernel.AddressInfo} */ ((await kernel.addressList({ family: 4 })).find((a) => a.address === gateway)).ifname;
  console.log(`2. newNetwork demo-net: bridge ${bridge}, subnet ${pool.pool}, gateway ${pool.gateway}`);

  const endpoint = await network.createEndpoint('ep1');
  const { address, macAddress } = endpoint.info().interface;
  console.log(`3. createEndpoint ep1: address ${address}, MAC ${macAddress} (no interface until it joins)`);

  const sandbox = await controller.newSandbox('container1', { hostname: 'c1' });
  // The copy `ip netns exec` bind-mounts over /etc/hosts: /etc/netns/<namespace name>/hosts.
  const hosts = path.join(tmp, 'etc-netns', path.basename(sandbox.key), 'hosts');
  console.log(`4. newSandbox container1: key ${sandbox.key}, hosts file ${hosts}`);

  await endpoint.join(sandbox);
  const [eth0] = await kernel.addressList({ netns: sandbox.key, name: 'eth0', family: 4 });
  const route = /** @type {kernel.RouteInfo} */ ((await kernel.routeList({ netns: sandbox.key, family: 4 })).find((r) => r.destination === 'default'));
  const c1 = /** @type {string} */ (
    readFileSync(hosts, 'utf8')
      .split('\n')
      .find((line) => line.endsWith('\tc1'))
  );
  console.log(`5. join: eth0 ${eth0.address}/${eth0.prefixLength}, default via ${route.gateway} dev ${route.dev}, hosts "${c1.replace('\t', ' ')}"`);

  await endpoint.leave(sandbox);
  const left = (await kernel.linkList({ netns: sandbox.key })).map((l) => l.name);
  console.log(`6. leave: links in the sandbox now ${left.join(', ')}`);

  await endpoint.delete();
  console.log(`7. endpoint delete: demo-net has ${network.endpoints().length} endpoints, ${address} released`);

  await sandbox.delete();
  console.log(`8. sandbox delete: ${sandbox.key} exists: ${existsSync(sandbox.key)}, hosts file exists: ${existsSync(hosts)}`);

  await network.delete();
  const bridgeLeft = (await kernel.linkList()).some((l) => l.name === bridge);
  console.log(
    `9. network delete: bridge ${bridge} exists: ${bridgeLeft}, networks ${controller
      .networks()
      .map((n) => n.name)
      .join(', ')}`,
  );
});
