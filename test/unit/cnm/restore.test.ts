// Restart and crash repair on a fake kernel: what the next controller finds, keeps, repairs and removes.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { NetworkController, StateWarning } from '../../../lib';
import { ownerGroup } from '../../../lib/drivers/bridge/ownership';
import { fakeWorld, type FakeWorld } from '../../helpers/fake-cnm';

async function joinedContainer(world: FakeWorld) {
  const controller = await world.start();
  const network = await controller.newNetwork('bridge', 'web', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
  const sandbox = await controller.newSandbox('c1');
  const endpoint = await network.createEndpoint('e1', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 8080 }] });
  await endpoint.join(sandbox);
  return { controller, sandbox, endpoint };
}

const joins = (c: NetworkController) => c.sandboxes().map((s) => [s.containerId, s.endpoints().map((e) => e.name)]);

test('a restart keeps every object and the kernel as they were, and holds the published ports again', async () => {
  const world = fakeWorld();
  const { controller } = await joinedContainer(world);
  const before = world.kernel.snapshot();
  await controller.stop();
  expect(world.kernel.ports.size).toBe(0); // the sockets went with the controller
  const next = await world.start();
  expect(next.restoreReport()).toMatchObject({ networks: 4, endpoints: 1, sandboxes: 1, removedSandboxes: [], lostEndpoints: [], orphans: [], errors: [] });
  expect(joins(next)).toEqual([['c1', ['e1']]]);
  expect(world.kernel.snapshot()).toEqual(before);
  await next.stop({ removeAll: true });
});

test('an endpoint whose interface vanished is kept, no longer joined', async () => {
  const world = fakeWorld();
  const { controller, sandbox, endpoint } = await joinedContainer(world);
  await controller.stop();
  world.kernel.handlersForTests.linkDelete({ op: 'linkDelete', name: 'eth0', netns: sandbox.key });
  const next = await world.start();
  expect(next.restoreReport()).toMatchObject({ sandboxes: 1, lostEndpoints: [endpoint.id] });
  expect(joins(next)).toEqual([['c1', []]]);
  expect(next.networkByName('web')!.endpointByName('e1')!.info().sandboxId).toBeNull();
  await next.stop({ removeAll: true });
});

test('a sandbox whose namespace is gone is removed with its files and record; its endpoint stays', async () => {
  const world = fakeWorld();
  const { controller, sandbox } = await joinedContainer(world);
  await controller.stop();
  world.kernel.handlersForTests.netnsDelete({ op: 'netnsDelete', path: sandbox.key });
  const next = await world.start();
  expect(next.restoreReport()).toMatchObject({ sandboxes: 0, removedSandboxes: [sandbox.id] });
  expect(Object.keys(world.files()).filter((f) => f.includes(sandbox.id) || f.startsWith('etc-netns/'))).toEqual([]);
  expect(
    next
      .networkByName('web')!
      .endpoints()
      .map((e) => e.name),
  ).toEqual(['e1']);
  await next.stop({ removeAll: true });
});

test("a bridge with this controller's mark but no record is removed; a foreign one is left alone", async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const mark = controller.owner;
  await controller.stop();
  world.kernel.handlersForTests.linkAdd({ op: 'linkAdd', link: { kind: 'bridge', name: 'br-orphan' } });
  world.kernel.handlersForTests.linkSet({ op: 'linkSet', name: 'br-orphan', change: { alias: `cnm-ts:${mark}:${'f'.repeat(64)}` } });
  world.kernel.handlersForTests.linkAdd({ op: 'linkAdd', link: { kind: 'bridge', name: 'br-theirs' } });
  world.kernel.handlersForTests.linkSet({ op: 'linkSet', name: 'br-theirs', change: { alias: `cnm-ts:0badc0de:${'f'.repeat(64)}` } });
  const next = await world.start();
  expect(next.restoreReport().orphans).toEqual(['br-orphan']);
  expect(world.kernel.ns(undefined).links.has('br-orphan')).toBe(false);
  expect(world.kernel.ns(undefined).links.has('br-theirs')).toBe(true);
  await next.stop({ removeAll: true });
  world.kernel.handlersForTests.linkDelete({ op: 'linkDelete', name: 'br-theirs' });
});

test('with liveRestore off every sandbox goes at start, its endpoints stay', async () => {
  const world = fakeWorld();
  const { controller, sandbox } = await joinedContainer(world);
  await controller.stop();
  const next = await world.start({ liveRestore: false });
  expect(next.restoreReport()).toMatchObject({ sandboxes: 0, removedSandboxes: [sandbox.id] });
  expect(world.kernel.namespaces.has(sandbox.key)).toBe(false);
  expect(world.kernel.ns(undefined).links.size).toBe(3); // lo and the two bridges: no veth left
  expect(next.networkByName('web')!.endpointByName('e1')!.info().sandboxId).toBeNull();
  await next.stop({ removeAll: true });
});

