// The unit of work: 200 containers set up concurrently through the batch call, each checked with
// `ip`, real TCP traffic between two of them and from the host, then torn down with nothing left.
import { addressAdd, linkAdd, linkDelete, NetlinkError, setupContainer, teardownContainer } from '../../../lib/kernel';
import {
  describeKernel,
  expectBackTo,
  expectTcpFromPeerAndHost,
  hostHasLink,
  ipJson,
  NETNS_DIR,
  snapshot,
  uniqueName,
  type KernelSnapshot,
} from '../../helpers/kernel';

interface IpAddr {
  ifname: string;
  operstate: string;
  addr_info: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
  gateway?: string;
  dev: string;
}

const COUNT = 200;
const GATEWAY = '10.77.0.1';
const addressOf = (i: number) => `10.77.${Math.floor(i / 250)}.${(i % 250) + 2}`;

describeKernel('containers through the batch call', () => {
  const bridge = uniqueName('cbr');
  let before: KernelSnapshot;
  let containers: { netns: string; host: string; address: string }[] = [];

  beforeAll(async () => {
    before = snapshot();
    await linkAdd({ kind: 'bridge', name: bridge, up: true });
    await addressAdd(bridge, `${GATEWAY}/16`);
  });

  afterAll(async () => {
    await Promise.allSettled(containers.map((c) => teardownContainer(c.netns)));
    await linkDelete(bridge).catch(() => undefined);
    await expectBackTo(before);
  });

  it(`sets up ${COUNT} containers concurrently, each one correct per ip`, async () => {
    const specs = Array.from({ length: COUNT }, (_, i) => ({
      netnsDir: NETNS_DIR,
      name: uniqueName('ctr'),
      bridge,
      hostIfname: uniqueName('vc'),
      address: `${addressOf(i)}/16`,
      gateway: GATEWAY,
    }));
    const paths = await Promise.all(specs.map((spec) => setupContainer(spec)));
    containers = specs.map((s, i) => ({ netns: paths[i], host: s.hostIfname, address: addressOf(i) }));

    const ports = ipJson<{ ifname: string; master?: string }[]>(['link', 'show', 'master', bridge]);
    expect(ports.map((p) => p.ifname).sort()).toEqual(specs.map((s) => s.hostIfname).sort());
    // No host end made an IPv6 link-local address (so none sent DAD / RS / MLD onto the bridge).
    const hostAddrs = ipJson<IpAddr[]>(['addr', 'show', 'master', bridge]);
    expect(hostAddrs.filter((a) => a.addr_info.length > 0)).toEqual([]);
    for (const c of containers) {
      const addrs = ipJson<IpAddr[]>(['addr', 'show'], c.netns);
      expect(addrs.map((a) => a.ifname).sort()).toEqual(['eth0', 'lo']);
      const eth0 = addrs.find((a) => a.ifname === 'eth0')!;
      expect(eth0.operstate).toBe('UP');
      // IPv6 was switched off before eth0 existed: only the IPv4 address.
      expect(eth0.addr_info).toEqual([expect.objectContaining({ family: 'inet', local: c.address, prefixlen: 16 })]);
      const routes = ipJson<IpRoute[]>(['route', 'show'], c.netns);
      expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: GATEWAY, dev: 'eth0' }));
    }
  });

  it('carries TCP between two containers and from the host to one', async () => {
    const [a, b] = [containers[0], containers[COUNT - 1]];
    await expectTcpFromPeerAndHost(a, b.netns, 7070);
  });

  it('tears them all down concurrently, leaving nothing', async () => {
    await Promise.all(containers.map((c) => teardownContainer(c.netns)));
    containers = [];
    await linkDelete(bridge);
    await expectBackTo(before);
  });
});

describeKernel('a container setup that fails', () => {
  let before: KernelSnapshot;
  const bridge = uniqueName('fbr');

  beforeAll(async () => {
    before = snapshot();
    await linkAdd({ kind: 'bridge', name: bridge, up: true });
  });
  afterAll(async () => {
    await linkDelete(bridge).catch(() => undefined);
    await expectBackTo(before);
  });

  const spec = () => ({
    netnsDir: NETNS_DIR,
    name: uniqueName('fail'),
    bridge,
    hostIfname: uniqueName('vf'),
    address: '10.78.0.2/24',
  });

  it('leaves no namespace when the bridge does not exist', async () => {
    const s = { ...spec(), bridge: 'nosuchbr0' };
    await expect(setupContainer(s)).rejects.toMatchObject({ code: 'ENODEV', object: 'nosuchbr0' });
    expect(snapshot().namespaces).not.toContain(s.name);
    expect(hostHasLink(s.hostIfname)).toBe(false);
  });

  it('removes the veth and the namespace when the last step fails', async () => {
    // A gateway outside the container's subnet is unreachable: the route, the last step, fails.
    const s = { ...spec(), gateway: '10.79.0.1' };
    const err = await setupContainer(s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ code: 'ENETUNREACH', syscall: 'RTM_NEWROUTE', index: 6 });
    expect(snapshot().namespaces).not.toContain(s.name);
    expect(hostHasLink(s.hostIfname)).toBe(false);
  });

  it('refuses a host end name that is already taken, leaving the existing link alone', async () => {
    const s = spec();
    await expect(setupContainer({ ...s, hostIfname: bridge })).rejects.toMatchObject({ code: 'EEXIST', index: 1 });
    expect(hostHasLink(bridge)).toBe(true);
    expect(snapshot().namespaces).not.toContain(s.name);
  });
});
