// The pure plans against golden files (test/unit/golden/<name>.json): the bridge firewall's
// nf_tables commands, the restore plan, a sandbox's hosts and resolv.conf, and the ops that set up
// one container. Each case's input is here; its output is the file. No root, no kernel. Values the
// kernel keeps in host order (fib type, ct status bits) are as a little-endian machine writes them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { iccCommands, portCommands, rebuildCommands, type FirewallNetwork, type FirewallPort } from '../../lib/drivers/bridge/firewall';
import { bridgeAlias, vethAlias, ownerGroup } from '../../lib/drivers/bridge/ownership';
import { planRestore } from '../../lib/drivers/bridge/restore';
import type { BridgeEndpoint, BridgeNetwork } from '../../lib/drivers/bridge/types';
import type { LinkInfo } from '../../lib/kernel';
import { containerSetupOps, type ContainerSetup } from '../../lib/native/container';
import { embeddedResolvConf, readHostResolvConf, resolvConf, resolverUpstreams, type HostResolvConf } from '../../lib/resolv-conf';
import { hostsFile, removeSandboxFilesOps, writeSandboxFilesOps, type SandboxDnsConfig } from '../../lib/sandbox-files';
import { expectGolden, goldenNames } from '../helpers/golden';

const OWNER = '0123abcd';

// ---- The bridge firewall ----

const net = (bridge: string, subnet: string | null, flags: Partial<FirewallNetwork> = {}): FirewallNetwork => ({
  bridge,
  subnets: subnet ? [subnet] : [],
  internal: false,
  masquerade: true,
  modes: { 4: 'nat', 6: 'nat' },
  snat: {},
  ...flags,
});
const port = (proto: FirewallPort['proto'], hostIP: string, hostPort: number, containerIP: string, containerPort: number): FirewallPort => ({
  proto,
  hostIP,
  hostPort,
  containerIP,
  containerPort,
});
const WEB = port('tcp', '0.0.0.0', 8080, '172.18.0.2', 80);

/** One network with one joined endpoint (veth1111111, publishing 8080) in each mix of the three network knobs. */
const oneNetwork = [false, true].flatMap((internal) =>
  [true, false].flatMap((icc) =>
    [true, false].map((masquerade): [string, () => unknown] => [
      `firewall-${internal ? 'internal' : 'external'}-icc-${icc ? 'on' : 'off'}-masquerade-${masquerade ? 'on' : 'off'}`,
      () => rebuildCommands(OWNER, [net('br-1111', '172.18.0.0/16', { internal, masquerade })], [WEB], icc ? [] : ['veth1111111']),
    ]),
  ),
);

/** Published ports of every kind: protocols, any address or one, a host port range (one binding per port, as Docker splits it). */
const MIXED_PORTS = [
  port('tcp', '0.0.0.0', 8080, '172.18.0.2', 80),
  port('udp', '0.0.0.0', 5353, '172.18.0.2', 53),
  port('sctp', '0.0.0.0', 9899, '172.18.0.2', 9899),
  port('tcp', '192.0.2.10', 8443, '172.18.0.3', 443),
  port('udp', '127.0.0.1', 5354, '172.18.0.3', 53),
  ...[0, 1, 2].map((i) => port('tcp', '0.0.0.0', 9000 + i, '172.19.0.2', 7000 + i)),
];

