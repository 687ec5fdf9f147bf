// A delete is done when it resolves (issue 9, section 6): after `sandbox.delete()` the host ends of
// its veth pairs are gone from the bridge, also for 100 deletes at once; leaves that come together
// are deleted in one link-group request that removes their veths and nothing else; the native
// wait for links and the group delete on their own; unpublishing 500 ports empties the map.
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import type { Endpoint, Network, Sandbox } from '../../../lib';
import { linkDeleteGroup, waitLinksGone } from '../../../lib/kernel';
import { bridgePorts, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, eventually, expectInvalidArgument, expectNetlinkError, hostHasLink, ip, ipLink, uniqueName } from '../../helpers/kernel';
import { nftJson } from '../../helpers/nft';

interface Joined {
  sandbox: Sandbox;
  endpoint: Endpoint;
}

async function bridgeNetwork(f: CnmFixture, name: string, subnet: string): Promise<{ network: Network; bridge: string }> {
  const network = await f.controller.newNetwork('bridge', name, { ipam: { config: [{ subnet }] } });
  return { network, bridge: `br-${network.id.slice(0, 12)}` };
}

async function joinMany(f: CnmFixture, network: Network, prefix: string, count: number): Promise<Joined[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const sandbox = await f.controller.newSandbox(`${prefix}-${i}`);
      const endpoint = await network.createEndpoint(`${prefix}-${i}`);
      await endpoint.join(sandbox);
      return { sandbox, endpoint };
    }),
  );
}

/**
 * The links of the test's namespace as /proc/net/dev lists them: the kernel's own view, read in
 * microseconds, so that a check right after a delete resolves sees what is there at that moment
 * (spawning `ip` takes long enough for the kernel to finish in the background).
 */
function procNetDev(): string[] {
  return readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0].trim())
    .filter(Boolean);
}

/** Which of `names` are still links now (/proc/net/dev). */
const stillThere = (names: string[]): string[] => {
  const now = new Set(procNetDev());
  return names.filter((name) => now.has(name));
};

/** A veth pair made with `ip`, not by cnm-ts; removed by the test. */
function foreignPair(env: ReturnType<typeof useControllers>, options: { group?: number; master?: string } = {}): string {
  const name = uniqueName('fv');
  ip(['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
  env.later(() => (hostHasLink(name) ? ip(['link', 'del', name]) : undefined));
  if (options.group !== undefined) ip(['link', 'set', name, 'group', String(options.group)]);
  if (options.master) ip(['link', 'set', name, 'master', options.master]);
  return name;
}

describeKernel('a delete is done when it resolves', () => {
  const env = useControllers();

  it('sandbox.delete() resolves once its host veth is off the bridge', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { network, bridge } = await bridgeNetwork(f, 'dd1', '10.231.0.0/24');
    const [{ sandbox, endpoint }] = await joinMany(f, network, 'dd1', 1);
    const veths = bridgePorts(bridge);
    expect(veths).toHaveLength(1);
    await sandbox.delete();
    expect(stillThere(veths)).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]);
    await endpoint.delete();
    await network.delete();
  });

  it('100 sandbox deletes at once all resolve with every host veth gone', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { network, bridge } = await bridgeNetwork(f, 'dd100', '10.232.0.0/24');
    const joined = await joinMany(f, network, 'dd100', 100);
    const veths = bridgePorts(bridge);
    expect(veths).toHaveLength(100);
    await Promise.all(joined.map(({ sandbox }) => sandbox.delete()));
    expect(stillThere(veths)).toEqual([]);
    expect(bridgePorts(bridge)).toEqual([]);
    for (const { endpoint } of joined) await endpoint.delete();
    await network.delete();
  });

  it('sandbox.delete() of a namespace a process still holds resolves with its veth gone all the same', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { network, bridge } = await bridgeNetwork(f, 'ddheld', '10.235.0.0/24');
    const [{ sandbox, endpoint }] = await joinMany(f, network, 'ddheld', 1);
    const veths = bridgePorts(bridge);
    const holder = spawn('nsenter', [`--net=${sandbox.key}`, 'sleep', '60'], { stdio: 'ignore' });
    try {
      await eventually(() => readlinkSync(`/proc/${holder.pid}/ns/net`) !== readlinkSync('/proc/self/ns/net'), true);
      await sandbox.delete();
      expect(stillThere(veths)).toEqual([]);
      expect(bridgePorts(bridge)).toEqual([]);
    } finally {
      holder.kill();
    }
    await endpoint.delete();
    await network.delete();
  });

  it('100 leaves at once all complete, their veths gone, foreign links on the same bridge and in a group untouched', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { network, bridge } = await bridgeNetwork(f, 'ddlv', '10.233.0.0/24');
    const joined = await joinMany(f, network, 'ddlv', 100);
    const onBridge = foreignPair(env, { master: bridge });
    const inGroup = foreignPair(env, { group: 4242 });
    const ours = bridgePorts(bridge).filter((name) => name !== onBridge);
    expect(ours).toHaveLength(100);
    await Promise.all(joined.map(({ sandbox, endpoint }) => endpoint.leave(sandbox)));
    expect(bridgePorts(bridge)).toEqual([onBridge]);
    for (const name of ours) expect(hostHasLink(name)).toBe(false);
    for (const { sandbox, endpoint } of joined) {
      expect(endpoint.info().sandboxId).toBeNull();
      // The container end went with its pair.
      expect(ipLink('eth0', sandbox.key)).toBeUndefined();
    }
    expect(ipLink(onBridge)).toBeDefined();
    expect(ipLink(`${onBridge}p`)).toBeDefined();
    expect(ipLink(inGroup)).toMatchObject({ group: '4242' });
    expect(ipLink(`${inGroup}p`)).toBeDefined();
    // They can join again.
    await Promise.all(joined.map(({ sandbox, endpoint }) => endpoint.join(sandbox)));
    expect(bridgePorts(bridge)).toHaveLength(101);
    await Promise.all(joined.map(({ sandbox }) => sandbox.delete()));
    for (const { endpoint } of joined) await endpoint.delete();
    ip(['link', 'set', onBridge, 'nomaster']);
    await network.delete();
  });

  it('unpublishing 500 ports removes every map element', async () => {
    const f = await env.make({ predefinedNetworks: false });
    const { network } = await bridgeNetwork(f, 'ddports', '10.234.0.0/24');
    const portMapping = Array.from({ length: 500 }, (_, k) => ({ proto: 'tcp' as const, port: 8000 + k }));
    const sandbox = await f.controller.newSandbox('ddports');
    const endpoint = await network.createEndpoint('ddports', { portMapping });
    await endpoint.join(sandbox);
    const elements = () => {
      const [map] = nftJson(['list', 'map', 'inet', `cnm-ts-${f.controller.owner}`, 'anyports']).filter((o) => 'map' in o);
      return ((map.map as { elem?: unknown[] }).elem ?? []).length;
    };
    expect(elements()).toBe(500);
    await endpoint.leave(sandbox);
    expect(elements()).toBe(0);
    await endpoint.delete();
    await sandbox.delete();
    await network.delete();
  });
});

