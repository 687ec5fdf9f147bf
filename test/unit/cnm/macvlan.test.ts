// The macvlan driver on a fake kernel: what a join makes inside the sandbox, what a leave and a
// sandbox delete remove, the option checks, and the reconciliation at a restart.
import { fakeWorld, type FakeWorld } from '../../helpers/fake-cnm';

const PARENT = 'eth9';
const options = (extra: Record<string, string> = {}) => ({
  driverOptions: { parent: PARENT, ...extra },
  ipam: { config: [{ subnet: '192.168.77.0/24', gateway: '192.168.77.1' }] },
});

async function withParent(): Promise<FakeWorld> {
  const world = fakeWorld();
  world.kernel.handlersForTests.linkAdd({ op: 'linkAdd', link: { kind: 'bridge', name: PARENT } });
  return world;
}

test('a join makes the macvlan inside the sandbox, marked, with MAC, address and route; leave and sandbox delete remove it', async () => {
  const world = await withParent();
  const controller = await world.start({ predefinedNetworks: false });
  const network = await controller.newNetwork('macvlan', 'mv', options());
  const endpoint = await network.createEndpoint('e1');
  const sandbox = await controller.newSandbox('c1');
  await endpoint.join(sandbox);
  expect(world.kernel.link('eth0', sandbox.key)).toMatchObject({
    kind: 'macvlan',
    up: true,
    mac: '02:42:c0:a8:4d:02',
    alias: `cnm-ts:${controller.owner}:macvlan:${endpoint.id}`,
  });
  expect(world.kernel.ns(sandbox.key).addresses.has('eth0 192.168.77.2/24')).toBe(true);
  expect(world.kernel.ns(sandbox.key).routes).toEqual([expect.objectContaining({ destination: 'default', gateway: '192.168.77.1', dev: 'eth0' })]);
  await endpoint.leave(sandbox);
  expect(world.kernel.ns(sandbox.key).links.has('eth0')).toBe(false);
  await endpoint.join(sandbox);
  const deletes = world.kernel.log.length;
  await sandbox.delete();
  // Deleted before the namespace goes: the parent would refuse the same MAC until the kernel's cleanup.
  expect(world.kernel.log.slice(deletes)).toContainEqual({ op: 'linkDelete', netns: sandbox.key, name: 'eth0' });
  await controller.stop({ removeAll: true });
});

test('an IPv6-only macvlan network: the container has its IPv6 address and an IPv6 default route, no IPv4', async () => {
  const world = await withParent();
  const controller = await world.start({ predefinedNetworks: false });
  const network = await controller.newNetwork('macvlan', 'mv6', {
    driverOptions: { parent: PARENT },
    enableIPv4: false,
    enableIPv6: true,
    ipam: { config: [{ subnet: 'fd77::/64', gateway: 'fd77::1' }] },
  });
  const endpoint = await network.createEndpoint('e1');
  const sandbox = await controller.newSandbox('c1');
  await endpoint.join(sandbox);
  expect([...world.kernel.ns(sandbox.key).addresses]).toEqual(['eth0 fd77::2/64']);
  expect(world.kernel.ns(sandbox.key).routes).toEqual([expect.objectContaining({ destination: 'default', gateway: 'fd77::1', dev: 'eth0' })]);
  await expect(controller.newNetwork('macvlan', 'none', { driverOptions: { parent: 'eth8' }, ipam: { driver: 'null' } })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringContaining('needs an IPv4 or IPv6 pool'),
  });
  await controller.stop({ removeAll: true });
});

