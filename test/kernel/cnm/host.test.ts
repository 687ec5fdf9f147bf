// What the bridge driver does to the host beyond its bridges, proven by real traffic: hairpin (a
// container reaches published ports, its own too, through a host address), the host does not become
// a router between its other interfaces for a family whose forwarding cnm-ts switches on (unless
// ipForwardNoDrop), while the family the host routed on its own keeps routing; stop({ removeAll:
// true }) puts ip_forward back, and a user's own nf_tables table filters what reaches published
// ports, across cnm-ts's rebuilds of its own.
//
// The world: the test's own namespace stands for the host, with two other interfaces, each to an
// "outside" namespace (A: host 198.51.101.1 <-> 198.51.101.2 and 2001:db8:101::1 <-> ::2, B: the
// same with 102) whose default routes are the host: A and B reach each other only if the host
// forwards.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { NetworkController } from '../../../lib';
import { FORWARDING_RECORD } from '../../../lib/drivers/bridge/forwarding';
import { bridgePorts, useControllers, type CnmFixture } from '../../helpers/cnm';
import { expectBlocked, ownTable, Scope, servers, tcp } from '../../helpers/firewall-world';
import { describeKernel, ip, ipJson, NETNS_DIR } from '../../helpers/kernel';
import { nft, nftJson } from '../../helpers/nft';

const A = { name: 'cnmh-a', host: 'cnmh-ha', peer: 'cnmh-oa', hostIP: '198.51.101.1', ip: '198.51.101.2', hostIP6: '2001:db8:101::1', ip6: '2001:db8:101::2' };
const B = { name: 'cnmh-b', host: 'cnmh-hb', peer: 'cnmh-ob', hostIP: '198.51.102.1', ip: '198.51.102.2', hostIP6: '2001:db8:102::1', ip6: '2001:db8:102::2' };
const netns = (o: { name: string }) => `${NETNS_DIR}/${o.name}`;
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';
const ipForward = () => readFileSync(IP_FORWARD, 'utf8').trim();
const setIpForward = (value: string) => writeFileSync(IP_FORWARD, value);
const IPV6_FORWARDING = '/proc/sys/net/ipv6/conf/all/forwarding';
const IPV6_DEFAULT_FORWARDING = '/proc/sys/net/ipv6/conf/default/forwarding';
const ipv6Forwarding = () => readFileSync(IPV6_FORWARDING, 'utf8').trim();
const setIpv6Forwarding = (value: string) => writeFileSync(IPV6_FORWARDING, value);
const USER_TABLE = 'cnmh-user';

