// The sandbox's default route follows the highest-priority joined endpoint and moves when it leaves.
import type { Endpoint, Network, NetworkController, Sandbox } from '../../../lib';
import { nsRoutes, useControllers } from '../../helpers/cnm';
import { describeKernel, uniqueName } from '../../helpers/kernel';

describeKernel('default route by join priority', () => {
  const env = useControllers();
  let c: NetworkController;
  const networks: Network[] = [];

  beforeAll(async () => {
    c = (await env.make({ predefinedNetworks: false })).controller;
    for (const n of [1, 2, 3]) {
      networks.push(await c.newNetwork('bridge', `gw${n}`, { ipam: { config: [{ subnet: `10.103.${n}.0/24` }] } }));
    }
    // An internal network: never a gateway, whatever its priority.
    networks.push(await c.newNetwork('bridge', 'gw-internal', { internal: true, ipam: { config: [{ subnet: '10.103.4.0/24' }] } }));
  });

  /** The sandbox's default routes per `ip -j route` as "gateway dev". */
  const defaults = (sandbox: Sandbox) =>
    nsRoutes(sandbox.key)
      .filter((r) => r.dst === 'default')
      .map((r) => `${r.gateway} ${r.dev}`);

  it('uses the higher-priority endpoint and moves to the next when it leaves', async () => {
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    const [a, b, cc, internal] = await Promise.all(networks.map((n) => n.createEndpoint('ep')));
    await a.join(sandbox); // priority 0, eth0
    expect(defaults(sandbox)).toEqual(['10.103.1.1 eth0']);
    await b.join(sandbox, { priority: 10 }); // eth1
    expect(defaults(sandbox)).toEqual(['10.103.2.1 eth1']);
    await cc.join(sandbox, { priority: 5 }); // eth2: lower than b, no change
    expect(defaults(sandbox)).toEqual(['10.103.2.1 eth1']);
    await internal.join(sandbox, { priority: 100 }); // eth3: internal networks give no route
    expect(defaults(sandbox)).toEqual(['10.103.2.1 eth1']);

    await b.leave(sandbox);
    expect(defaults(sandbox)).toEqual(['10.103.3.1 eth2']);
    await cc.leave(sandbox);
    expect(defaults(sandbox)).toEqual(['10.103.1.1 eth0']);
    await a.leave(sandbox);
    expect(defaults(sandbox)).toEqual([]);
    await internal.leave(sandbox);
    await sandbox.delete();
    await Promise.all([a, b, cc, internal].map((e: Endpoint) => e.delete()));
  });

  it('keeps the first joined on a tie and gives the route back to it after a higher one leaves', async () => {
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    const [a, b, cc] = await Promise.all(networks.slice(0, 3).map((n) => n.createEndpoint('tie')));
    await a.join(sandbox, { priority: 1 });
    await b.join(sandbox, { priority: 1 });
    expect(defaults(sandbox)).toEqual(['10.103.1.1 eth0']);
    await cc.join(sandbox, { priority: 2 });
    expect(defaults(sandbox)).toEqual(['10.103.3.1 eth2']);
    await cc.leave(sandbox);
    expect(defaults(sandbox)).toEqual(['10.103.1.1 eth0']);
    // A non-gateway endpoint leaving changes nothing.
    await b.leave(sandbox);
    expect(defaults(sandbox)).toEqual(['10.103.1.1 eth0']);
    await sandbox.delete();
    await Promise.all([a, b, cc].map((e) => e.delete()));
  });
});
