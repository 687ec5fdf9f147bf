// Default address pools on a fake kernel: the host's ULA pool for IPv6 networks without a subnet,
// IPv6-only networks, the controller's defaultAddressPools, and pools across restarts.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Network, NetworkController } from '../../../lib';
import { readMachineId } from '../../../lib/host-id';
import { deriveUlaPool } from '../../../lib/ipam/ula';
import { fakeWorld, type FakeWorld } from '../../helpers/fake-cnm';

// Computed apart from cnm-ts (Python's hashlib and ipaddress): fd00::/8 plus the low 40 bits of
// the first 8 bytes of SHA-256("test-host"), as Docker's deriveULABaseNetwork does.
const HOST_ID = 'test-host';
const ULA = 'fd83:80a:15df';

const subnets = (network: Network) => network.info().ipam.allocated.map((p) => [p.pool, p.gateway]);
const bridgeAddresses = (world: FakeWorld, network: Network) => {
  const bridge = `br-${network.id.slice(0, 12)}`;
  return [...world.kernel.ns(undefined).addresses].filter((a) => a.startsWith(`${bridge} `)).map((a) => a.split(' ')[1]);
};
const start = (world: FakeWorld, extra = {}): Promise<NetworkController> => world.start({ predefinedNetworks: false, hostId: HOST_ID, ...extra });

test("the host's ULA /48 is Docker's: fd00::/8 and 40 bits of SHA-256 of the host id, split into /64s", () => {
  expect(deriveUlaPool(HOST_ID)).toEqual({ base: `${ULA}::/48`, size: 64 });
  expect(deriveUlaPool('3d1219c7c4c5404aaa1f6d2a48adfda4')).toEqual({ base: 'fd9e:c53f:6e7f::/48', size: 64 });
});

test('the machine id is read trimmed; a missing or empty file is no identity', async () => {
  const world = fakeWorld();
  const file = path.join(world.root, 'machine-id');
  expect(await readMachineId(file)).toBeNull();
  writeFileSync(file, '\n');
  expect(await readMachineId(file)).toBeNull();
  writeFileSync(file, 'abc123\n');
  expect(await readMachineId(file)).toBe('abc123');
});

test('enableIPv6 without an IPv6 subnet takes the next /64 of the ULA pool, on the bridge and in the container', async () => {
  const world = fakeWorld();
  const controller = await start(world);
  const first = await controller.newNetwork('bridge', 'n1', { enableIPv6: true });
  const second = await controller.newNetwork('bridge', 'n2', { enableIPv6: true, ipam: { config: [{ subnet: '10.60.0.0/24' }] } });
  expect(subnets(first)).toEqual([
    ['172.17.0.0/16', '172.17.0.1/16'],
    [`${ULA}::/64`, `${ULA}::1/64`],
  ]);
  expect(subnets(second)).toEqual([
    ['10.60.0.0/24', '10.60.0.1/24'],
    [`${ULA}:1::/64`, `${ULA}:1::1/64`],
  ]);
  expect(bridgeAddresses(world, second)).toEqual(['10.60.0.1/24', `${ULA}:1::1/64`]);
  const endpoint = await second.createEndpoint('e1');
  const sandbox = await controller.newSandbox('c1');
  await endpoint.join(sandbox);
  expect(endpoint.info().interface).toMatchObject({ address: '10.60.0.2/24', addressIPv6: `${ULA}:1::2/64` });
  expect([...world.kernel.ns(sandbox.key).addresses].sort()).toEqual(['eth0 10.60.0.2/24', `eth0 ${ULA}:1::2/64`]);
  await controller.stop({ removeAll: true });
});

test("a default pool skips the host's IPv6 routes and explicit subnets; an explicit subnet may not overlap a default one", async () => {
  const world = fakeWorld(['10.0.0.0/24', `${ULA}::/64`]);
  const controller = await start(world);
  await controller.newNetwork('bridge', 'explicit', { enableIPv6: true, ipam: { config: [{ subnet: `${ULA}:1::/64` }] } });
  const pooled = await controller.newNetwork('bridge', 'pooled', { enableIPv6: true });
  expect(subnets(pooled)[1]).toEqual([`${ULA}:2::/64`, `${ULA}:2::1/64`]);
  const before = world.files();
  await expect(controller.newNetwork('bridge', 'clash', { enableIPv6: true, ipam: { config: [{ subnet: `${ULA}:2::/80` }] } })).rejects.toMatchObject({
    code: 'CONFLICT',
    message: expect.stringContaining(`${ULA}:2::/64`),
  });
  expect(world.files()).toEqual(before);
  await controller.stop({ removeAll: true });
});

