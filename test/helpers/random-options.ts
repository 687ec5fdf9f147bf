// Random option objects for the property tests, from a seeded PRNG (mulberry32), so that a failing
// case is reproduced by its seed. Each generated value says whether one of its fields was chosen
// from the invalid ones (`bad`): such an object must be refused with INVALID_ARGUMENT.

/** A value and whether a field of it was picked from the invalid choices. */
export interface Generated<T = unknown> {
  value: T;
  bad: boolean;
}

/** Wrong JS types and values that no option takes (each field adds its own near misses). */
const JUNK: unknown[] = [null, NaN, Infinity, -Infinity, 1.5, () => 1, 10n, Symbol('s'), new Map(), new Date(0)];

/** Random choices driven by mulberry32 from a seed. */
export class Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/**
 * Builds one object field by field: each field is left out, valid, or (rarely) invalid. The
 * object is bad if any field is.
 */
export class Builder {
  private readonly fields: Record<string, unknown> = {};
  bad = false;

  constructor(
    private readonly r: Random,
    private readonly badRate = 0.08,
  ) {}

  /** Adds the field: absent (pAbsent), one of `invalid` or JUNK (badRate), else valid(). */
  field(name: string, valid: () => unknown, invalid: readonly unknown[] = [], pAbsent = 0.5): this {
    if (this.r.chance(pAbsent)) return this;
    if (this.r.chance(this.badRate)) {
      this.fields[name] = this.r.chance(0.6) && invalid.length > 0 ? this.r.pick(invalid) : this.r.pick(JUNK);
      this.bad = true;
      return this;
    }
    const made = valid();
    if (isGenerated(made)) {
      this.fields[name] = made.value;
      this.bad ||= made.bad;
    } else {
      this.fields[name] = made;
    }
    return this;
  }

  /** A field no option has (a typo): bad. */
  stranger(name: string): this {
    if (this.r.chance(this.badRate / 2)) {
      this.fields[name] = 1;
      this.bad = true;
    }
    return this;
  }

  done(): Generated<Record<string, unknown>> {
    return { value: this.fields, bad: this.bad };
  }
}

function isGenerated(v: unknown): v is Generated {
  return typeof v === 'object' && v !== null && 'bad' in v && 'value' in v && Object.keys(v).length === 2;
}

/** A list of 0..max items, each from `item`; bad if an item is. */
export function list(r: Random, max: number, item: () => Generated): Generated<unknown[]> {
  const items = Array.from({ length: r.int(max + 1) }, item);
  return { value: items.map((i) => i.value), bad: items.some((i) => i.bad) };
}

/** Valid and invalid strings of one kind, as one Generated. */
function oneOf(r: Random, valid: readonly unknown[], invalid: readonly unknown[], badRate = 0.1): Generated {
  return r.chance(badRate) ? { value: r.pick([...invalid, ...JUNK]), bad: true } : { value: r.pick(valid), bad: false };
}

const NAMES = ['a', 'web', 'db-1', 'x y', 'émile', 'name.with.dots', 'ü'];
const BAD_NAMES = ['', ' ', '\t', '\n', 'a\nb', 'a\u0000b', '\u0085'];

/** A network, endpoint or container name: unique for the valid ones. */
export function randomName(r: Random, unique: string): Generated<unknown> {
  return oneOf(r, [`${r.pick(NAMES)}-${unique}`], BAD_NAMES) as Generated<unknown>;
}

/** Strings with the characters that break lines and files (valid for labels: JSON keeps them). */
const ANY_STRINGS = ['', 'v', 'with space', 'line\nbreak', 'tab\t', '%d', 'ü', '{"json":1}', '\u2028'];

function stringMap(r: Random, keys: readonly string[], values: readonly string[]): Generated {
  const entries = Array.from({ length: r.int(4) }, () => [r.pick(keys), r.pick(values)] as const);
  if (r.chance(0.1)) return { value: Object.fromEntries([...entries, [r.pick(keys), r.pick([1, null, [], {}, true])]]), bad: true };
  return { value: Object.fromEntries(entries), bad: false };
}

