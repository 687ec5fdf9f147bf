// Validation of everything that goes to the addon: no root, no kernel.
import { CnmError } from '../../lib';
import type { NativeOp } from '../../lib/kernel';
import { MAX_IFNAME_BYTES, parseCidr, validateIfname, validateMac, validateOp, validateSysctlKey } from '../../lib/native/validate';

/** Runs `fn` and returns what it threw (fails if it did not throw). */
function thrown(fn: () => unknown): CnmError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CnmError);
    return err as CnmError;
  }
  throw new Error('expected a throw');
}

describe('validateIfname', () => {
  it.each(['eth0', 'a', 'br-0123456789ab', 'x'.repeat(MAX_IFNAME_BYTES), 'eth0.10', 'vé'])('accepts %j', (name) => {
    expect(validateIfname(name)).toBe(name);
  });

  it.each([
    ['16 bytes', 'x'.repeat(16)],
    ['15 characters but 16 bytes', 'é' + 'x'.repeat(14)],
    ['empty', ''],
    ['a slash', 'a/b'],
    ['a colon', 'eth0:1'],
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a newline', 'a\n'],
    ['a NUL', 'a\0b'],
    ['a kernel name template', 'veth%d'],
    ['a percent sign', 'a%b'],
    ['"."', '.'],
    ['".."', '..'],
  ])('refuses %s', (_, name) => {
    const err = thrown(() => validateIfname(name, 'bridge name'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain('bridge name');
  });

  it.each([undefined, null, 5, {}])('refuses the non-string %j', (name) => {
    expect(thrown(() => validateIfname(name)).message).toContain('must be a string');
  });

  it('names the byte count of a long name', () => {
    expect(thrown(() => validateIfname('x'.repeat(16))).message).toContain('16 bytes');
  });
});

describe('parseCidr', () => {
  it.each([
    ['10.0.0.2/24', 4, '10.0.0.2', 24],
    ['0.0.0.0/0', 4, '0.0.0.0', 0],
    ['10.0.0.1/32', 4, '10.0.0.1', 32],
    ['fd00::2/64', 6, 'fd00::2', 64],
    ['::/0', 6, '::', 0],
    ['::ffff:10.0.0.1/128', 6, '::ffff:10.0.0.1', 128],
  ])('parses %s', (cidr, family, address, prefixLength) => {
    expect(parseCidr(cidr)).toEqual({ family, address, prefixLength });
  });

  it.each([
    '10.0.0.300/24',
    '10.0.0.1/33',
    'fd00::1/129',
    'abc',
    '10.0.0.1',
    '10.0.0.1/',
    '/24',
    '10.0.0.1/-1',
    '10.0.0.1/2a',
    '10.0.0.1/24/1',
    ' 10.0.0.1/24',
    'fd00:::1/64',
  ])('refuses %j', (cidr) => {
    const err = thrown(() => parseCidr(cidr, 'address'));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(JSON.stringify(cidr));
  });

  it.each([5, null, undefined])('refuses the non-string %j', (cidr) => {
    expect(thrown(() => parseCidr(cidr)).code).toBe('INVALID_ARGUMENT');
  });

  describe('as a network (route destination)', () => {
    it.each(['10.0.0.0/24', '10.0.0.0/8', '10.128.0.0/9', '10.0.0.1/32', '0.0.0.0/0', 'fd00::/64', 'fd00:0:0:1::/64', 'fd00::1/128', '::/0'])(
      'accepts %s',
      (cidr) => {
        expect(parseCidr(cidr, 'destination', true).address).toBe(cidr.split('/')[0]);
      },
    );

    it.each(['10.0.0.1/24', '11.0.0.0/7', '10.192.0.0/9', '0.0.0.1/0', 'fd00::1/64', 'fd00:0:0:1:8000::/64', '::1/127'])(
      'refuses %s (host bits set)',
      (cidr) => {
        const err = thrown(() => parseCidr(cidr, 'route destination', true));
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toContain('host bits');
      },
    );

    it('does not check host bits of an interface address', () => {
      expect(parseCidr('10.0.0.1/24').prefixLength).toBe(24);
    });
  });
});

describe('validateMac', () => {
  it.each(['02:42:ac:11:00:02', 'AA:BB:CC:DD:EE:FF', '00:00:00:00:00:00'])('accepts %s', (mac) => {
    expect(validateMac(mac)).toBe(mac);
  });

  it.each(['02:42:ac:11:00', '02:42:ac:11:00:02:03', '02-42-ac-11-00-02', '0242.ac11.0002', '02:42:ac:11:00:0g', '2:42:ac:11:00:02', '', 42])(
    'refuses %j',
    (mac) => {
      expect(thrown(() => validateMac(mac)).code).toBe('INVALID_ARGUMENT');
    },
  );
});

describe('validateSysctlKey', () => {
  it.each(['net.ipv4.ip_forward', 'net.ipv6.conf.all.disable_ipv6', 'net/ipv6/conf/eth0.10/disable_ipv6', 'net.ipv4.conf.br-1.forwarding'])(
    'accepts %s',
    (key) => {
      expect(validateSysctlKey(key)).toBe(key);
    },
  );

  it.each([
    '',
    '.',
    'net..ipv4',
    '.net.ipv4',
    'net.ipv4.',
    '../../etc/passwd',
    'net/../../etc/passwd',
    '/net/ipv4/ip_forward',
    'net/ipv4/',
    'net.ipv4.ip forward',
    'net.ipv4.ip_forward\n',
    5,
  ])('refuses %j', (key) => {
    expect(thrown(() => validateSysctlKey(key)).code).toBe('INVALID_ARGUMENT');
  });
});

describe('validateOp', () => {
  const veth = { kind: 'veth', name: 'veth0', peer: { name: 'eth0' } } as const;
  const rejections: [string, unknown, string][] = [
    ['an unknown op', { op: 'linkFrobnicate' }, 'unknown operation'],
    ['a relative netns path', { op: 'linkList', netns: 'run/netns/x' }, 'absolute path'],
    ['a relative namespace directory', { op: 'netnsCreate', dir: 'netns', name: 'x' }, 'absolute path'],
    ['a namespace name with a slash', { op: 'netnsCreate', dir: '/run/netns', name: 'a/b' }, "may not be '.' or '..' or contain '/'"],
    ['a namespace name ".."', { op: 'netnsCreate', dir: '/run/netns', name: '..' }, "'..'"],
    ['a bad sysctl key at namespace creation', { op: 'netnsCreate', dir: '/run/netns', name: 'x', sysctls: { '../x': '1' } }, 'sysctl key'],
    ['resolverSockets that is not an object', { op: 'netnsCreate', dir: '/run/netns', name: 'x', resolverSockets: true }, 'resolverSockets must be an object'],
    ['a resolver port above 65535', { op: 'netnsCreate', dir: '/run/netns', name: 'x', resolverSockets: { udpPort: 70000 } }, 'udpPort'],
    ['a DNS socket port that is not an integer', { op: 'dnsSockets', tcpPort: 53.5 }, 'tcpPort'],
    ['a DNS redirect in the host namespace', { op: 'dnsSockets', redirectTable: 'cnm-ts-x-dns' }, 'needs a netns'],
    ['a DNS redirect table with no name', { op: 'dnsSockets', netns: '/run/netns/c1', redirectTable: '' }, 'redirect table name'],
    ['a relative netnsDelete path', { op: 'netnsDelete', path: 'x' }, 'absolute path'],
    ['a link that is not an object', { op: 'linkAdd', link: null }, 'link must be an object'],
    ['an unknown link kind', { op: 'linkAdd', link: { kind: 'dummy', name: 'd0' } }, 'link kind'],
    ['a long link name', { op: 'linkAdd', link: { kind: 'bridge', name: 'x'.repeat(16) } }, '16 bytes'],
    ['an mtu below 68', { op: 'linkAdd', link: { kind: 'bridge', name: 'br0', mtu: 67 } }, 'mtu of br0'],
    ['an mtu above 65535', { op: 'linkAdd', link: { kind: 'bridge', name: 'br0', mtu: 65536 } }, 'mtu of br0'],
    ['a fractional mtu', { op: 'linkAdd', link: { kind: 'bridge', name: 'br0', mtu: 1500.5 } }, 'mtu of br0'],
    ['a bad MAC', { op: 'linkAdd', link: { kind: 'bridge', name: 'br0', mac: 'nope' } }, 'MAC address of br0'],
    ['a bad master', { op: 'linkAdd', link: { kind: 'bridge', name: 'br0', master: 'a b' } }, 'master'],
    ['a veth without a peer', { op: 'linkAdd', link: { kind: 'veth', name: 'veth0' } }, 'needs a peer'],
    ['a veth peer with a bad name', { op: 'linkAdd', link: { ...veth, peer: { name: 'eth:0' } } }, 'veth peer name'],
    ['a veth whose ends share a name', { op: 'linkAdd', link: { ...veth, peer: { name: 'veth0' } } }, 'both ends'],
    ['a veth peer with a relative netns', { op: 'linkAdd', link: { ...veth, peer: { name: 'eth0', netns: 'x' } } }, 'peer netns'],
    ['a macvlan with a bad mode', { op: 'linkAdd', link: { kind: 'macvlan', name: 'mv0', parent: 'eth0', mode: 'fast' } }, 'macvlan mode'],
    ['a macvlan without a parent', { op: 'linkAdd', link: { kind: 'macvlan', name: 'mv0' } }, 'macvlan parent'],
    ['a vxlan vni above 24 bits', { op: 'linkAdd', link: { kind: 'vxlan', name: 'vx0', vni: 0x1000000 } }, 'vni of vx0'],
    ['a vxlan port 0', { op: 'linkAdd', link: { kind: 'vxlan', name: 'vx0', vni: 1, port: 0 } }, 'port of vx0'],
    ['a vxlan bad remote', { op: 'linkAdd', link: { kind: 'vxlan', name: 'vx0', vni: 1, remote: '10.0.0.300' } }, 'vxlan remote'],
    ['a vxlan with group and remote', { op: 'linkAdd', link: { kind: 'vxlan', name: 'vx0', vni: 1, group: '239.1.1.1', remote: '10.0.0.2' } }, 'not both'],
    ['linkSet with no change object', { op: 'linkSet', name: 'eth0', change: null }, 'must be an object'],
    ['a link name that is a kernel template', { op: 'linkAdd', link: { kind: 'bridge', name: 'br%d' } }, "'%'"],
    ['a veth peer name that is a kernel template', { op: 'linkAdd', link: { ...veth, peer: { name: 'eth%d' } } }, "'%'"],
    ['linkSet to a new name that is a kernel template', { op: 'linkSet', name: 'eth0', change: { newName: 'eth%d' } }, "'%'"],
    ['linkSet to a bad new name', { op: 'linkSet', name: 'eth0', change: { newName: 'x'.repeat(16) } }, 'new name'],
    ['linkSet with a relative moveTo', { op: 'linkSet', name: 'eth0', change: { moveTo: 'ns1' } }, 'moveTo'],
    ['linkSet with a bad addrGenMode', { op: 'linkSet', name: 'eth0', change: { addrGenMode: 'eui48' } }, 'addrGenMode'],
    ['linkGet of a name with a space', { op: 'linkGet', name: 'a b' }, 'interface name'],
    ['an address without a prefix', { op: 'addressAdd', name: 'eth0', address: '10.0.0.2' }, 'address'],
    ['an address list of family 5', { op: 'addressList', family: 5 }, 'family must be 4 or 6'],
    ['a route that is not an object', { op: 'routeAdd', route: null }, 'route must be an object'],
    ['a route destination with host bits', { op: 'routeAdd', route: { destination: '10.0.0.1/24', dev: 'eth0' } }, 'host bits'],
    ['a route with an IPv6 gateway for IPv4', { op: 'routeAdd', route: { destination: '10.0.0.0/24', gateway: 'fd00::1' } }, 'IPv6'],
    ['a default IPv4 route with an IPv6 gateway', { op: 'routeReplace', route: { destination: 'default', family: 4, gateway: 'fd00::1' } }, 'IPv6'],
    ['a route with neither gateway nor device', { op: 'routeDelete', route: { destination: '10.0.0.0/24' } }, 'needs a gateway or a device'],
    ['a route with a bad gateway', { op: 'routeAdd', route: { destination: '10.0.0.0/24', gateway: 'router' } }, 'gateway'],
    ['a route with a negative metric', { op: 'routeAdd', route: { destination: '10.0.0.0/24', dev: 'eth0', metric: -1 } }, 'metric'],
    ['a route in table 0', { op: 'routeAdd', route: { destination: '10.0.0.0/24', dev: 'eth0', table: 0 } }, 'table'],
    ['a route with scope "nowhere"', { op: 'routeAdd', route: { destination: '10.0.0.0/24', dev: 'eth0', scope: 'nowhere' } }, 'scope'],
    ['a route list of family 0', { op: 'routeList', family: 0 }, 'family must be 4 or 6'],
    ['a sysctl get with a bad key', { op: 'sysctlGet', key: 'net/../../etc/shadow' }, 'sysctl key'],
    ['a sysctl value that is a number', { op: 'sysctlSet', key: 'net.ipv4.ip_forward', value: 1 }, 'must be a string'],
  ];

  it.each(rejections)('refuses %s', (_, op, mentions) => {
    const err = thrown(() => validateOp(op as NativeOp));
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(mentions);
  });

  it.each<NativeOp>([
    { op: 'netnsCreate', dir: '/run/netns', name: 'c1', sysctls: { 'net.ipv4.ip_forward': '1' }, resolverSockets: { udpPort: 40000, tcpPort: 40001 } },
    { op: 'dnsSockets', netns: '/run/netns/c1', udpPort: 40000 },
    { op: 'dnsSockets', netns: '/run/netns/c1', redirectTable: 'cnm-ts-x-dns' },
    { op: 'linkAdd', link: { ...veth, master: 'br0', mtu: 1500, peer: { name: 'eth0', netns: '/run/netns/c1', mac: '02:42:ac:11:00:02' } } },
    { op: 'linkAdd', link: { kind: 'vxlan', name: 'vx0', vni: 42, port: 4789, local: '10.0.0.1', remote: '10.0.0.2' } },
    { op: 'linkSet', name: 'eth0', change: { master: null, up: true, addrGenMode: 'none' } },
    { op: 'routeAdd', route: { destination: 'default', gateway: '10.0.0.1', metric: 0, table: 100, scope: 'global' } },
    { op: 'routeAdd', route: { destination: 'fd00::/64', gateway: 'fd00::1' } },
    { op: 'sysctlSet', key: 'net.ipv4.ip_forward', value: '1', netns: '/run/netns/c1' },
  ])('accepts a valid $op', (op) => {
    expect(() => validateOp(op)).not.toThrow();
  });
});

describe('paths beneath a base folder (writeFiles, removePaths)', () => {
  const write = (path: string): NativeOp => ({ op: 'writeFiles', base: '/var/lib/cnm-ts', files: [{ path, content: '' }] });
  it.each(['a', 'a/b', 'a/b/', 'store/endpoints/x.json', 'a.b/.c/..d/...'])('takes %j', (path) => {
    expect(() => validateOp(write(path))).not.toThrow();
  });
  it.each(['', '/', '/a', 'a//b', 'a//', './a', 'a/.', 'a/./b', '..', 'a/..', 'a/../b', '../a', 'a\0b'])('refuses %j', (path) => {
    expect(() => validateOp(write(path))).toThrow('plain relative path');
  });
});