const firewallCases: [string, () => unknown][] = [
  ['firewall-no-networks', () => rebuildCommands(OWNER, [], [WEB], ['veth1111111'])],
  ...oneNetwork,
  ['firewall-no-subnet', () => rebuildCommands(OWNER, [net('br-1111', null)], [], [])],
  [
    'firewall-several-networks',
    () =>
      rebuildCommands(
        OWNER,
        [net('br-1111', '172.18.0.0/16'), net('br-2222', '172.19.0.0/16', { masquerade: false }), net('br-3333', '172.20.0.0/16', { internal: true })],
        MIXED_PORTS,
        ['veth2222222', 'veth2222223'],
      ),
  ],
  [
    'firewall-dual-stack',
    () =>
      rebuildCommands(
        OWNER,
        [net('br-1111', '172.18.0.0/16', { subnets: ['172.18.0.0/16', 'fd00:18::/64'] })],
        [WEB, port('tcp', '::', 8080, 'fd00:18::2', 80), port('udp', '2001:db8::10', 5353, 'fd00:18::2', 53)],
        [],
      ),
  ],
  [
    'firewall-gateway-modes',
    () =>
      rebuildCommands(
        OWNER,
        [
          net('br-1111', '172.18.0.0/16', { subnets: ['172.18.0.0/16', 'fd00:18::/64'], modes: { 4: 'nat-unprotected', 6: 'routed' } }),
          net('br-2222', '172.19.0.0/16', { snat: { 4: '192.0.2.20' } }),
          net('br-3333', '172.20.0.0/16', { modes: { 4: 'nat-unprotected', 6: 'nat-unprotected' } }),
        ],
        [WEB, { ...port('tcp', '::', 0, 'fd00:18::2', 80), routed: true }],
        [],
      ),
  ],
  ['firewall-drop-other-forwarding', () => rebuildCommands(OWNER, [net('br-1111', '172.18.0.0/16')], [], [], { dropOtherForwardingFor: [4, 6] })],
  ['firewall-drop-other-forwarding-ipv6', () => rebuildCommands(OWNER, [net('br-1111', '172.18.0.0/16')], [], [], { dropOtherForwardingFor: [6] })],
  ['ports-add-mixed', () => portCommands(OWNER, 'addElements', MIXED_PORTS)],
  ['ports-delete-mixed', () => portCommands(OWNER, 'deleteElements', MIXED_PORTS)],
  ['ports-add-any-address-only', () => portCommands(OWNER, 'addElements', [WEB])],
  ['ports-add-one-address-only', () => portCommands(OWNER, 'addElements', [port('sctp', '10.0.0.1', 36412, '172.18.0.2', 36412)])],
  ['ports-none', () => portCommands(OWNER, 'addElements', [])],
  ['icc-add', () => iccCommands(OWNER, 'addElements', ['veth1111111', 'veth2222222'])],
  ['icc-delete', () => iccCommands(OWNER, 'deleteElements', ['veth1111111'])],
  ['icc-none', () => iccCommands(OWNER, 'deleteElements', [])],
];

// ---- The bridge driver's restore plan ----

const ID = { a: 'a'.repeat(64), b: 'b'.repeat(64), c: 'c'.repeat(64) };
/** Endpoint and sandbox ids (the veth marks name them). */
const EP = { e1: '1'.repeat(64), e2: '2'.repeat(64), e3: '3'.repeat(64), e4: '4'.repeat(64), e5: '5'.repeat(64) };
const SB = { s1: 'd'.repeat(64), s2: 'e'.repeat(64) };
const link = (name: string, kind: string | null, extra: Partial<LinkInfo> = {}): LinkInfo => ({
  index: 0,
  name,
  kind,
  flags: 0,
  up: true,
  mtu: 1500,
  mac: '02:00:00:00:00:01',
  master: null,
  masterIndex: 0,
  parentIndex: 0,
  operstate: 'up',
  alias: null,
  group: 0,
  stats: {} as LinkInfo['stats'],
  ...extra,
});
const ownBridge = (name: string, networkId: string, owner = OWNER) => link(name, 'bridge', { alias: bridgeAlias(owner, networkId) });
/** A veth without an alias: made before cnm-ts marked its veths, or by someone else. */
const veth = (name: string, master: string | null) => link(name, 'veth', { master });
/** A veth cnm-ts made for endpoint `endpointId` joined to sandbox `sandboxId` (its mark). */
const markedVeth = (name: string, master: string | null, endpointId: string, sandboxId = SB.s1, owner = OWNER) =>
  link(name, 'veth', { master, alias: vethAlias(owner, endpointId, sandboxId) });
const network = (bridgeName: string): BridgeNetwork => ({
  config: {
    bridgeName,
    enableIcc: true,
    enableIpMasquerade: true,
    hostBindingIpv4: '0.0.0.0',
    defaultBridge: false,
    gatewayMode: { 4: 'nat', 6: 'nat' },
    hostIp: {},
    inhibitIpv4: false,
  },
  foreign: null,
  internal: false,
  subnets: ['172.18.0.0/16'],
  ipv4: [{ addressSpace: 'LocalDefault', pool: '172.18.0.0/16', gateway: '172.18.0.1/16', auxAddresses: {} }],
  ipv6: [],
});
const endpoint = (networkId: string, hostIfname: string): BridgeEndpoint => ({ networkId, hostIfname, iface: { address: '172.18.0.2/16' }, ports: [] });

interface RestoreInput {
  links: LinkInfo[];
  networks: Record<string, BridgeNetwork>;
  endpoints: Record<string, BridgeEndpoint>;
  unreadable?: string[];
  unreadableSandboxes?: string[];
}

