// libnetwork's rules and the error code of each; a refused call leaves no bridge, address, veth,
// namespace, file or object behind.
import type { NetworkController, Sandbox } from '../../../lib';
import { bridgePorts, expectCode, failsCleanly, hostBridges, nsAddrs, useControllers, world, expectSameWorld, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, ip, ipLinks, snapshot, uniqueName } from '../../helpers/kernel';

const subnet = (n: number) => ({ ipam: { config: [{ subnet: `10.104.${n}.0/24` }] } });

describeKernel('rules: networks', () => {
  const env = useControllers();
  let f: CnmFixture;
  let c: NetworkController;

  beforeAll(async () => {
    f = await env.make({ predefinedNetworks: false });
    c = f.controller;
  });

  it('refuses an empty network name (INVALID_ARGUMENT) and a duplicate one (CONFLICT)', async () => {
    await failsCleanly(f, () => c.newNetwork('bridge', '', subnet(1)), 'INVALID_ARGUMENT');
    const first = await c.newNetwork('bridge', 'dup', subnet(1));
    const err = await failsCleanly(f, () => c.newNetwork('bridge', 'dup', subnet(2)), 'CONFLICT');
    expect(err.message).toContain('dup');
    // Also under another driver type.
    await failsCleanly(f, () => c.newNetwork('null', 'dup'), 'CONFLICT');
    await first.delete();
  });

  it("refuses a subnet that overlaps another network's (CONFLICT)", async () => {
    const first = await c.newNetwork('bridge', 'ov1', subnet(3));
    for (const overlapping of ['10.104.3.0/24', '10.104.0.0/16', '10.104.3.128/25', '10.0.0.0/8']) {
      const err = await failsCleanly(f, () => c.newNetwork('bridge', 'ov2', { ipam: { config: [{ subnet: overlapping }] } }), 'CONFLICT');
      expect(err.message).toContain('10.104.3.0/24');
    }
    await first.delete();
    // Once it is gone, the subnet is free.
    const again = await c.newNetwork('bridge', 'ov2', subnet(3));
    await again.delete();
  });

  it('refuses bad IPAM configs with INVALID_ARGUMENT: gateway or range outside, host bits, malformed CIDRs', async () => {
    const bad: [string, { subnet?: string; gateway?: string; ipRange?: string; auxAddresses?: Record<string, string> }][] = [
      ['gateway outside the subnet', { subnet: '10.104.4.0/24', gateway: '10.104.5.1' }],
      ['gateway = network address', { subnet: '10.104.4.0/24', gateway: '10.104.4.0' }],
      ['malformed gateway', { subnet: '10.104.4.0/24', gateway: '10.104.4' }],
      ['ip range outside the subnet', { subnet: '10.104.4.0/24', ipRange: '10.104.5.0/28' }],
      ['ip range larger than the subnet', { subnet: '10.104.4.0/24', ipRange: '10.104.0.0/16' }],
      ['aux address outside the subnet', { subnet: '10.104.4.0/24', auxAddresses: { router: '10.104.5.7' } }],
      ['host bits set', { subnet: '10.104.4.1/24' }],
      ['host bits set in the ip range', { subnet: '10.104.4.0/24', ipRange: '10.104.4.65/26' }],
      ['prefix too long', { subnet: '10.104.4.0/33' }],
      ['not a CIDR', { subnet: 'not-a-cidr' }],
      ['no prefix length', { subnet: '10.104.4.0' }],
      ['short address', { subnet: '10.104.4/24' }],
    ];
    for (const [why, config] of bad) {
      const err = await failsCleanly(f, () => c.newNetwork('bridge', `bad-${why}`, { ipam: { config: [config] } }), 'INVALID_ARGUMENT');
      expect([why, err.message.length > 0]).toEqual([why, true]);
    }
    // An IPv6 subnet needs enableIPv6, an IPv4 subnet enableIPv4, and a network one family at least.
    await failsCleanly(
      f,
      () => c.newNetwork('bridge', 'v6-off', { ipam: { config: [{ subnet: '10.104.4.0/24' }, { subnet: 'fd00:104::/64' }] } }),
      'INVALID_ARGUMENT',
    );
    await failsCleanly(
      f,
      () => c.newNetwork('bridge', 'v4-off', { enableIPv4: false, enableIPv6: true, ipam: { config: [{ subnet: '10.104.4.0/24' }] } }),
      'INVALID_ARGUMENT',
    );
    await failsCleanly(f, () => c.newNetwork('bridge', 'no-family', { enableIPv4: false }), 'INVALID_ARGUMENT');
    await failsCleanly(f, () => c.newNetwork('bridge', 'bad-mtu', { driverOptions: { 'com.docker.network.driver.mtu': '60' } }), 'INVALID_ARGUMENT');
    // Nothing of the failed attempts stayed reserved: the subnet, gateway and range work now.
    const ok = await c.newNetwork('bridge', 'good', {
      ipam: { config: [{ subnet: '10.104.4.0/24', gateway: '10.104.4.254', ipRange: '10.104.4.64/26', auxAddresses: { r: '10.104.4.9' } }] },
    });
    const bridge = `br-${ok.id.slice(0, 12)}`;
    expect(ip(['-4', '-o', 'addr', 'show', 'dev', bridge])).toContain('10.104.4.254/24');
    const ep = await ok.createEndpoint('ep');
    expect(ep.info().interface.address).toBe('10.104.4.64/24'); // first of the range (.64 is not the network address of the subnet)
    await ep.delete();
    await ok.delete();
  });

  it('refuses a bridge name that is taken (CONFLICT) and releases the subnet', async () => {
    const taken = uniqueName('tk');
    ip(['link', 'add', taken, 'type', 'bridge']);
    env.later(() => ip(['link', 'del', taken]));
    await failsCleanly(f, () => c.newNetwork('bridge', 'taken', { ...subnet(6), driverOptions: { 'com.docker.network.bridge.name': taken } }), 'CONFLICT');
    expect(ip(['-o', 'addr', 'show', 'dev', taken])).not.toContain('10.104.6.');
    const ok = await c.newNetwork('bridge', 'taken', subnet(6));
    await ok.delete();
  });

  it('refuses a static address outside the subnet (INVALID_ARGUMENT) or in use (CONFLICT)', async () => {
    const network = await c.newNetwork('bridge', 'static', subnet(7));
    await failsCleanly(f, () => network.createEndpoint('out', { ipv4Address: '10.104.8.5' }), 'INVALID_ARGUMENT');
    await failsCleanly(f, () => network.createEndpoint('bcast', { ipv4Address: '10.104.7.255' }), 'INVALID_ARGUMENT');
    await failsCleanly(f, () => network.createEndpoint('v6', { ipv4Address: 'fd00::5' }), 'INVALID_ARGUMENT');
    await failsCleanly(f, () => network.createEndpoint('gw', { ipv4Address: '10.104.7.1' }), 'CONFLICT');
    const first = await network.createEndpoint('first', { ipv4Address: '10.104.7.5' });
    await failsCleanly(f, () => network.createEndpoint('second', { ipv4Address: '10.104.7.5' }), 'CONFLICT');
    await failsCleanly(f, () => network.createEndpoint('first'), 'CONFLICT'); // endpoint name taken
    await failsCleanly(f, () => network.createEndpoint(''), 'INVALID_ARGUMENT');
    await first.delete();
    await network.delete();
  });

  it('says EXHAUSTED when the pool is full (a /30: gateway + one endpoint)', async () => {
    const network = await c.newNetwork('bridge', 'tiny', { ipam: { config: [{ subnet: '10.104.9.0/30' }] } });
    const only = await network.createEndpoint('only');
    expect(only.info().interface.address).toBe('10.104.9.2/30');
    await failsCleanly(f, () => network.createEndpoint('one-too-many'), 'EXHAUSTED');
    await only.delete();
    const again = await network.createEndpoint('again');
    expect(again.info().interface.address).toBe('10.104.9.2/30');
    await again.delete();
    await network.delete();
  });

  it('refuses to delete a network with endpoints (CONFLICT); the bridge stays', async () => {
    const network = await c.newNetwork('bridge', 'busy', subnet(10));
    const bridge = `br-${network.id.slice(0, 12)}`;
    const ep = await network.createEndpoint('ep');
    await failsCleanly(f, () => network.delete(), 'CONFLICT');
    expect(hostBridges()).toContain(bridge);
    await ep.delete();
    await network.delete();
    expect(hostBridges()).not.toContain(bridge);
    await expectCode(network.delete(), 'NOT_FOUND');
  });
});

