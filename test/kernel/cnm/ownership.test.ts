// cnm-ts never modifies or deletes a device it did not make: a bridge name held by someone else's
// device (a bridge without this controller's mark, another controller's default bridge, a
// non-bridge link) is a CONFLICT at create, and at restore and delete the device is left alone.
import { bridgePorts, expectCode, restart, useControllers } from '../../helpers/cnm';
import { describeKernel, hostHasLink, ip, ipJson, uniqueName } from '../../helpers/kernel';

const BRIDGE_NAME = 'com.docker.network.bridge.name';

/** What anyone could change on a device: kind, alias, master, flags, MTU, addresses, ports (`ip -d -j addr`). */
function device(name: string) {
  const [link] = ipJson<
    { ifname: string; flags: string[]; mtu: number; master?: string; ifalias?: string; linkinfo?: { info_kind?: string }; addr_info: { local: string }[] }[]
  >(['-d', 'addr', 'show', 'dev', name]);
  return {
    kind: link.linkinfo?.info_kind,
    alias: link.ifalias,
    master: link.master,
    flags: link.flags,
    mtu: link.mtu,
    addresses: link.addr_info.map((a) => a.local),
    ports: bridgePorts(name),
  };
}

describeKernel("devices that are not this controller's", () => {
  const env = useControllers();
  /** Makes a device by hand (`ip link add NAME ...`), removed after the file. */
  const handMade = (name: string, ...spec: string[]) => {
    ip(['link', 'add', name, ...spec]);
    env.later(() => hostHasLink(name) && ip(['link', 'del', name]));
  };
  /** Someone else's bridge with one port (a veth pair) and an address. */
  const foreignBridge = (name: string, alias?: string) => {
    handMade(name, 'type', 'bridge');
    if (alias) ip(['link', 'set', name, 'alias', alias]);
    ip(['addr', 'add', '10.114.99.1/24', 'dev', name]);
    const port = uniqueName('vfor');
    handMade(port, 'type', 'veth', 'peer', 'name', `${port}p`);
    ip(['link', 'set', port, 'master', name]);
  };

  it.each([
    ['a bridge without a cnm-ts mark', 'cnmown1', () => foreignBridge('cnmown1'), '(bridge)'],
    ["another controller's bridge", 'cnmown2', () => foreignBridge('cnmown2', `cnm-ts:0badc0de:${'ab'.repeat(32)}`), 'alias cnm-ts:0badc0de:'],
    ['a link that is no bridge', 'cnmown3', () => handMade('cnmown3', 'type', 'veth', 'peer', 'name', 'cnmown3p'), '(veth)'],
  ])('refuses a network whose bridge name %s holds (CONFLICT naming it) and leaves the device alone', async (_what, name, make, kind) => {
    const { controller: c } = await env.make({ predefinedNetworks: false });
    make();
    const before = device(name);
    const err = await expectCode(c.newNetwork('bridge', 'taken', { driverOptions: { [BRIDGE_NAME]: name } }), 'CONFLICT');
    expect(err.message).toContain(name);
    expect(err.message).toContain(kind);
    expect(device(name)).toEqual(before);
    expect(c.networks()).toEqual([]);
  });

  it('refuses a default bridge that another controller made (CONFLICT with what to do); the other keeps it', async () => {
    const { controller: first } = await env.make({ defaultBridgeName: 'cnmown4' });
    const sandbox = await first.newSandbox(uniqueName('ctr'));
    const ep = await first.networkByName('bridge')!.createEndpoint('ep');
    await ep.join(sandbox);
    const before = device('cnmown4');
    const err = await expectCode(env.make({ defaultBridgeName: 'cnmown4' }), 'CONFLICT');
    expect(err.message).toMatch(/cnmown4 .*alias cnm-ts:.*defaultBridgeName.*predefinedNetworks: false/);
    expect(device('cnmown4')).toEqual(before);
    // Another name, or no predefined networks, works.
    const { controller: second } = await env.make({ defaultBridgeName: 'cnmown5' });
    expect(second.networkByName('bridge')!.info().ipam.allocated[0].pool).not.toBe(first.networkByName('bridge')!.info().ipam.allocated[0].pool);
    await second.stop({ removeAll: true });
    expect(device('cnmown4')).toEqual(before);
  });

  it.each([
    ['a bridge without a cnm-ts mark', 'cnmown6', () => foreignBridge('cnmown6')],
    ['a link that is no bridge', 'cnmown7', () => handMade('cnmown7', 'type', 'veth', 'peer', 'name', 'cnmown7p')],
  ])('keeps at restore a network whose bridge name %s took over, with a warning, and never touches the device', async (_what, name, take) => {
    const f = await env.make({ predefinedNetworks: false });
    const network = await f.controller.newNetwork('bridge', 'lost-bridge', {
      driverOptions: { [BRIDGE_NAME]: name },
      ipam: { config: [{ subnet: '10.114.1.0/24' }] },
    });
    const sandbox = await f.controller.newSandbox(uniqueName('ctr'));
    const ep = await network.createEndpoint('ep');
    await ep.join(sandbox);
    await f.controller.stop();
    ip(['link', 'del', name]);
    take();
    const before = device(name);

    const c = await restart(f);
    const report = c.restoreReport();
    expect(report.warnings).toEqual([{ file: expect.stringContaining(network.id), reason: expect.stringContaining(name) }]);
    // The endpoint's own veth, left by its deleted bridge, is removed as before.
    expect(report).toMatchObject({ networks: 1, lostEndpoints: [ep.id], orphans: [expect.stringMatching(/^veth/)] });
    expect(device(name)).toEqual(before);
    const kept = c.networkByName('lost-bridge')!;
    expect(kept.id).toBe(network.id);
    // It takes no joins, and its delete leaves the device alone.
    const restored = kept.endpointByName('ep')!;
    await expectCode(restored.join(c.sandboxById(sandbox.id)!), 'CONFLICT');
    expect(device(name)).toEqual(before);
    await restored.delete();
    await kept.delete();
    expect(device(name)).toEqual(before);
  });

  it("leaves alone, at network delete, a device that replaced the network's bridge while it ran", async () => {
    const { controller: c } = await env.make({ predefinedNetworks: false });
    const network = await c.newNetwork('bridge', 'replaced', { driverOptions: { [BRIDGE_NAME]: 'cnmown8' } });
    ip(['link', 'del', 'cnmown8']);
    foreignBridge('cnmown8');
    const before = device('cnmown8');
    await network.delete();
    expect(device('cnmown8')).toEqual(before);
    expect(c.networks()).toEqual([]);
  });

  it('still removes its own bridge at network delete', async () => {
    const { controller: c } = await env.make({ predefinedNetworks: false });
    const network = await c.newNetwork('bridge', 'own', { driverOptions: { [BRIDGE_NAME]: 'cnmown9' } });
    expect(hostHasLink('cnmown9')).toBe(true);
    await network.delete();
    expect(hostHasLink('cnmown9')).toBe(false);
  });
});