describeKernel('native link waits and group deletes', () => {
  const env = useControllers();

  it('waitLinksGone resolves at once for links that are not there, and when a link goes', async () => {
    await waitLinksGone([uniqueName('none')]);
    const name = foreignPair(env);
    let resolved = false;
    const waiting = waitLinksGone([name]).then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(resolved).toBe(false);
    ip(['link', 'del', name]);
    await waiting;
    expect(hostHasLink(name)).toBe(false);
  });

  it('waitLinksGone rejects with ETIMEDOUT naming the links still there', async () => {
    const name = foreignPair(env);
    await expectNetlinkError(waitLinksGone([name], { timeoutMs: 100 }), { code: 'ETIMEDOUT', syscall: 'RTM_DELLINK', object: name });
    expect(hostHasLink(name)).toBe(true);
  });

  it('linkDeleteGroup deletes the named links (both ends) and nothing else, and names those already gone', async () => {
    const mine = [0, 1, 2].map(() => uniqueName('gd'));
    for (const name of mine) ip(['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
    env.later(() => mine.filter(hostHasLink).forEach((name) => ip(['link', 'del', name])));
    const stranger = foreignPair(env);
    const missing = uniqueName('gone');
    expect(await linkDeleteGroup([...mine, missing])).toEqual([missing]);
    for (const name of mine) {
      expect(hostHasLink(name)).toBe(false);
      expect(hostHasLink(`${name}p`)).toBe(false);
    }
    expect(hostHasLink(stranger)).toBe(true);
    expect(ipLink(stranger)).toMatchObject({ group: 'default' });
  });

  it('linkDeleteGroup leaves alone a stranger already in the group it is given, and deletes ours one by one', async () => {
    const mine = [0, 1].map(() => uniqueName('gs'));
    for (const name of mine) ip(['link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]);
    env.later(() => mine.filter(hostHasLink).forEach((name) => ip(['link', 'del', name])));
    const stranger = foreignPair(env, { group: 4243 });
    expect(await linkDeleteGroup(mine, { group: 4243 })).toEqual([]);
    for (const name of mine) expect(hostHasLink(name)).toBe(false);
    expect(ipLink(stranger)).toMatchObject({ group: '4243' });
    expect(hostHasLink(`${stranger}p`)).toBe(true);
    await expectInvalidArgument(linkDeleteGroup(mine, { group: 0 }), 'link group');
  });
});
