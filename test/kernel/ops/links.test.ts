// Links: add (bridge, veth, macvlan, vxlan), delete, set, get, list; checked with `ip -d -s -j link`.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { NetlinkError, batch, linkAdd, linkDelete, linkGet, linkList, linkSet, type LinkInfo } from '../../../lib/kernel';
import { loadBinding } from '../../../lib/native';
import {
  NETNS_DIR,
  EchoServer,
  describeKernel,
  eventually,
  expectBackTo,
  expectInvalidArgument,
  expectNetlinkError,
  hostHasLink,
  ip,
  ipAddrs,
  ipLink,
  ipLinks,
  rejection,
  snapshot,
  tcpRoundTrip,
  trackKernelObjects,
  uniqueName,
  type IpLink,
} from '../../helpers/kernel';

/** The IFF_* bits `ip` prints by name. */
const IFF: Record<string, number> = {
  UP: 0x1,
  BROADCAST: 0x2,
  LOOPBACK: 0x8,
  POINTOPOINT: 0x10,
  NOARP: 0x80,
  PROMISC: 0x100,
  MULTICAST: 0x1000,
  LOWER_UP: 0x10000,
};

/** The fields both views of a link have, in one shape. */
const fromLib = (l: LinkInfo) => ({
  name: l.name,
  index: l.index,
  kind: l.kind,
  mtu: l.mtu,
  mac: l.mac,
  master: l.master,
  up: l.up,
  operstate: l.operstate.toUpperCase(),
  flags: Object.keys(IFF).filter((f) => (l.flags & IFF[f]) !== 0),
});
const fromIp = (o: IpLink | undefined) =>
  o && {
    name: o.ifname,
    index: o.ifindex,
    kind: o.linkinfo?.info_kind ?? null,
    mtu: o.mtu,
    mac: o.address,
    master: o.master ?? null,
    up: o.flags.includes('UP'),
    operstate: o.operstate,
    flags: Object.keys(IFF).filter((f) => o.flags.includes(f)),
  };

/**
 * Expects linkGet (or, without a name, linkList) to agree with `ip` in every field both have. The
 * kernel updates operstate in the background, so the two are read again for a while before failing.
 */
async function expectSameAsIp(name: string | null, netns?: string): Promise<LinkInfo[]> {
  const where = netns ? { netns } : {};
  for (let deadline = Date.now() + 5000; ; await new Promise((r) => setTimeout(r, 100))) {
    const lib = name === null ? await linkList(where) : [await linkGet(name, where)];
    const oracle = name === null ? ipLinks(netns) : [ipLink(name, netns)];
    const [mine, theirs] = [lib.map(fromLib), oracle.map(fromIp)];
    if (JSON.stringify(mine) === JSON.stringify(theirs) || Date.now() > deadline) {
      expect(mine).toEqual(theirs);
      return lib;
    }
  }
}

/** A veth pair made with `ip`, independently of the library; both ends remembered for cleanup. */
function ipVeth(made: { link(name: string): string }): [string, string] {
  const a = made.link(uniqueName('va'));
  const b = uniqueName('vb');
  ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
  return [a, b];
}