describeKernel('bridge driver and the host', () => {
  const env = useControllers();
  const scope = new Scope({ netns: netns(A), hostIP: A.hostIP });
  const found = ipForward();
  const foundIPv6 = readFileSync(IPV6_FORWARDING, 'utf8');
  const foundIPv6Default = readFileSync(IPV6_DEFAULT_FORWARDING, 'utf8');

  beforeAll(() => {
    env.later(() => setIpForward(found));
    // IPv6 forwarding off, as on a host that routes nothing (forwarding found on is the host's own:
    // cnm-ts would add no drop for it). Writing all's writes default's: default's goes back last.
    env.later(() => writeFileSync(IPV6_DEFAULT_FORWARDING, foundIPv6Default));
    env.later(() => writeFileSync(IPV6_FORWARDING, foundIPv6));
    writeFileSync(IPV6_FORWARDING, '0');
    for (const o of [A, B]) {
      ip(['netns', 'add', o.name]);
      env.later(() => ip(['netns', 'delete', o.name]));
      ip(['link', 'add', o.host, 'type', 'veth', 'peer', 'name', o.peer]);
      env.later(() => ip(['link', 'delete', o.host]));
      ip(['link', 'set', o.peer, 'netns', o.name]);
      ip(['addr', 'add', `${o.hostIP}/24`, 'dev', o.host]);
      // No duplicate address detection: the IPv6 addresses are usable at once.
      ip(['addr', 'add', `${o.hostIP6}/64`, 'dev', o.host, 'nodad']);
      ip(['link', 'set', o.host, 'up']);
      ip(['addr', 'add', `${o.ip}/24`, 'dev', o.peer], netns(o));
      ip(['addr', 'add', `${o.ip6}/64`, 'dev', o.peer, 'nodad'], netns(o));
      ip(['link', 'set', o.peer, 'up'], netns(o));
      ip(['link', 'set', 'lo', 'up'], netns(o));
      ip(['route', 'add', 'default', 'via', o.hostIP], netns(o));
      ip(['-6', 'route', 'add', 'default', 'via', o.hostIP6], netns(o));
    }
  });

  afterEach(async () => {
    await scope.close();
    if (nftJson(['list', 'tables']).some((o) => (o.table as { name?: string } | undefined)?.name === USER_TABLE)) nft(['delete', 'table', 'inet', USER_TABLE]);
  });

  /** A controller with no predefined networks, stopped with removeAll by the test or after the file. */
  const controller = (options: { ipForwardNoDrop?: boolean } = {}): Promise<CnmFixture> => env.make({ predefinedNetworks: false, ...options });
  /** A bridge network's container with `server` on port 80, published on host port `hostPort` (undone by `within`). */
  async function publishing(c: NetworkController, subnet: string, hostPort: number, server = servers.echo('0.0.0.0', 80), within = scope) {
    const { network, bridge, gateway } = await within.network(c, `net-${hostPort}`, subnet);
    const a = await within.container(c, network, 'a', { portMapping: [{ proto: 'tcp', port: 80, hostPort }] });
    await within.server(a.sandbox.key, server);
    return { network, bridge, gateway, a };
  }

  /** Undoes what the test made, then stops the controller with removeAll. */
  async function finish(f: CnmFixture, within = scope): Promise<void> {
    await within.close();
    await f.controller.stop({ removeAll: true });
  }

  it('hairpin: a container reaches its own published port and its neighbour does, through a host address', async () => {
    const f = await controller();
    const c = f.controller;
    const { network, bridge, gateway, a } = await publishing(c, '10.160.1.0/24', 18701, servers.peer('0.0.0.0', 80));
    const b = await scope.container(c, network, 'b');
    // The server answers with who connected: the bridge's address (the answer must come back
    // through the host to be un-DNATed).
    expect(await tcp(A.hostIP, 18701, a.sandbox.key)).toBe(gateway);
    expect(await tcp(A.hostIP, 18701, b.sandbox.key)).toBe(gateway);
    expect(await tcp(gateway, 18701, a.sandbox.key)).toBe(gateway);
    // The outside still sees its own address, and the ports are in hairpin mode (`ip -d link`).
    expect(await tcp(A.hostIP, 18701, netns(A))).toBe(A.ip);
    for (const port of bridgePorts(bridge)) {
      const [link] = ipJson<{ linkinfo: { info_slave_data: { hairpin: boolean } } }[]>(['-d', 'link', 'show', port]);
      expect(link.linkinfo.info_slave_data.hairpin).toBe(true);
    }
    await finish(f);
  });

  it('when cnm-ts switches ip_forward on, the host forwards nothing between its other interfaces; stop({ removeAll }) switches it off', async () => {
    await scope.server(netns(B), servers.peer(B.ip, 7801));
    await scope.server(netns(A), servers.peer(A.ip, 7802));
    // The host is a router: A reaches B (and nothing of cnm-ts is there yet).
    setIpForward('1');
    expect(await tcp(B.ip, 7801, netns(A))).toBe(A.ip);
    setIpForward('0');
    await expectBlocked(B.ip, 7801, netns(A));

    const f = await controller();
    const { a } = await publishing(f.controller, '10.160.2.0/24', 18702);
    expect(ipForward()).toBe('1');
    expect(JSON.parse(readFileSync(path.join(f.stateDir, FORWARDING_RECORD), 'utf8'))).toEqual({ 'net.ipv4.ip_forward': '0' });
    await expectBlocked(B.ip, 7801, netns(A));
    await expectBlocked(A.ip, 7802, netns(B));
    // What cnm-ts forwards still goes: out of the container (masqueraded) and to its published port.
    expect(await tcp(B.ip, 7801, a.sandbox.key)).toBe(B.hostIP);
    expect(await tcp(A.hostIP, 18702, netns(B))).toBe('hello');

    // A second controller's network: its traffic is not dropped by the first controller's rule.
    const g = await controller();
    const second = new Scope({ netns: netns(A), hostIP: A.hostIP });
    const { a: other } = await publishing(g.controller, '10.160.3.0/24', 18703, undefined, second).catch(async (err: unknown) => {
      await second.close();
      throw err;
    });
    expect(await tcp(A.ip, 7802, other.sandbox.key)).toBe(A.hostIP);
    expect(await tcp(B.hostIP, 18703, netns(A))).toBe('hello');
    expect(existsSync(path.join(g.stateDir, FORWARDING_RECORD))).toBe(false);

    // The other controller's bridge still needs forwarding: it stays on, recorded.
    await finish(f);
    expect(ipForward()).toBe('1');
    expect(existsSync(path.join(f.stateDir, FORWARDING_RECORD))).toBe(true);
    await finish(g, second);
    // The last cnm-ts bridge is gone: a new controller on the state directory puts it back.
    f.controller = await NetworkController.create(f.options);
    await f.controller.stop({ removeAll: true });
    expect(ipForward()).toBe('0');
    expect(existsSync(path.join(f.stateDir, FORWARDING_RECORD))).toBe(false);
  });

  it('ipForwardNoDrop: the host keeps routing between its other interfaces; forwarding found on is left on', async () => {
    await scope.server(netns(B), servers.peer(B.ip, 7811));
    setIpForward('0');
    const f = await controller({ ipForwardNoDrop: true });
    await publishing(f.controller, '10.160.4.0/24', 18711);
    expect(ipForward()).toBe('1');
    expect(await tcp(B.ip, 7811, netns(A))).toBe(A.ip);
    await finish(f);
    expect(ipForward()).toBe('0');

    // Forwarding that was on before cnm-ts is the host's: no drop, and on after stop.
    await scope.server(netns(B), servers.peer(B.ip, 7811));
    setIpForward('1');
    const g = await controller();
    await publishing(g.controller, '10.160.5.0/24', 18712);
    expect(await tcp(B.ip, 7811, netns(A))).toBe(A.ip);
    await finish(g);
    expect(ipForward()).toBe('1');
  });

  it("IPv4 forwarding that is the host's own keeps routing when cnm-ts switches IPv6 forwarding on; IPv6 between the other interfaces is dropped", async () => {
    await scope.server(netns(B), servers.peer(B.ip, 7821));
    await scope.server(netns(B), servers.peer(B.ip6, 7822));
    await scope.server(netns(A), servers.peer(A.ip6, 7823));
    // The host routes both families on its own: A reaches B over each; IPv6 forwarding then goes off.
    setIpForward('1');
    setIpv6Forwarding('1');
    expect(await tcp(B.ip, 7821, netns(A))).toBe(A.ip);
    expect(await tcp(B.ip6, 7822, netns(A))).toBe(A.ip6);
    setIpv6Forwarding('0');
    await expectBlocked(B.ip6, 7822, netns(A));

    const f = await controller();
    const network = await f.controller.newNetwork('bridge', 'dual', {
      enableIPv6: true,
      ipam: { config: [{ subnet: '10.160.8.0/24' }, { subnet: 'fd00:160:8::/64' }] },
    });
    scope.defer(() => network.delete());
    const a = await scope.container(f.controller, network, 'a');
    expect([ipForward(), ipv6Forwarding()]).toEqual(['1', '1']);
    const record = JSON.parse(readFileSync(path.join(f.stateDir, FORWARDING_RECORD), 'utf8')) as Record<string, string>;
    expect(record).toMatchObject({ 'net.ipv6.conf.all.forwarding': '0' });
    expect(record).not.toHaveProperty(['net.ipv4.ip_forward']);
    // IPv4 is the host's routing still; IPv6, which cnm-ts switched on, does not route A and B.
    expect(await tcp(B.ip, 7821, netns(A))).toBe(A.ip);
    await expectBlocked(B.ip6, 7822, netns(A));
    await expectBlocked(A.ip6, 7823, netns(B));
    // What cnm-ts forwards over IPv6 still goes: out of the container, masqueraded.
    expect(await tcp(B.ip6, 7822, a.sandbox.key)).toBe(B.hostIP6);
    // As nft shows it: one drop of other forwarding, for IPv6 only.
    const drops = ownTable(f.controller.owner).filter((o) => 'rule' in o && JSON.stringify(o).includes('"iifgroup"'));
    expect(drops).toHaveLength(1);
    expect((drops[0].rule as { expr: unknown[] }).expr).toContainEqual({ match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv6' } });

    await finish(f);
    expect([ipForward(), ipv6Forwarding()]).toEqual(['1', '0']);
  });

  it("a user's table on the forward hook drops one source from published ports, across cnm-ts's rebuilds", async () => {
    const f = await controller();
    const c = f.controller;
    await publishing(c, '10.160.6.0/24', 18721);
    // As the README says: a table of one's own, a filter chain on the forward hook before cnm-ts's
    // (priority filter - 1), matching connections to published ports by their DNAT.
    nft(['add', 'table', 'inet', USER_TABLE]);
    nft(['add', 'chain', 'inet', USER_TABLE, 'forward', '{ type filter hook forward priority filter - 1; policy accept; }']);
    nft(['add', 'rule', 'inet', USER_TABLE, 'forward', 'ip', 'saddr', B.ip, 'ct', 'status', 'dnat', 'drop']);
    const check = async () => {
      expect(await tcp(A.hostIP, 18721, netns(A))).toBe('hello');
      await expectBlocked(B.hostIP, 18721, netns(B));
    };
    await check();
    // cnm-ts rebuilds its tables: a network made, a port published, a network deleted.
    const second = await publishing(c, '10.160.7.0/24', 18722);
    expect(await tcp(A.hostIP, 18722, netns(A))).toBe('hello');
    await expectBlocked(B.hostIP, 18722, netns(B));
    await second.a.endpoint.delete({ force: true });
    await second.network.delete();
    await check();
    await finish(f);
  });
});
