// Gateway election on a fake kernel: the joined endpoint with the highest priority gives the
// sandbox its default route and publishes its ports; when it leaves, the next one takes over.
import type { NetworkController } from '../../../lib';
import { fakeWorld } from '../../helpers/fake-cnm';

async function twoNetworks(controller: NetworkController) {
  const web = await controller.newNetwork('bridge', 'web', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
  const db = await controller.newNetwork('bridge', 'db', { ipam: { config: [{ subnet: '10.8.0.0/24' }] } });
  const sandbox = await controller.newSandbox('c1');
  const e1 = await web.createEndpoint('e1', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 8080 }] });
  const e2 = await db.createEndpoint('e2', { portMapping: [{ proto: 'tcp', port: 5432, hostPort: 5432 }] });
  return { sandbox, e1, e2 };
}

test('the highest priority gives the default route and holds the published ports', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const { sandbox, e1, e2 } = await twoNetworks(controller);
  const defaultRoute = () => world.kernel.ns(sandbox.key).routes.filter((r) => r.destination === 'default');
  await e1.join(sandbox);
  expect(defaultRoute()).toMatchObject([{ gateway: '10.9.0.1', dev: 'eth0' }]);
  expect([...world.kernel.ports.keys()]).toEqual(['tcp 8080']);

  await e2.join(sandbox, { priority: 10 });
  expect(defaultRoute()).toMatchObject([{ gateway: '10.8.0.1', dev: 'eth1' }]);
  expect([...world.kernel.ports.keys()]).toEqual(['tcp 5432']);
  expect(e1.info().portMapping).toEqual([{ proto: 'tcp', port: 80, hostPort: 8080 }]);

  await e2.leave(sandbox);
  expect(defaultRoute()).toMatchObject([{ gateway: '10.9.0.1', dev: 'eth0' }]);
  expect([...world.kernel.ports.keys()]).toEqual(['tcp 8080']);
  expect(world.kernel.ns(sandbox.key).links.has('eth1')).toBe(false);
  await controller.stop({ removeAll: true });
});

test('a new gateway whose host port is taken goes on without its ports, and says so', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const { sandbox, e1, e2 } = await twoNetworks(controller);
  const unavailable: string[] = [];
  controller.on('endpoint:ports-unavailable', (endpoint) => unavailable.push(endpoint.name));
  await e2.join(sandbox, { priority: 10 });
  await e1.join(sandbox);
  world.kernel.ports.set('tcp 8080', 999); // someone else binds e1's host port meanwhile
  await e2.leave(sandbox);
  expect(unavailable).toEqual(['e1']);
  expect(e1.info().unpublished).toMatchObject({ portMapping: [{ proto: 'tcp', port: 80, hostPort: 8080 }] });
  expect(world.kernel.ns(sandbox.key).routes).toMatchObject([{ destination: 'default', gateway: '10.9.0.1' }]);
  world.kernel.ports.delete('tcp 8080');
  await controller.stop({ removeAll: true });
});
