// Whose device holds a bridge name. cnm-ts uses and removes only the bridges it made (marked with
// the controller's mark and the network id, see bridgeAlias). Any other device under the name,
// an unmarked bridge too (unlike dockerd, which takes an existing docker0), is someone else's:
// a CONFLICT at create, left alone at restore and delete.
import { CnmError } from '../../errors';
import { NetlinkError, runOne, type Kernel, type LinkInfo } from '../../native';

export const ALIAS_PREFIX = 'cnm-ts:';

/** The alias that marks a bridge as made by the controller `owner` for network `networkId`. */
export function bridgeAlias(owner: string, networkId: string): string {
  return `${ALIAS_PREFIX}${owner}:${networkId}`;
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
