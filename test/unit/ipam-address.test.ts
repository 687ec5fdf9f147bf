// The default IPAM's addresses: reserved ones, gateway, static, lowest free and serial, ipRange, IPv6, scale.
import { ALLOC_SERIAL, DefaultIpam, GATEWAY_ADDRESS_TYPE, REQUEST_ADDRESS_TYPE } from '../../lib/ipam';
import { timeLimit } from '../helpers/timing';

/** Matches a CnmError with `code` whose message contains every fragment. */
const cnmError = (code: string, ...fragments: string[]) =>
  expect.objectContaining({
    name: 'CnmError',
    code,
    message: expect.stringMatching(new RegExp(fragments.map((f) => `(?=[\\s\\S]*${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')})`).join(''))),
  });

const gateway = { [REQUEST_ADDRESS_TYPE]: GATEWAY_ADDRESS_TYPE };

/** A fresh IPAM with one explicit pool; `take` asks for serial allocation when `serial`. */
function withPool(pool: string, subPool?: string, serial = false) {
  const ipam = new DefaultIpam();
  const { poolId } = ipam.requestPool({ pool, subPool });
  const options = serial ? { [ALLOC_SERIAL]: 'true' } : undefined;
  const take = (n: number) => Array.from({ length: n }, () => ipam.requestAddress(poolId, undefined, options));
  return { ipam, poolId, take };
}

describe('DefaultIpam.requestAddress, IPv4', () => {
  it('starts after the network address and returns the pool prefix length', () => {
    const { take } = withPool('10.0.0.0/24');
    expect(take(3)).toEqual(['10.0.0.1/24', '10.0.0.2/24', '10.0.0.3/24']);
  });

  it('gives the gateway the first usable address when asked first', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/24');
    expect(ipam.requestAddress(poolId, undefined, gateway)).toBe('10.0.0.1/24');
    expect(take(1)).toEqual(['10.0.0.2/24']);
  });

  it('gives the gateway the lowest free address when the first is taken, without moving the cursor', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/24');
    expect(take(3)).toEqual(['10.0.0.1/24', '10.0.0.2/24', '10.0.0.3/24']);
    ipam.releaseAddress(poolId, '10.0.0.2');
    expect(ipam.requestAddress(poolId, undefined, gateway)).toBe('10.0.0.2/24');
    expect(take(1)).toEqual(['10.0.0.4/24']);
  });

  it('a given gateway address is taken as given', () => {
    const { ipam, poolId } = withPool('10.0.0.0/24');
    expect(ipam.requestAddress(poolId, '10.0.0.254', gateway)).toBe('10.0.0.254/24');
  });

  it('never hands out the network or broadcast address: a /30 has two, then EXHAUSTED', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/30');
    expect(take(2)).toEqual(['10.0.0.1/30', '10.0.0.2/30']);
    expect(() => ipam.requestAddress(poolId)).toThrow(cnmError('EXHAUSTED', poolId));
    expect(() => ipam.requestAddress(poolId, '10.0.0.0')).toThrow(cnmError('INVALID_ARGUMENT', '10.0.0.0', 'network'));
    expect(() => ipam.requestAddress(poolId, '10.0.0.3')).toThrow(cnmError('INVALID_ARGUMENT', '10.0.0.3', 'broadcast'));
    expect(() => ipam.requestAddress(poolId, undefined, gateway)).toThrow(cnmError('EXHAUSTED'));
  });

  it('uses both addresses of a /31 and the one of a /32 (RFC 3021, as Docker)', () => {
    expect(withPool('10.0.0.0/31').take(2)).toEqual(['10.0.0.0/31', '10.0.0.1/31']);
    const single = withPool('10.0.0.7/32');
    expect(single.take(1)).toEqual(['10.0.0.7/32']);
    expect(() => single.take(1)).toThrow(cnmError('EXHAUSTED'));
  });

  it('takes a given address, bare or with the pool prefix length', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/24');
    expect(ipam.requestAddress(poolId, '10.0.0.9')).toBe('10.0.0.9/24');
    expect(ipam.requestAddress(poolId, '10.0.0.10/24')).toBe('10.0.0.10/24');
    expect(take(1)).toEqual(['10.0.0.1/24']);
  });

  it('refuses a given address outside the pool, of the other family, malformed or with another length', () => {
    const { ipam, poolId } = withPool('10.0.0.0/24');
    expect(() => ipam.requestAddress(poolId, '10.0.1.1')).toThrow(cnmError('INVALID_ARGUMENT', '10.0.1.1', poolId));
    expect(() => ipam.requestAddress(poolId, 'fd00::1')).toThrow(cnmError('INVALID_ARGUMENT', 'fd00::1'));
    expect(() => ipam.requestAddress(poolId, '10.0.0.256')).toThrow(cnmError('INVALID_ARGUMENT', '10.0.0.256'));
    expect(() => ipam.requestAddress(poolId, '10.0.0.5/16')).toThrow(cnmError('INVALID_ARGUMENT', '10.0.0.5/16'));
  });

  it('refuses an address already allocated with CONFLICT, dynamic or static', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/24');
    take(1);
    expect(() => ipam.requestAddress(poolId, '10.0.0.1')).toThrow(cnmError('CONFLICT', '10.0.0.1', poolId));
    ipam.requestAddress(poolId, '10.0.0.50');
    expect(() => ipam.requestAddress(poolId, '10.0.0.50/24')).toThrow(cnmError('CONFLICT', '10.0.0.50'));
  });

  it('is NOT_FOUND for an unknown pool', () => {
    expect(() => new DefaultIpam().requestAddress('LocalDefault/10.0.0.0/24')).toThrow(cnmError('NOT_FOUND', 'LocalDefault/10.0.0.0/24'));
  });

  it('skips addresses taken statically (auxiliary addresses are reserved this way)', () => {
    // docker network create --subnet 10.4.0.0/24 --aux-address host1=10.4.0.3 --aux-address host2=10.4.0.4
    const { ipam, poolId, take } = withPool('10.4.0.0/24');
    const aux = { host1: '10.4.0.3', host2: '10.4.0.4' };
    expect(ipam.requestAddress(poolId, undefined, gateway)).toBe('10.4.0.1/24');
    for (const address of Object.values(aux)) ipam.requestAddress(poolId, address);
    expect(take(3)).toEqual(['10.4.0.2/24', '10.4.0.5/24', '10.4.0.6/24']);
    expect(() => ipam.requestAddress(poolId, aux.host1)).toThrow(cnmError('CONFLICT', aux.host1));
  });
});

