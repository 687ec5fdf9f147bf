// The checks of the public API's option objects: what they refuse (INVALID_ARGUMENT naming the
// option and the value, never a TypeError), that they copy, and that whatever they accept loads
// again from a record. No root, no kernel.
import { CnmError, type NetworkOptions } from '../../lib';
import { parseBridgeOptions } from '../../lib/drivers/bridge/options';
import { checkControllerOptions, checkSandboxOptions } from '../../lib/controller-options';
import { checkDeleteOptions, checkEndpointOptions, checkJoinOptions, checkNetworkOptions, checkRefreshOptions } from '../../lib/option-checks';
import { parseRecord, STATE_VERSION, type RecordKind } from '../../lib/store/records';
import {
  mutateDeeply,
  Random,
  randomEndpointOptions,
  randomJoinOptions,
  randomNetworkOptions,
  randomSandboxOptions,
  type Generated,
} from '../helpers/random-options';

const ID = 'a'.repeat(64);
const OTHER_ID = 'b'.repeat(64);

/** Runs `fn` and returns the CnmError it threw (fails on anything else, a TypeError above all). */
function refusal(fn: () => unknown): CnmError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CnmError);
    expect((err as CnmError).code).toBe('INVALID_ARGUMENT');
    return err as CnmError;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

/** The record of each kind that holds these options, as the store would write it. */
function recordWith(kind: RecordKind, options: Record<string, unknown>, priority = 0): string {
  const base = { version: STATE_VERSION, kind, id: ID };
  const records: Record<RecordKind, object> = {
    network: { ...base, name: 'n', type: 'bridge', created: new Date(0).toISOString(), predefined: false, options, pools: { v4: [], v6: [] } },
    endpoint: { ...base, name: 'e', networkId: OTHER_ID, iface: {}, options },
    sandbox: {
      ...base,
      containerId: 'c',
      mode: 'namespace',
      key: '/run/netns/x',
      namespaceName: 'x',
      owned: true,
      config: (({ labels: _l, ...dns }) => dns)(options),
      labels: options.labels ?? {},
      hostServers: [],
      attachments: [{ endpointId: OTHER_ID, ifname: 'eth0', priority, order: 0, info: {}, published: null }],
    },
  };
  return JSON.stringify(records[kind]);
}

