// Property test through the public API: random option objects (seeded) for newNetwork,
// createEndpoint, newSandbox and join. Whatever is refused is a CnmError (INVALID_ARGUMENT for
// every bad option, never a TypeError) and changes nothing; whatever is accepted is kept as it was
// given (a caller changing its object afterwards changes nothing) and comes back unchanged after
// stop + NetworkController.create on the same state directory.
import { CnmError, type Endpoint, type Network, type NetworkController, type Sandbox } from '../../../lib';
import { fileTree, nsAddrs, restart, useControllers, type CnmFixture } from '../../helpers/cnm';
import { describeKernel, snapshot } from '../../helpers/kernel';
import {
  mutateDeeply,
  Random,
  randomEndpointOptions,
  randomJoinOptions,
  randomName,
  randomNetworkOptions,
  randomSandboxOptions,
  type Generated,
} from '../../helpers/random-options';
import { timeLimit } from '../../helpers/timing';

// The tests of this file may take this long (longer under a sanitizer).
jest.setTimeout(timeLimit(120000));

const SEED = 0xc0ffee;
const CASES = 300;
/** What a call with good options may still meet: a name, address or host port in use. */
const CONTEXT_CODES = ['CONFLICT'];

/** Everything the public API shows of the controller's objects. */
function everything(c: NetworkController) {
  return {
    networks: c
      .networks()
      .map((n) => n.info())
      .sort((a, b) => a.id.localeCompare(b.id)),
    endpoints: c
      .networks()
      .flatMap((n) => n.endpoints().map((e) => e.info()))
      .sort((a, b) => a.id.localeCompare(b.id)),
    sandboxes: c
      .sandboxes()
      .map((s) => ({ id: s.id, containerId: s.containerId, key: s.key, mode: s.mode, labels: s.labels, endpoints: s.endpoints().map((e) => e.id) }))
      .sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/** A sandbox's interfaces as `ip` sees them: names, MACs and addresses (not their DAD state). */
function interfaces(sandbox: Sandbox) {
  return nsAddrs(sandbox.key).map((l) => ({ ifname: l.ifname, mac: l.address, addrs: l.addr_info.map((a) => `${a.local}/${a.prefixlen}`).sort() }));
}

/** The kernel as `ip` sees it: host links and namespaces, and each sandbox's interfaces. */
function kernelView(c: NetworkController) {
  const inside = c.sandboxes().map((s) => ({ id: s.id, links: interfaces(s) }));
  return { host: snapshot(), inside: inside.sort((a, b) => a.id.localeCompare(b.id)) };
}

describeKernel('random options through the public API', () => {
  const env = useControllers();
  let f: CnmFixture;

  beforeAll(async () => {
    f = await env.make({ predefinedNetworks: false });
  });

  it(`${CASES} seeded cases: refusals are CnmErrors that change nothing; what is accepted survives a restart unchanged`, async () => {
    const r = new Random(SEED);
    const c = f.controller;
    const networks: { network: Network; base: string }[] = [];
    const endpoints: Endpoint[] = [];
    const sandboxes: Sandbox[] = [];
    let octet = 100;
    const tally = { accepted: 0, invalid: 0, conflict: 0 };

    /** Runs one call: checks a refusal, or that the accepted object ignores later changes to its options. */
    async function attempt<T>(i: number, input: Generated, call: () => Promise<T>, shown: (made: T) => unknown, inside?: Sandbox): Promise<T | null> {
      const before = around(input.bad, inside);
      let made: T;
      try {
        made = await call();
      } catch (err) {
        const error = err instanceof CnmError ? `${err.code}: ${err.message}` : `${(err as Error).name}: ${(err as Error).message}`;
        const code = error.split(':')[0];
        expect({ case: i, error, allowed: input.bad ? code === 'INVALID_ARGUMENT' : CONTEXT_CODES.includes(code) }).toEqual({ case: i, error, allowed: true });
        expect(around(input.bad, inside)).toEqual(before);
        tally[input.bad ? 'invalid' : 'conflict'] += 1;
        return null;
      }
      expect({ case: i, accepted: input.value, bad: input.bad }).toEqual({ case: i, accepted: input.value, bad: false });
      const view = shown(made);
      mutateDeeply(input.value);
      expect(shown(made)).toEqual(view);
      tally.accepted += 1;
      return made;
    }

    /**
     * What a refused call must leave as it was: the API's view, the files and, for bad options (spawning
     * `ip` is slow, and these are the refusals this test is about), the host's links and the sandbox's.
     */
    const around = (bad: boolean, sandbox?: Sandbox) => ({
      api: everything(c),
      state: fileTree(f.stateDir),
      run: fileTree(f.runFolder),
      etc: fileTree(f.etcNetnsDir),
      host: bad ? snapshot() : null,
      inside: bad && sandbox ? interfaces(sandbox) : null,
    });

    for (let i = 0; i < CASES; i++) {
      const roll = r.next();
      if (networks.length === 0 || roll < 0.1) {
        octet += 1;
        const name = randomName(r, `n${i}`);
        const options = randomNetworkOptions(r, octet);
        const input = { value: options.value, bad: options.bad || name.bad };
        const network = await attempt(
          i,
          input,
          () => c.newNetwork('bridge', name.value as string, options.value),
          (n) => n.info(),
        );
        // Static addresses go in the subnet the network got (its own or a predefined one).
        if (network) networks.push({ network, base: network.info().ipam.allocated[0].pool.split('.').slice(0, 3).join('.') });
      } else if (roll < 0.45) {
        const { network, base } = r.pick(networks);
        const name = randomName(r, `e${i}`);
        const options = randomEndpointOptions(r, base, 2 + r.int(250));
        const input = { value: options.value, bad: options.bad || name.bad };
        const endpoint = await attempt(
          i,
          input,
          () => network.createEndpoint(name.value as string, options.value),
          (e) => e.info(),
        );
        if (endpoint) endpoints.push(endpoint);
      } else if (roll < 0.7 || sandboxes.length === 0) {
        const id = randomName(r, `c${i}`);
        const options = randomSandboxOptions(r);
        const input = { value: options.value, bad: options.bad || id.bad };
        const sandbox = await attempt(
          i,
          input,
          () => c.newSandbox(id.value as string, options.value),
          (s) => fileTree(`${f.runFolder}/sandboxes/${s.id}`),
        );
        if (sandbox) sandboxes.push(sandbox);
      } else {
        const idle = endpoints.filter((e) => e.info().sandboxId === null);
        if (idle.length === 0) continue;
        const endpoint = r.pick(idle);
        const sandbox = r.pick(sandboxes);
        const options = randomJoinOptions(r);
        await attempt(
          i,
          options,
          () => endpoint.join(sandbox, options.value),
          () => endpoint.info(),
          sandbox,
        );
      }
    }
    // Every side was exercised.
    expect(tally.accepted).toBeGreaterThan(CASES / 3);
    expect(tally.invalid).toBeGreaterThan(CASES / 10);
    expect(sandboxes.filter((s) => s.endpoints().length > 0).length).toBeGreaterThan(5);

    const before = { api: everything(c), kernel: kernelView(c), state: fileTree(f.stateDir), run: fileTree(f.runFolder) };
    const again = await restart(f);
    expect(again.restoreReport()).toMatchObject({ warnings: [], errors: [], removedSandboxes: [], lostEndpoints: [], orphans: [] });
    expect({ api: everything(again), kernel: kernelView(again), state: fileTree(f.stateDir), run: fileTree(f.runFolder) }).toEqual(before);
  });
});
