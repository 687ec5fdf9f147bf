// DefaultIpam.toJSON / fromJSON: plain data out, the exact same state back.
import { ALLOC_SERIAL, DefaultIpam, type IpamState } from '../../lib/ipam';

/** Matches a CnmError with `code` whose message contains every fragment. */
const cnmError = (code: string, ...fragments: string[]) =>
  expect.objectContaining({
    name: 'CnmError',
    code,
    message: expect.stringMatching(new RegExp(fragments.map((f) => `(?=[\\s\\S]*${f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')})`).join(''))),
  });

/** An IPAM with pools of every kind, allocations, releases and moved cursors. */
function busyIpam(): DefaultIpam {
  const ipam = new DefaultIpam();
  const a = ipam.requestPool({}).poolId; // 172.17.0.0/16
  ipam.requestAddress(a, undefined, { RequestAddressType: 'com.docker.network.gateway' });
  for (let i = 0; i < 5; i++) ipam.requestAddress(a);
  ipam.releaseAddress(a, '172.17.0.3');
  const b = ipam.requestPool({ pool: '10.5.0.0/16', subPool: '10.5.7.0/29' }).poolId;
  ipam.requestAddress(b, '10.5.0.9');
  for (let i = 0; i < 8; i++) ipam.requestAddress(b); // fills the range, cursor wraps
  ipam.releaseAddress(b, '10.5.7.2');
  const c = ipam.requestPool({ pool: 'fd00:1:2:3::/64' }).poolId;
  ipam.requestAddress(c);
  ipam.requestAddress(c, 'fd00:1:2:3:ffff::1');
  ipam.requestPool({ addressSpace: 'GlobalDefault' }); // 10.0.0.0/24, nothing allocated
  return ipam;
}

describe('DefaultIpam.toJSON', () => {
  it('is plain data: pools with their allocations and next-address cursor', () => {
    const ipam = new DefaultIpam();
    const { poolId } = ipam.requestPool({ pool: '10.1.0.0/24', subPool: '10.1.0.128/25' });
    ipam.requestAddress(poolId, '10.1.0.5');
    ipam.requestAddress(poolId);
    ipam.requestAddress(poolId);
    const expected: IpamState = {
      version: 1,
      pools: [
        {
          poolId: 'LocalDefault/10.1.0.0/24/10.1.0.128/25',
          addressSpace: 'LocalDefault',
          pool: '10.1.0.0/24',
          subPool: '10.1.0.128/25',
          next: '10.1.0.130',
          allocated: ['10.1.0.5', '10.1.0.128', '10.1.0.129'],
        },
      ],
    };
    expect(ipam.toJSON()).toEqual(expected);
    expect(JSON.parse(JSON.stringify(ipam))).toEqual(expected);
  });

  it('lists an empty IPAM as no pools', () => {
    expect(new DefaultIpam().toJSON()).toEqual({ version: 1, pools: [] });
  });
});