/** The plan (a foreign device by its name), and each endpoint's hostIfname after it (a lost endpoint's is cleared). */
function restore({ links, networks, endpoints, unreadable = [], unreadableSandboxes = [] }: RestoreInput): unknown {
  const eps = new Map(Object.entries(endpoints));
  const leftAlone = { networks: new Set(unreadable), sandboxes: new Set(unreadableSandboxes) };
  const { foreign, ...plan } = planRestore(OWNER, links, new Map(Object.entries(networks)), eps, leftAlone);
  const foreignNames = Object.fromEntries([...foreign].map(([id, l]) => [id, l.name]));
  return { plan: { ...plan, foreign: foreignNames }, hostIfnames: Object.fromEntries([...eps].map(([id, e]) => [id, e.hostIfname])) };
}

const restoreCases: [string, () => unknown][] = [
  [
    'restore-own-bridge-kept',
    () =>
      restore({
        links: [ownBridge('br-a', ID.a), markedVeth('vetha000001', 'br-a', EP.e1)],
        networks: { [ID.a]: network('br-a') },
        endpoints: { [EP.e1]: endpoint(ID.a, 'vetha000001') },
      }),
  ],
  [
    'restore-unmarked-veth-adopted',
    () =>
      restore({
        // Made before veths were marked: kept (and to be marked) because e1's join names it; the
        // unmarked one next to it, that nothing names, is left alone with a warning.
        links: [ownBridge('br-a', ID.a), veth('vetha000001', 'br-a'), veth('vetha000002', 'br-a')],
        networks: { [ID.a]: network('br-a') },
        endpoints: { [EP.e1]: endpoint(ID.a, 'vetha000001') },
      }),
  ],
  [
    'restore-orphans-removed',
    () =>
      restore({
        // A bridge of this owner without a network and its marked veth; on a kept bridge, a marked
        // veth of an endpoint the records do not have, one of an endpoint they do not show joined,
        // one of a joined endpoint that names another veth, and an unmarked one (left alone); a
        // marked veth on no bridge.
        links: [
          ownBridge('br-a', ID.a),
          markedVeth('vetha000001', 'br-a', EP.e1),
          markedVeth('vetha000002', 'br-a', EP.e2),
          markedVeth('vetha000003', 'br-a', EP.e3),
          markedVeth('vetha000004', 'br-a', EP.e3),
          veth('user-veth', 'br-a'),
          ownBridge('br-b', ID.b),
          markedVeth('vethb000001', 'br-b', EP.e4),
          markedVeth('vethc000001', null, EP.e5),
        ],
        networks: { [ID.a]: network('br-a') },
        endpoints: { [EP.e2]: endpoint(ID.a, ''), [EP.e3]: endpoint(ID.a, 'vetha000004') },
      }),
  ],
  [
    'restore-killed-before-alias',
    () =>
      restore({
        // Killed between the veth's creation and its alias: no alias, but the owner's link group (given
        // at creation) says it is this controller's: removed. Without the group, left alone.
        links: [ownBridge('br-a', ID.a), link('vetha000001', 'veth', { master: 'br-a', group: ownerGroup(OWNER) }), veth('vetha000002', 'br-a')],
        networks: { [ID.a]: network('br-a') },
        endpoints: {},
      }),
  ],
  [
    'restore-unreadable-record-kept',
    () => restore({ links: [ownBridge('br-b', ID.b), markedVeth('vethb000001', 'br-b', EP.e1)], networks: {}, endpoints: {}, unreadable: [ID.b] }),
  ],
  [
    'restore-unreadable-sandbox-veth-kept',
    () =>
      restore({
        // e1 was joined to s1, whose record could not be read (so e1 comes back not joined): its veth
        // stays. e2's veth was made for s2, whose record was read and does not have the join: it goes.
        links: [ownBridge('br-a', ID.a), markedVeth('vetha000001', 'br-a', EP.e1, SB.s1), markedVeth('vetha000002', 'br-a', EP.e2, SB.s2)],
        networks: { [ID.a]: network('br-a') },
        endpoints: { [EP.e1]: endpoint(ID.a, ''), [EP.e2]: endpoint(ID.a, '') },
        unreadableSandboxes: [SB.s1],
      }),
  ],
  [
    'restore-foreign-left-alone',
    () =>
      restore({
        // br-a is someone else's bridge now (no alias), br-c another controller's, docker0 Docker's;
        // a veth with another controller's mark on no bridge.
        links: [
          link('br-a', 'bridge'),
          veth('vetha000001', 'br-a'),
          veth('vetha000002', 'br-a'),
          ownBridge('br-c', ID.c, 'ffffffff'),
          markedVeth('vethc000001', 'br-c', EP.e2, SB.s1, 'ffffffff'),
          markedVeth('vethc000002', null, EP.e3, SB.s1, 'ffffffff'),
          link('docker0', 'bridge'),
          veth('veth0000abc', 'docker0'),
        ],
        networks: { [ID.a]: network('br-a') },
        endpoints: { [EP.e1]: endpoint(ID.a, 'vetha000001') },
      }),
  ],
  [
    'restore-lost-endpoints',
    () =>
      restore({
        // e1's veth is gone; e2's bridge is gone and its (unmarked, older) veth on no bridge, as is
        // e5's (marked); e3's record names a device the driver would not have made; e4's veth is on
        // another bridge.
        links: [
          ownBridge('br-a', ID.a),
          veth('vethb000002', null),
          markedVeth('vethb000005', null, EP.e5),
          veth('eth0', null),
          link('br-x', 'bridge'),
          markedVeth('vetha000004', 'br-x', EP.e4),
        ],
        networks: { [ID.a]: network('br-a'), [ID.b]: network('br-b') },
        endpoints: {
          [EP.e1]: endpoint(ID.a, 'vetha000001'),
          [EP.e2]: endpoint(ID.b, 'vethb000002'),
          [EP.e3]: endpoint(ID.a, 'eth0'),
          [EP.e4]: endpoint(ID.a, 'vetha000004'),
          [EP.e5]: endpoint(ID.b, 'vethb000005'),
        },
      }),
  ],
];

