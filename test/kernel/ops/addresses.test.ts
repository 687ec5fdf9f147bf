// Interface addresses: add, delete, list, IPv4 and IPv6; checked with `ip -j addr`.
import { addressAdd, addressDelete, addressList, batch, type AddressInfo } from '../../../lib/kernel';
import {
  describeKernel,
  expectBackTo,
  expectInvalidArgument,
  expectNetlinkError,
  ip,
  ipAddrs,
  ipJson,
  ipLink,
  snapshot,
  trackKernelObjects,
  uniqueName,
  type IpAddr,
} from '../../helpers/kernel';

/** The addresses of a family in `ip`'s view, as "address/prefix". */
const ipCidrs = (name: string, family: 'inet' | 'inet6', netns?: string): string[] =>
  ipAddrs(name, netns)
    .filter((a) => a.family === family)
    .map((a) => `${a.local}/${a.prefixlen}`);

/** The same in the library's view. */
const libCidrs = (list: AddressInfo[]): string[] => list.map((a) => `${a.address}/${a.prefixLength}`);

describeKernel('addresses', () => {
  const { each, all } = trackKernelObjects();
  // One namespace with IPv6 on and one with IPv6 off, each with lo and a veth pair that are up.
  let v6: string;
  let noV6: string;
  const [a, b] = [uniqueName('va'), uniqueName('vb')];

  beforeAll(async () => {
    v6 = await all.namespace({ 'net.ipv6.conf.all.disable_ipv6': '0' });
    noV6 = await all.namespace({ 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1' });
    for (const ns of [v6, noV6]) {
      ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', b], ns);
      ip(['link', 'set', a, 'up'], ns);
      ip(['link', 'set', b, 'up'], ns);
      ip(['link', 'set', 'lo', 'up'], ns);
    }
  });

  describe('IPv4 in the test namespace', () => {
    let link: string;
    beforeEach(() => {
      link = each.link(uniqueName('va'));
      ip(['link', 'add', link, 'type', 'veth', 'peer', 'name', uniqueName('vb')]);
    });

    it.each([
      ['10.40.0.5/24', '10.40.0.255'],
      ['10.40.1.6/16', '10.40.255.255'],
      ['10.40.2.9/30', '10.40.2.11'],
      ['10.40.3.1/8', '10.255.255.255'],
    ])('adds %s with broadcast %s', async (cidr, broadcast) => {
      await addressAdd(link, cidr);
      const [address, prefix] = cidr.split('/');
      expect(ipAddrs(link)).toEqual([
        expect.objectContaining<Partial<IpAddr>>({ family: 'inet', local: address, prefixlen: Number(prefix), broadcast, scope: 'global' }),
      ]);
      expect(await addressList({ name: link })).toEqual([
        { ifname: link, index: ipLink(link)!.ifindex, family: 4, address, prefixLength: Number(prefix), scope: 'global' },
      ]);
    });

    it.each(['10.40.4.1/31', '10.40.5.1/32'])('adds %s without a broadcast address', async (cidr) => {
      await addressAdd(link, cidr);
      const [got] = ipAddrs(link);
      expect(`${got.local}/${got.prefixlen}`).toBe(cidr);
      expect(got.broadcast).toBeUndefined();
    });

    it('deletes one address and keeps the others', async () => {
      await addressAdd(link, '10.41.0.1/24');
      await addressAdd(link, '10.41.1.1/24');
      await addressDelete(link, '10.41.0.1/24');
      expect(ipCidrs(link, 'inet')).toEqual(['10.41.1.1/24']);
      expect(libCidrs(await addressList({ name: link, family: 4 }))).toEqual(['10.41.1.1/24']);
    });

    it('refuses a duplicate with EEXIST and keeps one copy', async () => {
      await addressAdd(link, '10.42.0.1/24');
      await expectNetlinkError(addressAdd(link, '10.42.0.1/24'), { code: 'EEXIST', syscall: 'RTM_NEWADDR', object: link });
      expect(ipCidrs(link, 'inet')).toEqual(['10.42.0.1/24']);
    });

    it.each(['10.0.0.300/24', '10.0.0.1/33', 'abc', '10.0.0.1', '10.0.0.1/24 ', 'fd00::1/129'])(
      'refuses the malformed address %j before the kernel',
      async (cidr) => {
        const before = snapshot();
        await expectInvalidArgument(addressAdd(link, cidr), JSON.stringify(cidr));
        await expectInvalidArgument(addressDelete(link, cidr));
        expect(ipAddrs(link)).toEqual([]);
        await expectBackTo(before);
      },
    );

    it('refuses a link that does not exist with ENODEV', async () => {
      const missing = uniqueName('none');
      await expectNetlinkError(addressAdd(missing, '10.43.0.1/24'), { code: 'ENODEV', object: missing, syscall: 'RTM_GETLINK' });
      await expectNetlinkError(addressList({ name: missing }), { code: 'ENODEV', object: missing, syscall: 'RTM_GETLINK' });
      expect(ipJson<{ local: string }[]>(['addr', 'show', 'to', '10.43.0.1'])).toEqual([]);
    });

    it('refuses a bad link name before the kernel', async () => {
      await expectInvalidArgument(addressAdd('a b', '10.43.0.1/24'), "'a b'");
      await expectInvalidArgument(addressAdd('x'.repeat(16), '10.43.0.1/24'), '16 bytes');
    });

    it('refuses to delete an address the link does not have with EADDRNOTAVAIL', async () => {
      await addressAdd(link, '10.44.0.1/24');
      await expectNetlinkError(addressDelete(link, '10.44.0.2/24'), { code: 'EADDRNOTAVAIL', syscall: 'RTM_DELADDR', object: link });
      expect(ipCidrs(link, 'inet')).toEqual(['10.44.0.1/24']);
    });
  });

  describe('in a namespace', () => {
    afterEach(() => {
      for (const ns of [v6, noV6]) ip(['addr', 'flush', 'dev', a, 'scope', 'global'], ns);
    });

    it('adds, lists and deletes an IPv6 address where IPv6 is on', async () => {
      await addressAdd(a, 'fd00:45::2/64', { netns: v6 });
      expect(ipCidrs(a, 'inet6', v6)).toContain('fd00:45::2/64');
      const listed = await addressList({ netns: v6, name: a, family: 6 });
      expect(listed).toContainEqual({ ifname: a, index: ipLink(a, v6)!.ifindex, family: 6, address: 'fd00:45::2', prefixLength: 64, scope: 'global' });
      // The kernel's own link-local address is there too, in both views.
      expect(libCidrs(listed).sort()).toEqual(ipCidrs(a, 'inet6', v6).sort());

      await addressDelete(a, 'fd00:45::2/64', { netns: v6 });
      expect(ipCidrs(a, 'inet6', v6)).not.toContain('fd00:45::2/64');
      expect(libCidrs(await addressList({ netns: v6, name: a }))).not.toContain('fd00:45::2/64');
    });

    it('adds an IPv6 address without duplicate address detection when asked (nodad), usable at once', async () => {
      const flags = (cidr: string) => {
        const found = ipAddrs(a, v6).find((x) => `${x.local}/${x.prefixlen}` === cidr) as (IpAddr & { nodad?: boolean; tentative?: boolean }) | undefined;
        return { nodad: found?.nodad ?? false, tentative: found?.tentative ?? false };
      };
      await batch([{ op: 'addressAdd', name: a, address: 'fd00:48::2/64', nodad: true, netns: v6 }]);
      expect(flags('fd00:48::2/64')).toEqual({ nodad: true, tentative: false });
      // Without it, the kernel probes the link first (the veth is up, its peer too).
      await addressAdd(a, 'fd00:48::3/64', { netns: v6 });
      expect(flags('fd00:48::3/64')).toEqual({ nodad: false, tentative: true });
      await expectInvalidArgument(batch([{ op: 'addressAdd', name: a, address: 'fd00:48::4/64', nodad: 'yes' as never, netns: v6 }]), 'nodad');
    });

    it('lists every address of the namespace by family as ip does', async () => {
      await addressAdd(a, '10.46.0.1/24', { netns: v6 });
      await addressAdd(a, 'fd00:46::1/64', { netns: v6 });
      await addressAdd(b, '10.46.0.2/24', { netns: v6 });
      const oracle = (family: string) =>
        ipJson<{ ifname: string; addr_info: IpAddr[] }[]>(['addr', 'show'], v6)
          .flatMap((l) => l.addr_info.filter((x) => x.family === family).map((x) => `${l.ifname} ${x.local}/${x.prefixlen}`))
          .sort();
      const mine = (list: AddressInfo[]) => list.map((x) => `${x.ifname} ${x.address}/${x.prefixLength}`).sort();

      expect(mine(await addressList({ netns: v6, family: 4 }))).toEqual(oracle('inet'));
      expect(mine(await addressList({ netns: v6, family: 4 }))).toEqual([`${a} 10.46.0.1/24`, `${b} 10.46.0.2/24`, 'lo 127.0.0.1/8'].sort());
      expect(mine(await addressList({ netns: v6, family: 6 }))).toEqual(oracle('inet6'));
      expect(mine(await addressList({ netns: v6 }))).toEqual([...oracle('inet'), ...oracle('inet6')].sort());
    });

    it('refuses an IPv6 address where IPv6 is disabled, leaving the link without one', async () => {
      const err = await expectNetlinkError(addressAdd(a, 'fd00:47::2/64', { netns: noV6 }), { code: 'EACCES', syscall: 'RTM_NEWADDR', object: a });
      expect(err.message).toContain('fd00:47::2/64');
      expect(ipAddrs(a, noV6).filter((x) => x.family === 'inet6')).toEqual([]);
      // IPv4 works there.
      await addressAdd(a, '10.47.0.2/24', { netns: noV6 });
      expect(ipCidrs(a, 'inet', noV6)).toEqual(['10.47.0.2/24']);
    });

    it('keeps addresses of one namespace out of the other and out of the test namespace', async () => {
      await addressAdd(a, '10.48.0.1/24', { netns: v6 });
      expect(ipCidrs(a, 'inet', noV6)).toEqual([]);
      expect(ipJson(['addr', 'show', 'to', '10.48.0.1'])).toEqual([]);
    });
  });
});