describe('DefaultIpam.fromJSON', () => {
  it('restores the same pools, allocations and cursors', () => {
    const original = busyIpam();
    const saved = JSON.parse(JSON.stringify(original));
    const restored = DefaultIpam.fromJSON(saved);
    expect(restored.toJSON()).toEqual(original.toJSON());
    expect(restored.toJSON().pools.map((p) => p.next)).toEqual(['172.17.0.7', '10.5.7.0', 'fd00:1:2:3::2', '10.0.0.1']);
  });

  it('continues exactly as the original would (serial allocation, which follows the cursor)', () => {
    const original = busyIpam();
    const restored = DefaultIpam.fromJSON(JSON.parse(JSON.stringify(original)));
    const serial = { [ALLOC_SERIAL]: 'true' };
    const next = (ipam: DefaultIpam) => [
      ipam.requestAddress('LocalDefault/172.17.0.0/16', undefined, serial),
      ipam.requestAddress('LocalDefault/10.5.0.0/16/10.5.7.0/29', undefined, serial),
      ipam.requestAddress('LocalDefault/fd00:1:2:3::/64', undefined, serial),
      ipam.requestPool({}).pool,
      ipam.requestPool({ addressSpace: 'GlobalDefault' }).pool,
    ];
    const expected = ['172.17.0.7/16', '10.5.7.2/16', 'fd00:1:2:3::2/64', '172.18.0.0/16', '10.0.1.0/24'];
    expect(next(original)).toEqual(expected);
    expect(next(restored)).toEqual(expected);
    // Lowest free, the default, finds the hole the busy IPAM left below the cursor.
    expect(restored.requestAddress('LocalDefault/172.17.0.0/16')).toBe(original.requestAddress('LocalDefault/172.17.0.0/16'));
    expect(() => restored.requestAddress('LocalDefault/10.5.0.0/16/10.5.7.0/29')).toThrow(cnmError('EXHAUSTED'));
    expect(() => restored.requestAddress('LocalDefault/10.5.0.0/16/10.5.7.0/29', '10.5.0.9')).toThrow(cnmError('CONFLICT'));
  });

  it('takes the options again (they are not state)', () => {
    const restored = DefaultIpam.fromJSON(new DefaultIpam().toJSON(), { reserved: () => ['172.17.0.0/16'] });
    expect(restored.requestPool({}).pool).toBe('172.18.0.0/16');
  });

  const pool = (fields: object) => ({
    version: 1,
    pools: [{ poolId: 'LocalDefault/10.1.0.0/24', addressSpace: 'LocalDefault', pool: '10.1.0.0/24', allocated: [], ...fields }],
  });

  it.each([
    ['not an object', null],
    ['another version', { version: 2, pools: [] }],
    ['pools not a list', { version: 1, pools: {} }],
    ['an allocation that is not a string', pool({ allocated: [5] })],
    ['a missing pool', pool({ pool: undefined })],
  ])('refuses a state with %s', (_what, data) => {
    expect(() => DefaultIpam.fromJSON(data)).toThrow(cnmError('INVALID_ARGUMENT'));
  });

  it('refuses inconsistent contents, naming the offending value', () => {
    expect(() => DefaultIpam.fromJSON(pool({ allocated: ['10.2.0.1'] }))).toThrow(cnmError('INVALID_ARGUMENT', '10.2.0.1'));
    expect(() => DefaultIpam.fromJSON(pool({ allocated: ['10.1.0.1', '10.1.0.1'] }))).toThrow(cnmError('CONFLICT', '10.1.0.1'));
    expect(() => DefaultIpam.fromJSON(pool({ next: '10.1.0.255' }))).toThrow(cnmError('INVALID_ARGUMENT', '10.1.0.255'));
    expect(() => DefaultIpam.fromJSON(pool({ poolId: 'LocalDefault/10.9.0.0/24' }))).toThrow(cnmError('INVALID_ARGUMENT', '10.9.0.0/24'));
    expect(() => DefaultIpam.fromJSON(pool({ addressSpace: 'Mars' }))).toThrow(cnmError('INVALID_ARGUMENT', 'Mars'));
    const twice = pool({});
    twice.pools.push({ ...twice.pools[0], poolId: 'LocalDefault/10.1.0.0/25', pool: '10.1.0.0/25' });
    expect(() => DefaultIpam.fromJSON(twice)).toThrow(cnmError('CONFLICT', '10.1.0.0/25', '10.1.0.0/24'));
  });

  it('round-trips a large pool', () => {
    const ipam = new DefaultIpam();
    const { poolId } = ipam.requestPool({ pool: '10.0.0.0/16' });
    for (let i = 0; i < 5000; i++) ipam.requestAddress(poolId);
    for (let i = 1; i < 5000; i += 3) ipam.releaseAddress(poolId, `10.0.${i >> 8}.${i & 0xff}`);
    const restored = DefaultIpam.fromJSON(JSON.parse(JSON.stringify(ipam)));
    expect(restored.toJSON()).toEqual(ipam.toJSON());
    expect(restored.toJSON().pools[0].allocated).toHaveLength(5000 - 1667);
    expect(restored.requestAddress(poolId, undefined, { [ALLOC_SERIAL]: 'true' })).toBe('10.0.19.137/16');
    expect(restored.requestAddress(poolId)).toBe('10.0.0.1/16');
  });
});