const labels = (r: Random) => stringMap(r, ['a', 'com.example.x', '', 'k k', '__proto__', 'constructor'], ANY_STRINGS);

/** Bridge driver options that the bridge driver takes (a custom one of any value too). */
function bridgeOptions(r: Random): Generated {
  const choices: [string, () => string][] = [
    ['com.docker.network.bridge.enable_icc', () => r.pick(['true', 'false'])],
    ['com.docker.network.driver.mtu', () => r.pick(['1400', '1500', '9000'])],
    ['com.docker.network.bridge.enable_ip_masquerade', () => r.pick(['true', 'false'])],
    ['com.example.opt', () => r.pick(ANY_STRINGS)],
  ];
  return { value: Object.fromEntries(choices.filter(() => r.chance(0.4)).map(([key, value]) => [key, value()])), bad: false };
}

/** Network options; `octet` makes the subnet 10.<octet>.0.0/24 unique to the case. */
export function randomNetworkOptions(r: Random, octet: number): Generated<Record<string, unknown>> {
  const v4 = `10.${octet}.0.0/24`;
  const pool = (): Generated => {
    // An empty entry: a pool from the predefined ones.
    if (r.chance(0.15)) return { value: {}, bad: false };
    const b = new Builder(r)
      .field(
        'subnet',
        () =>
          oneOf(r, [v4], ['0.0.0.0/0', '127.0.0.0/8', '224.0.0.0/4', '169.254.0.0/16', '240.0.0.0/4', '10.1.0.1/24', '10.0.0.0/33', 'nope', `10.${octet}.0.0`]),
        [],
        0,
      )
      .field('gateway', () => `10.${octet}.0.${r.pick([1, 254, 77])}`, ['fd00::1', '10.0.0.300', 'x'], 0.6)
      .field('ipRange', () => `10.${octet}.0.${r.pick([0, 128])}/25`, ['10.0.0.1/25', '::/0'], 0.8)
      .field('auxAddresses', () => ({ value: { router: `10.${octet}.0.${r.pick([200, 201])}` }, bad: false }), [{ router: 'x' }, { router: 5 }], 0.8)
      .stranger('gatway');
    return b.done();
  };
  const v6pool = (): Generated =>
    oneOf(r, [{ subnet: `fd00:${octet.toString(16)}::/64` }], [{ subnet: '::/0' }, { subnet: '::1/128' }, { subnet: 'ff00::/8' }, { subnet: 'fe80::/64' }]);
  const enableIPv6 = r.chance(0.2);
  const b = new Builder(r)
    .field('labels', () => labels(r), [[], 'a=b'])
    .field('internal', () => r.chance(0.5), ['true', 1, 0])
    .field('driverOptions', () => bridgeOptions(r), [{ 'com.docker.network.bridge.name': 'br%d' }, { 'com.docker.network.driver.mtu': '15OO' }], 0.7)
    .field(
      'ipam',
      () => {
        const config = list(r, 1, pool);
        const v6 = enableIPv6 ? [v6pool()] : [];
        return { value: { config: [...config.value, ...v6.map((p) => p.value)] }, bad: config.bad || v6.some((p) => p.bad) };
      },
      [{ config: {} }, { config: 'x' }, { driver: 5 }],
      0.2,
    )
    .stranger('enableIpv6');
  const made = b.done();
  if (enableIPv6) made.value.enableIPv6 = true;
  return made;
}

const randomMac = (r: Random) => ['02', ...Array.from({ length: 5 }, () => r.int(256).toString(16).padStart(2, '0'))].join(':');
const BAD_MACS = ['00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff', '01:00:5e:00:00:01', '33:33:00:00:00:01', '02:42:ac:11:00', 'zz:00:00:00:00:00'];

