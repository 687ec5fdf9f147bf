// The kernel's limit of ports on one bridge: 1023 endpoints join one network, the next join is
// EXHAUSTED naming the bridge and the limit, and leaves nothing behind.
import { MAX_BRIDGE_PORTS } from '../../../lib/drivers/bridge/driver';
import { NetlinkError, type Endpoint, type NetworkController, type Sandbox } from '../../../lib';
import { bridgePorts, failsCleanly, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel } from '../../helpers/kernel';
import { timeLimit } from '../../helpers/timing';

// The tests of this file may take this long (longer under a sanitizer).
jest.setTimeout(timeLimit(120000));

const SANDBOXES = 31;
const PER_SANDBOX = 33; // 31 x 33 = 1023 joins: every port the bridge has

describeKernel('the ports of one bridge', () => {
  const env = useControllers();
  let f: CnmFixture;
  let c: NetworkController;
  const sandboxes: Sandbox[] = [];

  beforeAll(async () => {
    f = await env.make({ predefinedNetworks: false });
    c = f.controller;
  });

  afterAll(async () => {
    // Dropping the namespaces takes the veth pairs with them; stop({ removeAll }) does the rest.
    await Promise.allSettled(sandboxes.map((s) => s.delete()));
  });

  it(`takes ${MAX_BRIDGE_PORTS} joins; the next is EXHAUSTED and leaves nothing`, async () => {
    expect(MAX_BRIDGE_PORTS).toBe(1023);
    const network = await c.newNetwork('bridge', 'full', { ipam: { config: [{ subnet: '10.150.0.0/21' }] } });
    const bridge = `br-${network.id.slice(0, 12)}`;
    sandboxes.push(...(await Promise.all(Array.from({ length: SANDBOXES }, (_, i) => c.newSandbox(`full-${i}`)))));
    // Joins to one sandbox are serialised; the sandboxes go in parallel.
    await Promise.all(
      sandboxes.map(async (sandbox, s) => {
        for (let i = 0; i < PER_SANDBOX; i++) {
          const endpoint: Endpoint = await network.createEndpoint(`ep-${s}-${i}`);
          await endpoint.join(sandbox);
        }
      }),
    );
    expect(bridgePorts(bridge)).toHaveLength(MAX_BRIDGE_PORTS);

    const extra = await network.createEndpoint('one-too-many');
    const err = await failsCleanly(f, () => extra.join(sandboxes[0]), 'EXHAUSTED');
    expect(err.message).toContain(bridge);
    expect(err.message).toContain(String(MAX_BRIDGE_PORTS));
    // What the kernel said, with its name: errno 54, which Node's own table lacks.
    expect(err.cause).toBeInstanceOf(NetlinkError);
    expect(err.cause).toMatchObject({ code: 'EXFULL', errno: -54, syscall: 'RTM_NEWLINK' });
    expect(extra.info()).toMatchObject({ sandboxId: null, interface: { name: null } });
    expect(bridgePorts(bridge)).toHaveLength(MAX_BRIDGE_PORTS);

    // A port freed is a port the same endpoint can take.
    const leaving = sandboxes[1].endpoints()[0];
    await leaving.leave(sandboxes[1]);
    await extra.join(sandboxes[0]);
    expect(bridgePorts(bridge)).toHaveLength(MAX_BRIDGE_PORTS);
  });
});
