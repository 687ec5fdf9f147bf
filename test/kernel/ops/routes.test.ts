// Routes: add, replace, delete, list in main and other tables, IPv4 and IPv6; checked with `ip -j route`.
import { routeAdd, routeDelete, routeList, routeReplace, type RouteInfo, type RouteSpec } from '../../../lib/kernel';
import { NETNS_DIR, describeKernel, expectInvalidArgument, expectNetlinkError, ip, ipJson, trackKernelObjects, uniqueName } from '../../helpers/kernel';

interface IpRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  metric?: number;
  scope?: string;
  protocol?: string;
  type?: string;
}

describeKernel('routes', () => {
  const { all } = trackKernelObjects();
  // A namespace with IPv6 on and a veth pair up in it: 10.50.0.1/24 and fd00:50::1/64 on `a`.
  let ns: string;
  const [a, b] = [uniqueName('va'), uniqueName('vb')];
  const where = () => ({ netns: ns });
  /** `ip -j [-6] route show ARGS` in the namespace. */
  const ipRoutes = (args: string[], family: 4 | 6 = 4) => ipJson<IpRoute[]>([`-${family}`, 'route', 'show', ...args], ns);
  /** Every route of every table, both families: the state bad input must leave as it was. */
  const allRoutes = () => [...ipRoutes(['table', 'all'], 4), ...ipRoutes(['table', 'all'], 6)];
  /** The library's routes as "dst via gw dev" lines, like ip's. */
  const lines = (routes: (RouteInfo | IpRoute)[]) =>
    routes.map((r) => ('destination' in r ? [r.destination, r.gateway, r.dev] : [r.dst, r.gateway, r.dev]).map((x) => x ?? '-').join(' ')).sort();

  beforeAll(async () => {
    ns = await all.namespace({ 'net.ipv6.conf.all.disable_ipv6': '0' });
    ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', b], ns);
    ip(['addr', 'add', '10.50.0.1/24', 'dev', a], ns);
    ip(['addr', 'add', 'fd00:50::1/64', 'dev', a, 'nodad'], ns);
    // No link-local addresses: nothing in the tables changes by itself while the tests compare them.
    for (const end of [a, b]) ip(['link', 'set', end, 'addrgenmode', 'none', 'up'], ns);
  });

  afterEach(() => {
    // What the library added (proto boot, as `ip route add`); the kernel's own routes stay.
    for (const family of ['-4', '-6']) ip([family, 'route', 'flush', 'table', 'all', 'proto', 'boot'], ns);
  });

  it('adds a default route via a gateway', async () => {
    await routeAdd({ destination: 'default', gateway: '10.50.0.254' }, where());
    expect(ipRoutes(['default'])).toEqual([expect.objectContaining({ dst: 'default', gateway: '10.50.0.254', dev: a })]);
    const listed = await routeList({ ...where(), family: 4 });
    expect(listed).toContainEqual({
      family: 4,
      destination: 'default',
      gateway: '10.50.0.254',
      dev: a,
      metric: 0,
      table: 254,
      scope: 'global',
      protocol: 'boot',
      type: 'unicast',
    });
  });

  it('adds a route on a device with a metric, scope link', async () => {
    await routeAdd({ destination: '10.51.0.0/16', dev: a, metric: 100 }, where());
    expect(ipRoutes(['10.51.0.0/16'])).toEqual([expect.objectContaining({ dst: '10.51.0.0/16', dev: a, metric: 100, scope: 'link' })]);
    expect(await routeList(where())).toContainEqual(
      expect.objectContaining({ destination: '10.51.0.0/16', gateway: null, dev: a, metric: 100, scope: 'link' }),
    );
  });

  it('adds a route via a gateway on a given device with an explicit scope', async () => {
    await routeAdd({ destination: '10.52.0.0/16', gateway: '10.50.0.254', dev: a, scope: 'global' }, where());
    await routeAdd({ destination: '10.52.1.0/24', dev: a, scope: 'link' }, where());
    expect(ipRoutes(['10.52.0.0/16'])).toEqual([expect.objectContaining({ gateway: '10.50.0.254', dev: a })]);
    expect(ipRoutes(['10.52.0.0/16'])[0].scope).toBeUndefined(); // ip prints no scope for global
    expect(ipRoutes(['10.52.1.0/24'])).toEqual([expect.objectContaining({ dev: a, scope: 'link' })]);
    const listed = await routeList(where());
    expect(listed).toContainEqual(expect.objectContaining({ destination: '10.52.0.0/16', gateway: '10.50.0.254', scope: 'global' }));
    expect(listed).toContainEqual(expect.objectContaining({ destination: '10.52.1.0/24', gateway: null, scope: 'link' }));
  });

  it.each([100, 1000])('adds, lists and deletes a route in table %i, not in main', async (table) => {
    const route: RouteSpec = { destination: '10.53.0.0/16', gateway: '10.50.0.254', table };
    await routeAdd(route, where());
    expect(ipRoutes(['table', String(table)])).toEqual([expect.objectContaining({ dst: '10.53.0.0/16', gateway: '10.50.0.254', dev: a })]);
    expect(ipRoutes(['10.53.0.0/16'])).toEqual([]);
    expect(await routeList({ ...where(), table })).toEqual([expect.objectContaining({ destination: '10.53.0.0/16', table })]);
    expect(lines(await routeList(where()))).not.toContain(`10.53.0.0/16 10.50.0.254 ${a}`);

    await routeDelete(route, where());
    expect(ipRoutes(['table', String(table)])).toEqual([]);
    expect(await routeList({ ...where(), table })).toEqual([]);
  });

  it('replaces a route, and creates one that is not there', async () => {
    await routeAdd({ destination: '10.54.0.0/16', gateway: '10.50.0.254', metric: 10 }, where());
    await routeReplace({ destination: '10.54.0.0/16', gateway: '10.50.0.253', metric: 10 }, where());
    await routeReplace({ destination: '10.55.0.0/16', gateway: '10.50.0.253' }, where());
    expect(ipRoutes(['10.54.0.0/16'])).toEqual([expect.objectContaining({ gateway: '10.50.0.253', metric: 10 })]);
    expect(ipRoutes(['10.55.0.0/16'])).toEqual([expect.objectContaining({ gateway: '10.50.0.253' })]);
    const listed = (await routeList(where())).filter((r) => r.destination.startsWith('10.54.'));
    expect(listed).toEqual([expect.objectContaining({ gateway: '10.50.0.253', metric: 10 })]);
  });

  it('deletes a route', async () => {
    ip(['route', 'add', '10.56.0.0/16', 'via', '10.50.0.254'], ns); // made independently
    await routeDelete({ destination: '10.56.0.0/16', gateway: '10.50.0.254' }, where());
    expect(ipRoutes(['10.56.0.0/16'])).toEqual([]);
    expect((await routeList(where())).map((r) => r.destination)).not.toContain('10.56.0.0/16');
  });

  it('adds IPv6 routes: via a gateway, a default by gateway and one by device', async () => {
    await routeAdd({ destination: 'fd00:57::/64', gateway: 'fd00:50::fe' }, where());
    await routeAdd({ destination: 'default', gateway: 'fd00:50::fe', metric: 300 }, where());
    await routeAdd({ destination: 'default', family: 6, dev: a, metric: 400 }, where());
    expect(ipRoutes(['fd00:57::/64'], 6)).toEqual([expect.objectContaining({ gateway: 'fd00:50::fe', dev: a, metric: 1024 })]);
    expect(ipRoutes(['default'], 6)).toEqual([
      expect.objectContaining({ dst: 'default', gateway: 'fd00:50::fe', dev: a, metric: 300 }),
      expect.objectContaining({ dst: 'default', dev: a, metric: 400 }),
    ]);
    expect(ipRoutes(['default'], 4)).toEqual([]);
    const listed = await routeList({ ...where(), family: 6 });
    expect(listed).toContainEqual(expect.objectContaining({ family: 6, destination: 'fd00:57::/64', gateway: 'fd00:50::fe', dev: a, metric: 1024 }));
    expect(listed.filter((r) => r.destination === 'default')).toEqual([
      expect.objectContaining({ gateway: 'fd00:50::fe', metric: 300 }),
      expect.objectContaining({ gateway: null, metric: 400 }),
    ]);
    expect((await routeList({ ...where(), family: 4 })).map((r) => r.family)).not.toContain(6);
  });

  it('lists the main table as ip does, kernel routes included', async () => {
    await routeAdd({ destination: '10.58.0.0/16', gateway: '10.50.0.254' }, where());
    await routeAdd({ destination: 'fd00:58::/64', dev: a }, where());
    expect(lines(await routeList({ ...where(), family: 4 }))).toEqual(lines(ipRoutes([], 4)));
    expect(lines(await routeList({ ...where(), family: 6 }))).toEqual(lines(ipRoutes([], 6)));
    expect(lines(await routeList({ ...where(), family: 4 }))).toEqual([`10.50.0.0/24 - ${a}`, `10.58.0.0/16 10.50.0.254 ${a}`]);
  });

  describe('bad input leaves the routes as they were', () => {
    let before: IpRoute[];
    beforeEach(() => {
      before = allRoutes();
    });
    afterEach(() => {
      expect(allRoutes()).toEqual(before);
    });

    it.each(['10.59.0.1/16', '10.59.0.128/24', 'fd00:59::1/64'])('refuses the destination %s with host bits set', async (destination) => {
      await expectInvalidArgument(routeAdd({ destination, dev: a }, where()), 'host bits');
      await expectInvalidArgument(routeReplace({ destination, dev: a }, where()), 'host bits');
    });

    it.each(['10.0.0.300/24', '10.0.0.1/33', 'abc', '10.59.0.0'])('refuses the malformed destination %j', async (destination) => {
      await expectInvalidArgument(routeAdd({ destination, dev: a }, where()), JSON.stringify(destination));
    });

    it('refuses a gateway of the other family', async () => {
      await expectInvalidArgument(routeAdd({ destination: '10.59.0.0/16', gateway: 'fd00:50::fe' }, where()), 'IPv6');
      await expectInvalidArgument(routeAdd({ destination: 'fd00:59::/64', gateway: '10.50.0.254' }, where()), 'IPv4');
      await expectInvalidArgument(routeAdd({ destination: 'default', family: 4, gateway: 'fd00:50::fe' }, where()), 'IPv6');
    });

    it('refuses a route with neither gateway nor device', async () => {
      await expectInvalidArgument(routeAdd({ destination: '10.59.0.0/16' }, where()), 'needs a gateway or a device');
    });

    it('refuses a duplicate with EEXIST', async () => {
      const route: RouteSpec = { destination: '10.60.0.0/16', gateway: '10.50.0.254' };
      await routeAdd(route, where());
      before = allRoutes();
      await expectNetlinkError(routeAdd(route, where()), { code: 'EEXIST', syscall: 'RTM_NEWROUTE', object: '10.60.0.0/16' });
      expect(ipRoutes(['10.60.0.0/16'])).toHaveLength(1);
    });

    it('refuses to delete a route that is not there with ESRCH', async () => {
      await expectNetlinkError(routeDelete({ destination: '10.61.0.0/16', dev: a }, where()), {
        code: 'ESRCH',
        syscall: 'RTM_DELROUTE',
        object: '10.61.0.0/16',
      });
    });

    it('refuses a device that does not exist with ENODEV', async () => {
      const missing = uniqueName('none');
      await expectNetlinkError(routeAdd({ destination: '10.62.0.0/16', dev: missing }, where()), { code: 'ENODEV', syscall: 'RTM_GETLINK', object: missing });
    });

    it('refuses a gateway that is not on any link with ENETUNREACH', async () => {
      await expectNetlinkError(routeAdd({ destination: '10.63.0.0/16', gateway: '10.99.0.1' }, where()), {
        code: 'ENETUNREACH',
        syscall: 'RTM_NEWROUTE',
        object: '10.99.0.1',
      });
    });

    it('refuses a namespace that does not exist with ENOENT', async () => {
      const missing = `${NETNS_DIR}/${uniqueName('none')}`;
      await expectNetlinkError(routeAdd({ destination: '10.64.0.0/16', dev: a }, { netns: missing }), { code: 'ENOENT', syscall: 'open', object: missing });
      await expectNetlinkError(routeList({ netns: missing }), { code: 'ENOENT', syscall: 'open', object: missing });
    });
  });
});
