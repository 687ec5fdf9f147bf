// IPAM as a plug-in point, on a fake kernel: registered IPAMs, the null IPAM, errors that name the
// IPAM, misbehaving IPAMs that cannot corrupt the controller, and a registered IPAM's own records
// across a restart.
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { NetworkController } from '../../../lib';
import { fakeWorld, type FakeWorld } from '../../helpers/fake-cnm';
import { TestIpam } from '../../helpers/test-ipam';

const on = (driver: string, subnet = '10.50.0.0/24') => ({ ipam: { driver, config: [{ subnet }] } });

/** The controller's view of a network's endpoints, and its record files, for before / after comparisons. */
function state(world: FakeWorld, controller: NetworkController) {
  return {
    endpoints: controller.networks().flatMap((n) => n.endpoints().map((e) => [n.name, e.name, e.info().interface.address])),
    files: Object.keys(world.files()).sort(),
  };
}

test('a registered IPAM gives the pool, gateway and addresses, and gets them back when they go', async () => {
  const world = fakeWorld();
  const ipam = new TestIpam();
  const controller = await world.start({ predefinedNetworks: false });
  controller.registerIpam('corp', ipam);
  const network = await controller.newNetwork('bridge', 'n1', on('corp'));
  expect(network.info().ipam).toMatchObject({ driver: 'corp', allocated: [{ pool: '10.50.0.0/24', gateway: '10.50.0.1/24', addressSpace: 'TestLocal' }] });
  const e1 = await network.createEndpoint('e1');
  const e2 = await network.createEndpoint('e2', { ipv4Address: '10.50.0.77' });
  expect([e1.info().interface.address, e2.info().interface.address]).toEqual(['10.50.0.2/24', '10.50.0.77/24']);
  expect(ipam.taken('test:10.50.0.0/24')).toEqual(['10.50.0.1', '10.50.0.2', '10.50.0.77']);
  await e1.delete();
  await e2.delete();
  await network.delete();
  expect(ipam.poolIds).toEqual([]);
  expect(network.inspect().IPAM.Driver).toBe('corp');
  await controller.stop();
});

test("registerIpam refuses a taken name ('default', 'null' or registered) and an object that is not an IPAM", async () => {
  const world = fakeWorld();
  const controller = await world.start({ predefinedNetworks: false });
  controller.registerIpam('corp', new TestIpam());
  for (const name of ['default', 'null', 'corp'])
    expect(() => controller.registerIpam(name, new TestIpam())).toThrow(expect.objectContaining({ code: 'CONFLICT' }));
  expect(() => controller.registerIpam('half', { requestPool: () => undefined } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  await expect(controller.newNetwork('bridge', 'n1', on('nope'))).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringContaining('nope') });
  await controller.stop();
});