describe('what the option checks refuse', () => {
  const cases: [string, () => unknown, string][] = [
    ['a label that is a number', () => checkNetworkOptions({ labels: { n: 1 } }), 'labels.n'],
    ['a sandbox label that is a number', () => checkSandboxOptions({ labels: { n: 1 } }), 'labels.n'],
    ['priority NaN', () => checkJoinOptions({ priority: NaN }), 'NaN'],
    ['priority Infinity', () => checkJoinOptions({ priority: Infinity }), 'Infinity'],
    ['priority "5"', () => checkJoinOptions({ priority: '5' }), '"5"'],
    ['priority 1.5', () => checkJoinOptions({ priority: 1.5 }), '1.5'],
    ['priority beyond what JSON keeps exactly', () => checkJoinOptions({ priority: 2 ** 60 }), 'priority'],
    ['a newline in dnsSearch', () => checkSandboxOptions({ dnsSearch: ['example.com\nnameserver 6.6.6.6'] }), 'dnsSearch[0]'],
    ['a dnsSearch of two dots', () => checkSandboxOptions({ dnsSearch: ['example.com', '..'] }), 'dnsSearch[1]'],
    ['a hostname of one dot', () => checkSandboxOptions({ hostname: '.' }), 'hostname'],
    ['a newline in dnsOptions', () => checkSandboxOptions({ dnsOptions: ['ndots:1\nnameserver 6.6.6.6'] }), 'dnsOptions[0]'],
    ['a space in dnsOptions', () => checkSandboxOptions({ dnsOptions: ['ndots:1 rotate'] }), 'dnsOptions[0]'],
    ['a newline in an extra host name', () => checkSandboxOptions({ extraHosts: ['evil\n6.6.6.6 bank:1.2.3.4'] }), 'extraHosts[0]'],
    ['a carriage return in a hostname', () => checkSandboxOptions({ hostname: 'web\r' }), 'hostname'],
    ['a newline in a DNS server', () => checkSandboxOptions({ dns: ['1.1.1.1\nnameserver 6.6.6.6'] }), 'dns[0]'],
    ['the zero MAC', () => checkEndpointOptions({ macAddress: '00:00:00:00:00:00' }), 'all zeros'],
    ['a multicast MAC', () => checkEndpointOptions({ macAddress: '01:00:5e:00:00:01' }), 'multicast'],
    ['the broadcast MAC', () => checkEndpointOptions({ macAddress: 'ff:ff:ff:ff:ff:ff' }), 'broadcast'],
    ['the IPv6 loopback hostIP', () => checkEndpointOptions({ portMapping: [{ proto: 'tcp', port: 80, hostIP: '::1' }] }), 'portMapping[0].hostIP'],
    ['a multicast IPv6 hostIP', () => checkEndpointOptions({ portMapping: [{ proto: 'tcp', port: 80, hostIP: 'ff02::1' }] }), 'multicast'],
    ['an IPv4-mapped hostIP', () => checkEndpointOptions({ portMapping: [{ proto: 'tcp', port: 80, hostIP: '::ffff:10.0.0.1' }] }), 'IPv4-mapped'],
    ['a multicast hostIP', () => checkEndpointOptions({ portMapping: [{ proto: 'tcp', port: 80, hostIP: '239.1.1.1' }] }), 'multicast'],
    ['a broadcast hostIP', () => checkEndpointOptions({ portMapping: [{ proto: 'tcp', port: 80, hostIP: '255.255.255.255' }] }), 'broadcast'],
    ['an IPv4 ipv6Address', () => checkEndpointOptions({ ipv6Address: '10.0.0.2' }), 'ipv6Address'],
    ['a port "80"', () => checkEndpointOptions({ exposedPorts: [{ proto: 'tcp', port: '80' }] }), 'exposedPorts[0].port'],
    ['a hole in a port list', () => checkEndpointOptions({ exposedPorts: [, { proto: 'tcp', port: 80 }] }), 'exposedPorts[0]'], // eslint-disable-line no-sparse-arrays
    ['subnet 0.0.0.0/0', () => checkNetworkOptions({ ipam: { config: [{ subnet: '0.0.0.0/0' }] } }), '0.0.0.0/0'],
    ['subnet 127.0.0.0/8', () => checkNetworkOptions({ ipam: { config: [{ subnet: '127.0.0.0/8' }] } }), 'loopback'],
    ['subnet 127.0.0.0/24', () => checkNetworkOptions({ ipam: { config: [{ subnet: '127.0.0.0/24' }] } }), 'loopback'],
    ['subnet 224.0.0.0/4', () => checkNetworkOptions({ ipam: { config: [{ subnet: '224.0.0.0/4' }] } }), 'multicast'],
    ['subnet 240.0.0.0/4', () => checkNetworkOptions({ ipam: { config: [{ subnet: '240.0.0.0/4' }] } }), 'broadcast'],
    ['subnet 169.254.0.0/16', () => checkNetworkOptions({ ipam: { config: [{ subnet: '169.254.0.0/16' }] } }), 'link-local'],
    ['subnet 128.0.0.0/1 (holds multicast)', () => checkNetworkOptions({ ipam: { config: [{ subnet: '128.0.0.0/1' }] } }), 'ipam.config[0].subnet'],
    ['subnet ::/0', () => checkNetworkOptions({ enableIPv6: true, ipam: { config: [{ subnet: '::/0' }] } }), '::/0'],
    ['subnet ::1/128', () => checkNetworkOptions({ enableIPv6: true, ipam: { config: [{ subnet: '::1/128' }] } }), 'loopback'],
    ['subnet ff00::/8', () => checkNetworkOptions({ enableIPv6: true, ipam: { config: [{ subnet: 'ff00::/8' }] } }), 'multicast'],
    ['subnet fe80::/64', () => checkNetworkOptions({ enableIPv6: true, ipam: { config: [{ subnet: 'fe80::/64' }] } }), 'link-local'],
    ['a subnet with host bits', () => checkNetworkOptions({ ipam: { config: [{ subnet: '10.1.0.1/24' }] } }), 'host bits'],
    ['a gateway outside the subnet', () => checkNetworkOptions({ ipam: { config: [{ subnet: '10.1.0.0/24', gateway: '10.2.0.1' }] } }), 'gateway'],
    ['an IPv6 gateway for an IPv4 subnet', () => checkNetworkOptions({ ipam: { config: [{ subnet: '10.1.0.0/24', gateway: 'fd00::1' }] } }), 'gateway'],
    ['an ipRange outside the subnet', () => checkNetworkOptions({ ipam: { config: [{ subnet: '10.1.0.0/24', ipRange: '10.1.1.0/25' }] } }), 'ipRange'],
    [
      'an aux address outside the subnet',
      () => checkNetworkOptions({ ipam: { config: [{ subnet: '10.1.0.0/24', auxAddresses: { r: '10.9.0.1' } }] } }),
      'auxAddresses.r',
    ],
    ['a gateway without a subnet', () => checkNetworkOptions({ ipam: { config: [{ gateway: '10.1.0.1' }] } }), 'needs a subnet'],
    ['internal "true"', () => checkNetworkOptions({ internal: 'true' }), 'internal'],
    ['ipam.config that is not an array', () => checkNetworkOptions({ ipam: { config: {} } }), 'ipam.config'],
    ['driverOptions that is an array', () => checkNetworkOptions({ driverOptions: ['a'] }), 'driverOptions'],
    ['network options that are a string', () => checkNetworkOptions('bridge'), 'network options'],
    ['network options that are null', () => checkNetworkOptions(null), 'network options'],
    ['an option that does not exist (a typo)', () => checkNetworkOptions({ enableIpv6: true }), 'enableIpv6'],
    ['endpoint options that are a Map', () => checkEndpointOptions(new Map()), 'endpoint options'],
    ['a BigInt priority', () => checkJoinOptions({ priority: 10n }), 'bigint'],
    ['a Symbol hostname', () => checkSandboxOptions({ hostname: Symbol('h') }), 'symbol'],
    ['useDefaultSandbox 1', () => checkSandboxOptions({ useDefaultSandbox: 1 }), 'useDefaultSandbox'],
    ['force "yes"', () => checkDeleteOptions({ force: 'yes' }, 'force'), 'force'],
    ['liveRestore "no"', () => checkControllerOptions({ liveRestore: 'no' }), 'liveRestore'],
    ['ipForwardNoDrop 1', () => checkControllerOptions({ ipForwardNoDrop: 1 }), 'ipForwardNoDrop'],
    ['predefinedNetworks 1', () => checkControllerOptions({ predefinedNetworks: 1 }), 'predefinedNetworks'],
    ['a default bridge name that is a kernel template', () => checkControllerOptions({ defaultBridgeName: 'cnm%d' }), 'defaultBridgeName'],
    ['a relative hostResolvConf', () => checkControllerOptions({ hostResolvConf: 'resolv.conf' }), 'hostResolvConf'],
    ['a systemdResolvConf that is not a string', () => checkControllerOptions({ systemdResolvConf: ['/run'] }), 'systemdResolvConf'],
    ['a stateDir that is a number', () => checkControllerOptions({ stateDir: 5 }), 'stateDir'],
    ['a listener for an event that does not exist', () => checkControllerOptions({ listeners: { 'netwrok:create': () => undefined } }), 'netwrok:create'],
    ['a listener that is not a function', () => checkControllerOptions({ listeners: { 'network:create': 'log' } }), 'listeners.network:create'],
    ['a controller option that does not exist', () => checkControllerOptions({ statedir: '/x' }), 'statedir'],
    ['refresh options with a mode', () => checkRefreshOptions({ useDefaultSandbox: true }), 'useDefaultSandbox'],
  ];

  it.each(cases)('refuses %s, naming it', (_, call, mentions) => {
    expect(refusal(call).message).toContain(mentions);
  });

  it.each([
    ['a network', 'network' as const, { labels: { n: 1 } }],
    ['an endpoint', 'endpoint' as const, { macAddress: '00:00:00:00:00:00' }],
    ['a sandbox', 'sandbox' as const, { dnsSearch: ['a\nnameserver 6.6.6.6'] }],
  ])('refuses the same options in %s record at load', (_, kind, options) => {
    expect(() => parseRecord(kind, ID, recordWith(kind, options))).toThrow();
  });

  it('refuses a sandbox record whose join priority is not an integer (NaN is stored as null)', () => {
    expect(() => parseRecord('sandbox', ID, recordWith('sandbox', {}, NaN))).toThrow(/attachments/);
    expect(() => parseRecord('sandbox', ID, recordWith('sandbox', {}, 1.5))).toThrow(/attachments/);
  });
});

