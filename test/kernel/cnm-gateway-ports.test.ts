// When the gateway endpoint leaves, the next one takes over even if a host port it must publish
// is held by another socket: the leave completes and the port is reported (event and info()).
import { createServer, type Server } from 'node:net';
import type { Endpoint, NetworkController } from '../../lib';
import { nsAddrs, nsRoutes, useControllers } from '../helpers/cnm';
import { describeKernel, othersCanBind, uniqueName } from '../helpers/kernel';

const PORT = 18931;

/** A TCP socket of the test's own, listening on 0.0.0.0:port. */
function holdPort(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}

describeKernel('gateway endpoint leave with a host port in use', () => {
  const env = useControllers();
  let c: NetworkController;
  let held: Server | null = null;

  beforeAll(async () => {
    c = (await env.make({ predefinedNetworks: false })).controller;
  });
  afterEach(async () => {
    await new Promise((resolve) => (held ? held.close(resolve) : resolve(undefined)));
    held = null;
  });

  it('completes the leave; the next gateway endpoint goes on without the port, reported by an event and info()', async () => {
    const [web, admin] = [
      await c.newNetwork('bridge', 'gwp-web', { ipam: { config: [{ subnet: '10.113.1.0/24' }] } }),
      await c.newNetwork('bridge', 'gwp-admin', { ipam: { config: [{ subnet: '10.113.2.0/24' }] } }),
    ];
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    const published = await web.createEndpoint('published', { portMapping: [{ proto: 'tcp', port: 80, hostPort: PORT }] });
    const preferred = await admin.createEndpoint('preferred');
    await published.join(sandbox);
    expect(othersCanBind('tcp', '0.0.0.0', PORT)).toBe(false);
    // A higher priority takes the gateway over: the port is given back, and another socket takes it.
    await preferred.join(sandbox, { priority: 10 });
    expect(othersCanBind('tcp', '0.0.0.0', PORT)).toBe(true);
    held = await holdPort(PORT);

    const reported: [Endpoint, Error][] = [];
    c.on('endpoint:ports-unavailable', (endpoint, error) => reported.push([endpoint, error]));
    await preferred.leave(sandbox);

    // The leave is done: its interface is gone, the other endpoint gives the default route.
    expect(nsAddrs(sandbox.key).map((l) => l.ifname).sort()).toEqual(['eth0', 'lo']);
    expect(nsRoutes(sandbox.key).filter((r) => r.dst === 'default').map((r) => `${r.gateway} ${r.dev}`)).toEqual(['10.113.1.1 eth0']);
    expect(preferred.info().sandboxId).toBeNull();
    expect(sandbox.endpoints()).toEqual([published]);
    // The port that could not be published is reported.
    expect(reported.map(([e, err]) => [e, (err as { code?: string }).code, err.message])).toEqual([[published, 'CONFLICT', expect.stringContaining(String(PORT))]]);
    expect(published.info().unpublished).toEqual({ portMapping: [{ proto: 'tcp', port: 80, hostPort: PORT }], reason: expect.stringContaining(String(PORT)) });

    // The endpoint can join and leave again as usual.
    await preferred.join(sandbox, { priority: 10 });
    expect(published.info().unpublished).toBeNull();
    await preferred.leave(sandbox);
    await sandbox.delete();
    await Promise.all([published.delete(), preferred.delete()]);
    await Promise.all([web.delete(), admin.delete()]);
  });
});
