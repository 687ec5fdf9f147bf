// Nothing half-made: each public call is failed at every one of its kernel operations in turn,
// and the kernel and the folders must be as they were before the call.
import type { NetworkController } from '../../../lib';
import { fakeWorld } from '../../helpers/fake-cnm';

const SUBNET = { ipam: { config: [{ subnet: '10.9.0.0/24' }] } };
const PORTS = {
  portMapping: [
    { proto: 'tcp' as const, port: 80 },
    { proto: 'udp' as const, port: 53, hostPort: 5353 },
  ],
};

interface Case {
  name: string;
  /** What exists before the call. */
  given: (c: NetworkController) => Promise<void>;
  call: (c: NetworkController) => Promise<unknown>;
}

const network = (c: NetworkController) => c.networkByName('web')!;
const sandbox = (c: NetworkController) => c.sandboxes().find((s) => s.containerId === 'c1')!;
const withNetwork = async (c: NetworkController) => void (await c.newNetwork('bridge', 'web', SUBNET));
const withSandbox = async (c: NetworkController) => {
  await withNetwork(c);
  await c.newSandbox('c1');
};
const withEndpoint = async (c: NetworkController) => {
  await withSandbox(c);
  await network(c).createEndpoint('e1', PORTS);
};

const CASES: Case[] = [
  { name: 'newNetwork', given: async () => undefined, call: (c) => c.newNetwork('bridge', 'web', SUBNET) },
  { name: 'network delete', given: withNetwork, call: (c) => network(c).delete() },
  { name: 'newSandbox', given: async () => undefined, call: (c) => c.newSandbox('c1', { dns: ['10.0.0.9'], extraHosts: ['db:10.1.1.1'] }) },
  { name: 'createEndpoint', given: withNetwork, call: (c) => network(c).createEndpoint('e1', PORTS) },
  { name: 'join with published ports', given: withEndpoint, call: (c) => network(c).endpointByName('e1')!.join(sandbox(c)) },
  {
    name: 'join without ports (its record in the driver batch)',
    given: async (c) => {
      await withSandbox(c);
      await network(c).createEndpoint('e1');
    },
    call: (c) => network(c).endpointByName('e1')!.join(sandbox(c)),
  },
  {
    name: 'join as a second, lower-priority endpoint',
    given: async (c) => {
      await withSandbox(c);
      await (await network(c).createEndpoint('e1')).join(sandbox(c), { priority: 5 });
      await (await c.newNetwork('bridge', 'db', { ipam: { config: [{ subnet: '10.8.0.0/24' }] } })).createEndpoint('e2');
    },
    call: (c) => c.networkByName('db')!.endpointByName('e2')!.join(sandbox(c)),
  },
  {
    name: 'join as a second, higher-priority gateway',
    given: async (c) => {
      await withEndpoint(c);
      await network(c).endpointByName('e1')!.join(sandbox(c));
      await c.newNetwork('bridge', 'db', { ipam: { config: [{ subnet: '10.8.0.0/24' }] } });
      await c.networkByName('db')!.createEndpoint('e2', { portMapping: [{ proto: 'tcp', port: 5432 }] });
    },
    call: (c) => c.networkByName('db')!.endpointByName('e2')!.join(sandbox(c), { priority: 10 }),
  },
];

/** The kernel operations a call runs when nothing fails. */
async function opsOf(test: Case): Promise<number> {
  const world = fakeWorld();
  const controller = await world.start();
  await test.given(controller);
  const start = world.kernel.log.length;
  await test.call(controller);
  const count = world.kernel.log.length - start;
  await controller.stop({ removeAll: true });
  return count;
}

/**
 * Operations whose failure a call logs and goes on past, by design, when a gateway change
 * unpublishes the old gateway's ports: forgetting their conntrack flows, closing their sockets.
 */
const BEST_EFFORT = new Set(['conntrackDelete', 'portRelease']);

/** Fails the call's `n`th kernel operation: the call rejects and nothing changed, or the operation was a best-effort one. */
async function failAt(test: Case, n: number): Promise<void> {
  const world = fakeWorld();
  const controller = await world.start();
  await test.given(controller);
  const before = { kernel: world.kernel.snapshot(), files: world.files() };
  const start = world.kernel.log.length;
  world.kernel.failOperation(n);
  const error = await test.call(controller).then(
    () => null,
    (err: unknown) => err,
  );
  const failed = world.kernel.log[start + n].op;
  if (error === null) {
    expect({ failed, bestEffort: BEST_EFFORT.has(failed) }).toEqual({ failed, bestEffort: true });
  } else {
    expect(error).toMatchObject({ code: 'EIO' });
    expect({ failed, after: { kernel: world.kernel.snapshot(), files: world.files() } }).toEqual({ failed, after: before });
  }
  await controller.stop({ removeAll: true });
}

describe.each(CASES)('$name failed at each of its kernel operations', (test) => {
  it('leaves the kernel and the folders as they were', async () => {
    const total = await opsOf(test);
    expect(total).toBeGreaterThan(0);
    for (let n = 0; n < total; n++) await failAt(test, n);
  });
});