describe('the option checks copy', () => {
  it('share no array or object with what the caller passed', () => {
    const given = {
      labels: { a: 'b' },
      driverOptions: { 'com.example.x': 'y' },
      ipam: { config: [{ subnet: '10.3.0.0/24', auxAddresses: { r: '10.3.0.9' } }] },
    };
    const copy = checkNetworkOptions(given);
    const before = structuredClone(copy);
    mutateDeeply(given);
    expect(copy).toEqual(before);
  });

  it('leave out fields that are undefined, as JSON would', () => {
    expect(checkNetworkOptions({ internal: undefined, labels: { a: 'b' } })).toEqual({ labels: { a: 'b' } });
    expect(Object.keys(checkJoinOptions({ priority: undefined }))).toEqual([]);
  });

  it('turn -0 into 0, as JSON would', () => {
    expect(Object.is(checkJoinOptions({ priority: -0 }).priority, 0)).toBe(true);
  });
});

/** What newNetwork checks of a bridge network's options: the options, then the driver's. */
function checkBridgeNetworkOptions(value: unknown): NetworkOptions {
  const options = checkNetworkOptions(value);
  parseBridgeOptions(options.driverOptions ?? {}, 'br-test');
  return options;
}

describe('property: random options are refused with INVALID_ARGUMENT or accepted, copied and loaded again', () => {
  const CASES = 400;
  const kinds: [string, RecordKind | null, (r: Random, i: number) => Generated<Record<string, unknown>>, (v: unknown) => unknown][] = [
    ['network', 'network', (r, i) => randomNetworkOptions(r, i % 250), checkBridgeNetworkOptions],
    ['endpoint', 'endpoint', (r, i) => randomEndpointOptions(r, `10.${i % 250}.0`, 2 + (i % 200)), checkEndpointOptions],
    ['sandbox', 'sandbox', (r) => randomSandboxOptions(r), checkSandboxOptions],
    ['join', null, (r) => randomJoinOptions(r), checkJoinOptions],
  ];

  it.each(kinds)('%s options', (_, kind, generate, check) => {
    const r = new Random(0x5eed + CASES);
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      const { value, bad } = generate(r, i);
      let copy: unknown;
      try {
        copy = check(value);
      } catch (err) {
        // A refusal is always INVALID_ARGUMENT, and only for what the generator made bad.
        const error = err instanceof CnmError ? `${err.code}: ${err.message}` : String(err);
        expect({ case: i, error, bad }).toEqual({ case: i, error, bad: true });
        expect(error).toMatch(/^INVALID_ARGUMENT: /);
        continue;
      }
      expect({ case: i, bad, value }).toEqual({ case: i, bad: false, value });
      accepted += 1;
      const stored = JSON.parse(JSON.stringify(copy)) as Record<string, unknown>;
      expect(stored).toEqual(copy);
      expect(check(stored)).toEqual(copy);
      if (kind) expect(() => parseRecord(kind, ID, recordWith(kind, stored))).not.toThrow();
      else expect(() => parseRecord('sandbox', ID, recordWith('sandbox', {}, (stored as { priority?: number }).priority ?? 0))).not.toThrow();
      const before = structuredClone(copy);
      mutateDeeply(value);
      expect(copy).toEqual(before);
    }
    // Both sides are exercised.
    expect(accepted).toBeGreaterThan(CASES / 5);
    expect(accepted).toBeLessThan(CASES);
  });
});

