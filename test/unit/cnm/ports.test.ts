// Published ports on a fake kernel: what `info()` says before and after the host port is bound.
// The assignments to `number` are the type test: `npm run typecheck` fails if EndpointInfo no
// longer types the bound ports' host port as a number (or types the asked-for one as bound).
import { readFileSync, writeFileSync } from 'node:fs';
import type { EndpointInfo, StateWarning } from '../../../lib';
import { fakeWorld } from '../../helpers/fake-cnm';

/** The host port of the first binding, which the type says is bound. */
function boundHostPort(info: EndpointInfo): number {
  if (!info.portsPublished) throw new Error('the ports are not published');
  const hostPort: number = info.portMapping[0].hostPort;
  const hostIP: string = info.portMapping[0].hostIP;
  expect(typeof hostIP).toBe('string');
  return hostPort;
}

async function ephemeralPort() {
  const world = fakeWorld();
  const controller = await world.start();
  const network = await controller.newNetwork('bridge', 'web', { ipam: { config: [{ subnet: '10.9.0.0/24' }] } });
  const sandbox = await controller.newSandbox('c1');
  const endpoint = await network.createEndpoint('e1', { portMapping: [{ proto: 'tcp', port: 80 }] });
  return { world, controller, sandbox, endpoint };
}

test('an ephemeral host port is a number once joined: the one the kernel bound', async () => {
  const { world, controller, sandbox, endpoint } = await ephemeralPort();
  const asked = endpoint.info();
  expect(asked).toMatchObject({ portsPublished: false, portMapping: [{ proto: 'tcp', port: 80 }] });
  if (asked.portsPublished) throw new Error('published before the join');
  // @ts-expect-error: a port as asked for may have no host port
  const unbound: number = asked.portMapping[0].hostPort;
  expect(unbound).toBeUndefined();

  await endpoint.join(sandbox);
  const hostPort = boundHostPort(endpoint.info());
  expect(Number.isInteger(hostPort)).toBe(true);
  expect([...world.kernel.ports.keys()]).toEqual([`tcp ${hostPort}`]);
  expect(endpoint.info().portMapping).toEqual([{ proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort }]);

  await endpoint.leave(sandbox);
  expect(endpoint.info()).toMatchObject({ portsPublished: false, portMapping: [{ proto: 'tcp', port: 80 }] });
  await controller.stop({ removeAll: true });
});

test('a restart holds the very port picked before, from the sandbox record', async () => {
  const { world, controller, sandbox, endpoint } = await ephemeralPort();
  await endpoint.join(sandbox);
  const hostPort = boundHostPort(endpoint.info());
  await controller.stop();
  const record = JSON.parse(readFileSync(controller.store.file('sandbox', sandbox.id), 'utf8'));
  expect(record.attachments[0].published).toEqual([{ proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort }]);

  const next = await world.start();
  const again = next.networkByName('web')!.endpointByName('e1')!;
  expect(boundHostPort(again.info())).toBe(hostPort);
  expect([...world.kernel.ports.keys()]).toEqual([`tcp ${hostPort}`]);
  await next.stop({ removeAll: true });
});

test('a sandbox record whose published port was never bound is not loaded', async () => {
  const { world, controller, sandbox, endpoint } = await ephemeralPort();
  await endpoint.join(sandbox);
  await controller.stop();
  const file = controller.store.file('sandbox', sandbox.id);
  const record = JSON.parse(readFileSync(file, 'utf8'));
  record.attachments[0].published = [{ proto: 'tcp', port: 80 }];
  writeFileSync(file, JSON.stringify(record));

  const warnings: StateWarning[] = [];
  const next = await world.start({ listeners: { 'state:warning': (w: StateWarning) => warnings.push(w) } });
  expect(warnings).toEqual([expect.objectContaining({ file, reason: expect.stringContaining('attachments') })]);
  expect(next.sandboxes()).toEqual([]);
  await next.stop({ removeAll: true });
});

