// The host's ip_forward on a FakeKernel: switched on for a network that needs it, recorded when it
// was off, put back by stop({ removeAll: true }) once no cnm-ts bridge is left; the drop of other
// forwarding in the firewall, per family; hairpin and the owner's link group on the bridge ports.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { FORWARDING_RECORD } from '../../../lib/drivers/bridge/forwarding';
import { ownerGroup } from '../../../lib/drivers/bridge/ownership';
import type { NativeOp, NftCommand } from '../../../lib/native';
import { fakeWorld } from '../../helpers/fake-cnm';

const KEY = 'net/ipv4/ip_forward';
const SUBNET = { ipam: { config: [{ subnet: '10.90.0.0/24' }] } };
const SUBNET2 = { ipam: { config: [{ subnet: '10.91.0.0/24' }] } };

/** nf_tables' NFPROTO_IPV4 and NFPROTO_IPV6, as `meta nfproto` compares them. */
const NFPROTO_FAMILY: Record<string, 4 | 6> = { '02': 4, '0a': 6 };

/**
 * The families whose forwarding between other interfaces the last firewall rebuild in the
 * kernel's log drops (its inet forward rule on link groups): none, one (the rule matches
 * `meta nfproto`) or both (no match).
 */
function droppedFamilies(log: NativeOp[]): (4 | 6)[] {
  const rebuilds = log.filter(
    (op): op is Extract<NativeOp, { op: 'nftTransaction' }> => op.op === 'nftTransaction' && op.commands.some((c) => c.cmd === 'addChain'),
  );
  const last = rebuilds.at(-1)?.commands ?? [];
  const drops = last.filter(
    (c: NftCommand) => c.cmd === 'addRule' && c.family === 'inet' && c.chain === 'forward' && c.exprs.some((e) => e.expr === 'meta' && e.key === 'iifgroup'),
  );
  if (drops.length === 0) return [];
  expect(drops).toHaveLength(1);
  const exprs = (drops[0] as Extract<NftCommand, { cmd: 'addRule' }>).exprs;
  const at = exprs.findIndex((e) => e.expr === 'meta' && e.key === 'nfproto');
  if (at < 0) return [4, 6];
  const cmp = exprs[at + 1];
  if (cmp.expr !== 'cmp') throw new Error(`meta nfproto followed by ${cmp.expr}`);
  return [NFPROTO_FAMILY[Buffer.from(cmp.data).toString('hex')]];
}

/** A fake world whose host has ip_forward at `found`, and its sysctls. */
function worldWithForwarding(found: string) {
  const world = fakeWorld();
  const hostSysctls = world.kernel.ns(undefined).sysctls;
  hostSysctls.set(KEY, found);
  return { world, hostSysctls };
}

