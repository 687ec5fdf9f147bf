// The nf_tables expression builders and values: bytes as the kernel compares them. No root.
import { endianness } from 'node:os';
import { CnmError } from '../../lib';
import { nftExpr as x, nftPrefixElement, nftValue as v, type NftExpr } from '../../lib/kernel';
import { validateNftExpr } from '../../lib/native/nft-validate';

const hex = (b: unknown) => (b instanceof Uint8Array ? Buffer.from(b).toString('hex') : b);
/** The expressions with their byte fields as hex, for readable comparisons. */
const shown = (exprs: NftExpr[]) => exprs.map((e) => Object.fromEntries(Object.entries(e).map(([k, val]) => [k, hex(val)])));

describe('nftValue', () => {
  it('encodes addresses, ports, protocols, interface names and marks', () => {
    expect(hex(v.ipv4('10.0.0.1'))).toBe('0a000001');
    expect(hex(v.ipv6('fd00::1'))).toBe('fd000000000000000000000000000001');
    expect(hex(v.port(8080))).toBe('1f90');
    expect(hex(v.protocol('udp'))).toBe('11');
    expect(hex(v.ifname('eth0'))).toBe('65746830' + '00'.repeat(12));
    expect(hex(v.mark(1))).toBe(endianness() === 'LE' ? '01000000' : '00000001');
  });

  it('refuses what does not fit', () => {
    expect(() => v.ipv4('fd00::1')).toThrow(CnmError);
    expect(() => v.port(65536)).toThrow(CnmError);
    expect(() => v.ifname('a-name-of-16-byte')).toThrow(CnmError);
    expect(() => v.protocol(300)).toThrow(CnmError);
  });

  it('turns a prefix into an interval element (first and last address)', () => {
    expect(nftPrefixElement('10.1.2.3/16')).toEqual({ key: Buffer.from([10, 1, 0, 0]), keyEnd: Buffer.from([10, 1, 255, 255]) });
    expect(nftPrefixElement('192.168.1.7/32')).toEqual({ key: Buffer.from([192, 168, 1, 7]), keyEnd: Buffer.from([192, 168, 1, 7]) });
  });
});

describe('nftExpr', () => {
  it('matches an interface name padded to IFNAMSIZ, or a prefix for a wildcard', () => {
    expect(shown(x.oifname('br0', { negate: true }))).toEqual([
      { expr: 'meta', key: 'oifname', dreg: 0 },
      { expr: 'cmp', op: 'neq', sreg: 0, data: '627230' + '00'.repeat(13) },
    ]);
    expect(shown(x.iifname('veth*'))[1]).toEqual({ expr: 'cmp', op: 'eq', sreg: 0, data: '76657468' });
  });

  it('matches an IPv4 prefix with the IPv4 dependency and a mask', () => {
    expect(shown(x.saddr('172.17.0.0/16'))).toEqual([
      { expr: 'meta', key: 'nfproto', dreg: 0 },
      { expr: 'cmp', op: 'eq', sreg: 0, data: '02' },
      { expr: 'payload', base: 'network', offset: 12, len: 4, dreg: 0 },
      { expr: 'bitwise', sreg: 0, dreg: 0, mask: 'ffff0000', xor: '00000000' },
      { expr: 'cmp', op: 'eq', sreg: 0, data: 'ac110000' },
    ]);
    expect(shown(x.daddr('fd00::1')).slice(1)).toEqual([
      { expr: 'cmp', op: 'eq', sreg: 0, data: '0a' },
      { expr: 'payload', base: 'network', offset: 24, len: 16, dreg: 0 },
      { expr: 'cmp', op: 'eq', sreg: 0, data: 'fd000000000000000000000000000001' },
    ]);
  });

  it('builds ports, ct state, DNAT and map lookups that pass validation', () => {
    const rules = [
      x.dport('tcp', 80),
      x.ctState(['established', 'related']),
      x.dnat('10.0.0.2', 8080),
      x.snat('192.0.2.1'),
      x.dnatByMap('ports', 'udp'),
      x.daddrPortIn('open', 'tcp', { negate: true }),
      [x.counter(), x.masquerade(['fully-random']), x.jump('c'), x.goto('c'), x.accept(), x.drop(), x.return()],
    ];
    rules.flat().forEach((e, i) => validateNftExpr(e, `expression ${i}`));
    expect(shown(x.dport('tcp', 80))).toEqual([
      { expr: 'meta', key: 'l4proto', dreg: 0 },
      { expr: 'cmp', op: 'eq', sreg: 0, data: '06' },
      { expr: 'payload', base: 'transport', offset: 2, len: 2, dreg: 0 },
      { expr: 'cmp', op: 'eq', sreg: 0, data: '0050' },
    ]);
    expect(x.dnatByMap('ports', 'tcp').slice(-2)).toEqual([
      { expr: 'lookup', set: 'ports', sreg: 0, dreg: 0 },
      { expr: 'nat', type: 'dnat', family: 'ip', addr: 0, port: 1 },
    ]);
    expect(() => x.ctState(['bogus' as never])).toThrow(CnmError);
  });

  it('snat picks the family of its address', () => {
    expect(shown(x.snat('192.0.2.1'))).toEqual([
      { expr: 'immediate', dreg: 0, data: 'c0000201' },
      { expr: 'nat', type: 'snat', family: 'ip', addr: 0 },
    ]);
    expect(shown(x.snat('2001:db8::1'))).toEqual([
      { expr: 'immediate', dreg: 0, data: '20010db8000000000000000000000001' },
      { expr: 'nat', type: 'snat', family: 'ip6', addr: 0 },
    ]);
    expect(() => x.snat('nowhere')).toThrow(CnmError);
  });
});
