// Stopped means stopped: after stop() every method of the controller and of its objects rejects
// with STOPPED and changes nothing; a second stop() does nothing; stop() resolves only once every
// operation under way (joins, leaves, deletes too) has finished.
import { NetworkController, type Endpoint, type Network, type Sandbox } from '../../../lib';
import { expectCode, fileTree, nsAddrs, restart, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, snapshot, uniqueName } from '../../helpers/kernel';

/** What a stopped controller must not change: the kernel (per `ip`), its state and /etc/netns files. */
const outside = (f: CnmFixture) => ({ kernel: snapshot(), state: fileTree(f.stateDir), run: fileTree(f.runFolder), etc: fileTree(f.etcNetnsDir) });

/** Per sandbox of `c`: "containerId: eth0 eth1 ..." from `ip -j addr` inside its namespace. */
const interfaces = (c: NetworkController) =>
  c
    .sandboxes()
    .map(
      (s) =>
        `${s.containerId}: ${nsAddrs(s.key)
          .map((l) => l.ifname)
          .filter((n) => n !== 'lo')
          .sort()
          .join(' ')}`,
    )
    .sort();

describeKernel('a stopped controller', () => {
  const env = useControllers();
  let f: CnmFixture;
  let network: Network;
  let joined: Endpoint;
  let idle: Endpoint;
  let sandbox: Sandbox;

  beforeAll(async () => {
    f = await env.make({ predefinedNetworks: false });
    network = await f.controller.newNetwork('bridge', 'life', { ipam: { config: [{ subnet: '10.111.1.0/24' }] } });
    [joined, idle] = [await network.createEndpoint('joined'), await network.createEndpoint('idle')];
    sandbox = await f.controller.newSandbox(uniqueName('ctr'));
    await joined.join(sandbox);
  });

  it('rejects every call of the controller and of its objects with STOPPED and changes nothing; a second stop() does nothing', async () => {
    const old = f.controller;
    await old.stop();
    const before = outside(f);
    const calls: [string, () => unknown][] = [
      ['newNetwork', () => old.newNetwork('bridge', 'late')],
      ['newSandbox', () => old.newSandbox('late')],
      ['networks', () => old.networks()],
      ['walkNetworks', () => old.walkNetworks(() => true)],
      ['networkByName', () => old.networkByName('life')],
      ['networkById', () => old.networkById(network.id)],
      ['sandboxes', () => old.sandboxes()],
      ['walkSandboxes', () => old.walkSandboxes(() => true)],
      ['sandboxById', () => old.sandboxById(sandbox.id)],
      ['sandboxDestroy', () => old.sandboxDestroy(sandbox.id)],
      ['registerDriver', () => old.registerDriver('late', network.driver)],
      ['network.createEndpoint', () => network.createEndpoint('late')],
      ['network.delete', () => network.delete()],
      ['network.endpoints', () => network.endpoints()],
      ['network.walkEndpoints', () => network.walkEndpoints(() => true)],
      ['network.endpointByName', () => network.endpointByName('idle')],
      ['network.endpointById', () => network.endpointById(idle.id)],
      ['network.info', () => network.info()],
      ['network.inspect', () => network.inspect()],
      ['endpoint.join', () => idle.join(sandbox)],
      ['endpoint.leave', () => joined.leave(sandbox)],
      ['endpoint.delete', () => idle.delete()],
      ['endpoint.delete force', () => joined.delete({ force: true })],
      ['endpoint.info', () => joined.info()],
      ['sandbox.endpoints', () => sandbox.endpoints()],
      ['sandbox.statistics', () => sandbox.statistics()],
      ['sandbox.refresh', () => sandbox.refresh({ hostname: 'late' })],
      ['sandbox.delete', () => sandbox.delete()],
    ];
    const codes: Record<string, string> = {};
    for (const [name, call] of calls) {
      try {
        await call();
        codes[name] = 'resolved';
      } catch (err) {
        codes[name] = (err as { code?: string }).code ?? String(err);
      }
    }
    expect(codes).toEqual(Object.fromEntries(calls.map(([name]) => [name, 'STOPPED'])));
    await expectCode(old.newSandbox('late'), 'STOPPED');
    // A second stop, even with removeAll, resolves and removes nothing.
    await old.stop({ removeAll: true });
    expect(outside(f)).toEqual(before);
    // The next controller on the directory finds it all as it was.
    const next = await NetworkController.create(f.options);
    f.controller = next;
    expect(next.restoreReport()).toMatchObject({ networks: 1, endpoints: 2, sandboxes: 1, removedSandboxes: [], lostEndpoints: [], orphans: [], warnings: [] });
    expect(interfaces(next)).toEqual([`${sandbox.containerId}: eth0`]);
  });

  it('does not touch, with stop({ removeAll }), what a newer controller on its directory holds', async () => {
    const old = f.controller;
    const newer = await restart(f);
    const before = outside(f);
    await old.stop({ removeAll: true });
    expect(outside(f)).toEqual(before);
    expect(interfaces(newer)).toEqual([`${sandbox.containerId}: eth0`]);
    expect(
      newer
        .networkByName('life')!
        .endpoints()
        .map((e) => e.name)
        .sort(),
    ).toEqual(['idle', 'joined']);
  });
});

describeKernel('stop() with operations under way', () => {
  const env = useControllers();

  it('resolves only after every join, leave and delete under way has finished, leaving a consistent state', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const c = f.controller;
    const network = await c.newNetwork('bridge', 'busy', { ipam: { config: [{ subnet: '10.111.2.0/24' }] } });
    const COUNT = 6;
    const sandboxes = await Promise.all(Array.from({ length: COUNT }, () => c.newSandbox(uniqueName('ctr'))));
    const endpoints = await Promise.all(sandboxes.map((_, i) => network.createEndpoint(`ep${i}`)));
    // Half of them joined before: those leave or go with their sandbox; the others join.
    for (let i = 0; i < COUNT / 2; i++) await endpoints[i].join(sandboxes[i]);
    const finished: string[] = [];
    const op = (name: string, p: Promise<unknown>) =>
      p.then(
        () => finished.push(name),
        (err: Error) => finished.push(`${name} failed: ${err.message}`),
      );
    const ops = [
      op('leave 0', endpoints[0].leave(sandboxes[0])),
      op('delete sandbox 1', sandboxes[1].delete()),
      op('delete endpoint 2', endpoints[2].delete({ force: true })),
      ...endpoints.slice(COUNT / 2).map((e, i) => op(`join ${i + COUNT / 2}`, e.join(sandboxes[i + COUNT / 2]))),
    ];
    await c.stop();
    // Every operation had finished when stop() resolved, and each of them succeeded.
    expect(finished.sort()).toEqual(['delete endpoint 2', 'delete sandbox 1', 'join 3', 'join 4', 'join 5', 'leave 0']);
    await Promise.all(ops);
    const next = await NetworkController.create(f.options);
    f.controller = next;
    expect(next.restoreReport()).toMatchObject({ removedSandboxes: [], lostEndpoints: [], orphans: [], warnings: [], errors: [] });
    const expected = [0, 2, 3, 4, 5].map((i) => `${sandboxes[i].containerId}: ${i >= COUNT / 2 ? 'eth0' : ''}`);
    expect(interfaces(next)).toEqual(expected.sort());
    expect(
      next
        .networkByName('busy')!
        .endpoints()
        .map((e) => e.name)
        .sort(),
    ).toEqual(['ep0', 'ep1', 'ep3', 'ep4', 'ep5']);
  });
});