test('an IPv6-only network: no IPv4 pool, no IPv4 address on the bridge or in the container, an IPv6 default route', async () => {
  const world = fakeWorld();
  const controller = await start(world);
  const network = await controller.newNetwork('bridge', 'v6only', { enableIPv4: false, enableIPv6: true });
  expect(subnets(network)).toEqual([[`${ULA}::/64`, `${ULA}::1/64`]]);
  expect(network.info()).toMatchObject({ enableIPv4: false, enableIPv6: true });
  expect(network.inspect()).toMatchObject({ EnableIPv4: false, EnableIPv6: true, IPAM: { Config: [{ Subnet: `${ULA}::/64`, Gateway: `${ULA}::1` }] } });
  expect(bridgeAddresses(world, network)).toEqual([`${ULA}::1/64`]);
  const endpoint = await network.createEndpoint('e1');
  const sandbox = await controller.newSandbox('c1');
  await endpoint.join(sandbox);
  expect(endpoint.info()).toMatchObject({ interface: { address: null, addressIPv6: `${ULA}::2/64` }, gateway: null, gatewayIPv6: `${ULA}::1` });
  expect(world.kernel.link('eth0', sandbox.key).mac).toMatch(/^02:/);
  expect([...world.kernel.ns(sandbox.key).addresses]).toEqual([`eth0 ${ULA}::2/64`]);
  expect(world.kernel.ns(sandbox.key).routes).toEqual([expect.objectContaining({ destination: 'default', gateway: `${ULA}::1`, dev: 'eth0' })]);
  await expect(network.createEndpoint('e2', { ipv4Address: '172.17.0.9' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await controller.stop({ removeAll: true });
});

test('a network with no address family, or an IPv4 pool with enableIPv4 false, is refused and leaves nothing', async () => {
  const world = fakeWorld();
  const controller = await start(world);
  const before = { files: world.files(), kernel: world.kernel.snapshot() };
  await expect(controller.newNetwork('bridge', 'none', { enableIPv4: false })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: 'network none has no address family: enableIPv4 is false and enableIPv6 is not set',
  });
  await expect(controller.newNetwork('bridge', 'none2', { enableIPv4: false, enableIPv6: false })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(
    controller.newNetwork('bridge', 'v4pool', { enableIPv4: false, enableIPv6: true, ipam: { config: [{ subnet: '10.60.0.0/24' }] } }),
  ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: 'network v4pool has an IPv4 pool but enableIPv4 is false' });
  await expect(controller.newNetwork('bridge', 'bad', { enableIPv4: 'no' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  expect({ files: world.files(), kernel: world.kernel.snapshot() }).toEqual(before);
  await controller.stop();
});

test('defaultAddressPools replace the default pools of their family only', async () => {
  const world = fakeWorld();
  const both = await start(world, {
    defaultAddressPools: [
      { base: '10.10.0.0/16', size: 24 },
      { base: 'fd00:1::/56', size: 64 },
    ],
  });
  const a = await both.newNetwork('bridge', 'a', { enableIPv6: true });
  const b = await both.newNetwork('bridge', 'b', { enableIPv6: true });
  expect([subnets(a), subnets(b)].map((s) => s.map(([pool]) => pool))).toEqual([
    ['10.10.0.0/24', 'fd00:1::/64'],
    ['10.10.1.0/24', 'fd00:1:0:1::/64'],
  ]);
  await both.stop({ removeAll: true });
  const v4only = await start(world, { defaultAddressPools: [{ base: '10.10.0.0/16', size: 24 }] });
  expect(subnets(await v4only.newNetwork('bridge', 'c', { enableIPv6: true })).map(([pool]) => pool)).toEqual(['10.10.0.0/24', `${ULA}::/64`]);
  await v4only.stop({ removeAll: true });
  const v6only = await start(world, { defaultAddressPools: [{ base: 'fd00:1::/56', size: 64 }] });
  expect(subnets(await v6only.newNetwork('bridge', 'd', { enableIPv6: true })).map(([pool]) => pool)).toEqual(['172.17.0.0/16', 'fd00:1::/64']);
  await v6only.stop({ removeAll: true });
});

test('a pool of defaultAddressPools that is used up is EXHAUSTED, naming the family', async () => {
  const world = fakeWorld();
  const controller = await start(world, { defaultAddressPools: [{ base: 'fd00:2::/63', size: 64 }] });
  await controller.newNetwork('bridge', 'a', { enableIPv4: false, enableIPv6: true });
  await controller.newNetwork('bridge', 'b', { enableIPv4: false, enableIPv6: true });
  await expect(controller.newNetwork('bridge', 'c', { enableIPv4: false, enableIPv6: true })).rejects.toMatchObject({
    code: 'EXHAUSTED',
    message: expect.stringContaining('IPv6'),
  });
  await controller.stop({ removeAll: true });
});

test.each([
  ['not an array', { base: '10.0.0.0/8', size: 16 }, 'defaultAddressPools must be an array'],
  ['a bad CIDR', [{ base: '10.0.0/8', size: 16 }], 'defaultAddressPools[0].base'],
  ['host bits', [{ base: '10.1.0.0/8', size: 16 }], 'defaultAddressPools[0].base'],
  ['no base', [{ size: 16 }], 'defaultAddressPools[0].base'],
  ['a reserved range', [{ base: 'fe80::/10', size: 64 }], 'link-local'],
  [
    'a size below the base prefix',
    [{ base: '10.10.0.0/16', size: 8 }],
    'defaultAddressPools[0].size 8 is smaller than the prefix length of its base "10.10.0.0/16" (16)',
  ],
  ['an IPv4 size too large', [{ base: '10.10.0.0/16', size: 32 }], 'defaultAddressPools[0].size 32 is too large'],
  ['an IPv6 size too large', [{ base: 'fd00::/48', size: 127 }], 'defaultAddressPools[0].size 127 is too large'],
  ['a size beyond the address', [{ base: 'fd00::/48', size: 129 }], 'defaultAddressPools[0].size must be an integer from 0 to 128'],
  ['a size that is no integer', [{ base: '10.10.0.0/16', size: '24' }], 'defaultAddressPools[0].size must be an integer'],
  ['an unknown key', [{ base: '10.10.0.0/16', size: 24, gateway: '10.10.0.1' }], 'has no option "gateway"'],
])('defaultAddressPools with %s is INVALID_ARGUMENT', async (_why, pools, message) => {
  const world = fakeWorld();
  await expect(start(world, { defaultAddressPools: pools as never })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringContaining(message),
  });
});

test('hostId must be a non-empty string', async () => {
  const world = fakeWorld();
  for (const hostId of ['', '  ', 42]) {
    await expect(start(world, { hostId: hostId as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('hostId') });
  }
});

test('pools from the default pools survive a restart, also with another host id or other pools; no subnet is given twice', async () => {
  const world = fakeWorld();
  const controller = await start(world, { defaultAddressPools: [{ base: '10.10.0.0/16', size: 24 }] });
  const dual = await controller.newNetwork('bridge', 'dual', { enableIPv6: true });
  const v6 = await controller.newNetwork('bridge', 'v6', { enableIPv4: false, enableIPv6: true });
  const endpoint = await v6.createEndpoint('e1');
  const before = { dual: subnets(dual), v6: subnets(v6), address: endpoint.info().interface.addressIPv6 };
  await controller.stop();

  // Same options: everything as it was, and the next network takes the next subnets.
  const again = await start(world, { defaultAddressPools: [{ base: '10.10.0.0/16', size: 24 }] });
  const [dual2, v62] = ['dual', 'v6'].map((name) => again.networkByName(name)!);
  expect({ dual: subnets(dual2), v6: subnets(v62), address: v62.endpointByName('e1')!.info().interface.addressIPv6 }).toEqual(before);
  expect(v62.info().enableIPv4).toBe(false);
  expect((await v62.createEndpoint('e2')).info().interface.addressIPv6).toBe(`${ULA}:1::3/64`);
  const next = await again.newNetwork('bridge', 'next', { enableIPv6: true });
  expect(subnets(next).map(([pool]) => pool)).toEqual(['10.10.1.0/24', `${ULA}:2::/64`]);
  await again.stop();

  // Another identity and other pools: the old networks keep theirs, new ones avoid them.
  const moved = await start(world, {
    hostId: 'other-host',
    defaultAddressPools: [
      { base: '10.10.0.0/23', size: 24 },
      { base: `${ULA}::/62`, size: 64 },
    ],
  });
  expect(subnets(moved.networkByName('dual')!)).toEqual(before.dual);
  const last = await moved.newNetwork('bridge', 'last', { enableIPv6: true, ipam: { config: [{ subnet: '10.61.0.0/24' }] } });
  expect(subnets(last).map(([pool]) => pool)).toEqual(['10.61.0.0/24', `${ULA}:3::/64`]);
  await expect(moved.newNetwork('bridge', 'full', { enableIPv6: true })).rejects.toMatchObject({ code: 'EXHAUSTED' });
  const all = moved.networks().flatMap((n) => n.info().ipam.allocated.map((p) => p.pool));
  expect(new Set(all).size).toBe(all.length);
  await moved.stop({ removeAll: true });
});
