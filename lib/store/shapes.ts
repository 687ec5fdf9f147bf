// Records are input, not truth: the fields of a sandbox record that become paths, namespaces or
// interface names must have exactly the shape this controller gives them. A record that does not
// names something this controller did not make: it is skipped, and what it names left alone.
import type { SandboxRecord } from './records';

/** Where this controller's namespaces live and the mark in their names. */
export interface NamespaceShape {
  owner: string;
  netnsDir: string;
}

/** The name of the namespace this controller makes for a sandbox (`cnm-<owner>-<12 hex of its id>`). */
export function namespaceName(owner: string, sandboxId: string): string {
  return `cnm-${owner}-${sandboxId.slice(0, 12)}`;
}

/** The names of this controller's namespaces; the group is the 12 hex. */
export function ownNamespaces(owner: string): RegExp {
  return new RegExp(`^cnm-${owner}-([0-9a-f]{12})$`);
}

const HOST_KEY = /^\/proc\/[1-9][0-9]*\/ns\/net$/;
const CONTAINER_IFNAME = /^eth(0|[1-9][0-9]{0,3})$/;

/** Why a sandbox record names something this controller would not have made, or null if it has the shape of its own. */
export function foreignSandboxRecord(record: SandboxRecord, { owner, netnsDir }: NamespaceShape): string | null {
  const name = record.namespaceName;
  if (record.mode === 'host') {
    if (record.owned || name !== null || !HOST_KEY.test(record.key)) return `host-mode key ${JSON.stringify(record.key)} is not the host's namespace handle`;
  } else {
    // A container-mode sandbox shares the namespace of a sandbox that may be gone: any of the mark's names.
    const own = record.mode === 'namespace' ? name === namespaceName(owner, record.id) : name !== null && ownNamespaces(owner).test(name);
    if (!record.owned || !own) return `namespace ${JSON.stringify(name)} is not one this controller makes for it (cnm-${owner}-<12 hex>)`;
    if (record.key !== `${netnsDir}/${name}`) return `key ${JSON.stringify(record.key)} is not ${netnsDir}/${name}`;
  }
  const bad = record.attachments.find((a) => !CONTAINER_IFNAME.test(a.ifname));
  return bad ? `interface name ${JSON.stringify(bad.ifname)} is not ethN` : null;
}
