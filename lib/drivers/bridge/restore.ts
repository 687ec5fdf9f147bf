// What the bridge driver finds after a restart, from one dump of the host's links: bridges to
// remake, joined endpoints whose veth pair is gone, and links a crash left that nothing refers to.
import type { LinkInfo } from '../../native';
import type { BridgeEndpoint, BridgeNetwork } from './types';
import { ALIAS_PREFIX, isOwnBridge } from './ownership';

/** The host end of a veth pair as the driver names it at join (`veth` + 7 hex). */
const HOST_VETH = /^veth[0-9a-f]{7}$/;

export interface RestorePlan {
  /** Networks whose bridge is gone. */
  missingBridges: string[];
  /** Networks whose bridge name another device holds (by network id): the device is left alone. */
  foreign: Map<string, LinkInfo>;
  /** Joined endpoints whose veth pair is gone (or no longer on their bridge). */
  lost: string[];
  /**
   * Links to delete: the owner's bridges without a network (unless its record was unreadable), and
   * the veths on the bridges it made without an endpoint.
   */
  remove: string[];
}

export function planRestore(
  owner: string,
  links: LinkInfo[],
  networks: Map<string, BridgeNetwork>,
  endpoints: Map<string, BridgeEndpoint>,
  unreadable: Set<string>,
): RestorePlan {
  const byName = new Map(links.map((l) => [l.name, l]));
  const plan: RestorePlan = { missingBridges: [], foreign: new Map(), lost: [], remove: [] };
  for (const [id, network] of networks) {
    const link = byName.get(network.config.bridgeName);
    if (!link) plan.missingBridges.push(id);
    else if (!isOwnBridge(link, owner, id)) plan.foreign.set(id, link);
  }
  // Someone else's devices: neither they nor their ports are touched.
  const foreign = new Set([...plan.foreign.values()].map((l) => l.name));
  const mine = `${ALIAS_PREFIX}${owner}:`;
  const isOrphan = (id: string) => !networks.has(id) && !unreadable.has(id);
  const orphanBridges = links.filter((l) => l.kind === 'bridge' && l.alias?.startsWith(mine) && isOrphan(l.alias.slice(mine.length)));
  // Veths are looked at only on the bridges cnm-ts made.
  const bridges = new Set([...networks.values()].filter((n) => !foreign.has(n.config.bridgeName)).map((n) => n.config.bridgeName));
  orphanBridges.forEach((l) => bridges.add(l.name));
  const kept = new Set<string>();
  for (const [id, endpoint] of endpoints) {
    if (!endpoint.hostIfname) continue;
    const link = byName.get(endpoint.hostIfname);
    const bridge = networks.get(endpoint.networkId)?.config.bridgeName;
    if (link?.kind === 'veth' && link.master === bridge && !foreign.has(bridge)) {
      kept.add(link.name);
      continue;
    }
    plan.lost.push(id);
    endpoint.hostIfname = '';
    // A pair whose bridge was removed out of band still holds the address inside the sandbox. The
    // name comes from a record: only a veth named as the driver names them and on no bridge goes.
    if (link?.kind === 'veth' && !link.master && HOST_VETH.test(link.name)) plan.remove.push(link.name);
  }
  for (const link of links) {
    if (link.kind === 'veth' && link.master && bridges.has(link.master) && !kept.has(link.name)) plan.remove.push(link.name);
  }
  plan.remove.push(...orphanBridges.map((l) => l.name));
  plan.remove = [...new Set(plan.remove)];
  return plan;
}
