// A bridge network with two IPv4 pools: endpoints take addresses from either, each routes through
// its own subnet's gateway (both on the bridge), and both subnets are masqueraded (checked with
// `ip -j route`, `nft -j` and TCP from the containers to the host through each gateway).
import { spawn } from 'node:child_process';
import { bare, nsRoutes, useControllers } from '../../helpers/cnm';
import { describeKernel, uniqueName } from '../../helpers/kernel';
import { nftJson, tcpAttempt } from '../../helpers/nft';

describeKernel('a network of several pools', () => {
  const controllers = useControllers();

  it('gives each endpoint the gateway of its own subnet, and masquerades both subnets', async () => {
    const { controller: c } = await controllers.make({ predefinedNetworks: false });
    const network = await c.newNetwork('bridge', 'two', {
      ipam: { config: [{ subnet: '10.140.0.0/30' }, { subnet: '10.141.0.0/24', gateway: '10.141.0.254' }] },
    });
    const first = await network.createEndpoint('first');
    const second = await network.createEndpoint('second');
    expect([first.info().interface.address, second.info().interface.address]).toEqual(['10.140.0.2/30', '10.141.0.1/24']);
    const sandboxes = [await c.newSandbox(uniqueName('pool')), await c.newSandbox(uniqueName('pool'))];
    await first.join(sandboxes[0]);
    await second.join(sandboxes[1]);
    expect(nsRoutes(sandboxes[0].key)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.140.0.1' }));
    expect(nsRoutes(sandboxes[1].key)).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '10.141.0.254' }));
    const masqueraded = JSON.stringify(nftJson(['list', 'chain', 'inet', `cnm-ts-${c.owner}`, 'postrouting']));
    expect(masqueraded).toContain('"10.140.0.0","len":30');
    expect(masqueraded).toContain('"10.141.0.0","len":24');
    // Each container reaches the host through its own gateway.
    const server = spawn(
      process.execPath,
      ['-e', `require('net').createServer((s) => s.end(s.remoteAddress)).listen(7101, '0.0.0.0', () => console.log('ready'))`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      await new Promise((resolve) => server.stdout.once('data', resolve));
      expect(tcpAttempt('10.141.0.254', 7101, sandboxes[1].key, 3000)).toBe(bare(second.info().interface.address));
      expect(tcpAttempt('10.140.0.1', 7101, sandboxes[0].key, 3000)).toBe(bare(first.info().interface.address));
    } finally {
      server.kill('SIGKILL');
    }
    for (const s of sandboxes) await s.delete();
    await first.delete();
    await second.delete();
    await network.delete();
  });
});
