// Every step of every CNM operation can fail: with the n-th kernel or disk operation made to fail
// (failOperation), for n = 1, 2, ... until the operation succeeds, each failure must leave the
// kernel, the state files, IPAM and the objects exactly as they were before the call.
import { readFileSync, writeFileSync } from 'node:fs';
import { NetlinkError, type Endpoint, type Network, type Sandbox } from '../../../lib';
import { clearFault, failOperation, faultPending } from '../../../lib/testing';
import { bridgePorts, fileTree, nsRoutes, restart, useControllers, world, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, ipJson, othersCanBind, rejection } from '../../helpers/kernel';
import { nftRuleset } from '../../helpers/nft';
import { timeLimit } from '../../helpers/timing';

const FORWARDING = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'];

/** world() plus what it leaves out: link details, routes in every sandbox, IPAM's allocations. */
function fullWorld(f: CnmFixture) {
  const c = f.controller;
  const links = ipJson<{ ifname: string; flags: string[]; master?: string; ifalias?: string; mtu: number }[]>(['-d', 'link', 'show'])
    .map((l) => `${l.ifname} ${l.flags.includes('UP') ? 'up' : 'down'} mtu ${l.mtu} master ${l.master ?? '-'} alias ${l.ifalias ?? '-'}`)
    .sort();
  const routes = c
    .sandboxes()
    .filter((s) => s.mode === 'namespace')
    .flatMap((s) => [...nsRoutes(s.key), ...nsRoutes(s.key, 6)].map((r) => `${s.containerId}: ${r.dst} ${r.gateway ?? '-'} ${r.dev}`))
    .sort();
  // The round-robin cursor moves on with every request, as in libnetwork; allocations must not.
  const ipam = c.ipam.toJSON().pools.map(({ next: _next, ...pool }) => pool);
  const endpoints = c.networks().flatMap((n) => n.endpoints().map((e) => JSON.stringify(e.info())));
  // Table and rule handles are numbered anew when an undo makes the table again; the rules are what counts.
  const firewall = JSON.stringify(nftRuleset()).replace(/"handle":\d+,?/g, '');
  return { ...world(f), links, routes, ipam, endpoints, files: fileTree(f.stateDir), run: fileTree(f.runFolder), firewall };
}

/**
 * Runs `operation` with its 1st, 2nd, ... native step failing until it succeeds; expects each
 * failure to be the injected one and to change nothing. Returns how many steps failed in turn.
 */
async function everyStepFails(f: CnmFixture, operation: () => Promise<unknown>, alsoCheck = () => {}): Promise<number> {
  for (let n = 1; n < 50; n++) {
    const before = fullWorld(f);
    failOperation(n);
    let failure: Error | null = null;
    try {
      await operation();
    } catch (err) {
      failure = err as Error;
    }
    if (faultPending()) {
      clearFault();
      if (failure) throw failure;
      return n - 1;
    }
    expect(failure).toBeInstanceOf(NetlinkError);
    expect((failure as NetlinkError).syscall).toBe('injected');
    expect(fullWorld(f)).toEqual(before);
    alsoCheck();
  }
  throw new Error('the operation never succeeded');
}

// Every step of a call checks the whole world through ip and nft: minutes on a busy machine.
jest.setTimeout(timeLimit(300000));

