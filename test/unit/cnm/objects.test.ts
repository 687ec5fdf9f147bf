// Networks, endpoints and sandboxes on a fake kernel: what each call makes and removes.
import { fakeWorld, recordBatches } from '../../helpers/fake-cnm';

test('a bridge network: its bridge and gateway address come and go with it; a name or subnet in use is refused', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const network = await controller.newNetwork('bridge', 'web', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
  const bridge = `br-${network.id.slice(0, 12)}`;
  expect(world.kernel.link(bridge)).toMatchObject({ kind: 'bridge', up: true });
  expect(world.kernel.ns(undefined).addresses.has(`${bridge} 10.9.0.1/24`)).toBe(true);
  await expect(controller.newNetwork('bridge', 'web')).rejects.toMatchObject({ code: 'CONFLICT' });
  await expect(controller.newNetwork('bridge', 'other', { ipam: { config: [{ subnet: '10.9.0.128/25' }] } })).rejects.toMatchObject({ code: 'CONFLICT' });
  await network.delete();
  expect(world.kernel.ns(undefined).links.has(bridge)).toBe(false);
  expect(world.kernel.ns(undefined).addresses.has(`${bridge} 10.9.0.1/24`)).toBe(false);
  await controller.stop({ removeAll: true });
});

test('a namespace sandbox gets lo up and its files; delete removes the namespace and the veth with it', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const sandbox = await controller.newSandbox('c1', { hostname: 'web1', dns: ['10.0.0.9'] });
  expect(world.kernel.link('lo', sandbox.key).up).toBe(true);
  const files = world.files();
  const resolv = Object.entries(files).find(([name]) => name.startsWith('etc-netns/') && name.endsWith('/resolv.conf'))!;
  expect(resolv[1]).toBe('nameserver 10.0.0.9\nsearch host.example\n'); // the host's search domains
  const endpoint = await controller.networkByName('bridge')!.createEndpoint('e1');
  await endpoint.join(sandbox);
  const hostEnd = world.kernel.link('eth0', sandbox.key).peer!;
  expect(hostEnd.netns).toBe('');
  await sandbox.delete();
  expect(world.kernel.namespaces.has(sandbox.key)).toBe(false);
  expect([...world.kernel.ns(undefined).links.values()].some((l) => l.kind === 'veth')).toBe(false);
  expect(endpoint.info().sandboxId).toBeNull();
  await controller.stop({ removeAll: true });
});

test('host mode makes no namespace; container mode shares one, which outlives its owner until the last user goes', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const namespacesBefore = world.kernel.namespaces.size;
  const host = await controller.newSandbox('h1', { useDefaultSandbox: true });
  expect(world.kernel.namespaces.size).toBe(namespacesBefore);
  expect(host.mode).toBe('host');
  const owner = await controller.newSandbox('c1');
  const sharer = await controller.newSandbox('c2', { shareWith: owner });
  expect(sharer.key).toBe(owner.key);
  await expect(controller.newSandbox('c3', { shareWith: sharer })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  await owner.delete();
  expect(world.kernel.namespaces.has(owner.key)).toBe(true);
  await sharer.delete();
  expect(world.kernel.namespaces.has(owner.key)).toBe(false);
  await controller.stop({ removeAll: true });
});

test('the first join to a network with names opens the DNS server in its own trip: sockets, redirect and resolv.conf ride in the join', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const network = await controller.newNetwork('bridge', 'named');
  const sandbox = await controller.newSandbox('c1');
  const [first, second] = [await network.createEndpoint('e1'), await network.createEndpoint('e2')];
  const batches = recordBatches(world);
  await first.join(sandbox);
  expect(batches).toHaveLength(1);
  // The sockets with the redirect to them, resolv.conf (in the sandbox's folder and under /etc/netns), the record.
  expect(batches[0].slice(-4)).toEqual(['dnsSockets', 'writeFiles', 'writeFiles', 'writeFiles']);
  const resolv = Object.entries(world.files()).find(([name]) => name.endsWith(`/${sandbox.id}/resolv.conf`))![1];
  expect(resolv).toContain('nameserver 127.0.0.11');
  batches.length = 0;
  await second.join(sandbox);
  expect(batches).toHaveLength(1);
  expect(batches[0]).not.toContain('dnsSockets');
  await controller.stop({ removeAll: true });
});

test('a join of a sandbox with a hostname is one trip too: hosts lists the new address under the hostname, in join order', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const network = await controller.newNetwork('bridge', 'named', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
  const other = await controller.newNetwork('bridge', 'other', { ipam: { config: [{ subnet: '10.8.0.0/24' }] } });
  const sandbox = await controller.newSandbox('c1', { hostname: 'web1' });
  const [first, second] = [await network.createEndpoint('e1'), await other.createEndpoint('e2')];
  const batches = recordBatches(world);
  await first.join(sandbox);
  await second.join(sandbox);
  expect(batches).toHaveLength(2);
  // The first join also opens the DNS server: its sockets, then hosts and resolv.conf in each folder, then the record.
  expect(batches[0].slice(-4)).toEqual(['dnsSockets', 'writeFiles', 'writeFiles', 'writeFiles']);
  expect(batches[1].slice(-3)).toEqual(['writeFiles', 'writeFiles', 'writeFiles']);
  const files = world.files();
  const hosts = (folder: string) => Object.entries(files).find(([name]) => name.startsWith(folder) && name.endsWith('/hosts'))![1];
  for (const folder of [`run/${controller.owner}/sandboxes/${sandbox.id}/`, 'etc-netns/']) {
    expect(
      hosts(folder)
        .split('\n')
        .filter((line) => line.endsWith('web1')),
    ).toEqual(['10.9.0.2\tweb1', '10.8.0.2\tweb1']);
  }
  expect(Object.entries(files).find(([name]) => name.endsWith(`/${sandbox.id}/resolv.conf`))![1]).toContain('nameserver 127.0.0.11');
  await controller.stop({ removeAll: true });
});

test('a second sandbox for one container is refused and makes nothing', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  await controller.newSandbox('c1');
  const logged = world.kernel.log.length;
  await expect(controller.newSandbox('c1')).rejects.toMatchObject({ code: 'CONFLICT' });
  expect(world.kernel.log.length).toBe(logged);
  await controller.stop({ removeAll: true });
});

test('newSandbox, createEndpoint and a join without published ports are one trip to the kernel each', async () => {
  const world = fakeWorld();
  const controller = await world.start();
  const batches = recordBatches(world);
  const sandbox = await controller.newSandbox('c1');
  const endpoint = await controller.networkByName('bridge')!.createEndpoint('e1');
  await endpoint.join(sandbox);
  expect(batches.map((ops) => ops.at(-1))).toEqual(['writeFiles', 'writeFiles', 'writeFiles']); // each ends with its record
  const record = Object.entries(world.files()).find(([name]) => name === `run/${controller.owner}/store/sandboxes/${sandbox.id}.json`)![1];
  expect(JSON.parse(record).attachments).toMatchObject([{ endpointId: endpoint.id, ifname: 'eth0', info: { gateway: '172.17.0.1' }, published: null }]);
  await controller.stop({ removeAll: true });
});