describe('the option fields of a sandbox record that become files or ports', () => {
  const sandboxRecord = (fields: Record<string, unknown>) => {
    const record = JSON.parse(recordWith('sandbox', {})) as Record<string, unknown> & { attachments: Record<string, unknown>[] };
    return JSON.stringify({ ...record, ...fields, attachments: record.attachments.map((a) => ({ ...a, ...(fields.attachment as object) })) });
  };

  it('refuses host servers that would inject resolv.conf lines', () => {
    expect(() => parseRecord('sandbox', ID, sandboxRecord({ hostServers: ['10.0.0.53\nsearch evil'] }))).toThrow(/dns\[0\]/);
    expect(() => parseRecord('sandbox', ID, sandboxRecord({ hostServers: ['10.0.0.53'] }))).not.toThrow();
  });

  it('refuses host search domains and options that would inject resolv.conf lines; a record without them (an older one) loads', () => {
    expect(() => parseRecord('sandbox', ID, sandboxRecord({ hostSearch: ['corp.example\nnameserver 6.6.6.6'] }))).toThrow(/dnsSearch\[0\]/);
    expect(() => parseRecord('sandbox', ID, sandboxRecord({ hostOptions: ['edns0', 'rotate\nnameserver'] }))).toThrow(/dnsOptions\[1\]/);
    expect(() => parseRecord('sandbox', ID, sandboxRecord({ hostSearch: 'corp.example' }))).toThrow(/dnsSearch/);
    expect(() => parseRecord('sandbox', ID, sandboxRecord({ hostSearch: ['corp.example'], hostOptions: ['edns0', 'trust-ad'] }))).not.toThrow();
    expect(() => parseRecord('sandbox', ID, sandboxRecord({}))).not.toThrow();
  });

  it("takes dnsSearch ['.'] (no search domains, as Docker's --dns-search .) in the options and from a record", () => {
    expect(checkSandboxOptions({ dnsSearch: ['.'] })).toEqual({ dnsSearch: ['.'] });
    expect(() => parseRecord('sandbox', ID, sandboxRecord({ config: { dnsSearch: ['.'] } }))).not.toThrow();
    expect(() => parseRecord('sandbox', ID, sandboxRecord({ hostSearch: ['.'] }))).not.toThrow();
  });

  it('refuses published ports that are not port bindings', () => {
    const bad = { attachment: { published: [{ proto: 'tcp', port: 80, hostIP: '::1', hostPort: 8080 }] } };
    const good = { attachment: { published: [{ proto: 'tcp', port: 80, hostIP: '0.0.0.0', hostPort: 8080 }] } };
    expect(() => parseRecord('sandbox', ID, sandboxRecord(bad))).toThrow(/attachments/);
    expect(() => parseRecord('sandbox', ID, sandboxRecord(good))).not.toThrow();
  });
});
