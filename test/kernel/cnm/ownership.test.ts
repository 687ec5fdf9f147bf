// cnm-ts never modifies or deletes a device it did not make: a bridge name held by someone else's
// device (a bridge without this controller's mark, another controller's default bridge, a
// non-bridge link) is a CONFLICT at create, and at restore and delete the device is left alone; so
// is a port of its bridge that it did not make, and the veth of a sandbox whose record it could not
// read.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { StateWarning } from '../../../lib';
import { linkAdd } from '../../../lib/kernel';
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

  it('marks its veths; at restore removes only its own strays, never a port it did not make or the veth of an unreadable sandbox', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const owner = f.controller.owner;
    const network = await f.controller.newNetwork('bridge', 'marked', { ipam: { config: [{ subnet: '10.114.2.0/24' }] } });
    const bridge = `br-${network.id.slice(0, 12)}`;
    const joined = async (name: string) => {
      const sandbox = await f.controller.newSandbox(uniqueName('ctr'));
      const endpoint = await network.createEndpoint(name);
      await endpoint.join(sandbox);
      return { sandbox, endpoint, veth: bridgePorts(bridge).find((p) => !known.includes(p))! };
    };
    const known: string[] = [];
    const kept = await joined('kept');
    known.push(kept.veth);
    const unread = await joined('unread');
    known.push(unread.veth);
    // Each host end carries the controller's mark, the endpoint and the sandbox (`ip -d link`).
    expect(device(kept.veth).alias).toBe(`cnm-ts:${owner}:${kept.endpoint.id}:${kept.sandbox.id}`);
    expect(device(unread.veth).alias).toBe(`cnm-ts:${owner}:${unread.endpoint.id}:${unread.sandbox.id}`);
    // And, from its creation on, the controller's link group.
    const group = String((parseInt(owner, 16) | 0x80000000) >>> 0);
    // (ip prints it as a signed number.)
    expect(Number(ipJson<{ group: string }[]>(['link', 'show', kept.veth])[0].group) >>> 0).toBe(Number(group));
    await f.controller.stop();

    // Someone's own port on the bridge (no mark), and a stray with the mark (as a crash between
    // making a veth and writing the sandbox record leaves) for an endpoint no record has.
    const theirs = uniqueName('vtheirs');
    handMade(theirs, 'type', 'veth', 'peer', 'name', `${theirs}p`);
    ip(['link', 'set', theirs, 'master', bridge]);
    const stray = uniqueName('vstray');
    handMade(stray, 'type', 'veth', 'peer', 'name', `${stray}p`);
    const newId = () => randomBytes(32).toString('hex');
    ip(['link', 'set', stray, 'master', bridge, 'alias', `cnm-ts:${owner}:${newId()}:${newId()}`]);
    // A veth killed between its creation (in the controller's link group) and its alias; made with
    // the library's linkAdd, as iproute2 takes no group above 2^31 - 1.
    const killed = uniqueName('vkilled');
    await linkAdd({ kind: 'veth', name: killed, master: bridge, linkGroup: Number(group), peer: { name: `${killed}p` } });
    env.later(() => hostHasLink(killed) && ip(['link', 'del', killed]));
    // The second sandbox's record cannot be read: its endpoint comes back not joined.
    const record = path.join(f.runFolder, 'store', 'sandboxes', `${unread.sandbox.id}.json`);
    const readable = readFileSync(record, 'utf8');
    writeFileSync(record, '{ not json');
    const theirsBefore = device(theirs);

    const warnings: StateWarning[] = [];
    const c = await restart(f, { listeners: { 'state:warning': (w: StateWarning) => warnings.push(w) } });
    expect(c.restoreReport().orphans.sort()).toEqual([stray, killed].sort());
    expect(hostHasLink(stray)).toBe(false);
    expect(hostHasLink(killed)).toBe(false);
    expect(bridgePorts(bridge)).toEqual([kept.veth, theirs, unread.veth].sort());
    expect(device(theirs)).toEqual(theirsBefore);
    expect(warnings).toContainEqual({ file: expect.stringContaining(network.id), reason: expect.stringMatching(new RegExp(`veth ${theirs} .* left alone`)) });
    expect(c.networkByName('marked')!.endpointByName('unread')!.info().sandboxId).toBeNull();
    expect(
      c
        .sandboxById(kept.sandbox.id)!
        .endpoints()
        .map((e) => e.name),
    ).toEqual(['kept']);

    // Once the record is readable again, the sandbox and its join come back, veth included.
    writeFileSync(record, readable);
    const again = await restart(f);
    expect(
      again
        .sandboxById(unread.sandbox.id)!
        .endpoints()
        .map((e) => e.name),
    ).toEqual(['unread']);
    expect(bridgePorts(bridge)).toEqual([kept.veth, theirs, unread.veth].sort());
  });

  it('adopts at restore a veth made before veths were marked (no alias) that its endpoint names, and marks it', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const network = await f.controller.newNetwork('bridge', 'older', { ipam: { config: [{ subnet: '10.114.3.0/24' }] } });
    const sandbox = await f.controller.newSandbox(uniqueName('ctr'));
    const endpoint = await network.createEndpoint('ep');
    await endpoint.join(sandbox);
    const bridge = `br-${network.id.slice(0, 12)}`;
    const [veth] = bridgePorts(bridge);
    await f.controller.stop();
    // As an older cnm-ts left it: no alias.
    ip(['link', 'set', veth, 'alias', '']);
    expect(device(veth).alias).toBeUndefined();

    const c = await restart(f);
    expect(c.restoreReport()).toMatchObject({ orphans: [], lostEndpoints: [], errors: [], warnings: [] });
    expect(bridgePorts(bridge)).toEqual([veth]);
    expect(device(veth).alias).toBe(`cnm-ts:${f.controller.owner}:${endpoint.id}:${sandbox.id}`);
    expect(
      c
        .sandboxById(sandbox.id)!
        .endpoints()
        .map((e) => e.name),
    ).toEqual(['ep']);
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
