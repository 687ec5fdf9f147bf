// The pieces under DefaultIpam: BigInt prefix math and formatting, the sparse bitmap, the
// predefined-pool search.
import { SparseBitmap } from '../../lib/ipam/bitmap';
import { firstFreePool, parsePredefined } from '../../lib/ipam/predefined';
import {
  containsPrefix,
  formatAddress,
  formatPrefix,
  lastAddress,
  overlaps,
  parseAddress,
  parseAddressOrPrefix,
  parsePrefix,
  prefixSize,
} from '../../lib/ipam/prefix';
import { timeLimit } from '../helpers/timing';

describe('IPAM prefix math', () => {
  it('parses addresses to numbers', () => {
    expect(parseAddress('10.0.1.2')).toEqual({ family: 4, value: 0x0a000102n });
    expect(parseAddress('255.255.255.255').value).toBe(0xffffffffn);
    expect(parseAddress('::1')).toEqual({ family: 6, value: 1n });
    expect(parseAddress('fd00::ab:1').value).toBe((0xfd00n << 112n) | (0xabn << 16n) | 1n);
    expect(parseAddress('::ffff:1.2.3.4').value).toBe((0xffffn << 32n) | 0x01020304n);
    expect(() => parseAddress('fe80::1%eth0')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it.each([
    ['10.0.1.2', '10.0.1.2'],
    ['0.0.0.0', '0.0.0.0'],
    ['::', '::'],
    ['::1', '::1'],
    ['fd00::', 'fd00::'],
    ['FD00:0000:0000:0000:0000:0000:0000:00AB', 'fd00::ab'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero word stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['::ffff:1.2.3.4', '::ffff:102:304'],
  ])('formats %s as %s (RFC 5952)', (input, output) => {
    const { family, value } = parseAddress(input);
    expect(formatAddress(value, family)).toBe(output);
  });

  it('parses networks, refusing host bits unless asked to mask them', () => {
    expect(parsePrefix('10.1.0.0/16')).toEqual({ family: 4, base: 0x0a010000n, bits: 16 });
    expect(() => parsePrefix('10.1.2.0/16')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(formatPrefix(parsePrefix('10.1.2.3/16', 'route', true))).toBe('10.1.0.0/16');
    expect(formatPrefix(parsePrefix('fd00:1:2:3::/64'))).toBe('fd00:1:2:3::/64');
    expect(formatPrefix(parsePrefix('0.0.0.0/0'))).toBe('0.0.0.0/0');
  });

  it('takes a bare address as a host prefix', () => {
    expect(formatPrefix(parseAddressOrPrefix('8.8.8.8', 'nameserver'))).toBe('8.8.8.8/32');
    expect(formatPrefix(parseAddressOrPrefix('fd00::53', 'nameserver'))).toBe('fd00::53/128');
    expect(formatPrefix(parseAddressOrPrefix('192.168.1.77/24', 'route'))).toBe('192.168.1.0/24');
  });

  it('sizes, ends, containment and overlap', () => {
    const p16 = parsePrefix('10.1.0.0/16');
    const p24 = parsePrefix('10.1.255.0/24');
    const other = parsePrefix('10.2.0.0/24');
    const v6 = parsePrefix('::/0');
    expect(prefixSize(p16)).toBe(65536n);
    expect(prefixSize(parsePrefix('fd00::/64'))).toBe(1n << 64n);
    expect(formatAddress(lastAddress(p16), 4)).toBe('10.1.255.255');
    expect(containsPrefix(p16, p24)).toBe(true);
    expect(containsPrefix(p24, p16)).toBe(false);
    expect(overlaps(p24, p16)).toBe(true);
    expect(overlaps(p16, other)).toBe(false);
    expect(overlaps(v6, parsePrefix('0.0.0.0/0'))).toBe(false);
  });
});

describe('SparseBitmap', () => {
  it('sets, tests and clears values, counting them', () => {
    const set = new SparseBitmap();
    expect(set.add(5n)).toBe(true);
    expect(set.add(5n)).toBe(false);
    expect(set.add(1023n)).toBe(true);
    expect(set.add(1024n)).toBe(true);
    expect(set.add(1n << 100n)).toBe(true);
    expect(set.size).toBe(4n);
    expect([set.has(5n), set.has(6n), set.has(1023n), set.has(1024n), set.has(1n << 100n)]).toEqual([true, false, true, true, true]);
    expect([...set.values()]).toEqual([5n, 1023n, 1024n, 1n << 100n]);
    expect(set.delete(1023n)).toBe(true);
    expect(set.delete(1023n)).toBe(false);
    expect(set.delete(7n)).toBe(false);
    expect(set.size).toBe(3n);
    expect([...set.values()]).toEqual([5n, 1024n, 1n << 100n]);
  });

  it('finds the next absent value, across words and full blocks', () => {
    const set = new SparseBitmap();
    expect(set.nextAbsent(7n)).toBe(7n);
    for (let v = 0n; v < 3000n; v++) set.add(v);
    expect(set.nextAbsent(0n)).toBe(3000n);
    expect(set.nextAbsent(2047n)).toBe(3000n);
    set.delete(31n);
    set.delete(32n);
    set.delete(2500n);
    expect(set.nextAbsent(0n)).toBe(31n);
    expect(set.nextAbsent(32n)).toBe(32n);
    expect(set.nextAbsent(33n)).toBe(2500n);
    expect(set.nextAbsent(2501n)).toBe(3000n);
    expect(set.nextAbsent(5000n)).toBe(5000n);
  });

  it('clears a value far away completely', () => {
    const set = new SparseBitmap();
    set.add(1n << 63n);
    set.delete(1n << 63n);
    expect(set.size).toBe(0n);
    expect([...set.values()]).toEqual([]);
    expect(set.nextAbsent(1n << 63n)).toBe(1n << 63n);
  });
});

describe('predefined pool search', () => {
  const taken = (...cidrs: string[]) => cidrs.map((c) => parsePrefix(c));

  it('walks networks in order and each in address order', () => {
    const networks = parsePredefined([{ base: '10.0.0.0/22', size: 24 }, '10.9.0.0/16']);
    expect(formatPrefix(firstFreePool(networks, 4, [])!)).toBe('10.0.0.0/24');
    expect(formatPrefix(firstFreePool(networks, 4, taken('10.0.0.0/24', '10.0.1.128/25'))!)).toBe('10.0.2.0/24');
    expect(formatPrefix(firstFreePool(networks, 4, taken('10.0.0.0/22'))!)).toBe('10.9.0.0/16');
    expect(firstFreePool(networks, 4, taken('10.0.0.0/8'))).toBeUndefined();
    expect(firstFreePool(networks, 6, [])).toBeUndefined();
  });

  it('jumps past a large taken network instead of trying each pool in it', () => {
    const networks = parsePredefined([{ base: '10.0.0.0/8', size: 30 }]);
    const started = performance.now();
    expect(formatPrefix(firstFreePool(networks, 4, taken('10.0.0.0/9', '10.128.0.0/10', '10.192.0.0/30'))!)).toBe('10.192.0.4/30');
    expect(performance.now() - started).toBeLessThan(timeLimit(20));
  });

  it('finds the gap among taken networks given in any order, nested or adjacent', () => {
    const networks = parsePredefined([{ base: '10.0.0.0/16', size: 24 }]);
    const found = (...cidrs: string[]) => formatPrefix(firstFreePool(networks, 4, taken(...cidrs))!);
    expect(found('10.0.1.0/24', '10.0.0.0/23', '10.0.0.128/25', '10.0.2.0/24', '10.0.4.0/24')).toBe('10.0.3.0/24');
    expect(found('10.0.0.0/22', '10.0.0.0/21', '10.0.3.7/32')).toBe('10.0.8.0/24');
    expect(found('10.0.0.5/32', 'fd00::/8')).toBe('10.0.1.0/24');
  });

  it('stays fast with thousands of pools taken in a row (IPv6 /64s of one /48)', () => {
    const networks = parsePredefined([{ base: 'fd00:1:2::/48', size: 64 }]);
    const inUse = Array.from({ length: 5000 }, (_, i) => parsePrefix(`fd00:1:2:${i.toString(16)}::/64`)).reverse();
    const started = performance.now();
    expect(formatPrefix(firstFreePool(networks, 6, inUse)!)).toBe('fd00:1:2:1388::/64');
    expect(performance.now() - started).toBeLessThan(timeLimit(50));
  });
});
