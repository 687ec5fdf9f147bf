// The bridge driver as the kernel sees it: bridge and veth names, gateway, interface naming,
// MTU, MAC and static addresses, the bridge's own MAC, internal networks, IPv4-only vs dual stack,
// removal.
import type { NetworkController, NetworkOptions } from '../../../lib';
import { bare, bridgePorts, failsCleanly, hostAddresses, hostBridges, nsAddrs, nsRoutes, useControllers } from '../../helpers/cnm';
import { describeKernel, EchoServer, ipAddrs, ipJson, ipLink, ipLinks, tcpRoundTrip, uniqueName } from '../../helpers/kernel';

const VETH = /^veth[0-9a-f]{7}$/;

describeKernel('bridge driver', () => {
  const env = useControllers();
  let c: NetworkController;
  let subnetCounter = 0;
  /** A bridge network on its own 10.102.N.0/24. */
  const net = (options: NetworkOptions = {}) => {
    subnetCounter += 1;
    const subnet = `10.102.${subnetCounter}.0/24`;
    return c.newNetwork('bridge', uniqueName('bn'), { ipam: { config: [{ subnet }] }, ...options });
  };

  beforeAll(async () => {
    c = (await env.make({ predefinedNetworks: false })).controller;
  });

  it('names the bridge br- + 12 hex of the network id and puts the gateway address on it', async () => {
    const network = await net();
    const name = `br-${network.id.slice(0, 12)}`;
    expect(network.id).toMatch(/^[0-9a-f]{64}$/);
    const link = ipLink(name);
    expect(link?.linkinfo?.info_kind).toBe('bridge');
    expect(link?.flags).toContain('UP');
    const gateway = network.info().ipam.allocated[0].gateway;
    expect(ipAddrs(name).filter((a) => a.family === 'inet')).toEqual([
      expect.objectContaining({ local: bare(gateway), prefixlen: Number(gateway.split('/')[1]) }),
    ]);
    expect(gateway).toBe(`10.102.${subnetCounter}.1/24`);
    // The bridge is removed with the network, and its address with it.
    await network.delete();
    expect(ipLink(name)).toBeUndefined();
    expect(hostAddresses().filter((a) => a.includes(bare(gateway)))).toEqual([]);
  });

  it('uses com.docker.network.bridge.name for the bridge device', async () => {
    const bridgeName = uniqueName('brx');
    const network = await net({ driverOptions: { 'com.docker.network.bridge.name': bridgeName } });
    expect(ipLink(bridgeName)?.linkinfo?.info_kind).toBe('bridge');
    expect(hostBridges()).not.toContain(`br-${network.id.slice(0, 12)}`);
    await network.delete();
    expect(ipLink(bridgeName)).toBeUndefined();
  });

  it('makes one veth pair per endpoint: host end veth+7 hex on the bridge, eth0 in the sandbox', async () => {
    const network = await net();
    const bridge = `br-${network.id.slice(0, 12)}`;
    const endpoint = await network.createEndpoint('ep');
    expect(bridgePorts(bridge)).toEqual([]); // no interface before join
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await endpoint.join(sandbox);

    const ports = bridgePorts(bridge);
    expect(ports).toHaveLength(1);
    expect(ports[0]).toMatch(VETH);
    const hostEnd = ipLink(ports[0])!;
    expect(hostEnd.linkinfo?.info_kind).toBe('veth');
    expect(hostEnd.master).toBe(bridge);
    expect(hostEnd.flags).toContain('UP');

    const inside = ipLinks(sandbox.key);
    expect(inside.map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    const eth0 = inside.find((l) => l.ifname === 'eth0')!;
    expect(eth0.linkinfo?.info_kind).toBe('veth');
    // eth0's peer is the host end on the bridge.
    expect(eth0.link_index).toBe(hostEnd.ifindex);
    expect(hostEnd.link_index).toBe(eth0.ifindex);
    const address = endpoint.info().interface.address!;
    expect(nsAddrs(sandbox.key).find((l) => l.ifname === 'eth0')?.addr_info).toEqual([
      expect.objectContaining({ family: 'inet', local: bare(address), prefixlen: 24 }),
    ]);
    // Without a static one, the MAC is derived from the IPv4 address like Docker's (02:42:a:66:...).
    const mac = [
      '02',
      '42',
      ...bare(address)
        .split('.')
        .map((b) => Number(b).toString(16).padStart(2, '0')),
    ].join(':');
    expect(eth0.address).toBe(mac);
    expect(endpoint.info().interface.macAddress).toBe(mac);

    await endpoint.leave(sandbox);
    expect(bridgePorts(bridge)).toEqual([]);
    expect(ipLinks(sandbox.key).map((l) => l.ifname)).toEqual(['lo']);
  });

  it('names container interfaces eth0, eth1, ... lowest free', async () => {
    const [a, b, cNet] = [await net(), await net(), await net()];
    const [epA, epB, epC] = [await a.createEndpoint('a'), await b.createEndpoint('b'), await cNet.createEndpoint('c')];
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    const ifOf = (address: string | null) => nsAddrs(sandbox.key).find((l) => l.addr_info.some((x) => x.local === bare(address)))?.ifname;
    await epA.join(sandbox);
    await epB.join(sandbox);
    expect(ifOf(epA.info().interface.address)).toBe('eth0');
    expect(ifOf(epB.info().interface.address)).toBe('eth1');
    await epA.leave(sandbox);
    await epC.join(sandbox);
    expect(ifOf(epC.info().interface.address)).toBe('eth0');
    expect(ifOf(epB.info().interface.address)).toBe('eth1');
    expect(epC.info().interface.name).toBe('eth0');
    expect(
      nsAddrs(sandbox.key)
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['eth0', 'eth1', 'lo']);
  });

  it('sets the MTU option on the bridge and on both veth ends', async () => {
    const network = await net({ driverOptions: { 'com.docker.network.driver.mtu': '1400' } });
    const bridge = `br-${network.id.slice(0, 12)}`;
    expect(ipLink(bridge)?.mtu).toBe(1400);
    const endpoint = await network.createEndpoint('ep');
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await endpoint.join(sandbox);
    const [port] = bridgePorts(bridge);
    expect(ipLink(port)?.mtu).toBe(1400);
    expect(ipLink('eth0', sandbox.key)?.mtu).toBe(1400);
    expect(ipLink(bridge)?.mtu).toBe(1400);
  });

  it("joins a network whose MTU is below IPv6's minimum (1200), and carries traffic", async () => {
    const network = await net({ driverOptions: { 'com.docker.network.driver.mtu': '1200' } });
    const bridge = `br-${network.id.slice(0, 12)}`;
    const [e1, e2] = [await network.createEndpoint('a'), await network.createEndpoint('b')];
    const [s1, s2] = [await c.newSandbox(uniqueName('ctr')), await c.newSandbox(uniqueName('ctr'))];
    await e1.join(s1);
    await e2.join(s2);
    expect(ipLink('eth0', s1.key)?.mtu).toBe(1200);
    expect(bridgePorts(bridge).map((p) => ipLink(p)?.mtu)).toEqual([1200, 1200]);
    const a = bare(e1.info().interface.address);
    const server = await EchoServer.start(a, 7102, s1.key);
    try {
      expect(await tcpRoundTrip(a, 7102, s2.key)).toBe(`hello ${a}:7102`);
    } finally {
      server.stop();
    }
  });

  it('refuses an IPv6 network with an MTU below 1280 (INVALID_ARGUMENT), leaving nothing', async () => {
    const f = env.fixtures()[0];
    subnetCounter += 1;
    await failsCleanly(
      f,
      () =>
        c.newNetwork('bridge', uniqueName('b6'), {
          enableIPv6: true,
          driverOptions: { 'com.docker.network.driver.mtu': '1200' },
          ipam: { config: [{ subnet: `10.102.${subnetCounter}.0/24` }, { subnet: 'fd00:102:1::/64' }] },
        }),
      'INVALID_ARGUMENT',
    );
  });

  it('gives the container interface a static MAC and a static IPv4 address', async () => {
    const network = await net();
    const mac = '02:aa:bb:cc:dd:ee';
    const address = `10.102.${subnetCounter}.77`;
    const endpoint = await network.createEndpoint('ep', { macAddress: mac, ipv4Address: address });
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await endpoint.join(sandbox);
    const eth0 = nsAddrs(sandbox.key).find((l) => l.ifname === 'eth0')!;
    expect(eth0.address).toBe(mac);
    expect(eth0.addr_info).toEqual([expect.objectContaining({ family: 'inet', local: address, prefixlen: 24 })]);
    expect(endpoint.info().interface).toMatchObject({ macAddress: mac, address: `${address}/24`, name: 'eth0' });
  });

  it("keeps the bridge's own MAC while containers join and leave: the gateway's MAC does not move", async () => {
    const network = await net();
    const bridge = `br-${network.id.slice(0, 12)}`;
    const mac = ipLink(bridge)!.address;
    const gateway = bare(network.info().ipam.allocated[0].gateway);
    const server = await EchoServer.start(gateway, 7103);
    try {
      const joined = [];
      for (const name of ['a', 'b', 'c']) {
        const sandbox = await c.newSandbox(uniqueName(name));
        await (await network.createEndpoint(uniqueName(name))).join(sandbox);
        joined.push(sandbox);
        expect(ipLink(bridge)!.address).toBe(mac);
      }
      await joined.pop()!.delete();
      await joined.pop()!.delete();
      expect(ipLink(bridge)!.address).toBe(mac);
      // The container that is left reaches the gateway, and knows it by the bridge's MAC.
      const [a] = joined;
      expect(await tcpRoundTrip(gateway, 7103, a.key)).toBe(`hello ${gateway}:7103`);
      const neighbours = ipJson<{ dst: string; lladdr?: string }[]>(['neigh', 'show', 'dev', 'eth0'], a.key);
      expect(neighbours).toContainEqual(expect.objectContaining({ dst: gateway, lladdr: mac }));
    } finally {
      server.stop();
    }
  });

  it('gives a sandbox on an internal network no default route', async () => {
    const network = await net({ internal: true });
    const subnet = `10.102.${subnetCounter}.0/24`;
    const endpoint = await network.createEndpoint('ep');
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await endpoint.join(sandbox);
    const routes = nsRoutes(sandbox.key);
    expect(routes.map((r) => r.dst)).toEqual([subnet]);
    expect(routes[0].dev).toBe('eth0');
    expect(nsRoutes(sandbox.key, 6).filter((r) => r.dst === 'default')).toEqual([]);
    expect(endpoint.info().gateway).toBeNull();
  });

  it('gives a sandbox on a (non-internal) network a default route via the gateway', async () => {
    const network = await net();
    const endpoint = await network.createEndpoint('ep');
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await endpoint.join(sandbox);
    expect(nsRoutes(sandbox.key).filter((r) => r.dst === 'default')).toEqual([expect.objectContaining({ gateway: `10.102.${subnetCounter}.1`, dev: 'eth0' })]);
    expect(endpoint.info().gateway).toBe(`10.102.${subnetCounter}.1`);
  });

  it('switches IPv6 off on the container interface of an IPv4-only network; lo keeps ::1', async () => {
    const network = await net();
    const endpoint = await network.createEndpoint('ep');
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await endpoint.join(sandbox);
    // Give the kernel time it would need to add a link-local address (it adds it when the link is up).
    await new Promise((r) => setTimeout(r, 300));
    const addrs = nsAddrs(sandbox.key);
    const eth0 = addrs.find((l) => l.ifname === 'eth0')!;
    expect(eth0.addr_info.map((a) => a.family)).toEqual(['inet']);
    const lo = addrs.find((l) => l.ifname === 'lo')!;
    expect(lo.addr_info).toEqual(
      expect.arrayContaining([expect.objectContaining({ family: 'inet', local: '127.0.0.1' }), expect.objectContaining({ family: 'inet6', local: '::1' })]),
    );
    expect(nsRoutes(sandbox.key, 6).filter((r) => r.dev === 'eth0')).toEqual([]);
    // The host end made no IPv6 link-local address either.
    const [port] = bridgePorts(`br-${network.id.slice(0, 12)}`);
    expect(ipAddrs(port)).toEqual([]);
  });

  it('gives a dual-stack network IPv6: the gateway on the bridge, the address and a default route in the sandbox', async () => {
    subnetCounter += 1;
    const network = await c.newNetwork('bridge', uniqueName('b6'), {
      enableIPv6: true,
      ipam: { config: [{ subnet: `10.102.${subnetCounter}.0/24` }, { subnet: 'fd00:102::/64' }] },
    });
    const bridge = `br-${network.id.slice(0, 12)}`;
    expect(network.info().ipam.allocated.map((p) => [p.pool, p.gateway])).toEqual([
      [`10.102.${subnetCounter}.0/24`, `10.102.${subnetCounter}.1/24`],
      ['fd00:102::/64', 'fd00:102::1/64'],
    ]);
    expect(ipAddrs(bridge)).toEqual(expect.arrayContaining([expect.objectContaining({ family: 'inet6', local: 'fd00:102::1', prefixlen: 64 })]));
    const endpoint = await network.createEndpoint('ep');
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await endpoint.join(sandbox);
    const v6 = endpoint.info().interface.addressIPv6!;
    expect(v6).toMatch(/^fd00:102::[0-9a-f]+\/64$/);
    const eth0 = nsAddrs(sandbox.key).find((l) => l.ifname === 'eth0')!;
    expect(eth0.addr_info).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ family: 'inet', local: bare(endpoint.info().interface.address) }),
        expect.objectContaining({ family: 'inet6', local: bare(v6), prefixlen: 64, scope: 'global' }),
      ]),
    );
    expect(nsRoutes(sandbox.key, 6).filter((r) => r.dst === 'default')).toEqual([expect.objectContaining({ gateway: 'fd00:102::1', dev: 'eth0' })]);
    expect(nsRoutes(sandbox.key).filter((r) => r.dst === 'default')).toEqual([expect.objectContaining({ gateway: `10.102.${subnetCounter}.1`, dev: 'eth0' })]);
    expect(endpoint.info().gatewayIPv6).toBe('fd00:102::1');
    await sandbox.delete();
    await endpoint.delete();
    await network.delete();
    expect(ipLink(bridge)).toBeUndefined();
    expect(hostAddresses().filter((a) => a.includes('fd00:102'))).toEqual([]);
  });
});