describeKernel('links', () => {
  const { each } = trackKernelObjects();

  describe('linkAdd', () => {
    it('creates a bridge', async () => {
      const br = each.link(uniqueName('br'));
      await linkAdd({ kind: 'bridge', name: br, mtu: 1400, mac: '02:42:0a:00:00:01', up: true });

      const oracle = ipLink(br);
      expect(oracle).toMatchObject({ mtu: 1400, address: '02:42:0a:00:00:01', linkinfo: { info_kind: 'bridge' } });
      expect(oracle!.flags).toContain('UP');
      expect(await linkGet(br)).toMatchObject({ name: br, kind: 'bridge', up: true, mtu: 1400, mac: '02:42:0a:00:00:01', master: null });
      await expectSameAsIp(br);
    });

    it('creates a bridge directly inside a namespace', async () => {
      const ns = await each.namespace();
      const br = uniqueName('br');
      await linkAdd({ kind: 'bridge', name: br, netns: ns });
      expect(hostHasLink(br)).toBe(false);
      expect(ipLink(br, ns)?.linkinfo?.info_kind).toBe('bridge');
      await expectSameAsIp(br, ns);
    });

    it('creates a veth whose peer is made inside a namespace under its final name, host end up on a bridge', async () => {
      const ns = await each.namespace();
      const br = each.link(uniqueName('br'));
      const host = each.link(uniqueName('veth'));
      const peer = uniqueName('eth');
      await linkAdd({ kind: 'bridge', name: br, up: true });
      await linkAdd({ kind: 'veth', name: host, master: br, up: true, mtu: 1450, peer: { name: peer, netns: ns, mtu: 1450, mac: '02:42:ac:11:00:02' } });

      const hostOracle = ipLink(host)!;
      expect(hostOracle).toMatchObject({ master: br, mtu: 1450, linkinfo: { info_kind: 'veth' } });
      expect(hostOracle.flags).toContain('UP');
      expect(hostHasLink(peer)).toBe(false);
      const peerOracle = ipLink(peer, ns)!;
      expect(peerOracle).toMatchObject({ address: '02:42:ac:11:00:02', mtu: 1450, linkinfo: { info_kind: 'veth' } });
      expect(
        ipLinks(ns)
          .map((l) => l.ifname)
          .sort(),
      ).toEqual(['lo', peer].sort());
      // Each end's IFLA_LINK is the other's index (in the other namespace).
      expect(hostOracle.link_index).toBe(peerOracle.ifindex);

      const [lib] = await expectSameAsIp(host);
      expect(lib).toMatchObject({ kind: 'veth', master: br, up: true, parentIndex: peerOracle.ifindex });
      expect(lib.masterIndex).toBe(ipLink(br)!.ifindex);
      await expectSameAsIp(peer, ns);
    });

    it('enslaves a link made inside a namespace to the bridge there, not to a host link of that name', async () => {
      const ns = await each.namespace();
      const [br, a, b] = [each.link(uniqueName('br')), uniqueName('va'), uniqueName('vb')];
      await linkAdd({ kind: 'bridge', name: br }); // a decoy in the host, of the same name
      await linkAdd({ kind: 'bridge', name: br, netns: ns });
      await linkAdd({ kind: 'veth', name: a, netns: ns, master: br, peer: { name: b, netns: ns } });

      expect(ipLink(a, ns)?.master).toBe(br);
      expect(await linkGet(a, { netns: ns })).toMatchObject({ master: br, masterIndex: ipLink(br, ns)!.ifindex });
    });

    it('creates a macvlan on a veth end', async () => {
      const [parent] = ipVeth(each);
      const mv = each.link(uniqueName('mv'));
      await linkAdd({ kind: 'macvlan', name: mv, parent, mode: 'private' });

      const oracle = ipLink(mv);
      expect(oracle).toMatchObject({ link: parent, linkinfo: { info_kind: 'macvlan', info_data: { mode: 'private' } } });
      const [lib] = await expectSameAsIp(mv);
      expect(lib.parentIndex).toBe(ipLink(parent)!.ifindex);
    });

    it('creates a macvlan in bridge mode by default', async () => {
      const [parent] = ipVeth(each);
      const mv = each.link(uniqueName('mv'));
      await linkAdd({ kind: 'macvlan', name: mv, parent });
      expect(ipLink(mv)?.linkinfo?.info_data).toMatchObject({ mode: 'bridge' });
    });

    it('creates a vxlan with vni, port, local, remote and parent', async () => {
      const [parent] = ipVeth(each);
      const vx = each.link(uniqueName('vx'));
      await linkAdd({ kind: 'vxlan', name: vx, vni: 4242, port: 4789, local: '10.9.0.1', remote: '10.9.0.2', parent, learning: false });

      const oracle = ipLink(vx);
      expect(oracle?.linkinfo).toEqual({
        info_kind: 'vxlan',
        info_data: expect.objectContaining({ id: 4242, port: 4789, local: '10.9.0.1', remote: '10.9.0.2', link: parent, learning: false }),
      });
      await expectSameAsIp(vx);
    });

    it('creates a vxlan with a multicast group and the kernel default port', async () => {
      const [parent] = ipVeth(each);
      const vx = each.link(uniqueName('vx'));
      await linkAdd({ kind: 'vxlan', name: vx, vni: 7, group: '239.1.1.7', parent });
      expect(ipLink(vx)?.linkinfo?.info_data).toMatchObject({ id: 7, group: '239.1.1.7', port: 8472, learning: true });
    });
  });

  describe('linkDelete', () => {
    it('deletes a bridge', async () => {
      const br = each.link(uniqueName('br'));
      ip(['link', 'add', br, 'type', 'bridge']);
      await linkDelete(br);
      expect(hostHasLink(br)).toBe(false);
      await expectNetlinkError(linkGet(br), { code: 'ENODEV', syscall: 'RTM_GETLINK', object: br });
    });

    it('deletes both ends of a veth', async () => {
      const [a, b] = ipVeth(each);
      await linkDelete(b);
      expect(hostHasLink(a)).toBe(false);
      expect(hostHasLink(b)).toBe(false);
    });

    it('deletes a link inside a namespace', async () => {
      const ns = await each.namespace();
      const br = uniqueName('br');
      ip(['link', 'add', br, 'type', 'bridge'], ns);
      await linkDelete(br, { netns: ns });
      expect(ipLinks(ns).map((l) => l.ifname)).toEqual(['lo']);
    });
  });

  describe('linkSet', () => {
    it('brings a link up and down', async () => {
      const br = each.link(uniqueName('br'));
      ip(['link', 'add', br, 'type', 'bridge']);
      await linkSet(br, { up: true });
      expect(ipLink(br)!.flags).toContain('UP');
      expect((await linkGet(br)).up).toBe(true);
      await linkSet(br, { up: false });
      expect(ipLink(br)!.flags).not.toContain('UP');
      expect((await linkGet(br)).up).toBe(false);
    });

    it('changes mtu and MAC address', async () => {
      const [a] = ipVeth(each);
      await linkSet(a, { mtu: 1280, mac: '02:00:5e:10:00:01' });
      expect(ipLink(a)).toMatchObject({ mtu: 1280, address: '02:00:5e:10:00:01' });
      expect(await linkGet(a)).toMatchObject({ mtu: 1280, mac: '02:00:5e:10:00:01' });
    });

    it('renames a link, keeping its index', async () => {
      const [a] = ipVeth(each);
      const index = ipLink(a)!.ifindex;
      const renamed = each.link(uniqueName('rn'));
      await linkSet(a, { newName: renamed });
      expect(hostHasLink(a)).toBe(false);
      expect(ipLink(renamed)?.ifindex).toBe(index);
      expect((await linkGet(renamed)).index).toBe(index);
    });

    it('enslaves a link to a bridge and releases it (master null = nomaster)', async () => {
      const br = each.link(uniqueName('br'));
      ip(['link', 'add', br, 'type', 'bridge']);
      const [a] = ipVeth(each);

      await linkSet(a, { master: br });
      expect(ipLink(a)?.master).toBe(br);
      expect(await linkGet(a)).toMatchObject({ master: br, masterIndex: ipLink(br)!.ifindex });

      await linkSet(a, { master: null });
      expect(ipLink(a)?.master).toBeUndefined();
      expect(await linkGet(a)).toMatchObject({ master: null, masterIndex: 0 });
    });

    it('moves a link into a namespace', async () => {
      const ns = await each.namespace();
      const [a, b] = ipVeth(each);
      await linkSet(b, { moveTo: ns });
      expect(hostHasLink(b)).toBe(false);
      expect(hostHasLink(a)).toBe(true);
      expect(ipLink(b, ns)?.linkinfo?.info_kind).toBe('veth');
      await expectSameAsIp(b, ns);
    });

    it('brings a link up without an IPv6 link-local address with addrGenMode none', async () => {
      // Links with carrier (the peer is up) that come up right after creation: the case where the
      // mode must reach the kernel before "up" does.
      const pairs = [ipVeth(each), ipVeth(each), ipVeth(each)];
      for (const [a, b] of pairs) {
        await linkSet(b, { up: true });
        await linkSet(a, { up: true, addrGenMode: 'none' });
      }
      const linkLocal = (name: string) =>
        ipAddrs(name)
          .filter((x) => x.family === 'inet6')
          .map((x) => x.scope);
      for (const [a, b] of pairs) {
        // The other end, brought up the ordinary way, gets its link-local address ...
        await eventually(() => linkLocal(b), ['link']);
        // ... and by then this end would have one too.
        expect(linkLocal(a)).toEqual([]);
        expect(ipLink(a)).toMatchObject({ inet6_addr_gen_mode: 'none', operstate: 'UP' });
        expect(ipLink(b)).toMatchObject({ inet6_addr_gen_mode: 'eui64' });
      }
    });
  });

  describe("linkAdd's ipv6: IPv6 on for a new interface in a namespace whose new interfaces have it off", () => {
    /** What cnm-ts's sandboxes are made with. */
    const IPV6_OFF = { 'net.ipv6.conf.default.disable_ipv6': '1' };
    /** An IPv6 sysctl of the namespace at `netns`, read by a process in it. */
    const v6conf = (netns: string, key: string) =>
      execFileSync('nsenter', [`--net=${netns}`, 'cat', `/proc/sys/net/ipv6/conf/${key}`], { encoding: 'utf8' }).trim();
    const setV6conf = (netns: string, key: string, value: string) =>
      execFileSync('nsenter', [`--net=${netns}`, 'sysctl', '-qw', `net.ipv6.conf.${key}=${value}`]);
    const hostDefault = () => readFileSync('/proc/sys/net/ipv6/conf/default/disable_ipv6', 'utf8').trim();

    it("a veth's peer, in the namespace's first batch and the next one (the default's file kept from netnsCreate); others stay off", async () => {
      const netns = each.netns(`${NETNS_DIR}/${uniqueName('ns6')}`);
      const [a, b, c] = [uniqueName('va'), uniqueName('vb'), uniqueName('vc')];
      const hostBefore = hostDefault();
      await batch([
        { op: 'netnsCreate', dir: NETNS_DIR, name: basename(netns), sysctls: IPV6_OFF },
        { op: 'linkAdd', link: { kind: 'veth', name: each.link(a), peer: { name: 'eth0', netns, ipv6: true } } },
      ]);
      await linkAdd({ kind: 'veth', name: each.link(b), peer: { name: 'eth1', netns, ipv6: true } });
      await linkAdd({ kind: 'veth', name: each.link(c), peer: { name: 'eth2', netns } });
      expect(['eth0', 'eth1', 'eth2', 'default'].map((key) => v6conf(netns, `${key}/disable_ipv6`))).toEqual(['0', '0', '1', '1']);
      expect(hostDefault()).toBe(hostBefore);
      // IPv6 works on them: the kernel gives the interface its link-local address once it is up.
      await linkSet('eth0', { up: true }, { netns });
      await linkSet(a, { up: true });
      await eventually(
        () =>
          ipAddrs('eth0', netns)
            .filter((x) => x.family === 'inet6')
            .map((x) => x.scope),
        ['link'],
      );
    });

    it("turns it on through the namespace's own default: put back to 1 after, whatever it was just before", async () => {
      const netns = await each.namespace(IPV6_OFF);
      // Changed behind the addon's back between its two batches: the next batch turns IPv6 on for its
      // link by the default it keeps, and puts the value netnsCreate set back.
      setV6conf(netns, 'default.disable_ipv6', '0');
      const [a, b] = [uniqueName('va'), uniqueName('vb')];
      await batch([
        { op: 'linkAdd', link: { kind: 'veth', name: each.link(a), peer: { name: 'eth0', netns, ipv6: true } } },
        { op: 'linkAdd', link: { kind: 'veth', name: each.link(b), peer: { name: 'eth1', netns } } },
      ]);
      expect(['eth0', 'eth1', 'default'].map((key) => v6conf(netns, `${key}/disable_ipv6`))).toEqual(['0', '1', '1']);
    });

    it('a namespace not made by the addon: its own disable_ipv6 is written from inside; a macvlan too', async () => {
      const name = uniqueName('ns6');
      ip(['netns', 'add', name]);
      const netns = each.netns(`${NETNS_DIR}/${name}`);
      setV6conf(netns, 'default.disable_ipv6', '1');
      const [a, b] = ipVeth(each);
      await linkAdd({ kind: 'veth', name: each.link(uniqueName('va')), peer: { name: 'eth0', netns, ipv6: true } });
      await linkAdd({ kind: 'macvlan', name: 'mv0', parent: a, netns, ipv6: true });
      await linkAdd({ kind: 'macvlan', name: 'mv1', parent: b, netns });
      expect(['eth0', 'mv0', 'mv1', 'default'].map((key) => v6conf(netns, `${key}/disable_ipv6`))).toEqual(['0', '0', '1', '1']);
    });

    it('is refused for both ends of a veth, and when it is not a boolean', async () => {
      await expectInvalidArgument(linkAdd({ kind: 'veth', name: uniqueName('va'), ipv6: true, peer: { name: uniqueName('vb'), ipv6: true } }), 'one end');
      await expectInvalidArgument(linkAdd({ kind: 'bridge', name: uniqueName('br'), ipv6: 'yes' as unknown as boolean }), 'boolean');
      // The addon refuses it too (a refused request makes nothing; were it made, cleanup removes it).
      const link = { kind: 'veth' as const, name: each.link(uniqueName('va')), ipv6: true, peer: { name: uniqueName('vb'), ipv6: true } };
      const err = await rejection(loadBinding().execute([{ op: 'linkAdd', link }]));
      expect(err).toMatchObject({ code: 'EINVAL', syscall: 'RTM_NEWLINK' });
      await expectInvalidArgument(linkAdd({ kind: 'veth', name: uniqueName('va'), peer: { name: uniqueName('vb'), mtu: 1200, ipv6: true } }), '1280');
    });

    it('makes nothing when IPv6 cannot be turned on: the link it made is deleted again', async () => {
      // Below 1280 bytes the kernel gives a link no IPv6, so there is no disable_ipv6 to write (the
      // library refuses this; the raw binding is asked directly).
      const name = uniqueName('ns6');
      ip(['netns', 'add', name]);
      const netns = each.netns(`${NETNS_DIR}/${name}`);
      const host = each.link(uniqueName('va'));
      const link = { kind: 'veth' as const, name: host, peer: { name: 'eth0', netns, mtu: 1200, ipv6: true } };
      const err = await rejection(loadBinding().execute([{ op: 'linkAdd', link }]));
      expect(err).toMatchObject({ code: 'ENOENT', syscall: 'open' });
      expect(hostHasLink(host)).toBe(false);
      expect(ipLinks(netns).map((l) => l.ifname)).toEqual(['lo']);
    });
  });

  describe('linkGet and linkList', () => {
    it('list every link of a namespace as ip does, with operstate following the peer', async () => {
      const ns = await each.namespace();
      const [a, b, br] = [uniqueName('va'), uniqueName('vb'), uniqueName('br')];
      await linkAdd({ kind: 'bridge', name: br, netns: ns, up: true });
      await linkAdd({ kind: 'veth', name: a, netns: ns, master: br, peer: { name: b, netns: ns } });
      const operstate = async () => (await linkGet(a, { netns: ns })).operstate;
      await linkSet(a, { up: true }, { netns: ns });
      await eventually(operstate, 'lowerlayerdown');
      await linkSet(b, { up: true }, { netns: ns });
      await eventually(operstate, 'up');
      await linkSet('lo', { up: true }, { netns: ns });

      const lib = await expectSameAsIp(null, ns);
      expect(lib.map((l) => l.name).sort()).toEqual([a, b, br, 'lo'].sort());
      expect(lib.find((l) => l.name === 'lo')).toMatchObject({ kind: null, mac: '00:00:00:00:00:00', up: true });
      expect(lib.find((l) => l.name === a)).toMatchObject({ master: br, operstate: 'up' });
    });

    it('count the packets and bytes of a TCP round trip between two namespaces as ip -s does', async () => {
      // IPv6 off: no DAD / router solicitations, so the counters move only with the test's traffic.
      const noIpv6 = { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' };
      const [nsA, nsB] = [await each.namespace(noIpv6), await each.namespace(noIpv6)];
      const [a, b] = [uniqueName('va'), uniqueName('vb')];
      await linkAdd({ kind: 'veth', name: a, netns: nsA, peer: { name: b, netns: nsB } });
      ip(['addr', 'add', '10.77.0.1/24', 'dev', a], nsA);
      ip(['addr', 'add', '10.77.0.2/24', 'dev', b], nsB);
      await linkSet(a, { up: true }, { netns: nsA });
      await linkSet(b, { up: true }, { netns: nsB });

      const before = await linkGet(a, { netns: nsA });
      const server = await EchoServer.start('10.77.0.2', 7777, nsB);
      each.later(() => server.stop());
      const reply = await tcpRoundTrip('10.77.0.2', 7777, nsA);
      expect(reply).toBe('hello 10.77.0.2:7777');

      const lib1 = (await linkGet(a, { netns: nsA })).stats;
      const oracle = ipLink(a, nsA)!.stats64!;
      const lib2 = (await linkGet(a, { netns: nsA })).stats;
      // A handshake, data, FINs and ACKs each way, plus ARP: several packets, more bytes than the text.
      expect(lib1.txPackets - before.stats.txPackets).toBeGreaterThanOrEqual(4);
      expect(lib1.rxPackets - before.stats.rxPackets).toBeGreaterThanOrEqual(4);
      expect(lib1.txBytes - before.stats.txBytes).toBeGreaterThan(reply.length);
      expect(lib1.rxBytes - before.stats.rxBytes).toBeGreaterThan(reply.length);
      // ip read between two library reads: the counters may only have grown in between.
      for (const [dir, key] of [
        ['tx', 'txPackets'],
        ['rx', 'rxPackets'],
      ] as const) {
        expect(oracle[dir].packets).toBeGreaterThanOrEqual(lib1[key]);
        expect(oracle[dir].packets).toBeLessThanOrEqual(lib2[key]);
      }
      for (const [dir, key] of [
        ['tx', 'txBytes'],
        ['rx', 'rxBytes'],
      ] as const) {
        expect(oracle[dir].bytes).toBeGreaterThanOrEqual(lib1[key]);
        expect(oracle[dir].bytes).toBeLessThanOrEqual(lib2[key]);
      }
      // What one end sent, the other received.
      const peer = (await linkGet(b, { netns: nsB })).stats;
      expect(peer.rxPackets).toBeGreaterThanOrEqual(lib1.txPackets);
      expect([lib1.rxErrors, lib1.txErrors, lib1.rxDropped, lib1.txDropped]).toEqual([0, 0, 0, 0]);
    });
  });

  describe('bad input', () => {
    const badNames = [
      ['16 bytes', 'x'.repeat(16)],
      ['a slash', 'br/0'],
      ['a colon', 'br:0'],
      ['a space', 'br 0'],
      // The kernel would make br0 (or br1, ...) of it: a name the caller did not give.
      ['a kernel name template', 'br%d'],
      ['a percent sign', 'br%x'],
    ];

    it.each(badNames)('refuses a name with %s before the kernel, leaving nothing', async (_, name) => {
      const before = snapshot();
      await expectInvalidArgument(linkAdd({ kind: 'bridge', name }), name);
      await expectInvalidArgument(linkAdd({ kind: 'veth', name: uniqueName('ok'), peer: { name } }), name);
      await expectInvalidArgument(linkSet(name, { up: true }));
      await expectInvalidArgument(linkGet(name));
      await expectBackTo(before);
      expect(hostHasLink(name.slice(0, 15))).toBe(false); // not truncated silently
    });

    it.each(badNames)('refuses a name with %s in the addon too (EINVAL), leaving nothing', async (_, name) => {
      const before = snapshot();
      const err = await rejection(loadBinding().execute([{ op: 'linkAdd', link: { kind: 'bridge', name } }]));
      expect(err).toBeInstanceOf(NetlinkError);
      expect(err).toMatchObject({ code: 'EINVAL', syscall: 'RTM_NEWLINK' });
      await expectBackTo(before);
      expect(hostHasLink(name.slice(0, 15))).toBe(false);
    });

    it('refuses a link that does not exist with ENODEV', async () => {
      const missing = uniqueName('none');
      const before = snapshot();
      await expectNetlinkError(linkGet(missing), { code: 'ENODEV', syscall: 'RTM_GETLINK', object: missing });
      // linkSet names the link in its RTM_NEWLINK (or looks it up first).
      const setLink = expect.stringMatching(/^RTM_(GET|NEW|SET)LINK$/);
      await expectNetlinkError(linkSet(missing, { up: true }), { code: 'ENODEV', syscall: setLink, object: missing });
      await expectNetlinkError(linkSet(missing, { newName: uniqueName('new') }), { code: 'ENODEV', syscall: setLink, object: missing });
      await expectNetlinkError(linkDelete(missing), { code: 'ENODEV', syscall: 'RTM_DELLINK', object: missing });
      await expectBackTo(before);
    });

    it('refuses a master or parent that does not exist, creating nothing', async () => {
      const [br, missing] = [uniqueName('br'), uniqueName('none')];
      each.link(br);
      const before = snapshot();
      await expectNetlinkError(linkAdd({ kind: 'bridge', name: br, master: missing }), { code: 'ENODEV', syscall: 'RTM_GETLINK', object: missing });
      await expectNetlinkError(linkAdd({ kind: 'macvlan', name: br, parent: missing }), { code: 'ENODEV', syscall: 'RTM_GETLINK', object: missing });
      await expectBackTo(before);
      expect(hostHasLink(br)).toBe(false);
    });

    it('refuses a duplicate bridge with EEXIST and keeps the first', async () => {
      const br = each.link(uniqueName('br'));
      await linkAdd({ kind: 'bridge', name: br });
      const index = ipLink(br)!.ifindex;
      const before = snapshot();
      await expectNetlinkError(linkAdd({ kind: 'bridge', name: br }), { code: 'EEXIST', syscall: 'RTM_NEWLINK', object: br });
      await expectBackTo(before);
      expect(ipLink(br)?.ifindex).toBe(index);
    });

    it('refuses a rename onto an existing name with EEXIST', async () => {
      const [a, b] = ipVeth(each);
      await expectNetlinkError(linkSet(a, { newName: b }), { code: 'EEXIST', syscall: 'RTM_NEWLINK', object: a });
      expect(hostHasLink(a)).toBe(true);
    });

    it('refuses a peer namespace that does not exist (ENOENT) or is a regular file (EINVAL)', async () => {
      const [host, peer] = [uniqueName('veth'), uniqueName('eth')];
      each.link(host);
      const file = `/tmp/${uniqueName('cnmfile')}`;
      writeFileSync(file, 'x');
      each.later(() => rmSync(file, { force: true }));
      const missing = `${NETNS_DIR}/${uniqueName('none')}`;
      const before = snapshot();

      await expectNetlinkError(linkAdd({ kind: 'veth', name: host, peer: { name: peer, netns: missing } }), {
        code: 'ENOENT',
        syscall: 'open',
        object: missing,
      });
      await expectNetlinkError(linkAdd({ kind: 'veth', name: host, peer: { name: peer, netns: file } }), { code: 'EINVAL', syscall: 'open', object: file });
      await expectNetlinkError(linkList({ netns: missing }), { code: 'ENOENT', syscall: 'open', object: missing });

      await expectBackTo(before);
      expect(hostHasLink(host)).toBe(false);
      expect(hostHasLink(peer)).toBe(false);
      expect(existsSync(file)).toBe(true);
    });

    it('refuses to move a link into a namespace that does not exist, leaving it in place', async () => {
      const [a] = ipVeth(each);
      const missing = `${NETNS_DIR}/${uniqueName('none')}`;
      await expectNetlinkError(linkSet(a, { moveTo: missing }), { code: 'ENOENT', syscall: 'open', object: missing });
      expect(hostHasLink(a)).toBe(true);
    });

    it.each([
      ['an mtu below 68', { mtu: 67 }],
      ['a malformed MAC', { mac: '02:42:ac:11:00' }],
      ['a bad addrGenMode', { addrGenMode: 'eui48' }],
    ])('refuses %s before the kernel, leaving the link as it was', async (_, change) => {
      const [a] = ipVeth(each);
      const was = ipLink(a);
      await expectInvalidArgument(linkSet(a, change as never));
      expect(ipLink(a)).toEqual(was);
    });
  });
});
