// The macvlan driver proven by traffic. The world: the test's own namespace stands for the host;
// a "segment" is a veth pair whose host end is the macvlan parent and whose other end is in an
// outside namespace that plays the segment's router (192.168.77.1, the networks' gateway) and a
// peer host. Containers appear on the segment with their own MAC and IP (the outside's neighbour
// table shows them), reach each other in bridge mode and not in private mode, and the host does
// not reach its own macvlan children (a property of macvlan).
import { spawn } from 'node:child_process';
import { NetworkController, type Endpoint, type Network, type Sandbox } from '../../../lib';
import { bare, expectCode, nsRoutes, restart, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, eventually, ip, ipAddrs, ipJson, ipLink, NETNS_DIR, uniqueName } from '../../helpers/kernel';
import { tcpAttempt } from '../../helpers/nft';

const OUTSIDE_NAME = uniqueName('mvout');
const OUTSIDE = `${NETNS_DIR}/${OUTSIDE_NAME}`;
const PARENT = uniqueName('mvseg');
const ROUTER = '192.168.77.1';
const SUBNET = '192.168.77.0/24';
const HOST_ON_SEGMENT = '192.168.77.254';
const ROUTER_V6 = 'fd77:77::1';
const SUBNET_V6 = 'fd77:77::/64';

/** A TCP server in `netns` (null: the host) that answers each connection with the peer's address. */
function whoConnects(netns: string | null, host: string, port: number, later: (step: () => unknown) => void): Promise<void> {
  const code = `require('net').createServer((s) => s.end(s.remoteAddress)).listen(${port}, ${JSON.stringify(host)}, () => console.log('ready'))`;
  const argv = netns ? ['nsenter', `--net=${netns}`, process.execPath, '-e', code] : [process.execPath, '-e', code];
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  later(() => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.once('exit', (status) => reject(new Error(`server exited with ${status}`)));
    child.stdout.once('data', () => resolve());
  });
}

/** TCP from the host (the test's own namespace): what the server answered, or why not. */
function tcpFromHost(host: string, port: number, timeoutMs: number): string {
  return tcpAttempt(host, port, '/proc/self/ns/net', timeoutMs);
}

/** The outside's neighbour entry for an address (`ip -j neigh`), if any. */
function neighbour(address: string): { dst: string; lladdr?: string; state?: string[] } | undefined {
  return ipJson<{ dst: string; lladdr?: string; state?: string[] }[]>(['neigh', 'show'], OUTSIDE).find((n) => n.dst === address);
}

