// The predefined networks (none, host, bridge on cnm0), the default bridge's pool choice, and the
// driver registry (built-in drivers, a user's own driver).
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { BoundPort, Driver, DriverOptions, ExternalConnectivity, InterfaceInfo, JoinInfo, JoinTarget, NetworkCreateInfo } from '../../../lib';
import { bare, expectCode, hostAddresses, hostBridges, makeController, useControllers, world, expectSameWorld } from '../../helpers/cnm';
import { describeKernel, hostHasLink, ip, ipAddrs, ipJson, ipLink, NETNS_DIR, uniqueName } from '../../helpers/kernel';

/** A driver that does nothing but write down how it was called. */
class RecordingDriver implements Driver {
  readonly type = 'recording';
  readonly calls: { method: string; args: unknown[] }[] = [];
  failCreate = false;

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args: structuredClone(args) });
  }
  async createNetwork(info: NetworkCreateInfo): Promise<void> {
    this.record('createNetwork', info);
    if (this.failCreate) throw new Error('recording driver refuses');
  }
  async deleteNetwork(networkId: string): Promise<void> {
    this.record('deleteNetwork', networkId);
  }
  async createEndpoint(networkId: string, endpointId: string, iface: InterfaceInfo, options: DriverOptions): Promise<void> {
    this.record('createEndpoint', networkId, endpointId, iface, options);
    iface.macAddress = '02:00:00:00:00:42';
  }
  async deleteEndpoint(networkId: string, endpointId: string): Promise<void> {
    this.record('deleteEndpoint', networkId, endpointId);
  }
  async join(networkId: string, endpointId: string, target: JoinTarget): Promise<JoinInfo> {
    this.record('join', networkId, endpointId, target);
    return { ifname: null, gateway: null, gatewayIPv6: null, staticRoutes: [] };
  }
  async leave(networkId: string, endpointId: string, target: JoinTarget, sandboxGoing: boolean): Promise<void> {
    this.record('leave', networkId, endpointId, target, sandboxGoing);
  }
  async programExternalConnectivity(networkId: string, endpointId: string, options: ExternalConnectivity): Promise<BoundPort[]> {
    this.record('programExternalConnectivity', networkId, endpointId, options);
    return [];
  }
  async revokeExternalConnectivity(networkId: string, endpointId: string): Promise<void> {
    this.record('revokeExternalConnectivity', networkId, endpointId);
  }
}