describe('ip_forward', () => {
  it('is switched on and recorded when off, drops other forwarding, and is put back by stop({ removeAll })', async () => {
    const { world, hostSysctls } = worldWithForwarding('0');
    const c = await world.start({ predefinedNetworks: false });
    const record = path.join(world.options.stateDir!, FORWARDING_RECORD);
    await c.newNetwork('bridge', 'internal', { internal: true, ...SUBNET });
    expect(hostSysctls.get(KEY)).toBe('0');
    expect(existsSync(record)).toBe(false);
    const network = await c.newNetwork('bridge', 'web', { ipam: { config: [{ subnet: '10.91.0.0/24' }] } });
    expect(hostSysctls.get(KEY)).toBe('1');
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({ 'net.ipv4.ip_forward': '0' });
    expect(droppedFamilies(world.kernel.log)).toEqual([4]);
    // The bridge and its ports are in the owner's link group; the ports in hairpin mode.
    const bridge = world.kernel.link(`br-${network.id.slice(0, 12)}`);
    expect(bridge.group).toBe(ownerGroup(c.owner));
    const sandbox = await c.newSandbox('s');
    await (await network.createEndpoint('e')).join(sandbox);
    const port = [...world.kernel.ns(undefined).links.values()].find((l) => l.master === bridge.name)!;
    expect(port).toMatchObject({ hairpin: true, group: ownerGroup(c.owner) });

    await c.stop({ removeAll: true });
    expect(hostSysctls.get(KEY)).toBe('0');
    expect(existsSync(record)).toBe(false);
  });

  it("found on is the host's own: no record, no drop, left on; ipForwardNoDrop drops nothing", async () => {
    const { world, hostSysctls } = worldWithForwarding('1');
    const c = await world.start({ predefinedNetworks: false });
    await c.newNetwork('bridge', 'web', SUBNET);
    expect(droppedFamilies(world.kernel.log)).toEqual([]);
    expect(existsSync(path.join(world.options.stateDir!, FORWARDING_RECORD))).toBe(false);
    await c.stop({ removeAll: true });
    expect(hostSysctls.get(KEY)).toBe('1');

    hostSysctls.set(KEY, '0');
    const d = await world.start({ predefinedNetworks: false, ipForwardNoDrop: true });
    await d.newNetwork('bridge', 'web', SUBNET);
    expect(hostSysctls.get(KEY)).toBe('1');
    expect(droppedFamilies(world.kernel.log)).toEqual([]);
    await d.stop({ removeAll: true });
    expect(hostSysctls.get(KEY)).toBe('0');
  });

  it('stays on while a cnm-ts bridge is left, the record kept for the next controller; a restart keeps the drop', async () => {
    const { world, hostSysctls } = worldWithForwarding('0');
    const c = await world.start({ predefinedNetworks: false });
    await c.newNetwork('bridge', 'web', SUBNET);
    // A restart reads the record: the rebuilt firewall still drops other forwarding.
    await c.stop();
    world.kernel.log.length = 0;
    const again = await world.start({ predefinedNetworks: false });
    expect(droppedFamilies(world.kernel.log)).toEqual([4]);
    // Another cnm-ts bridge (of another controller) stays: forwarding stays on.
    const other = fakeWorld();
    const stranger = await other.start({ predefinedNetworks: false, kernel: world.kernel });
    await stranger.newNetwork('bridge', 'other', { ipam: { config: [{ subnet: '10.92.0.0/24' }] } });
    await again.stop({ removeAll: true });
    expect(hostSysctls.get(KEY)).toBe('1');
    expect(existsSync(path.join(world.options.stateDir!, FORWARDING_RECORD))).toBe(true);
    await stranger.stop({ removeAll: true });
    const last = await world.start({ predefinedNetworks: false });
    await last.stop({ removeAll: true });
    expect(hostSysctls.get(KEY)).toBe('0');
  });

  it('a restart puts a bridge made without the link group (by an earlier version) in it', async () => {
    const { world } = worldWithForwarding('0');
    const c = await world.start({ predefinedNetworks: false });
    const network = await c.newNetwork('bridge', 'web', SUBNET);
    const bridge = world.kernel.link(`br-${network.id.slice(0, 12)}`);
    await c.stop();
    bridge.group = 0;
    const next = await world.start({ predefinedNetworks: false });
    expect(world.kernel.link(bridge.name).group).toBe(ownerGroup(next.owner));
    await next.stop({ removeAll: true });
  });

  it('a bridge takes no router advertisements, one made by an earlier version from the next restart; one without IPv6 is left alone', async () => {
    const { world, hostSysctls } = worldWithForwarding('0');
    const c = await world.start({ predefinedNetworks: false });
    const web = await c.newNetwork('bridge', 'web', SUBNET);
    const small = await c.newNetwork('bridge', 'small', { ...SUBNET2, driverOptions: { 'com.docker.network.driver.mtu': '1200' } });
    const acceptRa = (network: { id: string }) => hostSysctls.get(V6(`br-${network.id.slice(0, 12)}`, 'accept_ra'));
    expect([acceptRa(web), acceptRa(small)]).toEqual(['0', undefined]);
    await c.stop();
    hostSysctls.set(V6(`br-${web.id.slice(0, 12)}`, 'accept_ra'), '1');
    const next = await world.start({ predefinedNetworks: false });
    expect([acceptRa(web), acceptRa(small)]).toEqual(['0', undefined]);
    await next.stop({ removeAll: true });
  });
});

const V6 = (name: string, setting: string) => `net/ipv6/conf/${name}/${setting}`;
const DUAL = { enableIPv6: true, ipam: { config: [{ subnet: '10.93.0.0/24' }, { subnet: 'fd00:93::/64' }] } };