describe('DefaultIpam lowest-free allocation (the default, as libnetwork for local networks)', () => {
  it('reuses a just-released address at once: the lowest free one comes next', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/24');
    take(3);
    ipam.releaseAddress(poolId, '10.0.0.2');
    expect(take(2)).toEqual(['10.0.0.2/24', '10.0.0.4/24']);
  });

  it('fills holes from the bottom of the range; a static address is skipped', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/29');
    ipam.requestAddress(poolId, '10.0.0.2');
    expect(take(5)).toEqual(['10.0.0.1/29', '10.0.0.3/29', '10.0.0.4/29', '10.0.0.5/29', '10.0.0.6/29']);
    ipam.releaseAddress(poolId, '10.0.0.5');
    ipam.releaseAddress(poolId, '10.0.0.3');
    expect(take(2)).toEqual(['10.0.0.3/29', '10.0.0.5/29']);
    expect(() => take(1)).toThrow(cnmError('EXHAUSTED'));
  });

  it('stays in the ipRange, lowest first', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/24', '10.0.0.128/29');
    take(3);
    ipam.releaseAddress(poolId, '10.0.0.128');
    expect(take(1)).toEqual(['10.0.0.128/24']);
  });
});

describe('DefaultIpam serial allocation (com.docker.network.ipam.serial) and release', () => {
  it('does not reuse a just-released address: it continues after the last one', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/24', undefined, true);
    take(3);
    ipam.releaseAddress(poolId, '10.0.0.2');
    expect(take(2)).toEqual(['10.0.0.4/24', '10.0.0.5/24']);
  });

  it('wraps around at the end of the range to the free addresses', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/29', undefined, true);
    expect(take(6)).toEqual(['10.0.0.1/29', '10.0.0.2/29', '10.0.0.3/29', '10.0.0.4/29', '10.0.0.5/29', '10.0.0.6/29']);
    ipam.releaseAddress(poolId, '10.0.0.5/29');
    ipam.releaseAddress(poolId, '10.0.0.3');
    expect(take(2)).toEqual(['10.0.0.3/29', '10.0.0.5/29']);
    expect(() => take(1)).toThrow(cnmError('EXHAUSTED'));
    ipam.releaseAddress(poolId, '10.0.0.1');
    ipam.releaseAddress(poolId, '10.0.0.6');
    expect(take(2)).toEqual(['10.0.0.6/29', '10.0.0.1/29']);
  });

  it('continues after a static address only for dynamic ones it hands out', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/24', undefined, true);
    ipam.requestAddress(poolId, '10.0.0.100');
    expect(take(2)).toEqual(['10.0.0.1/24', '10.0.0.2/24']);
  });

  it('refuses to release an address that is not allocated (NOT_FOUND), twice included', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/24');
    take(1);
    expect(() => ipam.releaseAddress(poolId, '10.0.0.2')).toThrow(cnmError('NOT_FOUND', '10.0.0.2', poolId));
    ipam.releaseAddress(poolId, '10.0.0.1');
    expect(() => ipam.releaseAddress(poolId, '10.0.0.1')).toThrow(cnmError('NOT_FOUND', '10.0.0.1'));
  });

  it('refuses to release in an unknown pool (NOT_FOUND) or outside the pool (INVALID_ARGUMENT)', () => {
    const { ipam, poolId } = withPool('10.0.0.0/24');
    expect(() => ipam.releaseAddress('LocalDefault/10.9.0.0/24', '10.9.0.1')).toThrow(cnmError('NOT_FOUND', '10.9.0.0/24'));
    expect(() => ipam.releaseAddress(poolId, '10.9.0.1')).toThrow(cnmError('INVALID_ARGUMENT', '10.9.0.1'));
  });

  it('lets a released static address be requested again', () => {
    const { ipam, poolId } = withPool('10.0.0.0/24');
    ipam.requestAddress(poolId, '10.0.0.7');
    ipam.releaseAddress(poolId, '10.0.0.7/24');
    expect(ipam.requestAddress(poolId, '10.0.0.7')).toBe('10.0.0.7/24');
  });
});

