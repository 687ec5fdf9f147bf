// The IPv6 control messages a joining container sends to the whole link (MLD reports, a router
// solicitation) stop at its bridge port: a bridge without a multicast querier would copy each one
// to every other container, so that a dual-stack join would cost more with every container on the
// bridge. Seen by nf_tables counters in the containers' own namespaces: the sender's output (it
// sent them) and a bystander's prerouting, for packets from the sender's MAC (none arrived). Other
// multicast still reaches everyone. With cnm-ts's rules flushed, the bystander counts them: the
// check can fail.
import { execFileSync } from 'node:child_process';
import type { Network, NetworkController, Sandbox } from '../../../lib';
import { useControllers } from '../../helpers/cnm';
import { describeKernel, eventually } from '../../helpers/kernel';
import { nft, nftJson } from '../../helpers/nft';
import { timeLimit } from '../../helpers/timing';

const BRIDGE = 'cnmlc-br0';
/** The counting table, in each container's namespace. */
const WATCH = 'cnmlc-watch';
/** MLD reports and done (131, 132; MLDv2 143), router solicitations (133), UDP to the discard port. */
const COUNTED = { mld: ['icmpv6', 'type', '{', '131,', '132,', '143', '}'], rs: ['icmpv6', 'type', '133'], udp: ['udp', 'dport', '9'] } as const;
type Counts = Record<keyof typeof COUNTED, number>;
/** A new IPv6 interface repeats its MLD reports for about a second (the unsolicited report interval). */
const REPORTS_SETTLE_MS = 2000;

/** Starts counting in `sandbox`'s namespace at `hook`: output (what it sends) or prerouting (what arrives). */
function watch(sandbox: Sandbox, hook: 'output' | 'prerouting'): void {
  nft(['add', 'table', 'inet', WATCH], sandbox.key);
  nft(['add', 'chain', 'inet', WATCH, hook, `{ type filter hook ${hook} priority -400; }`], sandbox.key);
  if (hook === 'output') count(sandbox, 'output', 'sent', []);
}

/** Adds a counter of each COUNTED kind to the chain, for packets matching `match` too; named `PREFIX-KIND`. */
function count(sandbox: Sandbox, chain: string, prefix: string, match: string[]): void {
  for (const [kind, what] of Object.entries(COUNTED)) {
    nft(['add', 'rule', 'inet', WATCH, chain, ...match, ...what, 'counter', 'comment', `"${prefix}-${kind}"`], sandbox.key);
  }
}

/** The packets the counters named `PREFIX-KIND` in `sandbox`'s table saw, by kind. */
function counts(sandbox: Sandbox, prefix: string): Counts {
  const found: Record<string, number> = {};
  for (const o of nftJson(['list', 'table', 'inet', WATCH], sandbox.key)) {
    const rule = o.rule as { comment?: string; expr: Record<string, { packets?: number }>[] } | undefined;
    const counter = rule?.expr.find((e) => 'counter' in e)?.counter;
    if (rule?.comment?.startsWith(`${prefix}-`) && counter) found[rule.comment.slice(prefix.length + 1)] = counter.packets ?? 0;
  }
  return found as Counts;
}

/** Sends one UDP datagram to all nodes of `sandbox`'s eth0 (ff02::1, the discard port), from its namespace. */
function toAllNodes(sandbox: Sandbox): void {
  const send = "const s=require('dgram').createSocket('udp6');s.send('x',9,'ff02::1%eth0',e=>{if(e)throw e;s.close()})";
  execFileSync('nsenter', [`--net=${sandbox.key}`, process.execPath, '-e', send]);
}

describeKernel('IPv6 link control messages of a container on a cnm-ts bridge', () => {
  const env = useControllers();
  let controller: NetworkController;
  let network: Network;
  let bystander: Sandbox;

  /**
   * A container that joins while the bystander counts what comes from its MAC; resolves once it
   * has sent its MLD reports and router solicitation.
   */
  async function talker(name: string): Promise<Sandbox> {
    const sandbox = await controller.newSandbox(name);
    watch(sandbox, 'output');
    const endpoint = await network.createEndpoint(name);
    count(bystander, 'prerouting', name, ['ether', 'saddr', endpoint.info().interface.macAddress!]);
    await endpoint.join(sandbox);
    await eventually(() => counts(sandbox, 'sent').rs > 0 && counts(sandbox, 'sent').mld > 0, true, timeLimit(5000));
    await new Promise((resolve) => setTimeout(resolve, REPORTS_SETTLE_MS));
    return sandbox;
  }

  beforeAll(async () => {
    controller = (await env.make({ predefinedNetworks: false })).controller;
    network = await controller.newNetwork('bridge', 'dual', {
      enableIPv6: true,
      driverOptions: { 'com.docker.network.bridge.name': BRIDGE },
      ipam: { config: [{ subnet: '10.163.1.0/24' }, { subnet: 'fd00:163:1::/64' }] },
    });
    bystander = await controller.newSandbox('bystander');
    watch(bystander, 'prerouting');
    await (await network.createEndpoint('bystander')).join(bystander);
  });

  it('stop at the port: the other containers get none, and multicast to all nodes still reaches them', async () => {
    const first = await talker('talker1');
    expect(counts(bystander, 'talker1')).toEqual({ mld: 0, rs: 0, udp: 0 });

    toAllNodes(first);
    await eventually(() => counts(bystander, 'talker1').udp, 1, timeLimit(3000));

    // Without cnm-ts's rules, the same join reaches the bystander.
    nft(['flush', 'chain', 'bridge', `cnm-ts-${controller.owner}`, 'prerouting']);
    await talker('talker2');
    const seen = counts(bystander, 'talker2');
    expect(seen.mld).toBeGreaterThan(0);
    expect(seen.rs).toBeGreaterThan(0);
  });
});
