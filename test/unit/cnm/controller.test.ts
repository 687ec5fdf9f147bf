// The controller's start, lock and stop on a fake kernel: no root needed.
import { FakeKernel } from '../../helpers/fake-kernel';
import { fakeWorld } from '../../helpers/fake-cnm';
import { NetworkController } from '../../../lib';

const hostOf = (world: ReturnType<typeof fakeWorld>) => world.kernel.ns(undefined);

test('a start makes the predefined networks, the default bridge marked as its own', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  expect(controller.networks().map((n) => `${n.name}:${n.type}`)).toEqual(['none:null', 'host:host', 'bridge:bridge']);
  const bridge = world.kernel.link('cnm0');
  expect(bridge).toMatchObject({ kind: 'bridge', up: true });
  expect(bridge.alias).toMatch(new RegExp(`^cnm-ts:${controller.owner}:${controller.networkByName('bridge')!.id}$`));
  expect([...hostOf(world).addresses]).toEqual(['cnm0 172.17.0.1/16']);
  expect(Object.keys(world.files()).filter((f) => f.startsWith('state/store/networks/'))).toHaveLength(3);
  await controller.stop({ removeAll: true });
});

test('the default bridge skips a predefined pool the host routes to', async () => {
  const world = fakeWorld(['172.17.0.0/16', '172.18.5.0/24']);
  const controller = await world.start();
  expect([...hostOf(world).addresses]).toEqual(['cnm0 172.19.0.1/16']);
  await controller.stop({ removeAll: true });
});

test('one controller per state directory: the second is refused until the first stops', async () => {
  const world = fakeWorld();
  const first = await world.start();
  await expect(world.start()).rejects.toMatchObject({ code: 'STATE_LOCKED' });
  await first.stop();
  const second = await world.start();
  await second.stop({ removeAll: true });
});

test('stop({ removeAll }) leaves the kernel and the folders as they were before the start', async () => {
  const world = fakeWorld();
  const before = world.kernel.snapshot();
  const controller = await world.start();
  const network = await controller.newNetwork('bridge', 'web', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
  const sandbox = await controller.newSandbox('c1');
  const shared = await controller.newSandbox('c2', { shareWith: sandbox });
  const endpoint = await network.createEndpoint('e1', { portMapping: [{ proto: 'tcp', port: 80 }] });
  await endpoint.join(sandbox);
  expect(world.kernel.ports.size).toBe(1);
  await controller.stop({ removeAll: true });
  expect(world.kernel.snapshot()).toEqual(before);
  expect(Object.keys(world.files())).toEqual([]);
  expect(shared.mode).toBe('container');
});

test('a plain stop leaves the kernel objects and refuses every later call with STOPPED', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const sandbox = await controller.newSandbox('c1');
  await controller.stop();
  expect(world.kernel.namespaces.has(sandbox.key)).toBe(true);
  expect(world.kernel.link('cnm0').up).toBe(true);
  expect(() => controller.networks()).toThrow(expect.objectContaining({ code: 'STOPPED' }));
  await expect(controller.newSandbox('c2')).rejects.toMatchObject({ code: 'STOPPED' });
  await expect(sandbox.delete()).rejects.toMatchObject({ code: 'STOPPED' });
});

test('a kernel without the methods a controller needs is refused before anything is made', async () => {
  const world = fakeWorld();
  await expect(NetworkController.create({ ...world.options, kernel: { batch: () => Promise.resolve([]) } as never })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
    message: expect.stringContaining('waitLinksGone'),
  });
  expect(world.kernel.log).toEqual([]);
});

test('a kernel that refuses the privileges stops the start before any file or object is made', async () => {
  const world = fakeWorld();
  const kernel = new FakeKernel();
  kernel.checkPrivileges = () => Promise.reject(Object.assign(new Error('no CAP_NET_ADMIN'), { code: 'PERMISSION' }));
  await expect(NetworkController.create({ ...world.options, kernel })).rejects.toMatchObject({ code: 'PERMISSION' });
  expect(kernel.log).toEqual([]);
  expect(Object.keys(world.files())).toEqual([]);
});