describe('DefaultIpam sub-pool (ipRange)', () => {
  it('limits dynamic addresses to the range; static ones may be anywhere in the pool', () => {
    const { ipam, poolId, take } = withPool('10.2.0.0/16', '10.2.5.0/30');
    expect(take(4)).toEqual(['10.2.5.0/16', '10.2.5.1/16', '10.2.5.2/16', '10.2.5.3/16']);
    expect(() => take(1)).toThrow(cnmError('EXHAUSTED', '10.2.5.0/30', poolId));
    expect(ipam.requestAddress(poolId, '10.2.9.9')).toBe('10.2.9.9/16');
    expect(() => ipam.requestAddress(poolId, '10.3.0.1')).toThrow(cnmError('INVALID_ARGUMENT', '10.3.0.1'));
    ipam.releaseAddress(poolId, '10.2.5.2');
    expect(take(1)).toEqual(['10.2.5.2/16']);
  });

  it('gives the gateway the first address of the range, as Docker does without --gateway', () => {
    const { ipam, poolId, take } = withPool('10.2.0.0/16', '10.2.5.0/24');
    expect(ipam.requestAddress(poolId, undefined, gateway)).toBe('10.2.5.0/16');
    expect(take(1)).toEqual(['10.2.5.1/16']);
  });

  it("still excludes the pool's network and broadcast addresses at the range edges", () => {
    const low = withPool('10.3.0.0/24', '10.3.0.0/30');
    expect(low.take(3)).toEqual(['10.3.0.1/24', '10.3.0.2/24', '10.3.0.3/24']);
    expect(() => low.take(1)).toThrow(cnmError('EXHAUSTED'));
    const high = withPool('10.3.0.0/24', '10.3.0.252/30');
    expect(high.take(3)).toEqual(['10.3.0.252/24', '10.3.0.253/24', '10.3.0.254/24']);
    expect(() => high.take(1)).toThrow(cnmError('EXHAUSTED'));
  });
});