describeKernel('a failure at any step', () => {
  const env = useControllers();
  let f: CnmFixture;
  let red: Network;
  let blue: Network;
  let sandbox: Sandbox;
  let a: Endpoint;
  let b: Endpoint;
  let c: Endpoint;

  afterEach(() => clearFault());

  beforeAll(async () => {
    // Forwarding is the host's own here, so that no step changes it: a newNetwork that fails after
    // its driver made the network leaves the forwarding it switched on until stop({ removeAll })
    // (see test/unit/cnm/forwarding.test.ts for what a failed step does to it).
    for (const key of FORWARDING) {
      const found = readFileSync(key, 'utf8');
      env.later(() => writeFileSync(key, found));
      writeFileSync(key, '1');
    }
    f = await env.make({ predefinedNetworks: false });
    // One sandbox first, so that the folders every later sandbox shares exist already.
    await (await f.controller.newSandbox('warm-up')).delete();
  });

  it('of newNetwork leaves nothing (bridge, alias, addresses, record, pools)', async () => {
    const steps = await everyStepFails(f, async () => {
      red = await f.controller.newNetwork('bridge', 'red', { ipam: { config: [{ subnet: '10.171.0.0/24', auxAddresses: { x: '10.171.0.9' } }] } });
    });
    expect(steps).toBeGreaterThanOrEqual(5);
    // With an IPv6 pool too, and a subnet picked from the predefined pools (a route read first).
    expect(
      await everyStepFails(f, async () => {
        blue = await f.controller.newNetwork('bridge', 'blue', { enableIPv6: true, ipam: { config: [{}, { subnet: 'fd71::/64' }] } });
      }),
    ).toBeGreaterThanOrEqual(6);
  });

  it('of newSandbox leaves no namespace, files or record', async () => {
    // The files in two folders, the namespace (lo up, the resolver's sockets opened in it), the record.
    expect(
      await everyStepFails(f, async () => {
        sandbox = await f.controller.newSandbox('box', { hostname: 'box' });
      }),
    ).toBe(4);
  });

  it('of createEndpoint leaves no address taken and no record', async () => {
    expect(
      await everyStepFails(f, async () => {
        a = await red.createEndpoint('a');
      }),
    ).toBe(1);
    b = await blue.createEndpoint('b');
    c = await red.createEndpoint('c');
  });

  it('of join leaves no veth, address, route, hosts entry or record: as gateway, beside one, and taking over', async () => {
    expect(await everyStepFails(f, () => a.join(sandbox))).toBeGreaterThanOrEqual(7);
    expect(await everyStepFails(f, () => b.join(sandbox))).toBeGreaterThanOrEqual(7);
    // b, priority 0, did not take the default route; c with priority 5 does.
    expect(nsRoutes(sandbox.key).find((r) => r.dst === 'default')?.dev).toBe('eth0');
    expect(await everyStepFails(f, () => c.join(sandbox, { priority: 5 }))).toBeGreaterThanOrEqual(7);
    expect(nsRoutes(sandbox.key).find((r) => r.dst === 'default')?.dev).toBe('eth2');
  });

  it('of a join that publishes ports on an ICC-off network holds no port and adds no map or set element', async () => {
    const net = await f.controller.newNetwork('bridge', 'pub', {
      driverOptions: { 'com.docker.network.bridge.enable_icc': 'false' },
      ipam: { config: [{ subnet: '10.173.0.0/24' }] },
    });
    const e = await net.createEndpoint('p', {
      portMapping: [
        { proto: 'tcp', port: 80, hostPort: 18500 },
        { proto: 'udp', port: 53, hostPort: 18501 },
      ],
    });
    const box = await f.controller.newSandbox('pub');
    const portsFree = () => {
      expect(othersCanBind('tcp', '0.0.0.0', 18500)).toBe(true);
      expect(othersCanBind('udp', '0.0.0.0', 18501)).toBe(true);
    };
    expect(await everyStepFails(f, () => e.join(box), portsFree)).toBeGreaterThanOrEqual(10);
    expect(e.info().portMapping).toEqual([
      { proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 18500 },
      { proto: 'udp', port: 53, hostIP: '0.0.0.0', hostPort: 18501 },
    ]);
    expect(othersCanBind('tcp', '0.0.0.0', 18500)).toBe(false);
    await box.delete();
    portsFree();
    await e.delete();
    await net.delete();
  });

  it('of a join taking over the default route in a sandbox without a hostname (its record rides in the driver batch) leaves the old route', async () => {
    const teal = await f.controller.newNetwork('bridge', 'teal', { ipam: { config: [{ subnet: '10.174.0.0/24' }] } });
    const plum = await f.controller.newNetwork('bridge', 'plum', { ipam: { config: [{ subnet: '10.175.0.0/24' }] } });
    const [first, second] = [await teal.createEndpoint('first'), await plum.createEndpoint('second')];
    const plain = await f.controller.newSandbox('plain');
    await first.join(plain);
    // One batch: the veth, its mark, eth1 up, the address, the default route, then the record (the step that lost the old route).
    expect(await everyStepFails(f, () => second.join(plain, { priority: 5 }))).toBe(6);
    expect(nsRoutes(plain.key).find((r) => r.dst === 'default')).toMatchObject({ gateway: '10.175.0.1', dev: 'eth1' });
    await plain.delete();
    for (const e of [first, second]) await e.delete();
    for (const n of [teal, plum]) await n.delete();
  });

  it('of leave keeps the endpoint joined: the gateway (with another taking over) and a plain one', async () => {
    expect(await everyStepFails(f, () => c.leave(sandbox))).toBeGreaterThanOrEqual(4);
    expect(nsRoutes(sandbox.key).find((r) => r.dst === 'default')?.dev).toBe('eth0');
    expect(await everyStepFails(f, () => b.leave(sandbox))).toBeGreaterThanOrEqual(3);
  });

  it('of an endpoint delete keeps the endpoint, its address and its record', async () => {
    expect(await everyStepFails(f, () => c.delete())).toBe(1);
    expect(await everyStepFails(f, () => b.delete())).toBe(1);
  });

  it('of a network delete keeps the network, its bridge and its record', async () => {
    await a.delete({ force: true });
    // The record, the firewall, the look at the bridge's mark, the bridge.
    expect(await everyStepFails(f, () => blue.delete())).toBe(4);
    expect(await everyStepFails(f, () => red.delete())).toBe(4);
    expect(f.controller.networks()).toEqual([]);
  });

  it('of a sandbox delete does not stop it: the sandbox is gone, the failure is reported', async () => {
    const net = await f.controller.newNetwork('bridge', 'green', { ipam: { config: [{ subnet: '10.172.0.0/24' }] } });
    const e = await net.createEndpoint('e');
    const box = await f.controller.newSandbox('doomed');
    await e.join(box);
    const [veth] = bridgePorts(`br-${net.id.slice(0, 12)}`);
    // Its last batch: the sandbox's record (its joins with it), the files (one operation per folder), the namespace.
    failOperation(4);
    const err = await rejection(box.delete());
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors).toEqual([expect.objectContaining({ syscall: 'injected', object: 'netnsDelete' })]);
    expect(f.controller.sandboxById(box.id)).toBeUndefined();
    expect(e.info().sandboxId).toBeNull();
    await expect(box.delete()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The namespace it could not remove is an orphan: the next start removes it,
    const name = box.key.split('/').pop();
    expect(ipJson<{ name: string }[]>(['netns', 'list']).map((n) => n.name)).toContain(name);
    await restart(f);
    // And the veth inside it, still on the bridge with no endpoint.
    expect(f.controller.restoreReport().orphans.sort()).toEqual([box.key, veth].sort());
    expect(ipJson<{ name: string }[]>(['netns', 'list']).map((n) => n.name)).not.toContain(name);
    expect(f.controller.networkByName('green')!.endpointByName('e')!.info().sandboxId).toBeNull();
  });
});
