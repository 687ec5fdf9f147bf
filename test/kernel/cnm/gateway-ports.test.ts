// When the gateway endpoint leaves, the next one takes over even if a host port it must publish
// is held by another socket: the leave completes and the port is reported (event and info()).
import { createServer, type Server } from 'node:net';
import { CnmError, type Endpoint, type NetworkController } from '../../../lib';
import { nsAddrs, nsRoutes, restart, useControllers } from '../../helpers/cnm';
import { describeKernel, othersCanBind, uniqueName } from '../../helpers/kernel';

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
  const reported: [Endpoint, Error][] = [];
  const listeners = { 'endpoint:ports-unavailable': (endpoint: Endpoint, error: Error) => reported.push([endpoint, error]) };

  beforeAll(async () => {
    c = (await env.make({ predefinedNetworks: false, listeners })).controller;
  });
  beforeEach(() => {
    reported.length = 0;
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

    await preferred.leave(sandbox);

    // The leave is done: its interface is gone, the other endpoint gives the default route.
    expect(
      nsAddrs(sandbox.key)
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['eth0', 'lo']);
    expect(
      nsRoutes(sandbox.key)
        .filter((r) => r.dst === 'default')
        .map((r) => `${r.gateway} ${r.dev}`),
    ).toEqual(['10.113.1.1 eth0']);
    expect(preferred.info().sandboxId).toBeNull();
    expect(sandbox.endpoints()).toEqual([published]);
    // The port that could not be published is reported.
    expect(reported.map(([e, err]) => [e, (err as { code?: string }).code, err.message])).toEqual([
      [published, 'CONFLICT', expect.stringContaining(String(PORT))],
    ]);
    expect(published.info().unpublished).toEqual({ portMapping: [{ proto: 'tcp', port: 80, hostPort: PORT }], reason: expect.stringContaining(String(PORT)) });

    // The endpoint can join and leave again as usual.
    await preferred.join(sandbox, { priority: 10 });
    expect(published.info().unpublished).toBeNull();
    await preferred.leave(sandbox);
    await sandbox.delete();
    await Promise.all([published.delete(), preferred.delete()]);
    await Promise.all([web.delete(), admin.delete()]);
  });

  it('reports at a restart a gateway endpoint whose host port another socket took meanwhile, and keeps the sandbox', async () => {
    const f = env.fixtures()[0];
    const network = await c.newNetwork('bridge', 'gwp-restart', { ipam: { config: [{ subnet: '10.113.3.0/24' }] } });
    const sandbox = await c.newSandbox(uniqueName('ctr'));
    const ep = await network.createEndpoint('published', { portMapping: [{ proto: 'tcp', port: 80, hostPort: PORT + 1 }] });
    await ep.join(sandbox);
    await c.stop();
    held = await holdPort(PORT + 1);
    c = await restart(f);
    const restored = c.networkByName('gwp-restart')!.endpointByName('published')!;
    expect(c.restoreReport()).toMatchObject({ sandboxes: 1, removedSandboxes: [], lostEndpoints: [] });
    expect(c.restoreReport().errors).toContainEqual(expect.objectContaining({ code: 'CONFLICT', message: expect.stringContaining(String(PORT + 1)) }));
    expect(reported.map(([e, err]) => [e, err instanceof CnmError && err.code])).toEqual([[restored, 'CONFLICT']]);
    expect(restored.info()).toMatchObject({
      sandboxId: sandbox.id,
      unpublished: { portMapping: [{ proto: 'tcp', port: 80, hostPort: PORT + 1 }], reason: expect.stringContaining(String(PORT + 1)) },
    });
    expect(
      nsAddrs(sandbox.key)
        .map((l) => l.ifname)
        .sort(),
    ).toEqual(['eth0', 'lo']);
    await c.sandboxById(sandbox.id)!.delete();
    await restored.delete();
    await c.networkByName('gwp-restart')!.delete();
  });
});