test('the null IPAM: the whole address space, no gateway, no addresses; the bridge gets no address and no masquerade', async () => {
  const world = fakeWorld();
  const controller = await world.start({ predefinedNetworks: false });
  const network = await controller.newNetwork('bridge', 'l2', { ipam: { driver: 'null' } });
  expect(network.info().ipam.allocated).toEqual([{ addressSpace: 'null', pool: '0.0.0.0/0', gateway: '', auxAddresses: {} }]);
  const bridge = `br-${network.id.slice(0, 12)}`;
  expect([...world.kernel.ns(undefined).addresses].filter((a) => a.startsWith(bridge))).toEqual([]);
  const endpoint = await network.createEndpoint('e1');
  expect(endpoint.info().interface.address).toBeNull();
  const sandbox = await controller.newSandbox('c1');
  await endpoint.join(sandbox);
  expect(world.kernel.link('eth0', sandbox.key).up).toBe(true);
  expect(world.kernel.ns(sandbox.key).routes).toEqual([]);
  await expect(network.createEndpoint('e2', { ipv4Address: '10.1.1.1' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(controller.newNetwork('bridge', 'l2b', { ipam: { driver: 'null', config: [{ subnet: '10.7.0.0/24' }] } })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringContaining('null IPAM'),
  });
  await controller.stop({ removeAll: true });
});

test("a registered IPAM's errors carry its name: its own code kept, anything else IPAM_FAILED", async () => {
  const world = fakeWorld();
  const ipam = new TestIpam();
  const controller = await world.start({ predefinedNetworks: false });
  controller.registerIpam('corp', ipam);
  const network = await controller.newNetwork('bridge', 'n1', on('corp', '10.50.0.0/30'));
  await network.createEndpoint('e1');
  await expect(network.createEndpoint('e2')).rejects.toMatchObject({
    code: 'EXHAUSTED',
    message: expect.stringContaining('(IPAM corp requestAddress: pool 10.50.0.0/30 is full'),
  });
  ipam.fail('requestPool', 'throw');
  await expect(controller.newNetwork('bridge', 'n2', on('corp', '10.51.0.0/24'))).rejects.toMatchObject({
    code: 'IPAM_FAILED',
    message: 'IPAM corp requestPool: the backend is down',
  });
  await controller.stop({ removeAll: true });
});

describe('a misbehaving IPAM cannot corrupt the controller', () => {
  let world: FakeWorld;
  let ipam: TestIpam;
  let controller: NetworkController;
  beforeEach(async () => {
    world = fakeWorld();
    ipam = new TestIpam();
    controller = await world.start({ predefinedNetworks: false, ipamTimeoutMs: 50 });
    controller.registerIpam('corp', ipam);
    await (await controller.newNetwork('bridge', 'n1', on('corp'))).createEndpoint('e1');
  });
  afterEach(() => controller.stop({ removeAll: true }));

  it.each([
    ['an address outside the pool', 'outside', /^IPAM corp requestAddress\(.*\) returned "203\.0\.113\.9\/24": it is not in pool 10\.50\.0\.0\/24$/],
    ['an address the network holds (its gateway)', 'gateway', /returned "10\.50\.0\.1\/24": 10\.50\.0\.1 is already in use on the network$/],
    ['a throw', 'throw', /^IPAM corp requestAddress: the backend is down$/],
    ['no answer within the timeout', 'hang', /^IPAM corp did not answer requestAddress within 50 ms$/],
  ] as const)('%s: the endpoint is refused (IPAM_FAILED), nothing is recorded, the IPAM holds what it held', async (_, fault, message) => {
    const before = state(world, controller);
    const held = ipam.taken('test:10.50.0.0/24');
    ipam.fail('requestAddress', fault);
    await expect(controller.networkByName('n1')!.createEndpoint('e2')).rejects.toMatchObject({ code: 'IPAM_FAILED', message: expect.stringMatching(message) });
    expect(state(world, controller)).toEqual(before);
    expect(ipam.taken('test:10.50.0.0/24')).toEqual(held);
    // The endpoint's name is free again and the next request goes through.
    expect((await controller.networkByName('n1')!.createEndpoint('e2')).info().interface.address).toBe('10.50.0.3/24');
  });

  it('one address given to two endpoints created at once goes to one of them only', async () => {
    ipam.fail('requestAddress', 'same', 2);
    const network = controller.networkByName('n1')!;
    const results = await Promise.allSettled([network.createEndpoint('x'), network.createEndpoint('y')]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({
      reason: { code: 'IPAM_FAILED', message: expect.stringContaining('10.50.0.9 is already in use') },
    });
    expect(network.endpoints().map((e) => e.info().interface.address)).toEqual(['10.50.0.2/24', '10.50.0.9/24']);
  });

  it('an answer after the timeout is given back to the IPAM', async () => {
    ipam.fail('requestAddress', 'late');
    await expect(controller.networkByName('n1')!.createEndpoint('e2')).rejects.toMatchObject({ code: 'IPAM_FAILED' });
    ipam.answerLate();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ipam.calls.slice(-1)).toEqual(['releaseAddress test:10.50.0.0/24 10.50.0.3/24']);
    expect(ipam.taken('test:10.50.0.0/24')).toEqual(['10.50.0.1', '10.50.0.2']);
  });

  it('a pool it does not give as asked is refused and released; the network is not made', async () => {
    const before = state(world, controller);
    ipam.fail('requestPool', 'hang');
    await expect(controller.newNetwork('bridge', 'n2', on('corp', '10.51.0.0/24'))).rejects.toMatchObject({ code: 'IPAM_FAILED' });
    expect(state(world, controller)).toEqual(before);
    expect(controller.networkByName('n2')).toBeUndefined();
    // The network lock was not held forever: the next create goes through.
    await controller.newNetwork('bridge', 'n3', on('corp', '10.52.0.0/24'));
  });
});

test("a registered IPAM's state survives a restart through its own records: nothing is requested again", async () => {
  const world = fakeWorld();
  const file = path.join(world.root, 'corp-ipam.json');
  const first = await world.start({ predefinedNetworks: false, ipams: { corp: new TestIpam(file) } });
  const network = await first.newNetwork('bridge', 'n1', on('corp'));
  await network.createEndpoint('e1');
  await network.createEndpoint('e2');
  await first.stop();

  const again = new TestIpam(file);
  const next = await world.start({ predefinedNetworks: false, ipams: { corp: again } });
  expect(next.restoreReport()).toMatchObject({ networks: 1, endpoints: 2, warnings: [] });
  expect(again.calls).toEqual([]);
  const e3 = await next.networkByName('n1')!.createEndpoint('e3');
  expect(e3.info().interface.address).toBe('10.50.0.4/24');
  await next.stop({ removeAll: true });
  expect(again.poolIds).toEqual([]);
});

test('an IPAM that asks for replay gets every pool and address again at a restart', async () => {
  const world = fakeWorld();
  const first = await world.start({ predefinedNetworks: false, ipams: { corp: new TestIpam(undefined, true) } });
  await (await first.newNetwork('bridge', 'n1', on('corp'))).createEndpoint('e1');
  await first.stop();
  const again = new TestIpam(undefined, true);
  const next = await world.start({ predefinedNetworks: false, ipams: { corp: again } });
  expect(again.calls).toEqual(['requestPool 10.50.0.0/24', 'requestAddress test:10.50.0.0/24 10.50.0.1/24', 'requestAddress test:10.50.0.0/24 10.50.0.2/24']);
  expect(again.taken('test:10.50.0.0/24')).toEqual(['10.50.0.1', '10.50.0.2']);
  await next.stop({ removeAll: true });
});

test('a network whose IPAM is not given at a restart is skipped with a warning; its record and bridge stay', async () => {
  const world = fakeWorld();
  const first = await world.start({ predefinedNetworks: false, ipams: { corp: new TestIpam() } });
  const network = await first.newNetwork('bridge', 'n1', on('corp'));
  await first.stop();
  const next = await world.start({ predefinedNetworks: false });
  expect(next.restoreReport().warnings).toEqual([expect.objectContaining({ reason: expect.stringContaining('no IPAM driver corp') })]);
  expect(next.networkByName('n1')).toBeUndefined();
  expect(world.kernel.ns(undefined).links.has(`br-${network.id.slice(0, 12)}`)).toBe(true);
  expect(Object.keys(world.files()).some((f) => f.includes(network.id))).toBe(true);
  await next.stop();
});

test('endpoints take addresses from any of the network pools, ipRange and auxAddresses per pool', async () => {
  const world = fakeWorld();
  const controller = await world.start({ predefinedNetworks: false });
  const network = await controller.newNetwork('bridge', 'multi', {
    ipam: {
      config: [
        { subnet: '10.60.0.0/29', auxAddresses: { printer: '10.60.0.2' } },
        { subnet: '10.61.0.0/24', ipRange: '10.61.0.128/30' },
      ],
    },
  });
  const addresses = [];
  for (let i = 0; i < 6; i++) addresses.push((await network.createEndpoint(`e${i}`)).info().interface.address);
  // 10.60.0.0/29: .1 gateway, .2 aux, .3-.6 endpoints; then the second pool's range 10.61.0.128/30,
  // whose first address is its gateway (the gateway comes from the range, as in Docker).
  expect(addresses).toEqual(['10.60.0.3/29', '10.60.0.4/29', '10.60.0.5/29', '10.60.0.6/29', '10.61.0.129/24', '10.61.0.130/24']);
  expect(network.info().ipam.allocated[1].gateway).toBe('10.61.0.128/24');
  const pinned = await network.createEndpoint('pinned', { ipv4Address: '10.61.0.7' });
  expect(pinned.info().interface.address).toBe('10.61.0.7/24');
  await expect(network.createEndpoint('elsewhere', { ipv4Address: '10.62.0.7' })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringContaining('does not belong to any IPv4 subnet of network multi'),
  });
  // An endpoint of the second pool routes through that pool's gateway (on the bridge too).
  const sandbox = await controller.newSandbox('c1');
  await network.endpointByName('e4')!.join(sandbox);
  expect(world.kernel.ns(sandbox.key).routes).toEqual([expect.objectContaining({ destination: 'default', gateway: '10.61.0.128', dev: 'eth0' })]);
  expect(network.endpointByName('e4')!.info().gateway).toBe('10.61.0.128');
  await network.createEndpoint('e6');
  await expect(network.createEndpoint('e7')).rejects.toMatchObject({ code: 'EXHAUSTED', message: expect.stringContaining('every pool') });
  await controller.stop({ removeAll: true });
});

test("the default IPAM hands out the lowest free address, as Docker's for local networks; ipam.options serial goes round", async () => {
  const world = fakeWorld();
  const controller = await world.start({ predefinedNetworks: false });
  const firstFree = await controller.newNetwork('bridge', 'ff', { ipam: { config: [{ subnet: '10.70.0.0/24' }] } });
  const serial = await controller.newNetwork('bridge', 'rr', {
    ipam: { config: [{ subnet: '10.71.0.0/24' }], options: { 'com.docker.network.ipam.serial': 'true' } },
  });
  for (const network of [firstFree, serial]) {
    await network.createEndpoint('a');
    await (await network.createEndpoint('b')).delete();
  }
  expect((await firstFree.createEndpoint('c')).info().interface.address).toBe('10.70.0.3/24');
  expect((await serial.createEndpoint('c')).info().interface.address).toBe('10.71.0.4/24');
  expect(serial.inspect().IPAM.Options).toEqual({ 'com.docker.network.ipam.serial': 'true' });
  await controller.stop({ removeAll: true });
});

test('a restart without replay never restores two endpoints with one address: the second is dropped with a warning', async () => {
  const world = fakeWorld();
  const first = await world.start({ predefinedNetworks: false, ipams: { corp: new TestIpam() } });
  const network = await first.newNetwork('bridge', 'n1', on('corp'));
  const [a, b] = [await network.createEndpoint('a'), await network.createEndpoint('b')];
  const held = a.info().interface.address!;
  await first.stop();
  // A record that says b holds a's address (edited by hand, or a bug).
  const file = Object.keys(world.files()).find((f) => f.endsWith(`${b.id}.json`))!;
  const record = JSON.parse(world.files()[file]) as { iface: { address: string } };
  record.iface.address = held;
  writeFileSync(path.join(world.root, file), JSON.stringify(record));
  const next = await world.start({ predefinedNetworks: false, ipams: { corp: new TestIpam() } });
  expect(next.restoreReport().warnings).toEqual([expect.objectContaining({ reason: expect.stringContaining('holds 10.50.0.2') })]);
  expect(next.networkByName('n1')!.endpoints()).toHaveLength(1);
  await next.stop();
});
