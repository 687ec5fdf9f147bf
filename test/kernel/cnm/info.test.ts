// The controller's events, and what info() / inspect() / statistics() say, checked against ip.
import type { Endpoint, Network, NetworkController, Sandbox } from '../../../lib';
import { bare, bridgePorts, nsAddrs, useControllers } from '../../helpers/cnm';
import { describeKernel, EchoServer, ipLink, tcpRoundTrip, uniqueName } from '../../helpers/kernel';

const EVENTS = [
  'network:create',
  'network:destroy',
  'endpoint:create',
  'endpoint:delete',
  'network:connect',
  'network:disconnect',
  'sandbox:create',
  'sandbox:destroy',
] as const;

describeKernel('events', () => {
  const env = useControllers();
  let c: NetworkController;
  const seen: [string, ...unknown[]][] = [];

  beforeAll(async () => {
    c = (await env.make({ predefinedNetworks: false })).controller;
    for (const event of EVENTS) c.on(event, (...args: unknown[]) => seen.push([event, ...args]));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  /** Expects exactly these events, each carrying the very objects (identity, not copies). */
  const expectEvents = (expected: [string, ...unknown[]][]) => {
    expect(seen.map((e) => e[0])).toEqual(expected.map((e) => e[0]));
    for (const [i, e] of expected.entries()) {
      expect(seen[i]).toHaveLength(e.length);
      for (const [j, arg] of e.entries()) expect(seen[i][j]).toBe(arg);
    }
  };

  it('fires create, connect / disconnect and destroy events with the objects, in order', async () => {
    const network = await c.newNetwork('bridge', 'events', { ipam: { config: [{ subnet: '10.108.9.0/24' }] } });
    const endpoint = await network.createEndpoint('ep');
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await endpoint.join(sandbox);
    await endpoint.leave(sandbox);
    await endpoint.join(sandbox);
    await sandbox.delete(); // leaves first: a disconnect before the destroy
    await endpoint.delete();
    await network.delete();
    expectEvents([
      ['network:create', network],
      ['endpoint:create', endpoint],
      ['sandbox:create', sandbox],
      ['network:connect', endpoint, sandbox],
      ['network:disconnect', endpoint, sandbox],
      ['network:connect', endpoint, sandbox],
      ['network:disconnect', endpoint, sandbox],
      ['sandbox:destroy', sandbox],
      ['endpoint:delete', endpoint],
      ['network:destroy', network],
    ]);
  });

  it('fires nothing for refused calls', async () => {
    const network = await c.newNetwork('bridge', 'quiet', { ipam: { config: [{ subnet: '10.108.10.0/24' }] } });
    const endpoint = await network.createEndpoint('ep');
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await endpoint.join(sandbox);
    seen.length = 0;
    const refused = [
      c.newNetwork('bridge', 'quiet'),
      c.newNetwork('bridge', 'other', { ipam: { config: [{ subnet: '10.108.10.0/25' }] } }),
      network.createEndpoint('ep'),
      endpoint.join(sandbox),
      endpoint.delete(),
      network.delete(),
      c.newSandbox(sandbox.containerId),
    ];
    const results = await Promise.allSettled(refused);
    expect(results.map((r) => r.status)).toEqual(Array(refused.length).fill('rejected'));
    expectEvents([]);
    await sandbox.delete();
    await endpoint.delete();
    await network.delete();
  });

  it('fires the events of force delete and of stop({ removeAll })', async () => {
    const { controller: other } = await env.make({ predefinedNetworks: false });
    const events: [string, ...unknown[]][] = [];
    for (const event of EVENTS) other.on(event, (...args: unknown[]) => events.push([event, ...args]));
    const network = await other.newNetwork('bridge', 'stop', { ipam: { config: [{ subnet: '10.108.11.0/24' }] } });
    const [e1, e2] = [await network.createEndpoint('e1'), await network.createEndpoint('e2')];
    const sandbox = await other.newSandbox(uniqueName('ctr'));
    await e1.join(sandbox);
    await e2.join(sandbox);
    events.length = 0;
    await e1.delete({ force: true });
    expect(events.map((e) => e.slice(0, 2))).toEqual([
      ['network:disconnect', e1],
      ['endpoint:delete', e1],
    ]);
    events.length = 0;
    await other.stop({ removeAll: true });
    expect(events.map((e) => e[0])).toEqual(['network:disconnect', 'sandbox:destroy', 'endpoint:delete', 'network:destroy']);
    expect(events[3][1]).toBe(network);
  });
});

describeKernel('info, inspect and statistics', () => {
  const env = useControllers();
  let c: NetworkController;
  let network: Network;
  let endpoint: Endpoint;
  let sandbox: Sandbox;
  let peer: { sandbox: Sandbox; endpoint: Endpoint };

  beforeAll(async () => {
    c = (await env.make({ predefinedNetworks: false })).controller;
    network = await c.newNetwork('bridge', 'info', {
      labels: { team: 'net' },
      driverOptions: { 'com.docker.network.driver.mtu': '1450' },
      ipam: { config: [{ subnet: '10.108.0.0/24', ipRange: '10.108.0.128/25', gateway: '10.108.0.1', auxAddresses: { router: '10.108.0.2' } }] },
    });
    endpoint = await network.createEndpoint('web');
    sandbox = await c.newSandbox('container-web');
    await endpoint.join(sandbox);
    peer = { sandbox: await c.newSandbox('container-peer'), endpoint: await network.createEndpoint('peer') };
    await peer.endpoint.join(peer.sandbox);
  });

  it('network info() has the configuration and the pools actually allocated', () => {
    const info = network.info();
    expect(info).toMatchObject({
      id: network.id,
      name: 'info',
      type: 'bridge',
      scope: 'local',
      internal: false,
      enableIPv6: false,
      labels: { team: 'net' },
      driverOptions: { 'com.docker.network.driver.mtu': '1450' },
      ipam: {
        driver: 'default',
        allocated: [
          expect.objectContaining({
            pool: '10.108.0.0/24',
            gateway: '10.108.0.1/24',
            ipRange: '10.108.0.128/25',
            auxAddresses: { router: '10.108.0.2' },
          }),
        ],
      },
    });
    expect(new Date(info.created).getTime()).toBeLessThanOrEqual(Date.now());
    expect(JSON.parse(JSON.stringify(info))).toEqual(info); // plain JSON data
    // The gateway per ip, and addresses from the range.
    expect(ipLink(`br-${network.id.slice(0, 12)}`)?.mtu).toBe(1450);
    expect(bare(endpoint.info().interface.address)).toMatch(/^10\.108\.0\.(1[2-9]\d|2[0-4]\d|25[0-4])$/);
  });

  it('inspect() is shaped like docker network inspect', () => {
    const inspect = network.inspect();
    expect(inspect).toMatchObject({
      Name: 'info',
      Id: network.id,
      Driver: 'bridge',
      Scope: 'local',
      EnableIPv6: false,
      Internal: false,
      IPAM: {
        Driver: 'default',
        Config: [{ Subnet: '10.108.0.0/24', IPRange: '10.108.0.128/25', Gateway: '10.108.0.1', AuxiliaryAddresses: { router: '10.108.0.2' } }],
      },
      Options: { 'com.docker.network.driver.mtu': '1450' },
      Labels: { team: 'net' },
    });
    expect(Object.keys(inspect.Containers).sort()).toEqual(['container-peer', 'container-web']);
    const web = inspect.Containers['container-web'];
    const eth0 = nsAddrs(sandbox.key).find((l) => l.ifname === 'eth0')!;
    expect(web).toEqual({
      Name: 'web',
      EndpointID: endpoint.id,
      MacAddress: eth0.address,
      IPv4Address: `${eth0.addr_info[0].local}/${eth0.addr_info[0].prefixlen}`,
      IPv6Address: '',
    });
    expect(JSON.parse(JSON.stringify(inspect))).toEqual(inspect);
  });

  it('endpoint info() has the MAC, address, interface name, gateway and sandbox, as ip sees them', () => {
    const info = endpoint.info();
    const eth0 = nsAddrs(sandbox.key).find((l) => l.ifname === info.interface.name)!;
    expect(info.interface.name).toBe('eth0');
    expect(info).toMatchObject({
      id: endpoint.id,
      name: 'web',
      networkId: network.id,
      interface: { macAddress: eth0.address, address: `${eth0.addr_info[0].local}/24`, addressIPv6: null, name: 'eth0' },
      gateway: '10.108.0.1',
      gatewayIPv6: null,
      sandboxId: sandbox.id,
      sandboxKey: sandbox.key,
    });
    expect(eth0.addr_info).toHaveLength(1);
    expect(c.sandboxById(info.sandboxId!)).toBe(sandbox);
    expect(network.endpointById(endpoint.id)).toBe(endpoint);
    expect(network.endpointByName('web')).toBe(endpoint);
    expect(sandbox.endpoints()).toEqual([endpoint]);
    // One veth per joined endpoint on the bridge.
    expect(bridgePorts(`br-${network.id.slice(0, 12)}`)).toHaveLength(2);
  });

  it('endpoint info() before a join has the address and MAC but no interface, gateway or sandbox', async () => {
    const idle = await network.createEndpoint('idle', { ipv4Address: '10.108.0.100', macAddress: '02:00:0a:6c:00:64' });
    try {
      expect(idle.info()).toMatchObject({
        interface: { macAddress: '02:00:0a:6c:00:64', address: '10.108.0.100/24', addressIPv6: null, name: null },
        gateway: null,
        sandboxId: null,
        sandboxKey: null,
      });
      expect(network.inspect()).toMatchObject({ Containers: expect.not.objectContaining({ idle: expect.anything() }) });
      expect(Object.keys((network.inspect() as { Containers: object }).Containers)).toHaveLength(2);
    } finally {
      await idle.delete();
    }
  });

  it('lists and walks networks, endpoints and sandboxes; a walk stops when the callback returns true', () => {
    expect(c.networks()).toEqual([network]);
    expect(c.networkByName('info')).toBe(network);
    expect(c.networkById(network.id)).toBe(network);
    expect(c.networkByName('nope')).toBeUndefined();
    const walked: string[] = [];
    network.walkEndpoints((e) => {
      walked.push(e.name);
    });
    expect(walked.sort()).toEqual(['peer', 'web']);
    walked.length = 0;
    network.walkEndpoints((e) => {
      walked.push(e.name);
      return true;
    });
    expect(walked).toHaveLength(1);
    const sandboxes: string[] = [];
    c.walkSandboxes((s) => {
      sandboxes.push(s.containerId);
    });
    expect(sandboxes.sort()).toEqual(['container-peer', 'container-web']);
    let count = 0;
    c.walkNetworks(() => {
      count += 1;
      return true;
    });
    expect(count).toBe(1);
    expect(c.sandboxById(sandbox.id)).toBe(sandbox);
    expect(sandbox.containerId).toBe('container-web');
  });

  it('statistics() counters grow with traffic and agree with ip -s link in the sandbox', async () => {
    const before = (await sandbox.statistics()).eth0;
    expect(before).toBeDefined();
    const address = bare(endpoint.info().interface.address);
    const server = await EchoServer.start(address, 7108, sandbox.key);
    try {
      for (let i = 0; i < 3; i += 1) expect(await tcpRoundTrip(address, 7108, peer.sandbox.key)).toBe(`hello ${address}:7108`);
    } finally {
      server.stop();
    }
    const stats = (await sandbox.statistics()).eth0;
    const ip = ipLink('eth0', sandbox.key)!.stats64!;
    // At least 3 connections' worth: SYN, data, FIN, ACKs each way.
    expect(stats.rxPackets - before.rxPackets).toBeGreaterThanOrEqual(15);
    expect(stats.txPackets - before.txPackets).toBeGreaterThanOrEqual(12);
    expect(stats.rxBytes - before.rxBytes).toBeGreaterThan(3 * 40);
    expect(stats.txBytes).toBeGreaterThan(before.txBytes);
    // ip read after the library: equal, or ahead by the odd stray packet (ARP).
    for (const [lib, kernel] of [
      [stats.rxPackets, ip.rx.packets],
      [stats.txPackets, ip.tx.packets],
    ]) {
      expect(kernel).toBeGreaterThanOrEqual(lib);
      expect(kernel - lib).toBeLessThanOrEqual(4);
    }
    for (const [lib, kernel] of [
      [stats.rxBytes, ip.rx.bytes],
      [stats.txBytes, ip.tx.bytes],
    ]) {
      expect(kernel).toBeGreaterThanOrEqual(lib);
      expect(kernel - lib).toBeLessThanOrEqual(4 * 100);
    }
    expect(Object.keys(await sandbox.statistics())).toEqual(['eth0']);
  });
});