// ---- A sandbox's hosts and resolv.conf ----

/** A text file as its lines, so that the golden file shows one line per line ("" last: it ends in a newline). */
const lines = (text: string) => text.split('\n');
const FULL: SandboxDnsConfig = {
  hostname: 'web',
  domainname: 'example.test',
  dns: ['192.0.2.53', '2001:db8::53'],
  dnsSearch: ['example.test', 'corp.test'],
  dnsOptions: ['ndots:2', 'timeout:1'],
  extraHosts: ['db:10.0.0.5', 'db6:fd00::5'],
};
const HOST: HostResolvConf = { nameservers: ['10.0.0.2', 'fd00::53'], search: ['host.test'], options: ['edns0', 'ndots:3'] };
/** A host whose only server is its own loopback resolver (dnsmasq, unbound; systemd-resolved without its upstream file). */
const LOOPBACK_HOST: HostResolvConf = { nameservers: ['127.0.0.1', '::1'], search: ['host.test'], options: ['edns0'] };
const NO_HOST: HostResolvConf = { nameservers: [], search: [], options: [] };
/** A host's resolv.conf with loopback, odd and commented servers: which of them a sandbox gets. */
const HOST_RESOLV_CONF = [
  '# written by hand',
  'nameserver 127.0.0.53',
  'nameserver ::1',
  'nameserver 10.0.0.2',
  '  nameserver   fd00::53   # trailing comment',
  'nameserver fe80::1%eth0',
  'nameserver not-an-address',
  '#nameserver 10.9.9.9',
  'nameserver 0:0:0:0:0:0:0:1',
  'nameserver ::ffff:127.0.0.1',
  'nameserver ::FFFF:127.1.2.3',
  'nameserver 0000::0001',
  'nameserver 127.1.2.3',
  'nameserver ::ffff:10.0.0.3',
  'nameserver fd00::54%2',
  'search host.test',
  'options edns0',
].join('\n');

