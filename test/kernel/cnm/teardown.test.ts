// Teardown is best effort and idempotent: deleting an endpoint or a sandbox whose namespace or
// interface vanished out of band still frees the address, removes the host side and the state;
// a real failure is reported (AggregateError) without stopping halfway; a second delete is
// NOT_FOUND and nothing else.
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { failOperation } from '../../../lib/testing';
import { bridgePorts, expectCode, restart, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, eventually, hostHasLink, ip, rejection } from '../../helpers/kernel';

async function joined(f: CnmFixture, name: string, subnet: string) {
  const network = await f.controller.newNetwork('bridge', name, { ipam: { config: [{ subnet }] } });
  const endpoint = await network.createEndpoint('ep', { ipv4Address: subnet.replace('0/24', '7') });
  const sandbox = await f.controller.newSandbox(name);
  await endpoint.join(sandbox);
  const bridge = `br-${network.id.slice(0, 12)}`;
  return { network, endpoint, sandbox, bridge, veth: bridgePorts(bridge)[0] };
}

const records = (f: CnmFixture, kind: string) => readdirSync(path.join(kind === 'sandboxes' ? f.runFolder : f.stateDir, 'store', kind));

describeKernel('teardown', () => {
  const env = useControllers();

  it('of a sandbox whose namespace vanished: no error, files and record gone, the endpoint not joined', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { endpoint, sandbox, bridge } = await joined(f, 'tdns', '10.220.0.0/24');
    ip(['netns', 'delete', path.basename(sandbox.key)]);
    await sandbox.delete();
    expect(endpoint.info().sandboxId).toBeNull();
    expect(records(f, 'sandboxes')).toEqual([]);
    expect(existsSync(path.join(f.runFolder, 'sandboxes', sandbox.id))).toBe(false);
    expect(existsSync(path.join(f.etcNetnsDir, path.basename(sandbox.key)))).toBe(false);
    await eventually(() => bridgePorts(bridge), []);
    await expectCode(sandbox.delete(), 'NOT_FOUND');
    await expectCode(f.controller.sandboxDestroy(sandbox.id), 'NOT_FOUND');
  });

  it('of a joined endpoint whose namespace or veth vanished: no error, the address is free again', async () => {
    const f = await env.make({ predefinedNetworks: false });
    for (const [name, subnet, vanish] of [
      ['tdep1', '10.221.0.0/24', 'namespace'],
      ['tdep2', '10.222.0.0/24', 'veth'],
    ] as const) {
      const { network, endpoint, sandbox, bridge, veth } = await joined(f, name, subnet);
      ip(vanish === 'namespace' ? ['netns', 'delete', path.basename(sandbox.key)] : ['link', 'delete', veth]);
      await endpoint.delete({ force: true });
      expect(network.endpoints()).toEqual([]);
      expect(records(f, 'endpoints').filter((r) => r.startsWith(endpoint.id))).toEqual([]);
      await eventually(() => bridgePorts(bridge), []);
      await expectCode(endpoint.delete(), 'NOT_FOUND');
      await expectCode(endpoint.delete({ force: true }), 'NOT_FOUND');
      // The address it had is free: a static request for it succeeds.
      const again = await network.createEndpoint('again', { ipv4Address: subnet.replace('0/24', '7') });
      await again.delete();
      await sandbox.delete();
    }
  });

  it('that fails on the way goes on, deletes the endpoint, and reports what it could not do', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { network, endpoint, sandbox, veth } = await joined(f, 'tdfail', '10.223.0.0/24');
    // The force delete's first kernel step (the host end of the veth) fails.
    failOperation(1);
    const err = await rejection(endpoint.delete({ force: true }));
    expect(err).toBeInstanceOf(AggregateError);
    expect((err as AggregateError).errors).toEqual([expect.objectContaining({ syscall: 'injected', object: 'linkDeleteGroup' })]);
    expect(network.endpoints()).toEqual([]);
    expect(sandbox.endpoints()).toEqual([]);
    await expectCode(endpoint.delete({ force: true }), 'NOT_FOUND');
    // The veth it could not remove is on the bridge with no endpoint: the next start removes it.
    expect(hostHasLink(veth)).toBe(true);
    const c = await restart(f);
    expect(c.restoreReport().orphans).toEqual([veth]);
    expect(hostHasLink(veth)).toBe(false);
  });
});