/**
 * A fake host that learns its IPv6 default route by RA on `eth0` and on `vlan.5` (a dot in its
 * name), has `eth1` forwarding on its own, `br0` with its port `eth2`, and all forwarding off.
 */
function worldWithRaHost() {
  const { world, hostSysctls } = worldWithForwarding('0');
  const { linkAdd } = world.kernel.handlersForTests;
  for (const name of ['eth0', 'vlan.5', 'eth1', 'br0']) linkAdd({ op: 'linkAdd', link: { kind: 'bridge', name } });
  linkAdd({ op: 'linkAdd', link: { kind: 'veth', name: 'eth2', master: 'br0', peer: { name: 'eth2p' } } });
  for (const name of ['eth0', 'vlan.5', 'eth1', 'br0', 'eth2']) hostSysctls.set(V6(name, 'accept_ra'), '1');
  hostSysctls.set(V6('eth1', 'forwarding'), '1');
  hostSysctls.set(V6('default', 'forwarding'), '0');
  return { world, hostSysctls };
}

describe('IPv6 forwarding', () => {
  it('an IPv6 network sets accept_ra=2 where RAs are taken, then default and all forwarding, recorded first; removeAll puts all back', async () => {
    const { world, hostSysctls } = worldWithRaHost();
    const c = await world.start({ predefinedNetworks: false });
    const record = path.join(world.options.stateDir!, FORWARDING_RECORD);
    world.kernel.log.length = 0;
    await c.newNetwork('bridge', 'dual', DUAL);

    expect(hostSysctls.get(V6('all', 'forwarding'))).toBe('1');
    expect(hostSysctls.get(V6('default', 'forwarding'))).toBe('1');
    // Taken RAs keep being taken; br0's port hands them to br0 (changed), eth1 forwarded already (took none).
    expect(['eth0', 'vlan.5', 'br0', 'eth1', 'eth2'].map((name) => hostSysctls.get(V6(name, 'accept_ra')))).toEqual(['2', '2', '2', '1', '1']);
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({
      'net.ipv4.ip_forward': '0',
      'net.ipv6.conf.eth0.accept_ra': '1',
      'net.ipv6.conf.vlan/5.accept_ra': '1',
      'net.ipv6.conf.br0.accept_ra': '1',
      'net.ipv6.conf.eth1.forwarding': '1',
      'net.ipv6.conf.default.forwarding': '0',
      'net.ipv6.conf.all.forwarding': '0',
    });
    // The record, then accept_ra, then forwarding (default, then all): all=1 deletes the RA routes
    // of interfaces without accept_ra=2.
    const steps = world.kernel.log
      .filter((op) => op.op === 'writeFiles' || op.op === 'sysctlSet')
      .map((op) => (op.op === 'sysctlSet' ? `${op.key}=${op.value}` : op.files[0].path))
      .filter((step) => step === FORWARDING_RECORD || /ip_forward|ipv6/.test(step));
    expect(steps).toEqual([
      // The new bridge refuses router advertisements (CVE-2020-13401), whatever the forwarding.
      expect.stringMatching(/^net\/ipv6\/conf\/br-[0-9a-f]{12}\/accept_ra=0$/),
      FORWARDING_RECORD,
      'net/ipv4/ip_forward=1',
      ...['eth0', 'vlan.5', 'br0'].map((name) => `${V6(name, 'accept_ra')}=2`),
      `${V6('default', 'forwarding')}=1`,
      `${V6('all', 'forwarding')}=1`,
    ]);
    expect(droppedFamilies(world.kernel.log)).toEqual([4, 6]);

    // A second IPv6 network changes nothing more than its own bridge's accept_ra.
    const before = world.kernel.log.length;
    const dual2 = await c.newNetwork('bridge', 'dual2', { enableIPv6: true, ipam: { config: [{ subnet: '10.94.0.0/24' }, { subnet: 'fd00:94::/64' }] } });
    expect(world.kernel.log.slice(before).filter((op) => op.op === 'sysctlSet' && /forward|accept_ra/.test(op.key))).toEqual([
      { op: 'sysctlSet', key: V6(`br-${dual2.id.slice(0, 12)}`, 'accept_ra'), value: '0' },
    ]);

    await c.stop({ removeAll: true });
    expect(['eth0', 'vlan.5', 'br0', 'eth1', 'eth2'].map((name) => hostSysctls.get(V6(name, 'accept_ra')))).toEqual(['1', '1', '1', '1', '1']);
    expect(['all', 'default', 'eth0', 'eth1'].map((name) => hostSysctls.get(V6(name, 'forwarding')))).toEqual(['0', '0', '0', '1']);
    expect(hostSysctls.get(KEY)).toBe('0');
    expect(existsSync(record)).toBe(false);
  });

  it('an IPv4-only network leaves IPv6 alone; a value someone changed since is not put back', async () => {
    const { world, hostSysctls } = worldWithRaHost();
    const c = await world.start({ predefinedNetworks: false });
    await c.newNetwork('bridge', 'v4', SUBNET);
    expect(hostSysctls.get(V6('all', 'forwarding'))).toBeUndefined();
    expect(hostSysctls.get(V6('eth0', 'accept_ra'))).toBe('1');

    await c.newNetwork('bridge', 'dual', DUAL);
    hostSysctls.set(V6('eth0', 'accept_ra'), '0');
    hostSysctls.set(KEY, '0');
    await c.stop({ removeAll: true });
    expect(hostSysctls.get(V6('eth0', 'accept_ra'))).toBe('0');
    expect(hostSysctls.get(V6('vlan.5', 'accept_ra'))).toBe('1');
    expect(hostSysctls.get(V6('all', 'forwarding'))).toBe('0');
    expect(existsSync(path.join(world.options.stateDir!, FORWARDING_RECORD))).toBe(false);
  });

  it("IPv6 forwarding found on is the host's own: accept_ra untouched, only default's recorded, only IPv4 dropped", async () => {
    const { world, hostSysctls } = worldWithRaHost();
    hostSysctls.set(V6('all', 'forwarding'), '1');
    const c = await world.start({ predefinedNetworks: false });
    await c.newNetwork('bridge', 'dual', DUAL);
    expect(hostSysctls.get(V6('eth0', 'accept_ra'))).toBe('1');
    expect(hostSysctls.get(V6('default', 'forwarding'))).toBe('1');
    expect(JSON.parse(readFileSync(path.join(world.options.stateDir!, FORWARDING_RECORD), 'utf8'))).toEqual({
      'net.ipv4.ip_forward': '0',
      'net.ipv6.conf.default.forwarding': '0',
    });
    // ip_forward is cnm-ts's: IPv4 is dropped; the host's own IPv6 routing is not.
    expect(droppedFamilies(world.kernel.log)).toEqual([4]);
    await c.stop({ removeAll: true });
    expect(hostSysctls.get(V6('all', 'forwarding'))).toBe('1');
    expect(hostSysctls.get(V6('default', 'forwarding'))).toBe('0');
  });

  it("ip_forward found on is the host's own: only IPv6, which cnm-ts switched on, is dropped, across a restart; ipForwardNoDrop drops nothing", async () => {
    const { world, hostSysctls } = worldWithRaHost();
    hostSysctls.set(KEY, '1');
    const c = await world.start({ predefinedNetworks: false });
    await c.newNetwork('bridge', 'dual', DUAL);
    expect([hostSysctls.get(KEY), hostSysctls.get(V6('all', 'forwarding'))]).toEqual(['1', '1']);
    expect(JSON.parse(readFileSync(path.join(world.options.stateDir!, FORWARDING_RECORD), 'utf8'))).not.toHaveProperty(['net.ipv4.ip_forward']);
    expect(droppedFamilies(world.kernel.log)).toEqual([6]);
    // A restart reads the record (IPv6's) and finds ip_forward on without one: the host's own still.
    await c.stop();
    world.kernel.log.length = 0;
    const again = await world.start({ predefinedNetworks: false });
    expect(droppedFamilies(world.kernel.log)).toEqual([6]);
    await again.stop({ removeAll: true });
    expect([hostSysctls.get(KEY), hostSysctls.get(V6('all', 'forwarding'))]).toEqual(['1', '0']);

    const d = await world.start({ predefinedNetworks: false, ipForwardNoDrop: true });
    await d.newNetwork('bridge', 'dual', DUAL);
    expect(hostSysctls.get(V6('all', 'forwarding'))).toBe('1');
    expect(droppedFamilies(world.kernel.log)).toEqual([]);
    await d.stop({ removeAll: true });
  });

  it("IPv6's values go back once no IPv6 network is left, IPv4's stay while a bridge is", async () => {
    const { world, hostSysctls } = worldWithRaHost();
    const c = await world.start({ predefinedNetworks: false });
    await c.newNetwork('bridge', 'dual', DUAL);
    const stranger = await fakeWorld().start({ predefinedNetworks: false, kernel: world.kernel });
    await stranger.newNetwork('bridge', 'v4', { ipam: { config: [{ subnet: '10.95.0.0/24' }] } });
    await c.stop({ removeAll: true });
    expect([hostSysctls.get(V6('all', 'forwarding')), hostSysctls.get(V6('eth0', 'accept_ra')), hostSysctls.get(KEY)]).toEqual(['0', '1', '1']);
    expect(JSON.parse(readFileSync(path.join(world.options.stateDir!, FORWARDING_RECORD), 'utf8'))).toEqual({ 'net.ipv4.ip_forward': '0' });
    await stranger.stop({ removeAll: true });
  });

  it('a newNetwork that fails at any step leaves the sysctls and the record as they were', async () => {
    const { world, hostSysctls } = worldWithRaHost();
    const c = await world.start({ predefinedNetworks: false });
    // As the kernel reads them (unset: 0) on the host's own interfaces.
    const names = ['all', 'default', 'eth0', 'vlan.5', 'eth1', 'br0', 'eth2'];
    const keys = [KEY, ...names.flatMap((name) => [V6(name, 'forwarding'), V6(name, 'accept_ra')])];
    const forwarding = () => keys.map((key) => `${key}=${hostSysctls.get(key) ?? '0'}`);
    const before = forwarding();
    const record = path.join(world.options.stateDir!, FORWARDING_RECORD);
    for (let step = 0; ; step++) {
      const start = world.kernel.log.length;
      world.kernel.failOperation(step);
      const made = await c.newNetwork('bridge', 'dual', DUAL).then(
        () => true,
        () => false,
      );
      if (made) break;
      const failed = world.kernel.log[start + step];
      if (failed.op === 'writeFiles' && failed.files[0].path.startsWith('store/networks/')) {
        // The controller's own record, after the driver made the network: the network is deleted,
        // and, as any deleted network does, leaves forwarding on (recorded) until stop({ removeAll }).
        expect(existsSync(record)).toBe(true);
        continue;
      }
      expect(forwarding()).toEqual(before);
      expect(existsSync(record)).toBe(false);
    }
    expect(hostSysctls.get(V6('eth0', 'accept_ra'))).toBe('2');
    await c.stop({ removeAll: true });
  });

  it('believes no record entry it would not have written', async () => {
    const { world, hostSysctls } = worldWithRaHost();
    const forged = {
      'kernel.modprobe': '0',
      'net.ipv6.conf.all.accept_ra': '1',
      'net.ipv6.conf.eth0.accept_ra': 'x',
      'net.ipv6.conf.a/b/c/d/e/f/g/h/i.accept_ra': '1',
      'net.ipv6.conf.eth1.forwarding': '0',
    };
    mkdirSync(world.options.stateDir!, { recursive: true });
    writeFileSync(path.join(world.options.stateDir!, FORWARDING_RECORD), JSON.stringify(forged));
    hostSysctls.set(V6('eth1', 'forwarding'), '1');
    const c = await world.start({ predefinedNetworks: false });
    world.kernel.log.length = 0;
    await c.stop({ removeAll: true });
    const sets = world.kernel.log.filter((op) => op.op === 'sysctlSet');
    // Only eth1's entry is one cnm-ts writes; all.forwarding was not put back, so neither is it.
    expect(sets).toEqual([]);
    expect(hostSysctls.get(V6('eth1', 'forwarding'))).toBe('1');
  });
});