async function filteredHostServers(): Promise<unknown> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cnm-golden-'));
  try {
    writeFileSync(path.join(dir, 'resolv.conf'), HOST_RESOLV_CONF);
    const host = await readHostResolvConf(path.join(dir, 'resolv.conf'), path.join(dir, 'absent'));
    return { host, resolvConf: lines(resolvConf({}, host)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fileCases: [string, () => unknown][] = [
  ['hosts-minimal', () => lines(hostsFile({}, ['172.18.0.2']))],
  ['hosts-full', () => lines(hostsFile(FULL, ['172.18.0.2', '2001:db8:1::2']))],
  ['hosts-hostname-without-domain', () => lines(hostsFile({ hostname: 'web' }, ['172.18.0.2', '172.19.0.2']))],
  ['hosts-hostname-no-addresses', () => lines(hostsFile({ hostname: 'web', extraHosts: ['gw:192.0.2.1'] }, []))],
  ['resolv-full', () => lines(resolvConf(FULL, HOST))],
  ['resolv-host-servers', () => lines(resolvConf({ dnsSearch: ['example.test'] }, HOST))],
  ['resolv-empty-dns-means-host', () => lines(resolvConf({ dns: [], dnsOptions: ['ndots:0'] }, HOST))],
  ['resolv-nothing', () => lines(resolvConf({}, NO_HOST))],
  ['resolv-host-servers-filtered', filteredHostServers],
  ['resolv-search-dot-means-none', () => lines(resolvConf({ dnsSearch: ['.'] }, HOST))],
  ['resolv-embedded-search-dot-means-none', () => lines(embeddedResolvConf({ dnsSearch: ['.'] }, HOST))],
  ['resolv-loopback-host-fallback', () => lines(resolvConf({}, LOOPBACK_HOST))],
  ['resolv-loopback-host-in-host-namespace', () => lines(resolvConf({ dnsOptions: ['attempts:1'] }, LOOPBACK_HOST, true))],
  // Host servers from a sandbox record: loopback and zoned ones are left out.
  [
    'resolv-recorded-host-servers-filtered',
    () => lines(resolvConf({}, { ...NO_HOST, nameservers: ['10.0.0.2', 'fe80::1%eth0', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'fd00::53'] })),
  ],
  ['resolv-embedded-host', () => lines(embeddedResolvConf({}, { ...HOST, options: ['edns0', 'trust-ad'] }))],
  ['resolv-embedded-host-ndots', () => lines(embeddedResolvConf({}, HOST))],
  ['resolv-embedded-own', () => lines(embeddedResolvConf({ dns: ['192.0.2.53'], dnsSearch: ['corp.test'], dnsOptions: ['timeout:1'] }, HOST))],
  ['resolv-embedded-own-ndots', () => lines(embeddedResolvConf({ dnsOptions: ['ndots:2', 'timeout:1'] }, HOST))],
  ['resolv-embedded-bad-ndots', () => lines(embeddedResolvConf({ dnsOptions: ['ndots:x', 'rotate', 'ndots:-1', 'ndots'] }, HOST))],
  ['resolv-embedded-bad-and-good-ndots', () => lines(embeddedResolvConf({ dnsOptions: ['ndots:x', 'ndots:+1', 'edns0'] }, HOST))],
  ['resolv-embedded-nothing', () => lines(embeddedResolvConf({}, NO_HOST))],
  [
    'resolv-upstreams',
    () => ({
      host: resolverUpstreams({}, HOST),
      loopbackHost: resolverUpstreams({ dnsSearch: ['corp.test'] }, LOOPBACK_HOST),
      own: resolverUpstreams({ dns: ['127.0.0.1', '192.0.2.53'] }, HOST),
      moreThanThree: resolverUpstreams({}, { ...NO_HOST, nameservers: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'] }),
      none: resolverUpstreams({ dns: [] }, NO_HOST),
    }),
  ],
  [
    'sandbox-files-ops',
    () => {
      const folders = [
        { base: '/var/lib/cnm/sandboxes', folder: 'c0ffee' },
        { base: '/etc/netns', folder: 'cnm-0123abcd-c0ffee000000' },
      ];
      return { write: writeSandboxFilesOps(folders, { hosts: 'HOSTS\n', resolv: 'RESOLV\n' }), remove: removeSandboxFilesOps(folders) };
    },
  ],
];

// ---- Setting up one container ----

const SETUP: ContainerSetup = { netnsDir: '/run/netns', name: 'ctr1', bridge: 'br-1111', hostIfname: 'veth1111111', address: '172.18.0.2/16' };
/** The ops, or the refusal. */
function setupOps(change: Partial<ContainerSetup>): unknown {
  try {
    return containerSetupOps({ ...SETUP, ...change });
  } catch (err) {
    return { error: (err as Error).message };
  }
}

const containerCases: [string, () => unknown][] = [
  ['container-ipv4-gateway', () => setupOps({ gateway: '172.18.0.1' })],
  ['container-ipv4-no-gateway', () => setupOps({})],
  ['container-ipv4-all-options', () => setupOps({ gateway: '172.18.0.1', ifname: 'eth1', mtu: 1400, mac: '02:42:ac:12:00:02', ipv6: true })],
  ['container-ipv6', () => setupOps({ address: 'fd00:1::2/64', gateway: 'fd00:1::1' })],
  ['container-ipv6-off-asked', () => setupOps({ address: 'fd00:1::2/64', ipv6: false })],
  ['container-gateway-other-family', () => setupOps({ gateway: 'fd00:1::1' })],
];

const cases = [...firewallCases, ...restoreCases, ...fileCases, ...containerCases];

describe('golden plans', () => {
  it.each(cases)('%s', async (name, make) => {
    expectGolden(name, await make());
  });

  it('has a case for every golden file and no two cases of one name', () => {
    const names = cases.map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
    expect(goldenNames().sort()).toEqual([...names].sort());
  });
});