test('options: a parent is needed (no dummy), must exist (no 8021q), is used by one network; passthru takes one endpoint', async () => {
  const world = await withParent();
  const controller = await world.start({ predefinedNetworks: false });
  await expect(controller.newNetwork('macvlan', 'a', { ...options(), driverOptions: {} })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringContaining('CONFIG_DUMMY'),
  });
  await expect(controller.newNetwork('macvlan', 'a', options({ parent: 'eth9.30' }))).rejects.toMatchObject({
    code: 'NOT_FOUND',
    message: expect.stringContaining('CONFIG_VLAN_8021Q'),
  });
  await expect(controller.newNetwork('macvlan', 'a', options({ macvlan_mode: 'fast' }))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(controller.newNetwork('macvlan', 'a', options({ mode: 'bridge' }))).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringContaining('mode'),
  });
  await expect(controller.newNetwork('macvlan', 'a', { ...options(), ipam: { driver: 'null' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  const passthru = await controller.newNetwork('macvlan', 'p', options({ macvlan_mode: 'passthru' }));
  const elsewhere = { ...options(), ipam: { config: [{ subnet: '192.168.78.0/24' }] } };
  await expect(controller.newNetwork('macvlan', 'b', elsewhere)).rejects.toMatchObject({
    code: 'CONFLICT',
    message: `network p is already using parent interface ${PARENT}`,
  });
  const only = await passthru.createEndpoint('only');
  expect(only.info().interface.macAddress).toBeNull();
  await expect(passthru.createEndpoint('second')).rejects.toMatchObject({ code: 'CONFLICT' });
  expect(controller.networks().map((n) => n.name)).toEqual(['p']);
  await controller.stop({ removeAll: true });
});

test('a restart: a joined link is kept, a vanished one is lost, a marked link no join has is removed, an unmarked one stays', async () => {
  const world = await withParent();
  const controller = await world.start({ predefinedNetworks: false });
  const network = await controller.newNetwork('macvlan', 'mv', options());
  const [s1, s2, s3] = [await controller.newSandbox('c1'), await controller.newSandbox('c2'), await controller.newSandbox('c3')];
  const e1 = await network.createEndpoint('e1');
  const e2 = await network.createEndpoint('e2');
  await e1.join(s1);
  await e2.join(s2);
  await controller.stop();
  const { linkAdd, linkSet, linkDelete } = world.kernel.handlersForTests;
  linkDelete({ op: 'linkDelete', netns: s2.key, name: 'eth0' });
  linkAdd({ op: 'linkAdd', link: { kind: 'macvlan', name: 'eth1', parent: PARENT, netns: s3.key } });
  linkSet({ op: 'linkSet', netns: s3.key, name: 'eth1', change: { alias: `cnm-ts:${controller.owner}:macvlan:${'e'.repeat(64)}` } });
  linkAdd({ op: 'linkAdd', link: { kind: 'macvlan', name: 'eth2', parent: PARENT, netns: s3.key } });
  const next = await world.start({ predefinedNetworks: false });
  expect(next.restoreReport()).toMatchObject({ lostEndpoints: [e2.id], orphans: [`eth1 in ${s3.key}`], errors: [] });
  expect(world.kernel.ns(s1.key).links.has('eth0')).toBe(true);
  expect([...world.kernel.ns(s3.key).links.keys()].sort()).toEqual(['eth2', 'lo']);
  expect(
    next
      .sandboxById(s1.id)!
      .endpoints()
      .map((e) => e.name),
  ).toEqual(['e1']);
  await next.stop({ removeAll: true });
});

test("a restart lists the sandboxes' links only when there is a macvlan network, and each sandbox's once", async () => {
  const world = await withParent();
  const controller = await world.start({ predefinedNetworks: false });
  const bridge = await controller.newNetwork('bridge', 'br', { ipam: { config: [{ subnet: '10.77.0.0/24' }] } });
  for (const name of ['c1', 'c2', 'c3']) await (await bridge.createEndpoint(name)).join(await controller.newSandbox(name));
  await controller.stop();
  const listingsInSandboxes = async () => {
    const from = world.kernel.log.length;
    const next = await world.start({ predefinedNetworks: false });
    const listed = world.kernel.log.slice(from).filter((op) => op.op === 'linkList' && op.netns !== undefined);
    return { next, listed: listed.length };
  };
  const first = await listingsInSandboxes();
  expect(first.listed).toBe(0);
  await first.next.newNetwork('macvlan', 'mv', options());
  await first.next.stop();
  const second = await listingsInSandboxes();
  expect(second.listed).toBe(3);
  await second.next.stop({ removeAll: true });
});