test("veths: each carries the controller's mark; restore removes only marked strays, never an unmarked port or an unreadable sandbox's veth", async () => {
  const world = fakeWorld();
  const { controller, sandbox, endpoint } = await joinedContainer(world);
  const mark = controller.owner;
  const bridge = `br-${controller.networkByName('web')!.id.slice(0, 12)}`;
  const host = () => world.kernel.ns(undefined).links;
  const ports = () =>
    [...host().values()]
      .filter((l) => l.master === bridge)
      .map((l) => l.name)
      .sort();
  const [veth] = ports();
  expect(host().get(veth)!.alias).toBe(`cnm-ts:${mark}:${endpoint.id}:${sandbox.id}`);
  await controller.stop();
  const add = (name: string, alias: string | null) => {
    world.kernel.handlersForTests.linkAdd({ op: 'linkAdd', link: { kind: 'veth', name, master: bridge, peer: { name: `${name}p` } } });
    if (alias) world.kernel.handlersForTests.linkSet({ op: 'linkSet', name, change: { alias } });
  };
  add('theirs', null);
  add('theirs2', `cnm-ts:0badc0de:${'1'.repeat(64)}:${'2'.repeat(64)}`);
  add('stray', `cnm-ts:${mark}:${'3'.repeat(64)}:${'4'.repeat(64)}`);
  // Killed between its creation (in the controller's link group) and its alias.
  world.kernel.handlersForTests.linkAdd({
    op: 'linkAdd',
    link: { kind: 'veth', name: 'killed', master: bridge, linkGroup: ownerGroup(mark), peer: { name: 'killedp' } },
  });

  // The sandbox's record is unreadable: its endpoint comes back not joined, its veth stays.
  const record = path.join(world.options.runDir!, controller.owner, 'store', 'sandboxes', `${sandbox.id}.json`);
  const readable = readFileSync(record, 'utf8');
  writeFileSync(record, 'not json');
  const warnings: StateWarning[] = [];
  const next = await world.start({ listeners: { 'state:warning': (w: StateWarning) => warnings.push(w) } });
  expect(next.restoreReport()).toMatchObject({ orphans: ['stray', 'killed'], lostEndpoints: [], errors: [] });
  expect(ports()).toEqual(['theirs', 'theirs2', veth].sort());
  const networkId = next.networkByName('web')!.id;
  expect(warnings).toEqual([
    { file: expect.stringContaining(sandbox.id), reason: expect.any(String) },
    { file: expect.stringContaining(networkId), reason: expect.stringMatching(/^veth theirs on .* left alone$/) },
    { file: expect.stringContaining(networkId), reason: expect.stringMatching(/^veth theirs2 on .* left alone$/) },
  ]);
  expect(next.networkByName('web')!.endpointByName('e1')!.info().sandboxId).toBeNull();

  // Readable again: the join comes back with its veth.
  await next.stop();
  writeFileSync(record, readable);
  const third = await world.start();
  expect(joins(third)).toEqual([['c1', ['e1']]]);
  expect(ports()).toEqual(['theirs', 'theirs2', veth].sort());
  await third.stop({ removeAll: true });
  for (const name of ['theirs', 'theirs2']) world.kernel.handlersForTests.linkDelete({ op: 'linkDelete', name });
});

test('an unmarked veth that a join names (made before veths were marked) is adopted and marked', async () => {
  const world = fakeWorld();
  const { controller, sandbox, endpoint } = await joinedContainer(world);
  const veth = [...world.kernel.ns(undefined).links.values()].find((l) => l.kind === 'veth')!.name;
  await controller.stop();
  world.kernel.handlersForTests.linkSet({ op: 'linkSet', name: veth, change: { alias: '' } });
  expect(world.kernel.ns(undefined).links.get(veth)!.alias).toBeNull();
  const next = await world.start();
  expect(next.restoreReport()).toMatchObject({ orphans: [], lostEndpoints: [], errors: [], warnings: [] });
  expect(world.kernel.ns(undefined).links.get(veth)!.alias).toBe(`cnm-ts:${next.owner}:${endpoint.id}:${sandbox.id}`);
  expect(joins(next)).toEqual([['c1', ['e1']]]);
  await next.stop({ removeAll: true });
});