describe('DefaultIpam IPv6', () => {
  it('allocates from a /64 after the subnet-router anycast address; no broadcast', () => {
    const { ipam, poolId, take } = withPool('fd00:1:2:3::/64');
    expect(ipam.requestAddress(poolId, undefined, gateway)).toBe('fd00:1:2:3::1/64');
    expect(take(2)).toEqual(['fd00:1:2:3::2/64', 'fd00:1:2:3::3/64']);
    expect(ipam.requestAddress(poolId, 'fd00:1:2:3:ffff:ffff:ffff:ffff')).toBe('fd00:1:2:3:ffff:ffff:ffff:ffff/64');
    expect(ipam.requestAddress(poolId, 'FD00:1:2:3:0:0:0:AB')).toBe('fd00:1:2:3::ab/64');
    expect(() => ipam.requestAddress(poolId, 'fd00:1:2:3::ab')).toThrow(cnmError('CONFLICT', 'fd00:1:2:3::ab'));
    expect(() => ipam.requestAddress(poolId, 'fd00:1:2:3::')).toThrow(cnmError('INVALID_ARGUMENT', 'network'));
    expect(() => ipam.requestAddress(poolId, 'fd00:1:2:4::1')).toThrow(cnmError('INVALID_ARGUMENT', 'fd00:1:2:4::1'));
    expect(() => ipam.requestAddress(poolId, '10.0.0.1')).toThrow(cnmError('INVALID_ARGUMENT', '10.0.0.1'));
    ipam.releaseAddress(poolId, 'fd00:1:2:3::2');
    expect(take(1)).toEqual(['fd00:1:2:3::2/64']);
    ipam.releaseAddress(poolId, 'fd00:1:2:3:ffff:ffff:ffff:ffff/64');
  });

  it('wraps and exhausts a tiny pool: a /126 has three', () => {
    const { ipam, poolId, take } = withPool('fd00::/126');
    expect(take(3)).toEqual(['fd00::1/126', 'fd00::2/126', 'fd00::3/126']);
    expect(() => take(1)).toThrow(cnmError('EXHAUSTED'));
    ipam.releaseAddress(poolId, 'fd00::1');
    expect(take(1)).toEqual(['fd00::1/126']);
  });

  it('limits dynamic addresses to an IPv6 sub-pool', () => {
    const { take } = withPool('fd00:1:2:3::/64', 'fd00:1:2:3:4::/80');
    expect(take(2)).toEqual(['fd00:1:2:3:4::/64', 'fd00:1:2:3:4::1/64']);
  });

  it('works on a /8 without materialising it', () => {
    const { ipam, poolId, take } = withPool('fd00::/8');
    expect(take(1)).toEqual(['fd00::1/8']);
    expect(ipam.requestAddress(poolId, 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe('fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/8');
  });
});

describe('DefaultIpam scale', () => {
  it('allocates 1000 addresses in a /16 quickly', () => {
    const { take } = withPool('10.0.0.0/16');
    const started = performance.now();
    const got = take(1000);
    const elapsed = performance.now() - started;
    expect(got[0]).toBe('10.0.0.1/16');
    expect(got[999]).toBe('10.0.3.232/16');
    expect(new Set(got).size).toBe(1000);
    expect(elapsed).toBeLessThan(timeLimit(100)); // well under a millisecond each
  });

  it('fills a whole /16 (65534 addresses), then finds a released hole in the middle fast', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/16');
    const all = take(65534);
    expect(all[65533]).toBe('10.0.255.254/16');
    expect(() => take(1)).toThrow(cnmError('EXHAUSTED'));
    ipam.releaseAddress(poolId, '10.0.128.7');
    const started = performance.now();
    expect(take(1)).toEqual(['10.0.128.7/16']);
    expect(performance.now() - started).toBeLessThan(timeLimit(5));
  });

  it('stays fast when allocations are fragmented (every other address free)', () => {
    const { ipam, poolId, take } = withPool('10.0.0.0/16');
    take(65534);
    for (let i = 2; i <= 65534; i += 2) ipam.releaseAddress(poolId, `10.0.${i >> 8}.${i & 0xff}`);
    const started = performance.now();
    const got = take(1000);
    expect(performance.now() - started).toBeLessThan(timeLimit(100));
    expect(got.slice(0, 3)).toEqual(['10.0.0.2/16', '10.0.0.4/16', '10.0.0.6/16']);
  });

  it('allocates 1000 addresses in an IPv6 /64 quickly', () => {
    const { take } = withPool('fd00:1:2:3::/64');
    const started = performance.now();
    const got = take(1000);
    expect(performance.now() - started).toBeLessThan(timeLimit(100));
    expect(got[999]).toBe('fd00:1:2:3::3e8/64');
  });
});