describeKernel('the macvlan driver', () => {
  const controllers = useControllers();
  let f: CnmFixture;
  let c: NetworkController;
  // Undone after each test, newest first (also when it failed).
  let steps: (() => unknown)[] = [];
  const defer = (step: () => unknown) => steps.push(step);
  afterEach(async () => {
    for (const step of steps.reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => undefined);
    steps = [];
  });

  beforeAll(async () => {
    ip(['netns', 'add', OUTSIDE_NAME]);
    controllers.later(() => ip(['netns', 'del', OUTSIDE_NAME]));
    ip(['link', 'add', PARENT, 'type', 'veth', 'peer', 'name', 'seg', 'netns', OUTSIDE]);
    controllers.later(() => ip(['link', 'del', PARENT]));
    ip(['link', 'set', PARENT, 'up']);
    ip(['link', 'set', 'lo', 'up'], OUTSIDE);
    ip(['addr', 'add', `${ROUTER}/24`, 'dev', 'seg'], OUTSIDE);
    ip(['link', 'set', 'seg', 'up'], OUTSIDE);
    f = await controllers.make({ predefinedNetworks: false });
    c = f.controller;
  });

  async function macvlanNetwork(mode?: string, name = 'mv'): Promise<Network> {
    const network = await c.newNetwork('macvlan', name, {
      driverOptions: { parent: PARENT, ...(mode ? { macvlan_mode: mode } : {}) },
      ipam: { config: [{ subnet: SUBNET, gateway: ROUTER }] },
    });
    defer(() => network.delete());
    return network;
  }

  async function container(network: Network, name: string): Promise<{ endpoint: Endpoint; sandbox: Sandbox; address: string; mac: string }> {
    const endpoint = await network.createEndpoint(name);
    defer(() => endpoint.delete({ force: true }));
    const sandbox = await c.newSandbox(uniqueName('mvc'));
    defer(() => sandbox.delete());
    await endpoint.join(sandbox);
    const { address, macAddress } = endpoint.info().interface;
    return { endpoint, sandbox, address: bare(address), mac: macAddress! };
  }

  it('makes the container interface inside the sandbox as a macvlan of the parent: MAC, address, MTU, alias, default route via the gateway', async () => {
    const network = await macvlanNetwork();
    const c1 = await container(network, 'c1');
    const link = ipLink('eth0', c1.sandbox.key)!;
    expect(link).toMatchObject({ address: c1.mac, mtu: ipLink(PARENT)!.mtu, linkinfo: { info_kind: 'macvlan', info_data: { mode: 'bridge' } } });
    expect(link.flags).toContain('UP');
    expect(c1.mac).toBe(`02:42:c0:a8:4d:${Number(c1.address.split('.')[3]).toString(16).padStart(2, '0')}`);
    expect(ipJson<{ ifalias?: string }[]>(['link', 'show', 'eth0'], c1.sandbox.key)[0].ifalias).toBe(`cnm-ts:${c.owner}:macvlan:${c1.endpoint.id}`);
    expect(ipAddrs('eth0', c1.sandbox.key).filter((a) => a.family === 'inet')).toEqual([expect.objectContaining({ local: c1.address, prefixlen: 24 })]);
    expect(nsRoutes(c1.sandbox.key)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: ROUTER, dev: 'eth0' }));
    // Nothing in the host: no bridge, no veth, no link but the segment's.
    expect(ipJson<{ ifname: string }[]>(['link', 'show']).map((l) => l.ifname)).not.toContain('eth0');
    expect(c1.endpoint.info()).toMatchObject({ gateway: ROUTER, interface: { name: 'eth0' } });
  });

  it('containers reach the segment with their own MAC and IP (the router sees both) and, in bridge mode, each other', async () => {
    const network = await macvlanNetwork('bridge');
    const c1 = await container(network, 'c1');
    const c2 = await container(network, 'c2');
    await whoConnects(OUTSIDE, ROUTER, 7001, defer);
    expect(tcpAttempt(ROUTER, 7001, c1.sandbox.key, 3000)).toBe(c1.address);
    expect(tcpAttempt(ROUTER, 7001, c2.sandbox.key, 3000)).toBe(c2.address);
    expect(neighbour(c1.address)).toMatchObject({ lladdr: c1.mac });
    expect(neighbour(c2.address)).toMatchObject({ lladdr: c2.mac });
    await whoConnects(c2.sandbox.key, c2.address, 7002, defer);
    expect(tcpAttempt(c2.address, 7002, c1.sandbox.key, 3000)).toBe(c1.address);
  });

  it('in private mode containers still reach the segment but not each other', async () => {
    const network = await macvlanNetwork('private');
    const c1 = await container(network, 'c1');
    const c2 = await container(network, 'c2');
    expect(ipLink('eth0', c1.sandbox.key)!.linkinfo).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'private' } });
    await whoConnects(OUTSIDE, ROUTER, 7003, defer);
    expect(tcpAttempt(ROUTER, 7003, c1.sandbox.key, 3000)).toBe(c1.address);
    expect(tcpAttempt(ROUTER, 7003, c2.sandbox.key, 3000)).toBe(c2.address);
    await whoConnects(c2.sandbox.key, c2.address, 7004, defer);
    expect(tcpAttempt(c2.address, 7004, c1.sandbox.key, 1500)).toMatch(/^(timeout|E[A-Z]+)$/);
  });

  it('the host does not reach its own macvlan children, though it reaches the segment through the same parent', async () => {
    const network = await macvlanNetwork();
    const c1 = await container(network, 'c1');
    ip(['addr', 'add', `${HOST_ON_SEGMENT}/24`, 'dev', PARENT]);
    defer(() => ip(['addr', 'del', `${HOST_ON_SEGMENT}/24`, 'dev', PARENT]));
    await whoConnects(OUTSIDE, ROUTER, 7005, defer);
    await whoConnects(c1.sandbox.key, c1.address, 7006, defer);
    expect(tcpFromHost(ROUTER, 7005, 3000)).toBe(HOST_ON_SEGMENT);
    expect(tcpAttempt(ROUTER, 7005, c1.sandbox.key, 3000)).toBe(c1.address);
    expect(tcpFromHost(c1.address, 7006, 1500)).toMatch(/^(timeout|E[A-Z]+)$/);
  });

  it('an IPv6-only network: containers have only IPv6, reach the router and each other over it', async () => {
    ip(['addr', 'add', `${ROUTER_V6}/64`, 'dev', 'seg', 'nodad'], OUTSIDE);
    defer(() => ip(['addr', 'del', `${ROUTER_V6}/64`, 'dev', 'seg'], OUTSIDE));
    const network = await c.newNetwork('macvlan', 'mv6', {
      driverOptions: { parent: PARENT },
      enableIPv4: false,
      enableIPv6: true,
      ipam: { config: [{ subnet: SUBNET_V6, gateway: ROUTER_V6 }] },
    });
    defer(() => network.delete());
    const [c1, c2] = [await container(network, 'c1'), await container(network, 'c2')];
    const v6 = [c1, c2].map((x) => bare(x.endpoint.info().interface.addressIPv6));
    for (const [i, x] of [c1, c2].entries()) {
      expect(ipAddrs('eth0', x.sandbox.key).filter((a) => a.scope === 'global')).toEqual([
        expect.objectContaining({ family: 'inet6', local: v6[i], prefixlen: 64 }),
      ]);
      expect(nsRoutes(x.sandbox.key, 6)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: ROUTER_V6, dev: 'eth0' }));
      // Duplicate address detection on the segment, before the address may be used.
      await eventually(() => ipAddrs('eth0', x.sandbox.key).some((a) => (a as { tentative?: boolean }).tentative === true), false);
    }
    await whoConnects(OUTSIDE, ROUTER_V6, 7007, defer);
    expect(tcpAttempt(ROUTER_V6, 7007, c1.sandbox.key, 3000)).toBe(v6[0]);
    await whoConnects(c2.sandbox.key, v6[1], 7008, defer);
    expect(tcpAttempt(v6[1], 7008, c1.sandbox.key, 3000)).toBe(v6[0]);
  });

  it('passthru takes one endpoint; vepa is the mode asked for', async () => {
    const passthru = await macvlanNetwork('passthru');
    const only = await passthru.createEndpoint('only');
    defer(() => only.delete());
    await expectCode(passthru.createEndpoint('second'), 'CONFLICT');
    await only.delete();
    await passthru.delete();
    const vepa = await macvlanNetwork('vepa');
    const c1 = await container(vepa, 'c1');
    expect(ipLink('eth0', c1.sandbox.key)!.linkinfo).toMatchObject({ info_kind: 'macvlan', info_data: { mode: 'vepa' } });
  });

  it('refuses, naming what is missing: no parent (dummy), a missing parent, a missing dotted parent (8021q), a parent in use, a bad mode', async () => {
    const make = (driverOptions: Record<string, string>, name = 'bad') =>
      c.newNetwork('macvlan', name, { driverOptions, ipam: { config: [{ subnet: '192.168.78.0/24' }] } });
    expect((await expectCode(make({}), 'INVALID_ARGUMENT')).message).toMatch(/dummy.*CONFIG_DUMMY/);
    expect((await expectCode(make({ parent: 'nosuch0' }), 'NOT_FOUND')).message).toContain('parent interface nosuch0 was not found');
    expect((await expectCode(make({ parent: `${PARENT}.30` }), 'NOT_FOUND')).message).toMatch(/802\.1Q VLAN 30 .*8021q module \(CONFIG_VLAN_8021Q\)/);
    expect((await expectCode(make({ parent: PARENT, macvlan_mode: 'fast' }), 'INVALID_ARGUMENT')).message).toContain('macvlan mode "fast"');
    await macvlanNetwork();
    expect((await expectCode(make({ parent: PARENT }), 'CONFLICT')).message).toContain(`network mv is already using parent interface ${PARENT}`);
    expect(c.networkByName('bad')).toBeUndefined();
  });

  it('a restart keeps joined containers working; a crash leftover marked link is removed, an unmarked one left alone, a vanished link is lost', async () => {
    const network = await macvlanNetwork();
    const c1 = await container(network, 'c1');
    const c2 = await container(network, 'c2');
    const spare = await c.newSandbox(uniqueName('mvc'));
    defer(() => spare.delete());
    await c.stop();
    // What a crash in a join leaves: a marked macvlan no join refers to; and someone else's macvlan.
    ip(['link', 'add', 'link', PARENT, 'name', 'eth3', 'netns', spare.key, 'type', 'macvlan']);
    ip(['link', 'set', 'eth3', 'alias', `cnm-ts:${c.owner}:macvlan:${'e'.repeat(64)}`], spare.key);
    ip(['link', 'add', 'link', PARENT, 'name', 'eth4', 'netns', spare.key, 'type', 'macvlan']);
    ip(['link', 'del', 'eth0'], c2.sandbox.key);
    const next = await restart(f);
    c = next;
    expect(next.restoreReport()).toMatchObject({ lostEndpoints: [c2.endpoint.id], errors: [] });
    expect(next.restoreReport().orphans).toEqual([`eth3 in ${spare.key}`]);
    expect(ipLink('eth3', spare.key)).toBeUndefined();
    expect(ipLink('eth4', spare.key)).toBeDefined();
    await whoConnects(OUTSIDE, ROUTER, 7007, defer);
    expect(tcpAttempt(ROUTER, 7007, c1.sandbox.key, 3000)).toBe(c1.address);
    // The lost endpoint joins again.
    const e2 = next.networkByName('mv')!.endpointByName('c2')!;
    await e2.join(next.sandboxById(c2.sandbox.id)!);
    expect(tcpAttempt(ROUTER, 7007, c2.sandbox.key, 3000)).toBe(c2.address);
    // Everything restored is removed through the new controller (the old one's deferred deletes are STOPPED).
    for (const s of next.sandboxes()) await s.delete();
    for (const e of next.networkByName('mv')!.endpoints()) await e.delete();
    await next.networkByName('mv')!.delete();
  });
});
