// The bridge driver's firewall (nf_tables) proven by real traffic: masquerade, internal networks,
// ICC, isolation between networks, no way in from outside but published ports (Docker's nat mode),
// published TCP / UDP ports (DNAT from outside, from the host and from other networks; picked
// ports, ranges, conflicts; 127.0.0.1 bindings), conntrack cleanup, the tables' lifecycle, and a
// restart.
//
// The world: the test's own namespace stands for the host; an "outside" namespace stands for the
// internet, linked to the host by a veth pair (host 198.51.100.1/24 <-> outside 198.51.100.2/24).
// The outside has no route to the container subnets, so only masquerade and DNAT make replies
// possible (except where a test adds one, and removes it).
import { readFileSync } from 'node:fs';
import { CnmError, NetworkController, type PortBinding } from '../../../lib';
import { bare, bridgePorts, expectCode, nsAddrs, nsRoutes, restart, useControllers } from '../../helpers/cnm';
import { conntrack, expectBlocked, FAILS_MS, makeOutside, nftTables, ownTable, ownTables, Scope, servers, tcp, udp } from '../../helpers/firewall-world';
import { describeKernel, eventually, ip, NETNS_DIR, othersCanBind, uniqueName } from '../../helpers/kernel';
import { nft, nftJson } from '../../helpers/nft';

const OUTSIDE_NAME = 'cnmfw-out';
const OUTSIDE = `${NETNS_DIR}/${OUTSIDE_NAME}`;
const HOST_IP = '198.51.100.1';
const OUTSIDE_IP = '198.51.100.2';

