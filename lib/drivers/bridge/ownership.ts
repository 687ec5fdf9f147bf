// Whose device this is. cnm-ts uses and removes only the bridges it made (marked with the
// controller's mark and the network id, see bridgeAlias) and the host ends of the veth pairs it
// made (vethAlias). Any other device under a bridge name, an unmarked bridge too (unlike dockerd,
// which takes an existing docker0), is someone else's: a CONFLICT at create, left alone at restore
// and delete.
import { CnmError } from '../../errors';
import { NetlinkError, runOne, type Kernel, type LinkInfo } from '../../native';

export const ALIAS_PREFIX = 'cnm-ts:';

/** The alias that marks a bridge as made by the controller `owner` for network `networkId`. */
export function bridgeAlias(owner: string, networkId: string): string {
  return `${ALIAS_PREFIX}${owner}:${networkId}`;
}

/**
 * The alias that marks the host end of a veth pair as made by the controller `owner` for an
 * endpoint joined to a sandbox. The sandbox is in it so that a restore that could not read the
 * sandbox's record can tell the veth is that sandbox's, and leave it alone.
 */
export function vethAlias(owner: string, endpointId: string, sandboxId: string): string {
  return `${ALIAS_PREFIX}${owner}:${endpointId}:${sandboxId}`;
}

/** The bit set in every cnm-ts link group: the firewall tells cnm-ts devices (of any controller) by it. */
export const OWNED_GROUP_BIT = 0x80000000;

/**
 * The link group the controller `owner` makes its bridges and veths in (given in the create
 * request, so that a kill between the creation and the alias cannot leave a veth unrecognisable):
 * the mark's 32 bits with OWNED_GROUP_BIT set, away from group 0 (every link's) and the small ones
 * people pick.
 */
export function ownerGroup(owner: string): number {
  return (parseInt(owner.slice(0, 8), 16) | OWNED_GROUP_BIT) >>> 0;
}

/** The endpoint and sandbox of a veth alias made by vethAlias for `owner`; null for any other alias (or none). */
export function parseVethAlias(alias: string | null, owner: string): { endpointId: string; sandboxId: string } | null {
  const mine = `${ALIAS_PREFIX}${owner}:`;
  const ids = alias?.startsWith(mine) ? /^([0-9a-f]{64}):([0-9a-f]{64})$/.exec(alias.slice(mine.length)) : null;
  return ids ? { endpointId: ids[1], sandboxId: ids[2] } : null;
}

/** How a device is named in errors and warnings: "cnm0 (bridge, alias cnm-ts:1a2b3c4d:...)". */
export function describeDevice(link: LinkInfo): string {
  return `${link.name} (${link.kind ?? 'device without a kind'}${link.alias ? `, alias ${link.alias}` : ''})`;
}

/** Whether `link` is the bridge that the controller `owner` made for the network. */
export function isOwnBridge(link: LinkInfo, owner: string, networkId: string): boolean {
  return link.kind === 'bridge' && link.alias === bridgeAlias(owner, networkId);
}

/** The link of that name, or null if there is none (`ip link show NAME`). */
export async function linkNamed(kernel: Kernel, name: string): Promise<LinkInfo | null> {
  return runOne(kernel, { op: 'linkGet', name }).catch((err: unknown) => {
    if (err instanceof NetlinkError && err.code === 'ENODEV') return null;
    throw err;
  });
}

/** "bridge name NAME is taken by ...", for errors and warnings about a device described by describeDevice(). */
export function nameTakenBy(name: string, device: string): string {
  return `bridge name ${name} is taken by a device this controller did not make: ${device}`;
}

/** CONFLICT: the network's bridge name is held by a device it may not use. */
export function nameTaken(network: string, link: LinkInfo, defaultBridge: boolean): CnmError {
  const hint = defaultBridge ? '; pass another defaultBridgeName, or predefinedNetworks: false' : '';
  return new CnmError('CONFLICT', `network ${network}: ${nameTakenBy(link.name, describeDevice(link))}${hint}`);
}
