// What the bridge driver finds after a restart, from one dump of the host's links: bridges to
// remake, joined endpoints whose veth pair is gone, and links a crash left that nothing refers to.
//
// A veth is removed only when it carries this controller's mark (vethAlias) and no restored join
// claims it, unless the sandbox it was made for could not be restored from its record (the
// sandbox's namespace is left alone, so its interface is too). A veth without the mark is never
// removed from a bridge: one an endpoint record names was made before veths were marked, and is
// adopted (marked now); one in the owner's link group (ownerGroup) was made by it and killed before
// its alias: removed; any other is someone else's, left alone with a warning.
import type { LinkInfo } from '../../native';
import type { BridgeEndpoint, BridgeNetwork } from './types';
import { ALIAS_PREFIX, isOwnBridge, parseVethAlias, ownerGroup } from './ownership';

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
   * the veths with the owner's mark that no join claims (unless their sandbox was left alone).
   */
  remove: string[];
  /** Veths without a mark that an endpoint's join names (made before veths were marked): kept, to be marked, by endpoint id. */
  adopt: Map<string, string>;
  /** Veths on the owner's bridges with neither its mark nor a join naming them: left alone, by network id. */
  strays: { name: string; networkId: string }[];
}

/** Records restore could not use: what they name is neither restored nor removed. */
export interface LeftAlone {
  /** Networks whose records could not be read or were skipped: their bridges and veths. */
  networks: Set<string>;
  /** Sandboxes whose records could not be read or were skipped: the veths made for them. */
  sandboxes: Set<string>;
}

export function planRestore(
  owner: string,
  links: LinkInfo[],
  networks: Map<string, BridgeNetwork>,
  endpoints: Map<string, BridgeEndpoint>,
  leftAlone: LeftAlone,
): RestorePlan {
  const byName = new Map(links.map((l) => [l.name, l]));
  const plan: RestorePlan = { missingBridges: [], foreign: new Map(), lost: [], remove: [], adopt: new Map(), strays: [] };
  for (const [id, network] of networks) {
    const link = byName.get(network.config.bridgeName);
    if (!link) plan.missingBridges.push(id);
    else if (!isOwnBridge(link, owner, id)) plan.foreign.set(id, link);
  }
  // Someone else's devices: neither they nor their ports are touched.
  const foreign = new Set([...plan.foreign.values()].map((l) => l.name));
  const mine = `${ALIAS_PREFIX}${owner}:`;
  const isOrphan = (id: string) => !networks.has(id) && !leftAlone.networks.has(id);
  const orphanBridges = links.filter((l) => l.kind === 'bridge' && l.alias?.startsWith(mine) && isOrphan(l.alias.slice(mine.length)));
  // Veths are looked at only on the bridges cnm-ts made (by bridge name: the network id), and, with
  // the owner's mark, on no bridge.
  const bridges = new Map<string, string>();
  for (const [id, n] of networks) if (!foreign.has(n.config.bridgeName)) bridges.set(n.config.bridgeName, id);
  for (const l of orphanBridges) bridges.set(l.name, l.alias!.slice(mine.length));
  const kept = new Set<string>();
  const group = ownerGroup(owner);
  for (const [id, endpoint] of endpoints) {
    if (!endpoint.hostIfname) continue;
    const link = byName.get(endpoint.hostIfname);
    const bridge = networks.get(endpoint.networkId)?.config.bridgeName;
    const unmarked = link?.kind === 'veth' && link.alias === null;
    const itsOwn = link?.kind === 'veth' && (unmarked || parseVethAlias(link.alias, owner)?.endpointId === id);
    if (itsOwn && link.master === bridge && !foreign.has(bridge)) {
      kept.add(link.name);
      if (unmarked) plan.adopt.set(link.name, id);
      continue;
    }
    plan.lost.push(id);
    endpoint.hostIfname = '';
    // A pair whose bridge was removed out of band still holds the address inside the sandbox. The
    // name comes from a record: only an unmarked veth named as the driver names them and on no
    // bridge goes (a marked one goes below).
    if (unmarked && !link.master && HOST_VETH.test(link.name)) plan.remove.push(link.name);
  }
  for (const link of links) {
    if (link.kind !== 'veth' || kept.has(link.name)) continue;
    const networkId = link.master === null ? undefined : bridges.get(link.master);
    const mark = parseVethAlias(link.alias, owner);
    if (mark && (networkId || link.master === null) && !leftAlone.sandboxes.has(mark.sandboxId)) plan.remove.push(link.name);
    else if (!mark && networkId && link.alias === null && link.group === group) plan.remove.push(link.name);
    else if (!mark && networkId) plan.strays.push({ name: link.name, networkId });
  }
  plan.remove.push(...orphanBridges.map((l) => l.name));
  plan.remove = [...new Set(plan.remove)];
  return plan;
}
