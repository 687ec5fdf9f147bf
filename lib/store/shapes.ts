// Records are input, not truth: the fields of a sandbox record that become paths, namespaces or
// interface names must have exactly the shape this controller gives them. A record that does not
// names something this controller did not make: it is skipped, and what it names left alone.
import type { StateLayout } from '../layout';
import type { SandboxRecord } from './records';

const HOST_KEY = /^\/proc\/[1-9][0-9]*\/ns\/net$/;
const CONTAINER_IFNAME = /^eth(0|[1-9][0-9]{0,3})$/;

/** Why a sandbox record names something this controller would not have made, or null if it has the shape of its own. */
export function foreignSandboxRecord(record: SandboxRecord, layout: StateLayout): string | null {
  const name = record.namespaceName;
  if (record.mode === 'host') {
    if (record.owned || name !== null || !HOST_KEY.test(record.key)) return `host-mode key ${JSON.stringify(record.key)} is not the host's namespace handle`;
  } else {
    // A container-mode sandbox shares the namespace of a sandbox that may be gone: any of the mark's names.
    const own = record.mode === 'namespace' ? name === layout.namespaceName(record.id) : name !== null && layout.sandboxIdPrefix(name) !== null;
    if (!record.owned || !own) return `namespace ${JSON.stringify(name)} is not one this controller makes for it (cnm-${layout.mark}-<12 hex>)`;
    if (record.key !== layout.namespaceKey(name!)) return `key ${JSON.stringify(record.key)} is not ${layout.namespaceKey(name!)}`;
  }
  const bad = record.attachments.find((a) => !CONTAINER_IFNAME.test(a.ifname));
  return bad ? `interface name ${JSON.stringify(bad.ifname)} is not ethN` : null;
}