describeKernel('rules: endpoints and sandboxes', () => {
  const env = useControllers();
  let f: CnmFixture;
  let c: NetworkController;

  beforeAll(async () => {
    f = await env.make({ predefinedNetworks: false, defaultBridgeName: 'cnmrules0' });
    c = f.controller;
  });

  it('refuses to delete a joined endpoint (CONFLICT) unless forced, which removes the veth', async () => {
    const network = await c.newNetwork('bridge', 'force', subnet(20));
    const bridge = `br-${network.id.slice(0, 12)}`;
    const ep = await network.createEndpoint('ep');
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await ep.join(sandbox);
    expect(bridgePorts(bridge)).toHaveLength(1);
    await failsCleanly(f, () => ep.delete(), 'CONFLICT');
    expect(bridgePorts(bridge)).toHaveLength(1);
    await ep.delete({ force: true });
    expect(bridgePorts(bridge)).toEqual([]);
    expect(ipLinks(sandbox.key).map((l) => l.ifname)).toEqual(['lo']);
    expect(network.endpoints()).toEqual([]);
    expect(sandbox.endpoints()).toEqual([]);
    await sandbox.delete();
    await network.delete();
  });

  it('refuses to join twice (CONFLICT) and to leave when not joined (CONFLICT)', async () => {
    const network = await c.newNetwork('bridge', 'twice', subnet(21));
    const ep = await network.createEndpoint('ep');
    const [s1, s2] = [await c.newSandbox(uniqueName('ctr')), await c.newSandbox(uniqueName('ctr'))];
    await failsCleanly(f, () => ep.leave(s1), 'CONFLICT');
    await ep.join(s1);
    await failsCleanly(f, () => ep.join(s1), 'CONFLICT');
    await failsCleanly(f, () => ep.join(s2), 'CONFLICT');
    await failsCleanly(f, () => ep.leave(s2), 'CONFLICT');
    // Two joins at once: one wins.
    await ep.leave(s1);
    await failsCleanly(f, () => ep.leave(s1), 'CONFLICT');
    const results = await Promise.allSettled([ep.join(s1), ep.join(s2)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
    const joined = ep.info().sandboxKey!;
    const other = joined === s1.key ? s2 : s1;
    expect(
      nsAddrs(joined)
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['eth0', 'lo']);
    expect(nsAddrs(other.key).map((l) => l.ifname)).toEqual(['lo']);
    await s1.delete();
    await s2.delete();
    await ep.delete();
    await network.delete();
  });

  it('refuses a second sandbox for one container id (CONFLICT), also when asked at once', async () => {
    const id = uniqueName('ctr');
    const first = await c.newSandbox(id);
    await failsCleanly(f, () => c.newSandbox(id), 'CONFLICT');
    await failsCleanly(f, () => c.newSandbox(id, { useDefaultSandbox: true }), 'CONFLICT');
    await first.delete();
    const nsBefore = snapshot().namespaces;
    const id2 = uniqueName('ctr');
    const results = await Promise.allSettled([c.newSandbox(id2), c.newSandbox(id2), c.newSandbox(id2)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected')) expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'CONFLICT' });
    expect(snapshot().namespaces).toHaveLength(nsBefore.length + 1);
    await (results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Sandbox>).value.delete();
    expect(snapshot().namespaces).toEqual(nsBefore);
  });

  it('leaves every endpoint first when a sandbox is deleted', async () => {
    const n1 = await c.newNetwork('bridge', 'going1', subnet(22));
    const n2 = await c.newNetwork('bridge', 'going2', subnet(23));
    const [e1, e2] = [await n1.createEndpoint('e1'), await n2.createEndpoint('e2')];
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    await e1.join(sandbox);
    await e2.join(sandbox, { priority: 2 });
    const disconnects: string[] = [];
    const onDisconnect = (e: { name: string }, s: Sandbox) => disconnects.push(`${e.name} ${s === sandbox}`);
    c.on('network:disconnect', onDisconnect);
    try {
      await sandbox.delete();
    } finally {
      c.off('network:disconnect', onDisconnect);
    }
    expect(disconnects.sort()).toEqual(['e1 true', 'e2 true']);
    expect(e1.info().sandboxId).toBeNull();
    expect(e2.info().sandboxKey).toBeNull();
    expect(e1.info().interface.name).toBeNull();
    expect(c.sandboxById(sandbox.id)).toBeUndefined();
    expect(snapshot().namespaces).not.toContain(sandbox.key.split('/').pop());
    await expectCode(sandbox.delete(), 'NOT_FOUND');
    // Not joined any more: deletable without force, and the networks with them.
    await e1.delete();
    await e2.delete();
    await n1.delete();
    await n2.delete();
  });

  it('lets an endpoint of a deleted sandbox join a new sandbox at once', async () => {
    const network = await c.newNetwork('bridge', 'rejoin', subnet(24));
    const bridge = `br-${network.id.slice(0, 12)}`;
    const ep = await network.createEndpoint('ep');
    const first = await c.newSandbox(uniqueName('ctr'));
    await ep.join(first);
    await first.delete();
    const second = await c.newSandbox(uniqueName('ctr'));
    await ep.join(second);
    expect(
      nsAddrs(second.key)
        .find((l) => l.ifname === 'eth0')
        ?.addr_info.map((a) => a.local),
    ).toEqual(['10.104.24.2']);
    // Once the kernel has destroyed the first namespace, exactly one port is left on the bridge.
    const deadline = Date.now() + 10000;
    while (bridgePorts(bridge).length > 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(bridgePorts(bridge)).toHaveLength(1);
    await second.delete();
    await ep.delete();
    await network.delete();
  });

  it('leaves nothing when the kernel refuses a join (eth0 already taken inside the sandbox)', async () => {
    const network = await c.newNetwork('bridge', 'refused', subnet(27));
    const bridge = `br-${network.id.slice(0, 12)}`;
    const ep = await network.createEndpoint('ep');
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    ip(['link', 'add', 'eth0', 'type', 'bridge'], sandbox.key); // made behind the library's back
    const before = world(f);
    await expect(ep.join(sandbox)).rejects.toMatchObject({ code: 'EEXIST' });
    expectSameWorld(world(f), before);
    expect(bridgePorts(bridge)).toEqual([]);
    expect(ep.info().sandboxId).toBeNull();
    expect(sandbox.endpoints()).toEqual([]);
    // The endpoint is still usable.
    const other = await c.newSandbox(uniqueName('ctr'));
    await ep.join(other);
    expect(
      nsAddrs(other.key)
        .find((l) => l.ifname === 'eth0')
        ?.addr_info.map((a) => a.local),
    ).toEqual(['10.104.27.2']);
    await other.delete();
    await sandbox.delete();
    await ep.delete();
    await network.delete();
  });

  it('forbids a container-mode sandbox to join networks or to be shared', async () => {
    const network = await c.newNetwork('bridge', 'cmode', subnet(25));
    const ep = await network.createEndpoint('ep');
    const main = await c.newSandbox(uniqueName('ctr'));
    const sharer = await c.newSandbox(uniqueName('ctr'), { shareWith: main });
    await failsCleanly(f, () => ep.join(sharer), 'FORBIDDEN');
    expect(ep.info().sandboxId).toBeNull();
    await failsCleanly(f, () => c.newSandbox(uniqueName('ctr'), { shareWith: sharer }), 'FORBIDDEN');
    await failsCleanly(f, () => c.newSandbox(uniqueName('ctr'), { shareWith: main, useDefaultSandbox: true }), 'INVALID_ARGUMENT');
    await sharer.delete();
    await main.delete();
    await ep.delete();
    await network.delete();
  });

  it('forbids a host-mode sandbox to join a bridge network, and a namespace sandbox to join the host network', async () => {
    const network = await c.newNetwork('bridge', 'hmode', subnet(26));
    const bridge = `br-${network.id.slice(0, 12)}`;
    const hostNet = await c.newNetwork('host', 'my-host');
    const ep = await network.createEndpoint('ep');
    const hostEp = await hostNet.createEndpoint('hep');
    const hostSandbox = await c.newSandbox(uniqueName('ctr'), { useDefaultSandbox: true });
    const nsSandbox = await c.newSandbox(uniqueName('ctr'));
    await failsCleanly(f, () => ep.join(hostSandbox), 'FORBIDDEN');
    await failsCleanly(f, () => hostEp.join(nsSandbox), 'FORBIDDEN');
    expect(bridgePorts(bridge)).toEqual([]);
    await hostEp.join(hostSandbox);
    expect(hostEp.info().sandboxId).toBe(hostSandbox.id);
    await hostSandbox.delete();
    await nsSandbox.delete();
    await hostEp.delete();
    await ep.delete();
    await hostNet.delete();
    await network.delete();
    expect(world(f).objects.filter((o) => /hmode|my-host/.test(o))).toEqual([]);
  });
});