describe('a dual-stack network (enableIPv6)', () => {
  async function dualStack(
    portMapping: { proto: 'tcp'; port: number; hostPort?: number; hostPortEnd?: number; hostIP?: string }[],
    driverOptions: Record<string, string> = {},
  ) {
    const world = fakeWorld();
    const controller = await world.start();
    const ipam = { config: [{ subnet: '10.9.0.0/24' }, { subnet: 'fd00:9::/64' }] };
    const network = await controller.newNetwork('bridge', 'web', { enableIPv6: true, ipam, driverOptions });
    const sandbox = await controller.newSandbox('c1');
    const endpoint = await network.createEndpoint('e1', { portMapping });
    return { world, controller, sandbox, endpoint };
  }

  /** The published-port map elements the firewall changes added, by map. */
  function added(world: ReturnType<typeof fakeWorld>): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const op of world.kernel.log) {
      if (op.op !== 'nftTransaction') continue;
      for (const c of op.commands) if (c.cmd === 'addElements' && c.set.includes('ports')) counts[c.set] = (counts[c.set] ?? 0) + c.elements.length;
    }
    return counts;
  }

  test('a port without hostIP is published on 0.0.0.0 and [::], with the same picked host port', async () => {
    const { world, controller, sandbox, endpoint } = await dualStack([{ proto: 'tcp', port: 80 }]);
    await endpoint.join(sandbox);
    const hostPort = boundHostPort(endpoint.info());
    expect(endpoint.info().portMapping).toEqual([
      { proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort },
      { proto: 'tcp', port: 80, hostIP: '::', hostPort },
    ]);
    expect([...world.kernel.ports.keys()].sort()).toEqual([`tcp ${hostPort}`, `tcp6 ${hostPort}`]);
    expect(added(world)).toEqual({ anyports: 1, anyports6: 1 });
    await controller.stop({ removeAll: true });
  });

  test('a range takes the first port free on both families; a fixed port taken on one is a CONFLICT holding nothing', async () => {
    const { world, controller, sandbox, endpoint } = await dualStack([{ proto: 'tcp', port: 80, hostPort: 18000, hostPortEnd: 18002 }]);
    world.kernel.ports.set('tcp6 18000', 999);
    await endpoint.join(sandbox);
    expect(endpoint.info().portMapping).toEqual([
      { proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 18001 },
      { proto: 'tcp', port: 80, hostIP: '::', hostPort: 18001 },
    ]);
    await endpoint.leave(sandbox);

    const fixed = await endpoint.network.createEndpoint('e2', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18000 }] });
    await expect(fixed.join(sandbox)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect([...world.kernel.ports.keys()]).toEqual(['tcp6 18000']);
    world.kernel.ports.delete('tcp6 18000');
    await controller.stop({ removeAll: true });
  });

  test('an IPv6 hostIP publishes on IPv6 only; on an IPv4-only network it publishes nothing', async () => {
    const { world, controller, sandbox, endpoint } = await dualStack([
      { proto: 'tcp', port: 80, hostPort: 18010, hostIP: '2001:db8::10' },
      { proto: 'tcp', port: 81, hostPort: 18011, hostIP: '10.0.0.1' },
    ]);
    await endpoint.join(sandbox);
    expect(endpoint.info().portMapping).toEqual([
      { proto: 'tcp', port: 80, hostIP: '2001:db8::10', hostPort: 18010 },
      { proto: 'tcp', port: 81, hostIP: '10.0.0.1', hostPort: 18011 },
    ]);
    expect(added(world)).toEqual({ hostports6: 1, hostports: 1 });

    const v4only = await controller.newNetwork('bridge', 'v4', { ipam: { config: [{ subnet: '10.8.0.0/24' }] } });
    const other = await controller.newSandbox('c2');
    const e = await v4only.createEndpoint('e', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18012, hostIP: '::' }] });
    await e.join(other);
    expect(e.info()).toMatchObject({ portsPublished: false });
    expect(world.kernel.ports.has('tcp6 18012')).toBe(false);
    await controller.stop({ removeAll: true });
  });

  test('a routed family holds no host port and opens the container port; a restart loads it as it was', async () => {
    const routed = { 'com.docker.network.bridge.gateway_mode_ipv6': 'routed' };
    const { world, controller, sandbox, endpoint } = await dualStack([{ proto: 'tcp', port: 80, hostPort: 18020 }], routed);
    await endpoint.join(sandbox);
    const bound = [
      { proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 18020 },
      { proto: 'tcp', port: 80, hostIP: '::', hostPort: 0 },
    ];
    expect(endpoint.info().portMapping).toEqual(bound);
    expect([...world.kernel.ports.keys()]).toEqual(['tcp 18020']);
    expect(added(world)).toEqual({ anyports: 1, routedports6: 1 });
    await controller.stop();

    const next = await world.start();
    expect(next.networkByName('web')!.endpointByName('e1')!.info().portMapping).toEqual(bound);
    expect([...world.kernel.ports.keys()]).toEqual(['tcp 18020']);
    await next.stop({ removeAll: true });
  });
});