function portBinding(r: Random): Generated {
  const hostPort = r.pick([0, 20000 + r.int(20000)]);
  return (
    new Builder(r)
      // Not sctp: publishing it needs the kernel's sctp module, which test machines may lack.
      .field('proto', () => r.pick(['tcp', 'udp']), ['TCP', 'icmp'], 0)
      .field('port', () => 1 + r.int(65535), [0, 65536, '80'], 0)
      .field('hostIP', () => r.pick(['127.0.0.1', '0.0.0.0']), ['::1', '::', '224.0.0.1', '255.255.255.255', '1.2.3'], 0.5)
      .field('hostPort', () => hostPort, [-1, 65536, '8080'], 0.5)
      .stranger('hostport')
      .done()
  );
}

/** Endpoint options; a static address is `<base>.<host>` (base: the first three bytes of the network's subnet). */
export function randomEndpointOptions(r: Random, base: string, host: number): Generated<Record<string, unknown>> {
  return new Builder(r)
    .field('ipv4Address', () => `${base}.${host}`, ['fd00::2', '10.0.0', '10.0.0.2/24'], 0.7)
    .field('macAddress', () => randomMac(r), BAD_MACS)
    .field(
      'exposedPorts',
      () =>
        list(r, 2, () =>
          oneOf(
            r,
            [
              { proto: 'tcp', port: 80 },
              { proto: 'udp', port: 53 },
            ],
            [{ proto: 'tcp', port: 0 }, { proto: 'x', port: 1 }, { port: 1 }],
          ),
        ),
      ['80/tcp'],
    )
    .field('portMapping', () => list(r, 2, () => portBinding(r)), [{}])
    .field('dnsNames', () => list(r, 2, () => oneOf(r, ['web', 'db.local'], ['', 'a b', 'a\nb'])), ['web'])
    .stranger('mac')
    .done();
}

const DNS_NAMES = ['example.com', 'a', 'svc.cluster.local', 'x_y.test', 'host.'];
const BAD_DNS_NAMES = ['', 'a b', 'evil\nnameserver 6.6.6.6', 'a\tb', '-x', 'a..b', 'x'.repeat(64)];

/** Sandbox options (hosts / resolv.conf content and labels; no modes). */
export function randomSandboxOptions(r: Random): Generated<Record<string, unknown>> {
  return new Builder(r)
    .field('hostname', () => r.pick(['web', 'db-1', 'a1']), BAD_DNS_NAMES)
    .field('domainname', () => r.pick(DNS_NAMES), BAD_DNS_NAMES)
    .field('dns', () => list(r, 2, () => oneOf(r, ['10.0.0.53', '1.1.1.1', 'fd00::53'], ['dns.example', '10.0.0.53\nnameserver 6.6.6.6'])), ['8.8.8.8'])
    .field('dnsSearch', () => list(r, 2, () => oneOf(r, DNS_NAMES, BAD_DNS_NAMES)), ['example.com'])
    .field('dnsOptions', () => list(r, 2, () => oneOf(r, ['ndots:2', 'edns0', 'timeout:1'], ['a b', 'x\nnameserver 6.6.6.6', ''])), ['ndots:2'])
    .field(
      'extraHosts',
      () => list(r, 2, () => oneOf(r, ['db:10.0.0.9', 'v6:fd00::9', 'a.b:1.2.3.4'], ['db', ':1.2.3.4', 'evil\n6.6.6.6 x:1.2.3.4', 'a b:1.2.3.4', 'db:nope'])),
      ['db:10.0.0.9'],
    )
    .field('labels', () => labels(r), [['x']])
    .stranger('dnsServers')
    .done();
}

/** Join options: a priority, valid or not. */
export function randomJoinOptions(r: Random): Generated<Record<string, unknown>> {
  return new Builder(r, 0.2)
    .field('priority', () => r.pick([0, 1, -1, 10, 2 ** 40, -(2 ** 40)]), [NaN, Infinity, -Infinity, '5', 1.5, 2 ** 60, null])
    .stranger('prio')
    .done();
}

/** Changes every array and object inside `value` (what a careless caller does after a call). */
export function mutateDeeply(value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach(mutateDeeply);
    value.push('mutated');
  } else if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    const o = value as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (typeof o[key] === 'object' && o[key] !== null) mutateDeeply(o[key]);
      else o[key] = 'mutated';
    }
    o.addedLater = 'mutated';
  }
}
