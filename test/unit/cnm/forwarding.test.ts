// The host's ip_forward on a FakeKernel: switched on for a network that needs it, recorded when it
// was off, put back by stop({ removeAll: true }) once no cnm-ts bridge is left; the drop of other
// forwarding in the firewall; hairpin and the owner's link group on the bridge ports.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { FORWARDING_RECORD } from '../../../lib/drivers/bridge/forwarding';
import { ownerGroup } from '../../../lib/drivers/bridge/ownership';
import type { NativeOp, NftCommand } from '../../../lib/native';
import { fakeWorld } from '../../helpers/fake-cnm';

const KEY = 'net/ipv4/ip_forward';
const SUBNET = { ipam: { config: [{ subnet: '10.90.0.0/24' }] } };

/** Whether the last firewall rebuild in the kernel's log drops forwarding between other interfaces. */
function dropsOthers(log: NativeOp[]): boolean {
  const rebuilds = log.filter(
    (op): op is Extract<NativeOp, { op: 'nftTransaction' }> => op.op === 'nftTransaction' && op.commands.some((c) => c.cmd === 'addChain'),
  );
  const last = rebuilds.at(-1)?.commands ?? [];
  return last.some((c: NftCommand) => c.cmd === 'addRule' && c.exprs.some((e) => e.expr === 'meta' && e.key === 'iifgroup'));
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
    expect(dropsOthers(world.kernel.log)).toBe(true);
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
    expect(dropsOthers(world.kernel.log)).toBe(false);
    expect(existsSync(path.join(world.options.stateDir!, FORWARDING_RECORD))).toBe(false);
    await c.stop({ removeAll: true });
    expect(hostSysctls.get(KEY)).toBe('1');

    hostSysctls.set(KEY, '0');
    const d = await world.start({ predefinedNetworks: false, ipForwardNoDrop: true });
    await d.newNetwork('bridge', 'web', SUBNET);
    expect(hostSysctls.get(KEY)).toBe('1');
    expect(dropsOthers(world.kernel.log)).toBe(false);
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
    expect(dropsOthers(world.kernel.log)).toBe(true);
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
});
