// The default IPAM's pools: predefined order and skipping, explicit pools, conflicts, address spaces.
import { CnmError } from '../../lib/errors';
import { DefaultIpam, DEFAULT_LOCAL_POOLS } from '../../lib/ipam';
import { timeLimit } from '../helpers/timing';

/** Matches a CnmError with `code` whose message contains every fragment. */
const cnmError = (code: string, ...fragments: string[]) =>
  expect.objectContaining({
    name: 'CnmError',
    code,
    message: expect.stringMatching(new RegExp(fragments.map((f) => `(?=[\\s\\S]*${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')})`).join(''))),
  });

const pools = (ipam: DefaultIpam, n: number, addressSpace?: string): string[] => Array.from({ length: n }, () => ipam.requestPool({ addressSpace }).pool);

const the15 = Array.from({ length: 15 }, (_, i) => `172.${17 + i}.0.0/16`);
const the16 = Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`);

describe('DefaultIpam address spaces', () => {
  it('names LocalDefault and GlobalDefault', () => {
    expect(new DefaultIpam().getDefaultAddressSpaces()).toEqual({ local: 'LocalDefault', global: 'GlobalDefault' });
  });

  it('refuses an unknown address space', () => {
    expect(() => new DefaultIpam().requestPool({ addressSpace: 'Elsewhere', pool: '10.0.0.0/8' })).toThrow(cnmError('INVALID_ARGUMENT', 'Elsewhere'));
    expect(() => new DefaultIpam().requestPool({ addressSpace: 'toString' })).toThrow(cnmError('INVALID_ARGUMENT', 'toString'));
  });

  it('lets pools of different address spaces overlap', () => {
    const ipam = new DefaultIpam();
    expect(ipam.requestPool({ pool: '10.0.0.0/8' }).poolId).toBe('LocalDefault/10.0.0.0/8');
    expect(ipam.requestPool({ addressSpace: 'GlobalDefault', pool: '10.0.0.0/24' }).poolId).toBe('GlobalDefault/10.0.0.0/24');
  });
});

describe('DefaultIpam predefined pools', () => {
  it("are Docker's: the fifteen 172.17-31 /16s, then 192.168.0.0/16 as /20s, in that order", () => {
    expect(DEFAULT_LOCAL_POOLS[0]).toEqual({ base: '172.17.0.0/16', size: 16 });
    const ipam = new DefaultIpam();
    const first = ipam.requestPool({});
    expect(first).toEqual({ poolId: 'LocalDefault/172.17.0.0/16', pool: '172.17.0.0/16', meta: {} });
    expect(pools(ipam, 30)).toEqual([...the15.slice(1), ...the16]);
  });

  it('are exhausted after the 31st with EXHAUSTED', () => {
    const ipam = new DefaultIpam();
    pools(ipam, 31);
    expect(() => ipam.requestPool({})).toThrow(cnmError('EXHAUSTED', 'LocalDefault'));
  });

  it('skip a pool overlapping a reserved host network', () => {
    const ipam = new DefaultIpam({ reserved: () => ['172.17.5.0/24'] });
    expect(ipam.requestPool({}).pool).toBe('172.18.0.0/16');
  });

  it('take reserved networks as bare addresses (nameservers), CIDRs with host bits (routes) and IPv6', () => {
    const ipam = new DefaultIpam({ reserved: () => ['172.17.0.53', '172.18.9.9/16', 'fd00::1', '172.20.0.0/14'] });
    expect(pools(ipam, 3)).toEqual(['172.19.0.0/16', '172.24.0.0/16', '172.25.0.0/16']);
  });

  it('ask for the reserved networks on every request, so host changes count', () => {
    let reserved: string[] = [];
    const source = jest.fn(() => reserved);
    const ipam = new DefaultIpam({ reserved: source });
    expect(ipam.requestPool({}).pool).toBe('172.17.0.0/16');
    reserved = ['172.18.0.0/15'];
    expect(ipam.requestPool({}).pool).toBe('172.20.0.0/16');
    expect(source).toHaveBeenCalledTimes(2);
  });

  it('refuse a malformed reserved network', () => {
    const ipam = new DefaultIpam({ reserved: () => ['not-a-network'] });
    expect(() => ipam.requestPool({})).toThrow(cnmError('INVALID_ARGUMENT', 'not-a-network'));
  });

  it('are all skipped when a reserved network covers them', () => {
    const ipam = new DefaultIpam({ reserved: () => ['172.16.0.0/12', '192.168.0.0/16'] });
    expect(() => ipam.requestPool({})).toThrow(cnmError('EXHAUSTED'));
  });

  it('skip allocated pools, also partial overlaps', () => {
    const ipam = new DefaultIpam();
    ipam.requestPool({ pool: '172.17.0.0/16' });
    ipam.requestPool({ pool: '172.19.128.0/24' });
    ipam.requestPool({ pool: '192.168.0.0/16' });
    expect(pools(ipam, 13)).toEqual(the15.filter((p) => p !== '172.17.0.0/16' && p !== '172.19.0.0/16'));
    expect(() => ipam.requestPool({})).toThrow(cnmError('EXHAUSTED'));
  });

  it('hand a released pool out again', () => {
    const ipam = new DefaultIpam();
    const { poolId } = ipam.requestPool({});
    expect(ipam.requestPool({}).pool).toBe('172.18.0.0/16');
    ipam.releasePool(poolId);
    expect(ipam.requestPool({}).pool).toBe('172.17.0.0/16');
    expect(ipam.requestPool({}).pool).toBe('172.19.0.0/16');
  });

  it('of GlobalDefault are 10.0.0.0/8 as /24s, skipping allocated pools of that space only', () => {
    const ipam = new DefaultIpam();
    ipam.requestPool({ pool: '10.0.4.0/24' });
    expect(ipam.requestPool({ addressSpace: 'GlobalDefault' }).pool).toBe('10.0.0.0/24');
    ipam.requestPool({ addressSpace: 'GlobalDefault', pool: '10.0.1.0/24' });
    ipam.requestPool({ addressSpace: 'GlobalDefault', pool: '10.0.2.0/23' });
    expect(pools(ipam, 2, 'GlobalDefault')).toEqual(['10.0.4.0/24', '10.0.5.0/24']);
    expect(ipam.requestPool({}).pool).toBe('172.17.0.0/16');
  });

  it('jump past a large taken network', () => {
    const ipam = new DefaultIpam({ reserved: () => ['10.0.0.0/9'] });
    ipam.requestPool({ addressSpace: 'GlobalDefault', pool: '10.128.0.0/24' });
    expect(ipam.requestPool({ addressSpace: 'GlobalDefault' }).pool).toBe('10.128.1.0/24');
  });

  it('of GlobalDefault run out after 65536 /24s, found quickly', () => {
    const ipam = new DefaultIpam({ reserved: () => ['10.0.0.0/9'] });
    ipam.requestPool({ addressSpace: 'GlobalDefault', pool: '10.128.0.0/9' });
    const started = performance.now();
    expect(() => ipam.requestPool({ addressSpace: 'GlobalDefault' })).toThrow(cnmError('EXHAUSTED', 'GlobalDefault'));
    expect(performance.now() - started).toBeLessThan(timeLimit(50));
  });

  it('can be replaced: bare CIDRs are one pool each, { base, size } is split', () => {
    const ipam = new DefaultIpam({ predefined: ['10.10.0.0/24', { base: '10.20.0.0/22', size: 24 }] });
    expect(pools(ipam, 5)).toEqual(['10.10.0.0/24', '10.20.0.0/24', '10.20.1.0/24', '10.20.2.0/24', '10.20.3.0/24']);
    expect(() => ipam.requestPool({})).toThrow(cnmError('EXHAUSTED'));
  });

  it('refuse a bad predefined list when the IPAM is made', () => {
    expect(() => new DefaultIpam({ predefined: [{ base: '10.0.0.0/16', size: 8 }] })).toThrow(cnmError('INVALID_ARGUMENT', '10.0.0.0/16', 'size'));
    expect(() => new DefaultIpam({ predefined: [{ base: '10.0.0.0/16', size: 33 }] })).toThrow(cnmError('INVALID_ARGUMENT'));
    expect(() => new DefaultIpam({ predefined: ['10.0.0.1/16'] })).toThrow(cnmError('INVALID_ARGUMENT', 'host bits'));
  });

  it('have no IPv6 entries by default: v6 without a pool is INVALID_ARGUMENT', () => {
    expect(() => new DefaultIpam().requestPool({ v6: true })).toThrow(cnmError('INVALID_ARGUMENT', 'IPv6'));
  });

  it('can include IPv6 networks, used only for v6 requests', () => {
    const ipam = new DefaultIpam({ predefined: ['10.10.0.0/24', { base: 'fd00:aa::/48', size: 64 }] });
    expect(ipam.requestPool({ v6: true }).pool).toBe('fd00:aa::/64');
    expect(ipam.requestPool({ v6: true }).pool).toBe('fd00:aa:0:1::/64');
    expect(ipam.requestPool({}).pool).toBe('10.10.0.0/24');
  });
});

describe('DefaultIpam explicit pools', () => {
  it('returns the pool with a libnetwork pool id', () => {
    const ipam = new DefaultIpam();
    expect(ipam.requestPool({ pool: '10.1.0.0/16' })).toEqual({ poolId: 'LocalDefault/10.1.0.0/16', pool: '10.1.0.0/16', meta: {} });
    expect(ipam.requestPool({ pool: '10.2.0.0/16', subPool: '10.2.1.0/24' }).poolId).toBe('LocalDefault/10.2.0.0/16/10.2.1.0/24');
  });

  it('treats "" as absent, like the remote protocol', () => {
    expect(new DefaultIpam().requestPool({ pool: '', subPool: '' }).pool).toBe('172.17.0.0/16');
  });

  it.each(['banana', '10.1.0.0', '10.1.0.0/33', '10.1.0.0/-1', '300.1.0.0/16', 'fe80::%eth0/64'])('refuses the malformed pool %s', (pool) => {
    expect(() => new DefaultIpam().requestPool({ pool })).toThrow(cnmError('INVALID_ARGUMENT', pool));
  });

  it('refuses a pool with host bits set', () => {
    expect(() => new DefaultIpam().requestPool({ pool: '10.1.2.0/16' })).toThrow(cnmError('INVALID_ARGUMENT', '10.1.2.0/16', 'host bits'));
    expect(() => new DefaultIpam().requestPool({ pool: 'fd00::1/64' })).toThrow(cnmError('INVALID_ARGUMENT', 'host bits'));
  });

  it.each([
    ['10.1.0.0/16', '10.1.0.0/16'],
    ['10.1.0.0/16', '10.1.2.0/24'],
    ['10.1.0.0/16', '10.0.0.0/8'],
    ['fd00:1::/64', 'fd00:1::/48'],
  ])('refuses %s then %s as CONFLICT naming both', (a, b) => {
    const ipam = new DefaultIpam();
    ipam.requestPool({ pool: a });
    expect(() => ipam.requestPool({ pool: b })).toThrow(cnmError('CONFLICT', b, a));
  });

  it('allows adjacent pools', () => {
    const ipam = new DefaultIpam();
    ipam.requestPool({ pool: '10.1.0.0/24' });
    expect(ipam.requestPool({ pool: '10.1.1.0/24' }).pool).toBe('10.1.1.0/24');
  });

  it('allows a pool over a reserved host network (only predefined pools avoid them)', () => {
    const ipam = new DefaultIpam({ reserved: () => ['10.1.0.0/16'] });
    expect(ipam.requestPool({ pool: '10.1.0.0/16' }).pool).toBe('10.1.0.0/16');
  });

  it('checks the subPool (ipRange)', () => {
    const ipam = new DefaultIpam();
    expect(() => ipam.requestPool({ pool: '10.1.0.0/16', subPool: '10.2.0.0/24' })).toThrow(cnmError('INVALID_ARGUMENT', '10.2.0.0/24', '10.1.0.0/16'));
    expect(() => ipam.requestPool({ pool: '10.1.0.0/16', subPool: '10.0.0.0/8' })).toThrow(cnmError('INVALID_ARGUMENT', '10.0.0.0/8'));
    expect(() => ipam.requestPool({ pool: '10.1.0.0/16', subPool: '10.1.0.1/24' })).toThrow(cnmError('INVALID_ARGUMENT', 'host bits'));
    expect(() => ipam.requestPool({ pool: '10.1.0.0/16', subPool: 'fd00::/64' })).toThrow(cnmError('INVALID_ARGUMENT'));
    expect(() => ipam.requestPool({ subPool: '10.1.0.0/24' })).toThrow(cnmError('INVALID_ARGUMENT', '10.1.0.0/24'));
    expect(ipam.requestPool({ pool: '10.1.0.0/16', subPool: '10.1.0.0/16' }).poolId).toBe('LocalDefault/10.1.0.0/16/10.1.0.0/16');
  });

  it('checks v6 against the family of the pool', () => {
    const ipam = new DefaultIpam();
    expect(() => ipam.requestPool({ pool: '10.1.0.0/16', v6: true })).toThrow(cnmError('INVALID_ARGUMENT', '10.1.0.0/16'));
    expect(() => ipam.requestPool({ pool: 'fd00::/64', v6: false })).toThrow(cnmError('INVALID_ARGUMENT', 'fd00::/64'));
    expect(ipam.requestPool({ pool: 'FD00:0:0:7::/64' }).pool).toBe('fd00:0:0:7::/64');
    expect(ipam.requestPool({ pool: 'fd00:0:0:8::/64', v6: true }).poolId).toBe('LocalDefault/fd00:0:0:8::/64');
  });

  it('frees the subnet on releasePool; releasing twice is NOT_FOUND', () => {
    const ipam = new DefaultIpam();
    const { poolId } = ipam.requestPool({ pool: '10.1.0.0/16' });
    ipam.requestAddress(poolId);
    ipam.releasePool(poolId);
    expect(() => ipam.releasePool(poolId)).toThrow(cnmError('NOT_FOUND', poolId));
    expect(() => ipam.requestAddress(poolId)).toThrow(cnmError('NOT_FOUND', poolId));
    const again = ipam.requestPool({ pool: '10.1.0.0/16' });
    expect(ipam.requestAddress(again.poolId)).toBe('10.1.0.1/16');
  });

  it('raises CnmError instances', () => {
    expect(() => new DefaultIpam().releasePool('LocalDefault/10.9.0.0/16')).toThrow(CnmError);
  });
});