describeKernel('bridge firewall', () => {
  const env = useControllers();
  const scope = new Scope({ netns: OUTSIDE, hostIP: HOST_IP });
  let c: NetworkController;

  beforeAll(async () => {
    // The outside (removed after the file, after the controllers are gone).
    makeOutside(env.later, {
      name: OUTSIDE_NAME,
      hostIfname: 'cnmfw-h',
      outsideIfname: 'cnmfw-o',
      hostAddresses: [`${HOST_IP}/24`],
      outsideAddresses: [`${OUTSIDE_IP}/24`],
    });
    c = (await env.make({ predefinedNetworks: false })).controller;
    // After every controller stopped with removeAll: none of their tables is left.
    env.later(() => {
      const left = env.fixtures().flatMap((f) => ownTables(f.controller.owner));
      for (const t of left) nft(['delete', 'table', ...t.split(' ')]);
      if (left.length > 0) throw new Error(`stop({ removeAll: true }) left nf_tables tables: ${left.join(', ')}`);
    });
  });

  afterEach(() => scope.close());

  it('masquerades traffic leaving for the outside; without masquerade the outside sees the container', async () => {
    await scope.server(OUTSIDE, servers.peer(OUTSIDE_IP, 7101));
    const { network } = await scope.network(c, 'masq', '10.150.1.0/24');
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1');
    const a = await scope.container(c, network, 'a');
    expect(nsRoutes(a.sandbox.key)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.150.1.1' }));
    expect(await tcp(OUTSIDE_IP, 7101, a.sandbox.key)).toBe(HOST_IP);

    const { network: plain } = await scope.network(c, 'nomasq', '10.150.2.0/24', {
      driverOptions: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
    });
    const b = await scope.container(c, plain, 'b');
    // No route back from the outside: nothing can answer.
    await expectBlocked(OUTSIDE_IP, 7101, b.sandbox.key);
    scope.outsideRoute('10.150.2.0/24');
    expect(await tcp(OUTSIDE_IP, 7101, b.sandbox.key)).toBe(b.address);
    // The masqueraded network is unchanged by the other one.
    expect(await tcp(OUTSIDE_IP, 7101, a.sandbox.key)).toBe(HOST_IP);
  });

  it('internal: no default route, and no traffic out of or into the bridge, even with routes', async () => {
    await scope.server(OUTSIDE, servers.peer(OUTSIDE_IP, 7201));
    // A non-internal network next to it: forwarding is on, and its sandbox gets out.
    const { network: open } = await scope.network(c, 'open', '10.151.1.0/24');
    const o = await scope.container(c, open, 'o');
    expect(await tcp(OUTSIDE_IP, 7201, o.sandbox.key)).toBe(HOST_IP);

    const { network, gateway } = await scope.network(c, 'internal', '10.151.2.0/24', { internal: true });
    const i = await scope.container(c, network, 'i');
    expect(i.endpoint.info().gateway).toBeNull();
    expect(nsRoutes(i.sandbox.key).filter((r) => r.dst === 'default')).toEqual([]);
    expect(nsRoutes(i.sandbox.key)).toEqual([expect.objectContaining({ dst: '10.151.2.0/24', dev: 'eth0' })]);
    // As a container with NET_ADMIN could: a default route via the bridge, and a route back from
    // the outside. Only the firewall stands in the way now.
    ip(['route', 'add', 'default', 'via', gateway], i.sandbox.key);
    scope.outsideRoute('10.151.2.0/24');
    await expectBlocked(OUTSIDE_IP, 7201, i.sandbox.key);
    await scope.server(i.sandbox.key, servers.echo('0.0.0.0', 7202));
    await expectBlocked(i.address, 7202, OUTSIDE);
    // The server is up: the sandbox itself reaches it.
    expect(await tcp(i.address, 7202, i.sandbox.key)).toBe('hello');
    // Not even a port published by a container of another network, through the internal bridge's
    // own (host) address: DNAT would send it out of the bridge.
    const p = await scope.container(c, open, 'p', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18250 }] });
    await scope.server(p.sandbox.key, servers.echo('0.0.0.0', 80));
    expect(await tcp(HOST_IP, 18250, OUTSIDE)).toBe('hello');
    await expectBlocked(gateway, 18250, i.sandbox.key);
  });

  it('enable_icc=false: sandboxes of one network cannot talk, but reach the gateway and the outside; the default can', async () => {
    await scope.server(OUTSIDE, servers.peer(OUTSIDE_IP, 7301));
    const { network, gateway } = await scope.network(c, 'noicc', '10.152.1.0/24', {
      driverOptions: { 'com.docker.network.bridge.enable_icc': 'false' },
    });
    const a = await scope.container(c, network, 'a');
    const b = await scope.container(c, network, 'b');
    await scope.serveBoth(a, b, 7302);
    await expectBlocked(a.address, 7302, b.sandbox.key);
    await expectBlocked(b.address, 7302, a.sandbox.key);
    // The host on the gateway address, and the outside, are reachable.
    await scope.server(null, servers.echo(gateway, 7303));
    expect(await tcp(gateway, 7303, a.sandbox.key)).toBe('hello');
    expect(await tcp(gateway, 7303, b.sandbox.key)).toBe('hello');
    expect(await tcp(OUTSIDE_IP, 7301, a.sandbox.key)).toBe(HOST_IP);
    expect(await tcp(OUTSIDE_IP, 7301, b.sandbox.key)).toBe(HOST_IP);
    // The servers are up: the host reaches both.
    expect(await tcp(a.address, 7302, null)).toBe('hello');
    expect(await tcp(b.address, 7302, null)).toBe('hello');

    const { network: icc } = await scope.network(c, 'icc', '10.152.2.0/24');
    const x = await scope.container(c, icc, 'x');
    const y = await scope.container(c, icc, 'y');
    await scope.server(x.sandbox.key, servers.echo(x.address, 7304));
    await scope.server(y.sandbox.key, servers.echo(y.address, 7304));
    expect(await tcp(x.address, 7304, y.sandbox.key)).toBe('hello');
    expect(await tcp(y.address, 7304, x.sandbox.key)).toBe('hello');
  });

  it('isolates two bridge networks from each other', async () => {
    await scope.server(OUTSIDE, servers.peer(OUTSIDE_IP, 7401));
    const { network: n1 } = await scope.network(c, 'iso1', '10.153.1.0/24');
    const { network: n2 } = await scope.network(c, 'iso2', '10.153.2.0/24');
    const a = await scope.container(c, n1, 'a');
    const b = await scope.container(c, n2, 'b');
    await scope.serveBoth(a, b, 7402);
    await expectBlocked(a.address, 7402, b.sandbox.key);
    await expectBlocked(b.address, 7402, a.sandbox.key);
    // Both are routed and up: each gets out, and the host reaches both servers.
    expect(await tcp(OUTSIDE_IP, 7401, a.sandbox.key)).toBe(HOST_IP);
    expect(await tcp(OUTSIDE_IP, 7401, b.sandbox.key)).toBe(HOST_IP);
    expect(await tcp(a.address, 7402, null)).toBe('hello');
    expect(await tcp(b.address, 7402, null)).toBe('hello');
  });

  it('nat mode: an outside host with a route to the subnet reaches published ports only; containers still get out and talk', async () => {
    await scope.server(OUTSIDE, servers.peer(OUTSIDE_IP, 7501));
    const { network } = await scope.network(c, 'natmode', '10.149.1.0/24');
    const a = await scope.container(c, network, 'a', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18600 }] });
    const b = await scope.container(c, network, 'b');
    await scope.server(a.sandbox.key, servers.echo('0.0.0.0', 80));
    await scope.server(a.sandbox.key, servers.echo('0.0.0.0', 7502));
    // As a LAN host would: a route to the bridge subnet through this host (which forwards).
    scope.outsideRoute('10.149.1.0/24');
    // Unpublished, and the published container port addressed directly: not DNAT'd, dropped.
    await expectBlocked(a.address, 7502, OUTSIDE);
    await expectBlocked(a.address, 80, OUTSIDE);
    await expectBlocked(b.address, 7502, OUTSIDE);
    // The published port through the host's address works, and keeps the outside's address.
    expect(await tcp(HOST_IP, 18600, OUTSIDE)).toBe('hello');
    // The servers are up: the host and the other container of the bridge reach them.
    expect(await tcp(a.address, 7502, null)).toBe('hello');
    expect(await tcp(a.address, 7502, b.sandbox.key)).toBe('hello');
    expect(await tcp(a.address, 80, b.sandbox.key)).toBe('hello');
    // Out: masqueraded, and without masquerade (replies come back by the route, as established).
    expect(await tcp(OUTSIDE_IP, 7501, a.sandbox.key)).toBe(HOST_IP);
    const { network: plain } = await scope.network(c, 'natmode-nomasq', '10.149.2.0/24', {
      driverOptions: { 'com.docker.network.bridge.enable_ip_masquerade': 'false' },
    });
    const d = await scope.container(c, plain, 'd');
    await scope.server(d.sandbox.key, servers.echo('0.0.0.0', 7503));
    scope.outsideRoute('10.149.2.0/24');
    expect(await tcp(OUTSIDE_IP, 7501, d.sandbox.key)).toBe(d.address);
    await expectBlocked(d.address, 7503, OUTSIDE);
    expect(await tcp(d.address, 7503, null)).toBe('hello');
  });

  it('publishes a TCP port: reached from outside, from the host and from another network; gone after leave', async () => {
    const { network } = await scope.network(c, 'pub', '10.154.1.0/24');
    const { network: other } = await scope.network(c, 'pubother', '10.154.2.0/24');
    const web = await scope.container(c, network, 'web', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18080 }] });
    expect(web.endpoint.info().portMapping).toEqual([{ proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 18080 }]);
    await scope.server(web.sandbox.key, servers.echo('0.0.0.0', 80));
    const client = await scope.container(c, other, 'client');

    expect(await tcp(HOST_IP, 18080, OUTSIDE)).toBe('hello');
    expect(await tcp(HOST_IP, 18080, null)).toBe('hello');
    expect(await tcp(HOST_IP, 18080, client.sandbox.key)).toBe('hello');
    // Who connected: the outside client keeps its own address (DNAT, no SNAT on the way in).
    const who = await scope.container(c, network, 'who', { portMapping: [{ proto: 'tcp', port: 81, hostPort: 18081 }] });
    await scope.server(who.sandbox.key, servers.peer('0.0.0.0', 81));
    expect(await tcp(HOST_IP, 18081, OUTSIDE)).toBe(OUTSIDE_IP);

    await web.endpoint.leave(web.sandbox);
    expect(web.endpoint.info().sandboxId).toBeNull();
    await expectBlocked(HOST_IP, 18080, OUTSIDE);
    await expectBlocked(HOST_IP, 18080, null);
    await expectBlocked(HOST_IP, 18080, client.sandbox.key);
    // The host port is free again.
    expect(othersCanBind('tcp', '0.0.0.0', 18080)).toBe(true);
  });

  it('picks a free host port, takes the next free one of a range, and refuses a join when all are held', async () => {
    const { network, bridge } = await scope.network(c, 'pick', '10.155.1.0/24');
    const picked = await scope.container(c, network, 'picked', { portMapping: [{ proto: 'tcp', port: 80 }] });
    const [mapping] = picked.endpoint.info().portMapping ?? [];
    expect(mapping).toEqual({ proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: expect.any(Number) });
    expect(mapping.hostPort).toBeGreaterThan(0);
    await scope.server(picked.sandbox.key, servers.echo('0.0.0.0', 80));
    expect(await tcp(HOST_IP, mapping.hostPort!, OUTSIDE)).toBe('hello');
    expect(othersCanBind('tcp', '0.0.0.0', mapping.hostPort!)).toBe(false);

    // Port bindings that make no sense are refused before anything is held or made.
    for (const bad of [
      { proto: 'icmp', port: 80 },
      { proto: 'tcp', port: 0 },
      { proto: 'tcp', port: 80, hostPort: 70000 },
      { proto: 'tcp', port: 80, hostPort: 18130, hostPortEnd: 18120 },
      { proto: 'tcp', port: 80, hostPortEnd: 18120 },
      { proto: 'tcp', port: 80, hostIP: 'nowhere' },
    ]) {
      await expectCode(network.createEndpoint('bad', { portMapping: [bad as PortBinding] }), 'INVALID_ARGUMENT');
    }
    expect(network.endpointByName('bad')).toBeUndefined();

    // 18100 is held by another process: the range gives 18101.
    await scope.server(null, servers.holder(18100));
    const ranged = await scope.container(c, network, 'ranged', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18100, hostPortEnd: 18101 }] });
    expect(ranged.endpoint.info().portMapping).toEqual([{ proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 18101 }]);
    await scope.server(ranged.sandbox.key, servers.peer('0.0.0.0', 80));
    expect(await tcp(HOST_IP, 18101, OUTSIDE)).toBe(OUTSIDE_IP);

    // 18110 and 18111 both held: CONFLICT, and nothing is left behind.
    await scope.server(null, servers.holder(18110));
    await scope.server(null, servers.holder(18111));
    const ports = bridgePorts(bridge);
    const full = await scope.unjoined(c, network, 'full', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18110, hostPortEnd: 18111 }] });
    const err = await full.endpoint.join(full.sandbox).then(
      () => null,
      (e: unknown) => e as CnmError,
    );
    expect(err).toBeInstanceOf(CnmError);
    expect(err!.code).toBe('CONFLICT');
    expect(err!.message).toMatch(/1811[01]/);
    expect(full.endpoint.info().sandboxId).toBeNull();
    expect(full.sandbox.endpoints()).toEqual([]);
    expect(nsAddrs(full.sandbox.key).map((l) => l.ifname)).toEqual(['lo']);
    await eventually(() => bridgePorts(bridge), ports);
    const address = bare(full.endpoint.info().interface.address);
    const maps = ownTable(c.owner)
      .filter((o) => 'map' in o || 'set' in o)
      .map((o) => JSON.stringify(o));
    expect(maps.filter((m) => /\b1811[01]\b/.test(m) || (address !== '' && m.includes(`"${address}"`)))).toEqual([]);

    // Nothing was reserved either: once the holders are gone, the same join works.
    await scope.close();
    await scope.server(null, servers.holder(18110));
    const { network: again } = await scope.network(c, 'pick2', '10.155.2.0/24');
    const retry = await scope.container(c, again, 'retry', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18110, hostPortEnd: 18111 }] });
    expect(retry.endpoint.info().portMapping).toEqual([{ proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 18111 }]);
  });

  it('publishes on 127.0.0.1: reached from the host via 127.0.0.1, never from outside; host_binding_ipv4 does the same', async () => {
    const { network } = await scope.network(c, 'local', '10.156.1.0/24');
    const a = await scope.container(c, network, 'a', { portMapping: [{ proto: 'tcp', port: 80, hostIP: '127.0.0.1', hostPort: 18200 }] });
    expect(a.endpoint.info().portMapping).toEqual([{ proto: 'tcp', port: 80, hostIP: '127.0.0.1', hostPort: 18200 }]);
    await scope.server(a.sandbox.key, servers.echo('0.0.0.0', 80));
    expect(await tcp('127.0.0.1', 18200, null)).toBe('hello');
    await expectBlocked(HOST_IP, 18200, OUTSIDE);

    const { network: bound } = await scope.network(c, 'localopt', '10.156.2.0/24', {
      driverOptions: { 'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1' },
    });
    const b = await scope.container(c, bound, 'b', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18201 }] });
    expect(b.endpoint.info().portMapping).toEqual([{ proto: 'tcp', port: 80, hostIP: '127.0.0.1', hostPort: 18201 }]);
    await scope.server(b.sandbox.key, servers.echo('0.0.0.0', 80));
    expect(await tcp('127.0.0.1', 18201, null)).toBe('hello');
    await expectBlocked(HOST_IP, 18201, OUTSIDE);
  });

  it('publishes a UDP port; leave and delete remove its conntrack entries, so the flow moves to the new container', async () => {
    const { network } = await scope.network(c, 'udp', '10.157.1.0/24');
    const flows = () => conntrack().filter((l) => /\budp\b/.test(l) && l.includes('dport=18300') && l.includes('sport=40300'));
    expect(flows()).toEqual([]);
    const one = await scope.container(c, network, 'one', { portMapping: [{ proto: 'udp', port: 9999, hostPort: 18300 }] });
    expect(one.endpoint.info().portMapping).toEqual([{ proto: 'udp', port: 9999, hostIP: '0.0.0.0', hostPort: 18300 }]);
    await scope.server(one.sandbox.key, servers.udpEcho(9999, 'one:'));
    expect(await udp(HOST_IP, 18300, OUTSIDE, 'ping', 40300)).toBe('one:ping');
    expect(await udp(HOST_IP, 18300, OUTSIDE, 'again', 40300)).toBe('one:again');
    expect(flows()).toHaveLength(1);
    expect(flows()[0]).toContain(`src=${one.address}`); // the reply tuple: from the container

    await one.endpoint.leave(one.sandbox);
    expect(flows()).toEqual([]);

    // Another container publishes the same host port: the same flow (same source port) reaches it.
    const two = await scope.container(c, network, 'two', { portMapping: [{ proto: 'udp', port: 9999, hostPort: 18300 }] });
    expect(two.address).not.toBe(one.address);
    await scope.server(two.sandbox.key, servers.udpEcho(9999, 'two:'));
    expect(await udp(HOST_IP, 18300, OUTSIDE, 'ping', 40300)).toBe('two:ping');
    expect(flows()).toHaveLength(1);
    expect(flows()[0]).toContain(`src=${two.address}`);

    // Deleting the sandbox removes the mapping and its entries too.
    await two.sandbox.delete();
    expect(flows()).toEqual([]);
    expect(await udp(HOST_IP, 18300, OUTSIDE, 'ping', 40300, FAILS_MS)).not.toMatch(/^(one|two):/);
  });

  it('makes its tables with the first bridge network and deletes them with the last; other tables are left alone', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const owner = f.controller.owner;
    expect(owner).toMatch(/^[0-9a-f]{8}$/);
    nft(['add', 'table', 'inet', 'other']);
    scope.defer(() => nft(['delete', 'table', 'inet', 'other']));
    nft(['add', 'chain', 'inet', 'other', 'keep']);
    nft(['add', 'rule', 'inet', 'other', 'keep', 'ip', 'saddr', '10.158.1.0/24', 'counter', 'accept']);
    const other = () => nftJson(['-a', 'list', 'table', 'inet', 'other']).filter((o) => !('metainfo' in o));
    const otherBefore = other();
    expect(ownTables(owner)).toEqual([]);

    // Two per network: going out of its bridge, and hairpin (DNATed back into it).
    const masqueradeFor = (subnet: string) =>
      ownTable(owner)
        .filter((o) => 'rule' in o)
        .map((o) => JSON.stringify(o.rule))
        .filter((r) => r.includes('"masquerade"') && r.includes(`"${subnet}"`));

    const n1 = await f.controller.newNetwork('bridge', 'life1', { ipam: { config: [{ subnet: '10.158.1.0/24' }] } });
    expect(nftTables()).toContain(`inet cnm-ts-${owner}`);
    expect(masqueradeFor('10.158.1.0')).toHaveLength(2);
    // Loopback addresses come only from lo (CVE-2020-8558): one drop rule ahead of every NAT.
    const raw = ownTable(owner).filter((o) => 'chain' in o && (o.chain as { name: string }).name === 'raw');
    expect(raw).toEqual([{ chain: expect.objectContaining({ hook: 'prerouting', prio: -300, type: 'filter' }) }]);
    const loopbackDrop = ownTable(owner)
      .filter((o) => 'rule' in o && (o.rule as { chain: string }).chain === 'raw')
      .map((o) => JSON.stringify(o.rule));
    expect(loopbackDrop).toEqual([
      expect.stringMatching(/"op":"!=","left":\{"meta":\{"key":"iifname"\}\},"right":"lo".*"addr":"127\.0\.0\.0","len":8.*"drop"/),
    ]);
    const n2 = await f.controller.newNetwork('bridge', 'life2', { ipam: { config: [{ subnet: '10.158.2.0/24' }] } });
    expect(masqueradeFor('10.158.2.0')).toHaveLength(2);
    // A published port is one map element, gone with its endpoint: the maps are empty again.
    const elements = () =>
      ownTable(owner)
        .filter((o) => 'map' in o)
        .flatMap((o) => (o.map as { elem?: unknown[] }).elem ?? []);
    const web = await n2.createEndpoint('web', {
      portMapping: [
        { proto: 'tcp', port: 80 },
        { proto: 'udp', port: 53, hostIP: '127.0.0.1' },
      ],
    });
    const box = await f.controller.newSandbox(uniqueName('fw'));
    await web.join(box);
    expect(elements()).toHaveLength(2);
    await box.delete();
    await web.delete();
    expect(elements()).toEqual([]);
    await n1.delete();
    // Not the last one: the table stays, without the first network's rule.
    expect(nftTables()).toContain(`inet cnm-ts-${owner}`);
    expect(masqueradeFor('10.158.1.0')).toEqual([]);
    expect(masqueradeFor('10.158.2.0')).toHaveLength(2);
    await n2.delete();
    expect(ownTables(owner)).toEqual([]);
    expect(nftTables()).toContain('inet other');
    expect(other()).toEqual(otherBefore);

    // And again from nothing.
    const n3 = await f.controller.newNetwork('bridge', 'life3', { ipam: { config: [{ subnet: '10.158.3.0/24' }] } });
    expect(nftTables()).toContain(`inet cnm-ts-${owner}`);
    expect(masqueradeFor('10.158.3.0')).toHaveLength(2);
    await n3.delete();
    expect(ownTables(owner)).toEqual([]);
    expect(other()).toEqual(otherBefore);
  });

  it('keeps a published port working across restarts of the controller, rebuilding lost tables', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const network = await f.controller.newNetwork('bridge', 'restart', { ipam: { config: [{ subnet: '10.159.1.0/24' }] } });
    const endpoint = await network.createEndpoint('web', { portMapping: [{ proto: 'tcp', port: 80, hostPort: 18400 }] });
    const sandbox = await f.controller.newSandbox(uniqueName('fw'));
    await endpoint.join(sandbox);
    // (The controller and all it made are removed after the file, by useControllers.)
    await scope.server(sandbox.key, servers.echo('0.0.0.0', 80));
    expect(await tcp(HOST_IP, 18400, OUTSIDE)).toBe('hello');

    const c2 = await restart(f);
    const e2 = c2.networkByName('restart')!.endpointByName('web')!;
    expect(e2.info().sandboxId).toBe(sandbox.id);
    expect(e2.info().portMapping).toEqual([{ proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 18400 }]);
    expect(nftTables()).toContain(`inet cnm-ts-${c2.owner}`);
    expect(await tcp(HOST_IP, 18400, OUTSIDE)).toBe('hello');
    expect(await tcp(HOST_IP, 18400, null)).toBe('hello');
    expect(othersCanBind('tcp', '0.0.0.0', 18400)).toBe(false);

    // The firewall is rebuilt at start, not just left in place: stop, lose the tables (as after a
    // reboot or `nft flush ruleset`), start again.
    await f.controller.stop();
    for (const t of ownTables(c2.owner)) nft(['delete', 'table', ...t.split(' ')]);
    await expectBlocked(HOST_IP, 18400, OUTSIDE);
    const c3 = await NetworkController.create(f.options);
    f.controller = c3;
    expect(ownTables(c3.owner)).toContain(`inet cnm-ts-${c3.owner}`);
    expect(await tcp(HOST_IP, 18400, OUTSIDE)).toBe('hello');
    expect(othersCanBind('tcp', '0.0.0.0', 18400)).toBe(false);

    // Still removed by a leave after the restarts.
    const e3 = c3.networkByName('restart')!.endpointByName('web')!;
    await e3.leave(c3.sandboxById(sandbox.id)!);
    await expectBlocked(HOST_IP, 18400, OUTSIDE);
    expect(othersCanBind('tcp', '0.0.0.0', 18400)).toBe(true);
  });
});