describeKernel('predefined networks', () => {
  const env = useControllers();

  it('makes none (null), host (host) and bridge (bridge on cnm0, 172.17.0.0/16) by default', async () => {
    expect(hostHasLink('cnm0')).toBe(false);
    const f = await makeController();
    try {
      const c = f.controller;
      const byName = Object.fromEntries(c.networks().map((n) => [n.name, n.type]));
      expect(byName).toEqual({ none: 'null', host: 'host', bridge: 'bridge' });
      expect(c.networkByName('none')?.info().ipam.allocated).toEqual([]);
      expect(c.networkByName('host')?.info().ipam.allocated).toEqual([]);
      const bridge = c.networkByName('bridge')!;
      expect(bridge.info().ipam.allocated).toEqual([expect.objectContaining({ pool: '172.17.0.0/16', gateway: '172.17.0.1/16' })]);
      // The kernel: cnm0 is a bridge, up, with the gateway address.
      const link = ipLink('cnm0');
      expect(link?.linkinfo?.info_kind).toBe('bridge');
      expect(link?.flags).toContain('UP');
      expect(ipAddrs('cnm0').filter((a) => a.family === 'inet')).toEqual([expect.objectContaining({ family: 'inet', local: '172.17.0.1', prefixlen: 16 })]);
      expect(c.networkById(bridge.id)).toBe(bridge);
      expect(bridge.inspect()).toMatchObject({ Name: 'bridge', Driver: 'bridge', IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } });
    } finally {
      await f.controller.stop({ removeAll: true });
      rmSync(f.root, { recursive: true, force: true });
    }
    // stop({ removeAll }) took the default bridge with it.
    expect(hostHasLink('cnm0')).toBe(false);
    expect(hostAddresses().filter((a) => a.includes('172.17.'))).toEqual([]);
  });

  it('takes the next free pool (172.18.0.0/16) when the host has a route in 172.17.0.0/16', async () => {
    ip(['link', 'add', 'tmpbr', 'type', 'bridge']);
    env.later(() => ip(['link', 'del', 'tmpbr']));
    ip(['addr', 'add', '172.17.5.1/24', 'dev', 'tmpbr']);
    ip(['link', 'set', 'tmpbr', 'up']);
    const f = await env.make({ defaultBridgeName: 'cnm1' });
    const bridge = f.controller.networkByName('bridge')!;
    expect(bridge.info().ipam.allocated).toEqual([expect.objectContaining({ pool: '172.18.0.0/16', gateway: '172.18.0.1/16' })]);
    expect(ipAddrs('cnm1').filter((a) => a.family === 'inet')).toEqual([expect.objectContaining({ family: 'inet', local: '172.18.0.1', prefixlen: 16 })]);
    // The host's own address was left alone.
    expect(ipAddrs('tmpbr').filter((a) => a.family === 'inet')).toEqual([expect.objectContaining({ local: '172.17.5.1', prefixlen: 24 })]);
  });

  it("skips a predefined pool that holds one of the host's nameservers", async () => {
    // 172.17 and 172.18 are taken by tmpbr's route and cnm1; the host's resolver is in 172.19.
    const f = await env.make({ defaultBridgeName: 'cnm6' }, 'nameserver 172.19.0.53\nnameserver 127.0.0.53\n');
    expect(f.controller.networkByName('bridge')!.info().ipam.allocated[0].pool).toBe('172.20.0.0/16');
    expect(
      ipAddrs('cnm6')
        .filter((a) => a.family === 'inet')
        .map((a) => `${a.local}/${a.prefixlen}`),
    ).toEqual(['172.20.0.1/16']);
    // And a sandbox's resolv.conf gets that nameserver, not the loopback one.
    const sandbox = await f.controller.newSandbox(uniqueName('ctr'));
    expect(readFileSync(`${f.runFolder}/sandboxes/${sandbox.id}/resolv.conf`, 'utf8').trim()).toBe('nameserver 172.19.0.53');
    await sandbox.delete();
  });

  it('refuses to delete the predefined networks (FORBIDDEN) and changes nothing', async () => {
    const f = await env.make({ defaultBridgeName: 'cnm2' });
    const before = world(f);
    for (const name of ['none', 'host', 'bridge']) {
      const network = f.controller.networkByName(name)!;
      const err = await expectCode(network.delete(), 'FORBIDDEN');
      expect(err.message).toContain(name);
      expect(f.controller.networkByName(name)).toBe(network);
    }
    expectSameWorld(world(f), before);
    expect(ipLink('cnm2')?.linkinfo?.info_kind).toBe('bridge');
  });

  it('refuses a second null or host network (FORBIDDEN); a second bridge network is fine', async () => {
    const f = await env.make({ defaultBridgeName: 'cnm3' });
    const c = f.controller;
    const before = world(f);
    await expectCode(c.newNetwork('null', 'none2'), 'FORBIDDEN');
    await expectCode(c.newNetwork('host', 'host2'), 'FORBIDDEN');
    expect(
      c
        .networks()
        .map((n) => n.name)
        .sort(),
    ).toEqual(['bridge', 'host', 'none']);
    expectSameWorld(world(f), before);
    const other = await c.newNetwork('bridge', 'bridge2', { ipam: { config: [{ subnet: '10.101.0.0/24' }] } });
    expect(hostBridges()).toContain(`br-${other.id.slice(0, 12)}`);
    await other.delete();
    expect(hostBridges()).not.toContain(`br-${other.id.slice(0, 12)}`);
  });

  it('without predefined networks makes none of them, and a null network may then be made once', async () => {
    const f = await env.make({ predefinedNetworks: false, defaultBridgeName: 'cnm4' });
    expect(f.controller.networks()).toEqual([]);
    expect(hostHasLink('cnm4')).toBe(false);
    const none = await f.controller.newNetwork('null', 'my-none');
    expect(none.type).toBe('null');
    await expectCode(f.controller.newNetwork('null', 'my-none-2'), 'FORBIDDEN');
    await none.delete();
    expect(f.controller.networks()).toEqual([]);
  });

  it('stop({ removeAll }) removes everything, the default bridge too; a second stop({ removeAll }) is harmless', async () => {
    const f = await env.make({ defaultBridgeName: 'cnm5' });
    const sandbox = await f.controller.newSandbox(uniqueName('ctr'));
    const ep = await f.controller.networkByName('bridge')!.createEndpoint('ep');
    await ep.join(sandbox);
    await f.controller.stop({ removeAll: true });
    expect(hostHasLink('cnm5')).toBe(false);
    expect(readdirSync(NETNS_DIR)).toEqual([]);
    expect(existsSync(f.runFolder)).toBe(false);
    await expectCode(f.controller.newNetwork('bridge', 'late'), 'STOPPED');
    await f.controller.stop({ removeAll: true });
  });

  it('waits for a sandbox still being made before stop({ removeAll }) removes everything', async () => {
    const f = await env.make({ defaultBridgeName: 'cnm9' });
    const pending = f.controller.newSandbox(uniqueName('ctr'));
    await f.controller.stop({ removeAll: true });
    await pending;
    expect(readdirSync(NETNS_DIR)).toEqual([]);
  });

  it('refuses, untouched, a default bridge device that no cnm-ts controller made (unlike dockerd with docker0)', async () => {
    ip(['link', 'add', 'cnm7', 'type', 'bridge']);
    env.later(() => ip(['link', 'del', 'cnm7']));
    ip(['addr', 'add', '172.30.0.1/16', 'dev', 'cnm7']);
    const before = ipJson<unknown[]>(['addr', 'show', 'cnm7']);
    await expect(env.make({ defaultBridgeName: 'cnm7' })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('cnm7 (bridge)') });
    expect(ipJson<unknown[]>(['addr', 'show', 'cnm7'])).toEqual(before);
  });

  it('lists the built-in drivers; an unknown type is NOT_FOUND', async () => {
    const f = await env.make({ predefinedNetworks: false });
    expect(f.controller.builtinDrivers().sort()).toEqual(['bridge', 'host', 'macvlan', 'null']);
    await expectCode(f.controller.newNetwork('macvlan-nope', 'x'), 'NOT_FOUND');
  });

  it('calls a registered driver for each step of a network of its type', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const c = f.controller;
    const driver = new RecordingDriver();
    c.registerDriver('recording', driver);
    expect(() => c.registerDriver('recording', new RecordingDriver())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
    expect(() => c.registerDriver('bridge', new RecordingDriver())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));

    const network = await c.newNetwork('recording', 'rec', {
      driverOptions: { colour: 'blue' },
      ipam: { config: [{ subnet: '10.101.1.0/24' }] },
    });
    expect(network.type).toBe('recording');
    expect(driver.calls).toEqual([
      {
        method: 'createNetwork',
        args: [
          expect.objectContaining({
            id: network.id,
            name: 'rec',
            options: { colour: 'blue' },
            internal: false,
            enableIPv6: false,
            ipv4: [expect.objectContaining({ pool: '10.101.1.0/24', gateway: '10.101.1.1/24' })],
            ipv6: [],
          }),
        ],
      },
    ]);
    driver.calls.length = 0;

    const endpoint = await network.createEndpoint('ep');
    expect(driver.calls).toEqual([{ method: 'createEndpoint', args: [network.id, endpoint.id, expect.objectContaining({ address: '10.101.1.2/24' }), {}] }]);
    // The driver set the MAC address.
    expect(endpoint.info().interface.macAddress).toBe('02:00:00:00:00:42');

    const sandbox = await c.newSandbox('rec-container');
    await endpoint.join(sandbox, { priority: 3 });
    await endpoint.leave(sandbox);
    await endpoint.delete();
    await sandbox.delete();
    await network.delete();
    // The only endpoint with a gateway is the sandbox's gateway endpoint: it gets outside access
    // after its join and loses it before its leave.
    expect(driver.calls.map((call) => call.method)).toEqual([
      'createEndpoint',
      'join',
      'programExternalConnectivity',
      'revokeExternalConnectivity',
      'leave',
      'deleteEndpoint',
      'deleteNetwork',
    ]);
    const target = { sandboxId: sandbox.id, key: sandbox.key, isHost: false, ifname: 'eth0' };
    expect(driver.calls[1].args).toEqual([network.id, endpoint.id, { ...target, defaultRoute: true }]);
    expect(driver.calls[2].args).toEqual([network.id, endpoint.id, { portMapping: [] }]);
    expect(driver.calls[3].args).toEqual([network.id, endpoint.id]);
    expect(driver.calls[4].args).toEqual([network.id, endpoint.id, expect.objectContaining(target), false]);
    expect(driver.calls[5].args).toEqual([network.id, endpoint.id]);
    expect(driver.calls[6].args).toEqual([network.id]);
    expect(c.networks()).toEqual([]);
  });

  it('undoes the IPAM reservation when a registered driver fails to create the network', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const c = f.controller;
    const driver = new RecordingDriver();
    c.registerDriver('recording', driver);
    driver.failCreate = true;
    const config = { ipam: { config: [{ subnet: '10.101.2.0/24', gateway: '10.101.2.9' }] } };
    await expect(c.newNetwork('recording', 'broken', config)).rejects.toThrow('recording driver refuses');
    expect(c.networks()).toEqual([]);
    driver.failCreate = false;
    // The subnet and its gateway are free again.
    const network = await c.newNetwork('recording', 'works', config);
    expect(bare(network.info().ipam.allocated[0].gateway)).toBe('10.101.2.9');
    await network.delete();
  });
});
