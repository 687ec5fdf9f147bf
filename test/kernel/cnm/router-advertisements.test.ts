// A container must not configure the host's IPv6 by router advertisements of its own
// (CVE-2020-13401): cnm-ts's bridges take none (accept_ra=0), as Docker's have since 19.03.11.
//
// The world: two sandboxes on an IPv4-only network. The attacker turns IPv6 on for its eth0, as a
// process with CAP_NET_ADMIN in its namespace can, and runs radvd there, advertising a prefix for
// SLAAC; the probe, with IPv6 on too, takes the advertisements, which shows they reach the bridge.
// The host, forwarding off (a host that would take RAs), must not get an address or a route from
// them; with accept_ra put back to 1 on the bridge it does, which shows the check can fail.
import { execFileSync } from 'node:child_process';
import type { Sandbox } from '../../../lib';
import { useControllers } from '../../helpers/cnm';
import { hostIpv6Sysctl as sysctl, setHostIpv6Sysctl as setSysctl, startRadvd } from '../../helpers/ipv6';
import { describeKernel, eventually, ipJson } from '../../helpers/kernel';
import { timeLimit } from '../../helpers/timing';

const BRIDGE = 'cnmra-br0';
const PREFIX = '2001:db8:bad:';
/** radvd advertises at least every 4 s (its shortest MaxRtrAdvInterval). */
const RA_INTERVAL_S = 4;
const radvdConf = (ifname: string) => `interface ${ifname} {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval ${RA_INTERVAL_S};
  AdvDefaultLifetime 0;
  prefix ${PREFIX}:/64 { AdvOnLink on; AdvAutonomous on; };
};
`;

const inSandbox = (sandbox: Sandbox, command: string[]) => execFileSync('nsenter', [`--net=${sandbox.key}`, ...command], { encoding: 'utf8' });

/** The addresses in the advertised prefix on `dev` (in a namespace, by path, if given), per `ip -6 -j addr`. */
const advertisedAddresses = (dev: string, netns?: string) =>
  ipJson<{ addr_info: { local: string }[] }[]>(['-6', 'addr', 'show', 'dev', dev], netns)
    .flatMap((l) => l.addr_info.map((a) => a.local))
    .filter((a) => a.startsWith(PREFIX));
/** The host's routes to the advertised prefix through the bridge (an RA's on-link prefix; it expires). */
const hostPrefixRoutes = () =>
  ipJson<{ dst: string }[]>(['-6', 'route', 'show', 'dev', BRIDGE])
    .map((r) => r.dst)
    .filter((dst) => dst.startsWith(PREFIX));

describeKernel('router advertisements from a container on a cnm-ts bridge (CVE-2020-13401)', () => {
  const env = useControllers();

  it('the host takes no address and no route from them; with accept_ra=1 on the bridge it would', async () => {
    // A host that takes RAs: IPv6 forwarding off, accept_ra=1 for new interfaces.
    const found = ['all/forwarding', 'default/forwarding', 'default/accept_ra'].map((key) => [key, sysctl(key)] as const);
    env.later(() => found.forEach(([key, value]) => setSysctl(key, value)));
    setSysctl('all/forwarding', '0');
    setSysctl('default/forwarding', '0');
    setSysctl('default/accept_ra', '1');

    const f = await env.make({ predefinedNetworks: false });
    const network = await f.controller.newNetwork('bridge', 'v4', {
      driverOptions: { 'com.docker.network.bridge.name': BRIDGE },
      ipam: { config: [{ subnet: '10.162.1.0/24' }] },
    });
    expect(sysctl(`${BRIDGE}/accept_ra`)).toBe('0');
    const [attacker, probe] = await Promise.all(['attacker', 'probe'].map((id) => f.controller.newSandbox(id)));
    for (const sandbox of [attacker, probe]) {
      await (await network.createEndpoint(`ep-${sandbox.id.slice(0, 8)}`)).join(sandbox);
      inSandbox(sandbox, ['sysctl', '-qw', 'net.ipv6.conf.eth0.disable_ipv6=0']);
    }
    inSandbox(attacker, ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    // radvd sends from the interface's link-local address.
    await eventually(() => ipJson<unknown[]>(['-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link'], attacker.key).length, 1, timeLimit(5000));

    startRadvd(attacker.key, radvdConf('eth0'), env.later);

    // The probe configures itself from them: they reach every port of the bridge, and the bridge.
    await eventually(() => advertisedAddresses('eth0', probe.key).length, 1, timeLimit(10000));
    // Over the next advertisement at least, the host takes nothing.
    const until = Date.now() + (RA_INTERVAL_S + 1) * 1000;
    while (Date.now() < until) {
      expect([advertisedAddresses(BRIDGE), hostPrefixRoutes()]).toEqual([[], []]);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    // What accept_ra=0 saves the host from: the same bridge taking them gets an address and a route.
    setSysctl(`${BRIDGE}/accept_ra`, '1');
    await eventually(() => advertisedAddresses(BRIDGE).length, 1, timeLimit((RA_INTERVAL_S + 3) * 1000));
    expect(hostPrefixRoutes()).toEqual([`${PREFIX}:/64`]);
  });
});
