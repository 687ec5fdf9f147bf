// IPv6 forwarding, switched on for an IPv6 network, does not cost the host the default route it
// learns from router advertisements (forwarding=1 makes the kernel a router: it deletes the routes
// learned from RAs and takes no more, unless accept_ra=2), and stop({ removeAll: true }) puts
// forwarding and accept_ra back.
//
// The world: an "outside" namespace stands for the LAN's router, with a veth to the test's own
// namespace (the host); radvd there advertises a prefix and itself as the default router.
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { NetworkController } from '../../../lib';
import { FORWARDING_RECORD } from '../../../lib/drivers/bridge/forwarding';
import { useControllers, type CnmFixture } from '../../helpers/cnm';
import { hostIpv6Sysctl as sysctl, setHostIpv6Sysctl as setSysctl, startRadvd } from '../../helpers/ipv6';
import { describeKernel, eventually, ip, ipJson } from '../../helpers/kernel';
import { timeLimit } from '../../helpers/timing';

const R = { name: 'cnmra-r', host: 'cnmra-h', peer: 'cnmra-o' };
/** radvd advertises at least every 4 s (its shortest MaxRtrAdvInterval). */
const RA_INTERVAL_S = 4;
const RADVD_CONF = `interface ${R.peer} {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval ${RA_INTERVAL_S};
  AdvDefaultLifetime 600;
  prefix 2001:db8:ac::/64 { AdvOnLink on; AdvAutonomous on; };
};
`;

/** The host's default routes learned from RAs on the router's link, as `ip -6 -j route` shows them. */
const raDefault = () =>
  ipJson<{ dev: string; protocol?: string; gateway?: string }[]>(['-6', 'route', 'show', 'default'])
    .filter((r) => r.dev === R.host && r.protocol === 'ra')
    .map(({ dev, protocol, gateway }) => ({ dev, protocol, gateway }));
const IPV6 = (n: number) => ({ enableIPv6: true, ipam: { config: [{ subnet: `10.161.${n}.0/24` }, { subnet: `fd00:161:${n}::/64` }] } });

describeKernel('IPv6 forwarding and a host that learns its default route from router advertisements', () => {
  const env = useControllers();
  let router: { dev: string; protocol: string; gateway: string }[];

  beforeAll(async () => {
    // The host takes RAs as a fresh one does: forwarding off, accept_ra=1.
    const found = ['all/forwarding', 'default/forwarding'].map((key) => [key, sysctl(key)] as const);
    env.later(() => found.forEach(([key, value]) => setSysctl(key, value)));
    for (const [key] of found) setSysctl(key, '0');
    ip(['netns', 'add', R.name]);
    env.later(() => ip(['netns', 'delete', R.name]));
    ip(['link', 'add', R.host, 'type', 'veth', 'peer', 'name', R.peer]);
    env.later(() => ip(['link', 'delete', R.host]));
    ip(['link', 'set', R.peer, 'netns', R.name]);
    // No duplicate address detection: the link-local addresses (RAs come from the router's) are usable at once.
    ip(['netns', 'exec', R.name, 'sysctl', '-qw', `net.ipv6.conf.${R.peer}.accept_dad=0`, 'net.ipv6.conf.all.forwarding=1']);
    setSysctl(`${R.host}/accept_dad`, '0');
    expect(sysctl(`${R.host}/accept_ra`)).toBe('1');
    ip(['netns', 'exec', R.name, 'ip', 'link', 'set', R.peer, 'up']);
    ip(['link', 'set', R.host, 'up']);
    startRadvd(`/run/netns/${R.name}`, RADVD_CONF, env.later);
    const [link] = ipJson<{ addr_info: { local: string; scope: string }[] }[]>(['-6', 'addr', 'show', 'dev', R.peer], `/run/netns/${R.name}`);
    const gateway = link.addr_info.find((a) => a.scope === 'link')!.local;
    router = [{ dev: R.host, protocol: 'ra', gateway }];
    await eventually(raDefault, router, timeLimit(10000));
  });

  /** Waits for radvd's next advertisement to give the host its default route again. */
  const relearned = () => eventually(raDefault, router, timeLimit((RA_INTERVAL_S + 3) * 1000));

  it('an IPv6 network switches forwarding on; the host keeps its RA default route and still learns it; removeAll puts all back', async () => {
    const f = await env.make({ predefinedNetworks: false });
    await f.controller.newNetwork('bridge', 'dual', IPV6(1));
    expect([sysctl('all/forwarding'), sysctl('default/forwarding'), sysctl(`${R.host}/forwarding`)]).toEqual(['1', '1', '1']);
    expect(sysctl(`${R.host}/accept_ra`)).toBe('2');
    expect(JSON.parse(readFileSync(path.join(f.stateDir, FORWARDING_RECORD), 'utf8'))).toMatchObject({
      [`net.ipv6.conf.${R.host}.accept_ra`]: '1',
      'net.ipv6.conf.all.forwarding': '0',
      'net.ipv6.conf.default.forwarding': '0',
    });
    // Kept through the switch (all.forwarding=1 deletes RA routes where accept_ra is not 2) ...
    expect(raDefault()).toEqual(router);
    // ... and RAs are still taken: deleted, the route comes back with radvd's next advertisement.
    ip(['-6', 'route', 'del', 'default', 'dev', R.host]);
    expect(raDefault()).toEqual([]);
    await relearned();

    await f.controller.stop({ removeAll: true });
    expect([sysctl('all/forwarding'), sysctl('default/forwarding'), sysctl(`${R.host}/forwarding`)]).toEqual(['0', '0', '0']);
    expect(sysctl(`${R.host}/accept_ra`)).toBe('1');
    expect(existsSync(path.join(f.stateDir, FORWARDING_RECORD))).toBe(false);
    expect(raDefault()).toEqual(router);

    // What the accept_ra step saves the host from: forwarding switched on without it (as dockerd
    // does) takes the default route away at once.
    setSysctl('all/forwarding', '1');
    expect(raDefault()).toEqual([]);
    setSysctl('all/forwarding', '0');
    await relearned();
  });

  it("stays on while another controller's IPv6 network needs it; removeAll after the last puts forwarding and accept_ra back", async () => {
    const f: CnmFixture = await env.make({ predefinedNetworks: false });
    await f.controller.newNetwork('bridge', 'dual', IPV6(2));
    const g = await env.make({ predefinedNetworks: false });
    await g.controller.newNetwork('bridge', 'dual', IPV6(3));
    // The second controller found forwarding on: none of it is its to put back.
    expect(existsSync(path.join(g.stateDir, FORWARDING_RECORD))).toBe(false);

    await f.controller.stop({ removeAll: true });
    expect([sysctl('all/forwarding'), sysctl(`${R.host}/accept_ra`)]).toEqual(['1', '2']);
    expect(existsSync(path.join(f.stateDir, FORWARDING_RECORD))).toBe(true);
    await g.controller.stop({ removeAll: true });
    expect(raDefault()).toEqual(router);
    // No cnm-ts bridge is left: a controller on the first state directory puts the values back.
    f.controller = await NetworkController.create(f.options);
    await f.controller.stop({ removeAll: true });
    expect([sysctl('all/forwarding'), sysctl('default/forwarding'), sysctl(`${R.host}/accept_ra`)]).toEqual(['0', '0', '1']);
    expect(existsSync(path.join(f.stateDir, FORWARDING_RECORD))).toBe(false);
    expect(raDefault()).toEqual(router);
  });
});
